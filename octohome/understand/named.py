"""What an utterance's words name, and the answers those words rule out.

The model picks a device with one token, and a model trained for one home can answer,
with confidence, a device the words do not name. Retrained homes and spoken commands
did: "set the extractor fan to high" set the bedroom ceiling fan, "make the landing
lights brighter" brightened one of the landing's two, "set the bedside lamp to 30
percent" (a left and a right one) chose the right lamp, and Whisper's "Close the front
door. Lock and switch off the porch light." closed the garage door.

These checks compare a decoded answer with the words (device names, their shortened
forms, rooms, plural group words), not with the model's scores, so they hold whatever
its margin. Each turns a contradicted answer into no call with a reason a person
understands; none adds or changes a call. (``named_one`` is the one use of the names
that makes a call: the parser's speaker's-room group it could not resolve, where the
words name one device.) On the expected answers of the 458 cases of the three test
homes none refuses one, and on the 26,506 commands the generator writes for them three
(two with a typo the generator adds: "the ceiling light in the ofice")."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from octohome.core.calls import group_target
from octohome.core.catalog import DEFAULT_GROUP_WORDS, HOME_SCOPE, Catalog, Device
from octohome.core.names import NOT_A_NAME_START, names_alone, singular

RawCall = tuple[str, dict[str, Any]]
"""A call as decoded, before groups are expanded: function and arguments."""

TYPE_WORD: dict[str, str] = {"light": "light", "fan": "fan"}
"""The word a device's type adds to a name that ends in none ("Kitchen Ceiling" is
"the kitchen ceiling light"); the generator's ``types.<type>.words[0]``."""

GENERIC_WORDS: frozenset[str] = frozenset(
    {"light", "lights", "lamp", "lamps", "fan", "music", "speaker", "door", "lock",
     "heating", "thermostat", "temperature"})
"""Words that say a kind of device, never one device (the generator's ``here`` words);
with every group word and its singular they are no shortened name."""

SYNONYMS: dict[str, tuple[str, ...]] = {
    "tv": ("television", "telly"), "television": ("tv", "telly"),
    "ac": ("air conditioner", "air con")}
"""Other words for a word of a name, as the generator says them ("the living room
telly")."""


@dataclass(frozen=True)
class NameSaid:
    """One device name found in an utterance."""

    phrase: str
    """The name as the catalog knows it (a name, other name or shortened name)."""

    owners: frozenset[str]
    """The devices it names: more than one for a shortened name they share ("the
    bedside lamp" of a left and a right one)."""

    plural: bool
    """Said with a plural ending the name lacks ("the landing lights")."""


class Named:
    """The names and rooms of a catalog, and the checks of an answer against the words."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        rooms = {w for r in catalog.rooms
                 for w in (r.name.lower(), *(a.lower() for a in r.aliases))}
        generic = set(GENERIC_WORDS)
        for kind in {d.kind for d in catalog.devices} | set(DEFAULT_GROUP_WORDS):
            generic.update(w for g in catalog.group_words(kind) for w in (g, singular(g)))
        owners: dict[str, set[str]] = {}
        for dev in catalog.devices:
            for form in _forms(dev, generic, rooms):
                owners.setdefault(form, set()).add(dev.id)
        self.owners = {form: frozenset(ids) for form, ids in owners.items()}
        self._name_pattern = _alternation(self.owners, r"(s|es)?")
        self._rooms = [(re.compile(rf"\b{re.escape(w)}\b"), r.id) for r in catalog.rooms
                       for w in {r.name.lower(), *(a.lower() for a in r.aliases)}]
        with_rooms = {n.lower() for d in catalog.devices for n in (d.name, *d.aliases)}
        with_rooms = {n for n in with_rooms if n not in rooms and any(
            re.search(rf"\b{re.escape(w)}\b", n) for w in rooms)}
        self._names_with_rooms = _alternation(dict.fromkeys(with_rooms), "")
        scenes: dict[str, set[str]] = {}
        for scene in catalog.scenes:
            for name in {scene.name.lower(), *(a.lower() for a in scene.aliases)}:
                scenes.setdefault(name, set()).add(scene.id)
        self._scene_owners = scenes
        self._scenes = _alternation(scenes, "")
        self._places = _place_words(catalog)
        self._room_words = rooms
        self._unknown_rooms = [
            (phrase, re.compile(rf"\b{re.escape(phrase)}s?\b")) for phrase in ROOM_WORDS
            if any(w not in self._places for w in phrase.split() if w != "room")]
        """:data:`ROOM_WORDS` that this home has not, in their order, each with its
        pattern: the home's words do not change between parses."""
        # each check of an answer reads the same text: read it once
        self.names: Callable[[str], tuple[tuple[NameSaid, ...], str]] = functools.lru_cache(
            maxsize=8)(self._names)
        self.rooms: Callable[[str], frozenset[str]] = functools.lru_cache(maxsize=8)(
            self._rooms_named)

    def _names(self, text: str) -> tuple[tuple[NameSaid, ...], str]:
        """The device names in ``text`` (longest first, each part of the text read once),
        and the text with them taken out (``self.names``, cached)."""
        found: list[NameSaid] = []

        def take(match: re.Match[str]) -> str:
            phrase = match.group(1)
            plural = bool(match.group(2)) and not phrase.endswith("s")
            found.append(NameSaid(phrase, self.owners[phrase], plural))
            return " "

        rest = self._name_pattern.sub(take, text)
        return tuple(found), rest

    def _rooms_named(self, text: str) -> frozenset[str]:
        """Ids of the rooms ``text`` names (``self.rooms``, cached). A room word inside a
        longer device name ("the garage door", "kitchen ceiling") names the device, not
        a room; a name that is a room word alone (the garage door's "garage") still
        names the room."""
        rest = self._names_with_rooms.sub(" ", text)
        return frozenset(room for pattern, room in self._rooms if pattern.search(rest))

    def named_one(self, text: str, function: str, kind: str) -> str | None:
        """The one device of ``function``'s type and group class ``kind`` that can do
        it and that the words name by a name no other such device has, or None.

        For the speaker's-room group the model answers when it hears a type's word
        ("the heating"), when no room is known ("Which thermostats? There are 2") or
        the room has none: where a device is called that ("Hallway Thermostat", other
        name "Heating"; "Master Bedroom AC", "Air Conditioning"), the words name it.
        """
        dev_type = function.split(".", 1)[0]
        found, _ = self.names(text)
        ids = {d for n in found for d in n.owners
               if self._fits(self.catalog.device_by_id[d], dev_type, kind, function)
               and sum(self._fits(self.catalog.device_by_id[o], dev_type, kind, function)
                       for o in n.owners) == 1}
        return ids.pop() if len(ids) == 1 else None

    def _fits(self, dev: Device, dev_type: str, kind: str, function: str) -> bool:
        return (dev.type == dev_type and self.catalog.in_group(dev, kind)
                and self.catalog.device_has(dev, function))

    def contradiction(
        self, raw: list[RawCall], devices: list[str], text: str, room: str | None
    ) -> str | None:
        """Why the words rule the answer out, or None.

        ``raw`` is the answer as decoded (a group still a group), ``devices`` the device
        of every call once groups are expanded, ``room`` the speaker's room.
        """
        return (self.room_elsewhere(raw, text) or self.door_unsaid(devices, text)
                or self.other_named(raw, text, room) or self.one_of_many(raw, text)
                or self.other_scene(raw, text) or self.unknown_place(text)
                or self.home_unsaid(raw, text) or self.action_unsaid(raw, text)
                or self.number_unsaid(raw, text) or self.named_untouched(raw, devices, text))

    def _one_device(self, raw: list[RawCall]) -> Device | None:
        """The device of an answer whose calls all go to one device named by id."""
        ids = {str(args.get("device")) for _, args in raw}
        if len(ids) != 1:
            return None
        return self.catalog.device_by_id.get(ids.pop())

    def room_elsewhere(self, raw: list[RawCall], text: str) -> str | None:
        """One call to one device outside the room the words name.

        "turn on the garage light" in a home whose garage has no light is a room's empty
        group, but a model unsure of it can answer with the one light it knows best
        (retrained, the demo home lit the living room for it, opened the living room
        blinds for "open the kitchen blinds" and paused the living room TV for "the
        bedroom TV"). Only for one call (several commands name several rooms).
        """
        dev = self._one_device(raw) if len(raw) == 1 else None
        if dev is None:
            return None
        said = self.rooms(text)
        if not said or self.catalog.room_of(dev).id in said:
            return None
        where = next(r for r in self.catalog.rooms if r.id in said)
        return (f"I heard the {where.name}, and I won't guess another room's device:"
                " nothing was done")

    def door_unsaid(self, devices: list[str], text: str) -> str | None:
        """A door's call (lock, garage door) whose door the words do not name.

        A door is named by its name or other name, by its class's group word ("lock all
        the doors"), by its room ("close the garage"), or by its type's word ("lock the
        door") when no other door of its class is named. Whisper's "Walk up all the
        doors." opened the garage door and "Close the front door. Lock and switch off
        the porch light." closed it: the doors are the locks, and the front door is
        one, so neither names the garage door.
        """
        found, rest = self.names(text)
        named = {d for n in found for d in n.owners}
        for dev_id in devices:
            dev = self.catalog.device_by_id.get(dev_id)
            if dev is None or not dev.is_door or dev.id in named:
                continue
            words = self.catalog.group_words(dev.kind)
            if any(_has(w, rest) for w in words):
                continue
            if not any(self.catalog.device_by_id[d].kind == dev.kind for d in named) and (
                    self.catalog.room_of(dev).id in self.rooms(text)
                    or any(_has(singular(w), rest) for w in words)):
                continue
            return (f"I didn't hear the {dev.name} named, and I don't guess at doors:"
                    " nothing was done")
        return None

    def other_named(self, raw: list[RawCall], text: str, room: str | None) -> str | None:
        """One device called while the words name another of its type, or a shortened
        name it shares with another ("the bedside lamp" of a left and a right one) that
        no room said narrows to it.

        Retrained homes set the bedroom ceiling fan for "the extractor fan" and the
        right bedside lamp for "the left bedside lamp" or "the bedside lamp".
        """
        dev = self._one_device(raw)
        if dev is None:
            return None
        found, _ = self.names(text)
        typed = [(n.phrase, {d for d in n.owners
                             if self.catalog.device_by_id[d].type == dev.type}) for n in found]
        typed = [(phrase, ids) for phrase, ids in typed if ids]
        if not typed:
            return None
        mine = [(phrase, ids) for phrase, ids in typed if dev.id in ids]
        if not mine:
            return (f"I heard the {typed[0][0]}, and I wasn't sure it was that one:"
                    " nothing was done")
        rooms = self.rooms(text)
        here = self.catalog.find_room(room) if room else None
        if not rooms and here is not None:
            rooms = frozenset({here.id})
        for _, ids in mine:
            left = [d for d in ids
                    if not rooms or self.catalog.room_of(self.catalog.device_by_id[d]).id in rooms]
            if len(left) <= 1:
                return None
        _, ids = mine[0]
        names = sorted(self.catalog.device_by_id[d].name for d in ids)
        which = (" and the ".join(names) if len(names) <= 3
                 else f"{', '.join(names[:3])} and {len(names) - 3} more")
        # not "Which ...?": the dialogue would take it for a group's and ask for a room
        return f"I know {len(names)} of those, the {which}: nothing was done, say which one"

    def one_of_many(self, raw: list[RawCall], text: str) -> str | None:
        """One device called while the words say a plural ("the landing lights", "set
        the living room lights to blue") and its room has more such devices that can do
        it: a retrained home brightened one of the landing's two lights."""
        dev = self._one_device(raw)
        room = self.catalog.room_of(dev) if dev is not None else None
        if dev is None or room is None or not room.id:
            return None
        found, rest = self.names(text)
        words = self.catalog.group_words(dev.kind)
        if not any(_has(w, rest) for w in words) and not any(
                n.plural and dev.id in n.owners for n in found):
            return None
        functions = {function for function, _ in raw}
        mates = [d for d in self.catalog.devices
                 if d.id != dev.id and self.catalog.in_group(d, dev.kind)
                 and self.catalog.room_of(d).id == room.id
                 and all(self.catalog.device_has(d, f) for f in functions)]
        if not mates:
            return None
        return (f"I heard the {words[0]} in the {room.name}, and I"
                f" understood only one of the {len(mates) + 1}: nothing was done")

    def other_scene(self, raw: list[RawCall], text: str) -> str | None:
        """A scene activated while the words name another ("set the scene to away" set
        good night in a retrained demo home, with a margin of 0.25)."""
        said = {s for m in self._scenes.finditer(text) for s in self._scene_owners[m.group(1)]}
        for _, args in raw:
            scene = args.get("scene")
            if said and scene is not None and scene not in said:
                name = next(s.name for s in self.catalog.scenes if s.id in said)
                return f"I heard {name}, and I wasn't sure of the scene: nothing was done"
        return None

    def unknown_place(self, text: str) -> str | None:
        """A place said ("in the attic") that is no room, floor or name of this home.

        The model has never heard of a place the home does not have, and answers as if
        it were not said: "turn off all the lights in the attic" switched off every
        light in the house, and Whisper's "Kill all the lights in the round." (for "in
        the lounge") did the same. Only the first word after "in" (and a "the", "my",
        ...) is read; numbers and times ("in ten minutes") are the model's to refuse.
        """
        for match in _IN_PLACE.finditer(text):
            word = match.group(1)
            if word in self._places or singular(word) in self._places or word.isdigit():
                continue
            second = match.group(2)
            place = word if not second or second in _NOT_A_PLACE else f"{word} {second}"
            return f"I don't know the {place} in this home: nothing was done"
        return None

    def unknown_room(self, text: str) -> str | None:
        """A room or place (:data:`ROOM_WORDS`) that this home has not: no call.

        The model knows only the home's rooms, and one it never heard is no command to
        it, or a near one: "turn on the bathroom light" in the demo home (no bathroom)
        is no call typed, but spoken, Whisper's next hypothesis "Turn on the bedroom
        light." was taken and lit the bedroom. A room said is final: the person hears
        that this home has no such room, and no other hearing is searched for one. A
        room of several words is this home's when each of its words but "room" is one
        of the home's ("the living room" in a home with a "Living Room")."""
        for phrase, pattern in self._unknown_rooms:
            if pattern.search(text):
                return f"I don't know the {phrase} in this home: nothing was done"
        return None

    def home_unsaid(self, raw: list[RawCall], text: str) -> str | None:
        """Every device of a kind in the home, while the words say neither a plural nor
        "all", "every" or the home: Whisper's "Set the whole light to 0 percent." (for
        "the hall light") switched off every light in the house."""
        for _, args in raw:
            group = group_target(args.get("device"))
            if group is None or group[0] != HOME_SCOPE:
                continue
            words = self.catalog.group_words(group[1])
            if not any(_has(w, text) for w in (*words, *_HOME_WORDS)):
                word = singular(words[0]) if words else "device"
                return (f"I heard one {word}, and I won't do every one in the home:"
                        " nothing was done")
        return None

    def action_unsaid(self, raw: list[RawCall], text: str) -> str | None:
        """Switching on or playing while no word says so.

        Asked to act on a device and unsure of the action, the model answers its most
        common one: Whisper's "Kitchen light screen please." ("kitchen lights green")
        and "Turn the ceiling light." ("... pink") switched the light on, "Turn the TV
        now." ("turn the tv down") and "All the music." ("pause the music") played.
        Every one of the 10,000 such calls the generator writes for the three test
        homes says one of ``ON_WORDS``, or "turn in", a slip for "turn on" it teaches.
        """
        words = set(re.findall(r"[a-z']+", text))
        if _ON_SLIP.search(text):
            return None
        for function, args in raw:
            if function.split(".", 1)[1] not in _ON_ACTIONS or words & ON_WORDS:
                continue
            dev = self.catalog.device_by_id.get(str(args.get("device")))
            what = f"the {dev.name}" if dev is not None else "that"
            return f"I heard {what}, but not what to do with it: nothing was done"
        return None

    def number_unsaid(self, raw: list[RawCall], text: str) -> str | None:
        """A value set ("brightness 10") while the words say no number: Whisper's "TV
        volume footage." ("TV volume 50") set the volume to 10 and "Bedroom light to have
        brightness." ("... half brightness") the light to 10 percent. Every such call
        the generator writes for the three test homes says a digit or one of
        ``NUMBER_WORDS``."""
        words = set(re.findall(r"[a-z]+", text))
        if re.search(r"\d", text) or words & NUMBER_WORDS:
            return None
        for function, args in raw:
            if function.split(".", 1)[1].startswith("set_") and any(
                    isinstance(v, int | float) and not isinstance(v, bool)
                    for v in args.values()):
                return "I didn't hear a number to set: nothing was done"
        return None

    def named_untouched(self, raw: list[RawCall], devices: list[str], text: str
                        ) -> str | None:
        """A device the words name by a name of its own that no call goes to, while
        other devices' calls are made: the model answered part of what was said.
        Whisper's "Turn on the christmas tree onto the floor lamp." and "Switch off the
        tele in the reading lamp." switched one of the two. A plural or "every ..."
        says a group, and a room's word a room, not the device; an answer with a group
        is left alone (the group's devices are the words' to choose)."""
        if not devices or any(group_target(args.get("device")) for _, args in raw):
            return None
        found, _ = self.names(text)
        for name in found:
            if (name.plural or len(name.owners) != 1 or name.owners & set(devices)
                    or name.phrase in self._room_words
                    or re.search(rf"\b(every|each|all|any)( the)? {re.escape(name.phrase)}\b",
                                 text)):
                continue
            dev = self.catalog.device_by_id[next(iter(name.owners))]
            return (f"I heard the {dev.name} too, and I didn't understand what to do with"
                    " it: nothing was done")
        return None


NUMBER_WORDS: frozenset[str] = frozenset(
    {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
     "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
     "eighteen", "nineteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy",
     "eighty", "ninety", "hundred", "half", "halfway", "quarter", "full", "max", "maximum",
     "min", "minimum", "lowest", "highest"})
"""Words that say a value to set, besides digits."""

_ON_SLIP = re.compile(r"\b(turn|switch) in\b")
"""Whisper's "turn in the tree" for "turn on", as the generator teaches it."""

_ON_ACTIONS = frozenset({"turn_on", "play"})
"""Actions a model unsure of what was asked answers with (any device type's)."""

ON_WORDS: frozenset[str] = frozenset(
    {"on", "up", "start", "play", "playing", "resume", "unpause", "continue", "back",
     "brighten", "illuminate", "enable", "activate", "dark", "see"})
"""Words of which every switching on or playing the generator writes says one ("it's
too dark in the kitchen", "I can't see a thing")."""

ROOM_WORDS: tuple[str, ...] = (
    "bathroom", "toilet", "restroom", "washroom", "attic", "loft", "basement", "cellar",
    "garage", "laundry", "laundry room", "utility room", "pantry", "nursery", "playroom",
    "dining room", "guest room", "spare room", "family room", "games room", "sitting room",
    "living room", "lounge", "kitchen", "bedroom", "office", "study", "hallway", "corridor",
    "landing", "gym", "sauna", "garden", "patio", "balcony", "terrace", "yard", "backyard",
    "driveway", "porch", "workshop", "conservatory", "sunroom", "mudroom", "closet",
    "foyer", "entryway")
"""Rooms and places a home commonly has. One the words name that is not this home's
(:meth:`Named.unknown_room`) makes no call. Words that are also something else, or a
part of another room's name, are left out ("hall" of "hallway", "den", "shed", "bath"):
they are the model's to read."""

_HOME_WORDS = ("all", "every", "everything", "everywhere", "house", "home", "each", "both")
"""Words that say a whole home's devices of a kind besides a plural group word."""

_IN_PLACE = re.compile(r"\bin (?:(?:the|my|our|this|that|a|an) )?([a-z][a-z']*)(?: ([a-z]+))?")
""""in" and the place after it: group 1 its first word (group 2 a second one, for the
reason)."""

_NOT_A_PLACE = frozenset(
    {"and", "then", "please", "now", "too", "also", "off", "on", "up", "down", "to", "at",
     "by", "with", "for", "lights", "light", "lamps", "fans", "blinds"})
"""Words that end a place's name in a reason ("the attic", not "the attic and")."""

ANYWHERE_WORDS: frozenset[str] = frozenset(
    {"house", "home", "flat", "apartment", "place", "building", "whole", "entire", "all",
     "every", "each", "both", "here", "there", "room", "rooms", "mode", "percent", "front",
     "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
     "twenty", "thirty", "forty", "fifty", "sixty", "half", "few", "couple", "minute",
     "minutes", "hour", "hours", "second", "seconds", "morning", "evening", "afternoon",
     "night", "bit", "moment", "while", "case"})
"""Words after "in" that are no unknown place: the whole home, here, a mode or value,
and times (a delayed request is the model's to refuse)."""


def _place_words(catalog: Catalog) -> frozenset[str]:
    """Every word after which "in" names a place this home knows: the words of its
    rooms, floors, devices, scenes and argument values, and ``ANYWHERE_WORDS``."""
    names = [n for r in catalog.rooms for n in (r.name, *r.aliases)]
    names += [n for f in catalog.floors for n in (f.name, *f.aliases)]
    names += [n for d in catalog.devices for n in (d.name, *d.aliases)]
    names += [n for s in catalog.scenes for n in (s.name, *s.aliases)]
    names += [str(v) for fn in catalog.functions.values() for a in fn.args
              if a.kind == "enum" for v in a.values]
    return ANYWHERE_WORDS | {w for n in names for w in re.findall(r"[a-z0-9']+", n.lower())}


def _forms(dev: Device, generic: set[str], rooms: set[str]) -> set[str]:
    """Every way the words name ``dev``: its name and other names, each with a synonym
    of a word ("telly"), with its type's word where it ends in none, and shortened from
    the left ("the patio lights" for "garden patio lights") but never to a generic word,
    to a room or to a word that names nothing alone."""
    full = {n.lower() for n in (dev.name, *dev.aliases)}
    full |= {" ".join([*words[:i], other, *words[i + 1:]])
             for words in (n.split() for n in list(full))
             for i, word in enumerate(words) for other in SYNONYMS.get(word, ())}
    word = TYPE_WORD.get(dev.type)
    if word:
        full |= {f"{n} {word}" for n in list(full) if singular(n.split()[-1]) not in generic}
    forms = set(full)
    for name in full:
        words = name.split()
        for k in range(1, len(words)):
            short = " ".join(words[k:])
            if (short in generic or words[k] in NOT_A_NAME_START
                    or any(_has(r, short) for r in rooms)):
                continue
            if k == len(words) - 1 and not names_alone(short):
                continue
            forms.add(short)
    return forms


def _alternation(phrases: dict[str, Any], ending: str) -> re.Pattern[str]:
    """One pattern of every phrase, longest first, as group 1 (``ending`` as group 2)."""
    if not phrases:
        return re.compile(r"(?!)()()")
    alternatives = "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
    return re.compile(rf"\b({alternatives}){ending or '()'}\b")


def _has(words: str, text: str) -> bool:
    return re.search(rf"\b{re.escape(words)}\b", text) is not None
