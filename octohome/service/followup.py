"""Follow-ups: an utterance that refers to the previous command (first version).

Within ``[reply] follow_up_s`` after a command, people go on without naming the
device again: "turn it off", "turn them on", "and the bedroom too", "a bit
more", "undo". :func:`resolve` recognizes these phrases (by words, not by the
model) and turns them into calls over the previous command's calls and the
catalog; every call it builds is checked with ``Catalog.validate_call``.
Anything else is not a follow-up (None) and goes to the model as usual.

A follow-up phrase with nothing to refer to (no previous command, or the window
has closed) gives no call and says why ("I don't know what you mean by it"): the
model never guesses a device for "it".

This is the first version: words and rules, tested in
``tests/service/test_followup.py``. The model itself does not see the previous
calls; giving it the previous calls as context (and measuring what that costs and
gains) is left to a later model.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from octohome.core.calls import Call, Parsed

if TYPE_CHECKING:
    from octohome.core.catalog import Catalog, Device, Room

ParseFn = Callable[..., Parsed]
"""``parser.parse(text, room=None)``."""


@dataclass(frozen=True)
class Context:
    """The previous command: its calls (groups expanded), words and room."""

    calls: tuple[Call, ...]
    text: str
    room: str | None = None


@dataclass(frozen=True)
class FollowUp:
    """A resolved follow-up: what to do (calls, or none and why) and which kind it was."""

    kind: str
    """``pronoun`` ("turn it off"), ``also`` ("and the bedroom too"), ``repeat``
    ("a bit more", "again"), ``undo``."""

    parsed: Parsed


_FILLER = {"please", "okay", "ok", "oh", "um", "uh", "hey", "now", "actually", "just",
           "then", "so", "thanks", "thank", "you"}
_PRONOUNS = {"it", "them", "that", "those", "they", "these", "this"}


def words(text: str) -> list[str]:
    """Lower-case words without punctuation or filler ("Okay, turn it off." -> turn it off)."""
    toks = re.findall(r"[a-z0-9']+", text.lower().replace("-", " "))
    return [t for t in toks if t not in _FILLER]


_UNDO = re.compile(
    r"^(undo( that| it| this)?|take (that|it) back|revert( that| it)?|cancel that"
    r"|put (it|them) back( (the way|how) (it|they) was| (the way|how) (it|they) were)?"
    r"|go back|reverse (that|it))$")
_REPEAT = re.compile(
    r"^((a )?(little|bit|tad|touch)( bit)? |a (little|bit|tad|touch)( bit)? |even |much |"
    r"some |slightly )*(more|less|again)( again)?$|^(do (it|that) again|same again|once more"
    r"|one more time|again)$")
_ALSO_MARK = re.compile(r"^(and |also |same (for |in |with )?|now )|( too| as well| also)$")

VERB_FUNCTIONS: dict[str, dict[str, str]] = {
    "on": {"light": "light.turn_on", "switch": "switch.turn_on", "fan": "fan.turn_on",
           "media": "media.play"},
    "off": {"light": "light.turn_off", "switch": "switch.turn_off", "fan": "fan.turn_off",
            "media": "media.pause"},
    "lock": {"lock": "lock.lock"},
    "unlock": {"lock": "lock.unlock"},
    "open": {"cover": "cover.open"},
    "close": {"cover": "cover.close"},
    "play": {"media": "media.play"},
    "pause": {"media": "media.pause"},
}
"""A verb said of "it" -> the function for each device type."""

_VERB_WORDS = {"on": "on", "off": "off", "lock": "lock", "unlock": "unlock",
               "open": "open", "close": "close", "shut": "close", "play": "play",
               "resume": "play", "pause": "pause", "stop": "pause"}

INVERSE = {"turn_on": "turn_off", "turn_off": "turn_on", "lock": "unlock", "unlock": "lock",
           "open": "close", "close": "open", "play": "pause", "pause": "play"}
"""Undo: the action that reverses each action of a type (same type prefix)."""

_STEP_OF = {"light.set_brightness": "light.step_brightness",
            "media.set_volume": "media.step_volume",
            "climate.set_temperature": "climate.step_temperature"}


def is_follow_up(text: str) -> bool:
    """Does ``text`` read as a follow-up (whatever came before)?"""
    w = words(text)
    line = " ".join(w)
    return bool(w) and (bool(_UNDO.match(line)) or bool(_REPEAT.match(line))
                        or any(t in _PRONOUNS for t in w))


def resolve(text: str, context: Context | None, catalog: Catalog,
            parse: ParseFn | None = None) -> FollowUp | None:
    """``text`` as a follow-up of ``context``; None when it is not one (the model's turn).

    ``context`` None: no command to refer to (none yet, or the window closed); a
    follow-up phrase then gives no call and a reason. ``parse`` (the model) is
    asked only for a pronoun with a value ("set it to 30 percent"), with the
    device's name in place of the pronoun.
    """
    w = words(text)
    if not w:
        return None
    line = " ".join(w)
    if _UNDO.match(line):
        if context is None:
            return FollowUp("undo", Parsed((), "There is nothing to undo"))
        return FollowUp("undo", undo(context.calls, catalog))
    if _REPEAT.match(line):
        if context is None:
            return FollowUp("repeat", Parsed((), "There is nothing to repeat"))
        return FollowUp("repeat", repeat(context.calls, catalog, less="less" in w,
                                          again="again" in w or "same" in w))
    also = _also(line, context, catalog)
    if also is not None:
        return also
    pronoun = next((t for t in w if t in _PRONOUNS), None)
    if pronoun is None:
        return None
    if context is None:
        if _plain_verb(w):
            return FollowUp("pronoun",
                            Parsed((), f"I don't know what you mean by {pronoun!r}"))
        return None  # "make it warmer": the model knows the home's only thermostat
    return FollowUp("pronoun", _pronoun(w, pronoun, context, catalog, parse))


def _plain_verb(w: Sequence[str]) -> bool:
    """Only a verb said of "it" ("turn it off", "lock them"), no value or direction."""
    return any(t in _VERB_WORDS for t in w) and not _has_value(w)


_VALUE_WORDS = {"percent", "degrees", "degree", "brighter", "dimmer", "louder", "quieter",
                "warmer", "cooler", "colder", "hotter", "red", "blue", "green", "white",
                "yellow", "orange", "purple", "pink", "low", "medium", "high", "heat", "cool",
                "auto", "up", "down", "volume", "brightness", "temperature", "half", "full"}


def _has_value(w: Sequence[str]) -> bool:
    return any(t.isdigit() or t in _VALUE_WORDS for t in w)


# -- undo and repeat -----------------------------------------------------------------------


def _validated(catalog: Catalog, function: str, arguments: dict[str, Any]) -> Call | None:
    try:
        return Call(function, catalog.validate_call(function, arguments))
    except ValueError:
        return None


def undo(calls: Sequence[Call], catalog: Catalog) -> Parsed:
    """The calls that reverse ``calls``: on<->off, lock<->unlock, open<->close,
    play<->pause, a step negated; a value set (brightness 30) cannot be undone without
    the value before, and is refused with the reason."""
    out: list[Call] = []
    reasons: list[str] = []
    for c in calls:
        if c.function is None:
            continue
        dev_type, action = c.function.split(".", 1)
        if action in INVERSE:
            call = _validated(catalog, f"{dev_type}.{INVERSE[action]}", dict(c.arguments))
        elif action.startswith("step_"):
            call = _validated(catalog, c.function, {**c.arguments,
                                                    "step": _neg(c.arguments["step"])})
        else:
            call = None
        if call is None:
            what = action.removeprefix("set_").replace("_", " ")
            dev = catalog.device_by_id.get(str(c.arguments.get("device")))
            where = f" of the {dev.name}" if dev is not None else ""
            reasons.append(f"I don't know what the {what}{where} was before, so I can't"
                           " undo that" if action.startswith("set_")
                           else f"I can't undo {what}{where}")
            continue
        if call not in out:
            out.append(call)
    reason = "; ".join(dict.fromkeys(reasons)) or None
    if not out and reason is None:
        reason = "There is nothing to undo"
    return Parsed(tuple(out), reason)


def _neg(value: Any) -> Any:
    v = -float(value)
    return int(v) if v.is_integer() else v


def repeat(calls: Sequence[Call], catalog: Catalog, *, less: bool = False,
           again: bool = False) -> Parsed:
    """"a bit more" / "less" / "again": a step repeated (negated for "less"); a value set
    becomes a step of the function's default size up ("more") or down ("less");
    "again" repeats any call."""
    out: list[Call] = []
    for c in calls:
        if c.function is None:
            continue
        action = c.function.split(".", 1)[1]
        if action.startswith("step_"):
            step = c.arguments["step"]
            call = _validated(catalog, c.function,
                              {**c.arguments, "step": _neg(step) if less else step})
        elif c.function in _STEP_OF and not again:
            fn = _STEP_OF[c.function]
            spec = next(a for a in catalog.signature(fn).args if a.name == "step")
            size = spec.default if spec.default is not None else 1
            value = -size if less else size
            call = _validated(catalog, fn, {"device": c.arguments["device"],
                                            "step": int(value) if float(value).is_integer()
                                            else value})
        elif again and not less:
            call = _validated(catalog, c.function, dict(c.arguments))
        else:
            call = None
        if call is not None and call not in out:
            out.append(call)
    if not out:
        return Parsed((), "I can only do more or less of a brightness, a volume or a"
                          " temperature")
    return Parsed(tuple(out))


# -- "and the bedroom too" ----------------------------------------------------------------


def find_room(catalog: Catalog, w: Sequence[str]) -> Room | None:
    """The room named in these words (the longest name wins: "living room" over "room")."""
    for n in range(min(4, len(w)), 0, -1):
        for i in range(len(w) - n + 1):
            room = catalog.find_room(" ".join(w[i:i + n]))
            if room is not None:
                return room
    return None


def find_device(catalog: Catalog, w: Sequence[str]) -> Device | None:
    """The device named (by its name or another name) in these words, longest first."""
    line = " " + " ".join(w) + " "
    best: tuple[int, Device] | None = None
    for d in catalog.devices:
        for name in (d.name, *d.aliases):
            key = " " + " ".join(re.findall(r"[a-z0-9']+", name.lower())) + " "
            if key in line and (best is None or len(key) > best[0]):
                best = (len(key), d)
    return best[1] if best is not None else None


_ROOM_FILLER = {"the", "in", "on", "at", "for", "of", "with", "and", "also", "too", "as",
                "well", "same", "there", "here", "room", "one", "ones", "please"}


def _also(line: str, context: Context | None, catalog: Catalog) -> FollowUp | None:
    """"and the bedroom too", "the office as well", "also in the kitchen", "and the floor
    lamp": the previous command for another room's devices of the same kind, or for
    the device named."""
    if not _ALSO_MARK.search(line):
        return None
    w = line.split()
    room = find_room(catalog, w)
    device = None if room is not None else find_device(catalog, w)
    if room is None and device is None:
        return None
    # nothing but the room or device may be said (else it is a command of its own)
    named = set()
    if room is not None:
        named = {t for n in (room.name, room.id.replace("_", " "), *room.aliases)
                 for t in n.lower().split()}
    else:
        assert device is not None
        named = {t for n in (device.name, *device.aliases)
                 for t in re.findall(r"[a-z0-9']+", n.lower())}
    if any(t not in named and t not in _ROOM_FILLER for t in w):
        return None
    if context is None:
        return FollowUp("also", Parsed((), "I don't know what to do there: say the whole"
                                           " command"))
    if room is not None:
        return FollowUp("also", in_room(context.calls, catalog, room))
    assert device is not None
    return FollowUp("also", on_device(context.calls, catalog, device))


def in_room(calls: Sequence[Call], catalog: Catalog, room: Room) -> Parsed:
    """The previous calls for the devices of the same class (else type) in ``room``."""
    out: list[Call] = []
    missing: list[str] = []
    by_id = catalog.device_by_id
    for c in calls:
        dev = by_id.get(str(c.arguments.get("device")))
        if c.function is None or dev is None:
            continue
        here = [d for d in catalog.devices if catalog.room_of(d).id == room.id]
        chosen = [d for d in here if d.kind == dev.kind] or [d for d in here
                                                             if d.type == dev.type]
        if not chosen:
            missing.append(f"There are no {catalog.group_words(dev.kind)[0]} in the"
                           f" {room.name}")
        for d in chosen:
            call = _validated(catalog, c.function, {**c.arguments, "device": d.id})
            if call is not None and call not in out:
                out.append(call)
    reason = "; ".join(dict.fromkeys(missing)) if not out else None
    return Parsed(tuple(out), reason)


def on_device(calls: Sequence[Call], catalog: Catalog, device: Device) -> Parsed:
    """The previous calls' action for ``device`` (the same function for a device of the
    same type; "on"/"off" for another type)."""
    out: list[Call] = []
    by_id = catalog.device_by_id
    for c in calls:
        dev = by_id.get(str(c.arguments.get("device")))
        if c.function is None or dev is None:
            continue
        if dev.type == device.type:
            call = _validated(catalog, c.function, {**c.arguments, "device": device.id})
        else:
            verb = _verb_of(c.function)
            fn = VERB_FUNCTIONS.get(verb or "", {}).get(device.type)
            call = _validated(catalog, fn, {"device": device.id}) if fn else None
        if call is not None and call not in out:
            out.append(call)
    if not out:
        return Parsed((), f"I can't do that with the {device.name}")
    return Parsed(tuple(out))


def _verb_of(function: str) -> str | None:
    for verb, fns in VERB_FUNCTIONS.items():
        if function in fns.values():
            return verb
    return None


# -- "turn it off" ----------------------------------------------------------------------


def _pronoun(w: list[str], pronoun: str, context: Context, catalog: Catalog,
             parse: ParseFn | None) -> Parsed:
    """"turn it off", "lock them", "set it to 30 percent": the previous devices."""
    by_id = catalog.device_by_id
    devices = [by_id[i] for i in dict.fromkeys(str(c.arguments.get("device"))
                                               for c in context.calls) if i in by_id]
    if not devices:
        return Parsed((), f"I don't know what you mean by {pronoun!r}")
    verbs = [_VERB_WORDS[t] for t in w if t in _VERB_WORDS]
    if verbs and not _has_value(w):
        verb = verbs[-1]  # "turn it back on": the last one
        out = []
        for d in devices:
            fn = VERB_FUNCTIONS.get(verb, {}).get(d.type)
            call = _validated(catalog, fn, {"device": d.id}) if fn else None
            if call is not None:
                out.append(call)
        if out:
            return Parsed(tuple(out))
        return Parsed((), f"I can't {verb} the {devices[0].name}")
    if parse is None:
        return Parsed((), f"I don't know what you mean by {pronoun!r}")
    # the model, with the device's name in the pronoun's place, for the first device;
    # its function and values then go to every previous device of that type
    first = devices[0]
    rewritten = " ".join(f"the {first.name}" if t == pronoun else t for t in w)
    parsed = parse(rewritten, room=context.room)
    if not parsed.calls:
        return parsed
    out = []
    for c in parsed.calls:
        if c.function is None or c.arguments.get("device") != first.id:
            continue
        for d in devices:
            if d.type != first.type:
                continue
            call = _validated(catalog, c.function, {**c.arguments, "device": d.id})
            if call is not None and call not in out:
                out.append(call)
    return Parsed(tuple(out)) if out else parsed
