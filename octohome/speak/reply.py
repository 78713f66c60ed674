"""What the assistant says back: an utterance's outcome in words a person understands.

Every utterance gets one short reply: what was done ("Kitchen lights on.",
"Two lights off.", "All doors locked."), why not ("Brightness goes up to 100
percent.", "For safety, I don't unlock the front door by voice."), or "Sorry, I
didn't catch that.". Device names come from the catalog; a group said at once
is named as a group when it is one (a room's, a floor's, the home's), else
counted.

This module words outcomes; it does not know the MQTT link. What it needs of an
outcome is :class:`OutcomeLike` (``octohome.act.link.Outcome`` fits), so the
stages stay independent: the service hands the link :func:`reply_text` as the
outcome's replier.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from octohome.core.catalog import Catalog, Device

NOT_UNDERSTOOD = "Sorry, I didn't catch that."
CANCELLED = "Okay, nothing was done."
EXPIRED = "Sorry, the devices did not answer in time. Nothing was done."
REJECTED = "Sorry, I can't do that here."

Tone = Literal["done", "failed", "not_understood", "question"]
"""Which chime stands for a reply when replies are chimes (``[reply] mode``)."""


@dataclass(frozen=True)
class Reply:
    """One thing to say: its words, and the tone a chime would give it."""

    text: str
    tone: Tone = "done"


class CallLike(Protocol):
    """What a reply needs of one call's fate (``octohome.act.link.CallOutcome`` fits)."""

    @property
    def status(self) -> str: ...
    @property
    def function(self) -> str | None: ...
    @property
    def arguments(self) -> Mapping[str, Any]: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def sent_as(self) -> Any: ...


class OutcomeLike(Protocol):
    """What a reply needs of an utterance's outcome (``octohome.act.link.Outcome`` fits)."""

    @property
    def status(self) -> str: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def calls(self) -> Sequence[CallLike]: ...


def tone_of(status: str) -> Tone:
    """The chime of an outcome's status."""
    if status == "published":
        return "done"
    if status == "not_a_command":
        return "not_understood"
    return "failed"


def reply_text(outcome: OutcomeLike, catalog: Catalog) -> str:
    """The reply to an outcome: what was done, then why anything was not."""
    done = [c for c in outcome.calls if c.status == "published"]
    parts = [done_text(catalog, done)] if done else []
    if outcome.status == "expired":
        parts.append(EXPIRED if not done else "The rest did not answer in time.")
    elif outcome.status == "rejected" and not outcome.reason:
        parts.append(REJECTED)
    reasons = [c.reason for c in outcome.calls if c.status in ("refused", "rejected")
               and c.reason]
    reason = outcome.reason if not outcome.calls else "; ".join(dict.fromkeys(reasons))
    if reason and outcome.status != "expired":
        parts.append(reason_text(reason))
    if not parts:
        return NOT_UNDERSTOOD
    return " ".join(p for p in parts if p)


# -- what was done -----------------------------------------------------------------------


_NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight",
                 "nine", "ten", "eleven", "twelve")


def count_word(n: int) -> str:
    return _NUMBER_WORDS[n] if 0 <= n < len(_NUMBER_WORDS) else str(n)


def number(value: Any) -> str:
    """21.0 -> "21", 21.5 -> "21.5" (Piper reads digits)."""
    v = float(value)
    return str(int(v)) if v.is_integer() else f"{v:g}"


def sentence(text: str) -> str:
    """Capitalized, ending with a full stop (or the question/exclamation mark it has)."""
    text = " ".join(text.split()).strip()
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".?!" else text + "."


def device_phrase(catalog: Catalog, ids: Sequence[str]) -> str:
    """How to name these devices: one by its name, a whole group by the group, else a count.

    ``["kitchen_lights"]`` -> "kitchen lights"; every light of the living room ->
    "living room lights"; every light upstairs -> "upstairs lights"; every door ->
    "all doors"; three lights of different rooms -> "three lights".
    """
    by_id = catalog.device_by_id
    devs = [by_id[i] for i in dict.fromkeys(ids) if i in by_id]
    if not devs:
        return "that"
    if len(devs) == 1:
        return devs[0].name
    kinds = {d.kind for d in devs}
    kind = next(iter(kinds)) if len(kinds) == 1 else None
    if kind is None:
        types = {d.type for d in devs}
        word = catalog.group_words(next(iter(types)))[0] if len(types) == 1 else "devices"
        return f"{count_word(len(devs))} {word}"
    word = catalog.group_words(kind)[0]
    chosen = {d.id for d in devs}
    of_kind = [d for d in catalog.devices if d.kind == kind]
    if chosen == {d.id for d in of_kind}:
        return f"all {word}"
    rooms = {catalog.room_of(d).id for d in devs}
    if len(rooms) == 1:
        room = catalog.room_of(devs[0])
        if chosen == {d.id for d in of_kind if catalog.room_of(d).id == room.id}:
            return f"{room.name} {word}"
    floors = {catalog.room_of(d).floor for d in devs}
    if len(floors) == 1 and None not in floors:
        floor = next((f for f in catalog.floors if f.id == next(iter(floors))), None)
        if floor is not None and chosen == {
                d.id for d in of_kind if catalog.room_of(d).floor == floor.id}:
            return f"{floor.name} {word}"
    return f"{count_word(len(devs))} {word}"


def _action(function: str, args: Mapping[str, Any], sent_as: Any, catalog: Catalog) -> str:
    """The words after the device ("on", "at 30 percent", "locked")."""
    action = function.split(".", 1)[1]
    if action == "turn_on":
        return "on"
    if action == "turn_off":
        return "off"
    if action == "set_brightness":
        return f"at {number(args['brightness'])} percent"
    if action == "step_brightness":
        if sent_as is not None and "brightness" in sent_as.arguments:
            return f"at {number(sent_as.arguments['brightness'])} percent"
        return "brighter" if float(args["step"]) > 0 else "dimmer"
    if action == "set_color":
        return f"set to {args['color']}"
    if action == "open":
        return "open"
    if action == "close":
        return "closed"
    if action == "set_position":
        return f"{number(args['position'])} percent open"
    if action == "set_temperature":
        return f"set to {number(args['temperature'])} degrees"
    if action == "step_temperature":
        if sent_as is not None and "temperature" in sent_as.arguments:
            return f"set to {number(sent_as.arguments['temperature'])} degrees"
        step = float(args["step"])
        n = number(abs(step))
        return f"{n} degree{'' if abs(step) == 1 else 's'} {'warmer' if step > 0 else 'cooler'}"
    if action == "set_mode":
        return f"set to {args['mode']}"
    if action == "lock":
        return "locked"
    if action == "unlock":
        return "unlocked"
    if action == "set_speed":
        return f"on {args['speed']}"
    if action == "play":
        return "playing"
    if action == "pause":
        return "paused"
    if action == "set_volume":
        return f"volume {number(args['volume'])}"
    if action == "step_volume":
        if sent_as is not None and "volume" in sent_as.arguments:
            return f"volume {number(sent_as.arguments['volume'])}"
        return "louder" if float(args["step"]) > 0 else "quieter"
    return "done"


def done_text(catalog: Catalog, calls: Sequence[CallLike]) -> str:
    """The published calls in sentences, one per action: calls of the same function and
    arguments (a group) are named together ("Living room lights off.")."""
    groups: dict[tuple[str, str], list[CallLike]] = {}
    for c in calls:
        if c.function is None:
            continue
        rest = {k: v for k, v in c.arguments.items() if k != "device"}
        key = (c.function, repr(sorted(rest.items())))
        groups.setdefault(key, []).append(c)
    out: list[str] = []
    for (function, _), members in groups.items():
        first = members[0]
        if function == "scene.activate":
            scene = next((s for s in catalog.scenes if s.id == first.arguments.get("scene")),
                         None)
            out.append(sentence(f"{scene.name if scene else 'the'} scene on"))
            continue
        ids = [str(m.arguments.get("device")) for m in members]
        sent_as = first.sent_as if len(members) == 1 else None
        out.append(sentence(f"{device_phrase(catalog, ids)} "
                            f"{_action(function, first.arguments, sent_as, catalog)}"))
    return " ".join(out) if out else "Done."


# -- why not -------------------------------------------------------------------------------


_UNITS = {"brightness": "percent", "volume": "percent", "position": "percent",
          "temperature": "degrees", "step": ""}
_OUTSIDE = re.compile(r"^(?P<arg>[a-z ]+) (?P<value>-?[\d.]+) is outside (?P<lo>-?[\d.]+)\.\."
                      r"(?P<hi>-?[\d.]+)$")
_MUST = re.compile(r"^(?P<arg>[a-z ]+) must be in (?P<lo>-?[\d.]+)\.\.(?P<hi>-?[\d.]+)")
_WHICH = re.compile(r"^Which (?P<word>[\w ]+)\?")


def reason_text(reason: str) -> str:
    """A refusal's reason as something to say.

    ``brightness 150 is outside 1..100`` -> "Brightness goes up to 100 percent.";
    ``Which lights? There are 7: say the room`` -> "Which lights? Say the room.";
    the rest as written, a sentence each ("1..100" read "1 to 100").
    """
    out: list[str] = []
    for part in (p.strip() for p in reason.split("; ")):
        if not part:
            continue
        m = _OUTSIDE.match(part)
        if m:
            arg, value = m["arg"], float(m["value"])
            lo, hi = float(m["lo"]), float(m["hi"])
            unit = _UNITS.get(arg, "")
            tail = f" {unit}" if unit else ""
            if arg == "step":
                out.append(sentence(f"I can change it by {number(hi)}{tail} at most"))
            elif value > hi:
                out.append(sentence(f"{arg} goes up to {number(hi)}{tail}"))
            else:
                out.append(sentence(f"{arg} goes down to {number(lo)}{tail}"))
            continue
        m = _MUST.match(part)
        if m:
            unit = _UNITS.get(m["arg"], "")
            tail = f" {unit}" if unit else ""
            out.append(sentence(f"{m['arg']} goes from {number(m['lo'])} to "
                                f"{number(m['hi'])}{tail}. Nothing was done"))
            continue
        m = _WHICH.match(part)
        if m:
            out.append(question_text(part))
            continue
        if part.startswith("I can only act now"):
            out.append("I can only act now, not later. Nothing was done.")
            continue
        text = re.sub(r"(-?[\d.]+)\.\.(-?[\d.]+)", r"\1 to \2", part)
        # "...: nothing was done" is two sentences when said
        out.append(sentence(re.sub(r": (\w)", lambda m: ". " + m.group(1).upper(), text)))
    return " ".join(out)


def question_text(reason: str) -> str:
    """The question to ask back for an ambiguous group: "Which lights? Say the room."."""
    m = _WHICH.match(reason)
    word = m["word"] if m else "one"
    return f"Which {word}? Say the room."


def is_which_question(reason: str | None) -> str | None:
    """The group word of a "Which lights? ..." refusal (ambiguous: no room said), else None."""
    if not reason:
        return None
    m = _WHICH.match(reason)
    return m["word"] if m else None


def call_phrase(catalog: Catalog, function: str, args: Mapping[str, Any]) -> str:
    """A call as an order, for a question: "unlock the front door", "open the garage door
    to 50 percent"."""
    dev: Device | None = catalog.device_by_id.get(str(args.get("device")))
    name = f"the {dev.name}" if dev is not None else "it"
    action = function.split(".", 1)[1]
    verbs = {"unlock": "unlock", "lock": "lock", "open": "open", "close": "close",
             "turn_on": "turn on", "turn_off": "turn off", "play": "play", "pause": "pause"}
    if action in verbs:
        return f"{verbs[action]} {name}"
    if action == "set_position":
        return f"open {name} to {number(args['position'])} percent"
    rest = ", ".join(f"{k} {v}" for k, v in args.items() if k != "device")
    return f"set {name} {rest}".strip()


def calls_phrase(catalog: Catalog, calls: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    """Several calls as orders joined with "and"."""
    phrases = list(dict.fromkeys(call_phrase(catalog, f, a) for f, a in calls))
    if len(phrases) <= 2:
        return " and ".join(phrases)
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]


def likely_replies(catalog: Catalog) -> list[str]:
    """The replies worth having ready before they are needed: every argument-free call of
    every device, every room's and the home's groups of them, the scenes, and the
    fixed sentences. ``octohome.speak.voice`` synthesizes them in the background."""
    out: list[str] = [NOT_UNDERSTOOD, CANCELLED, EXPIRED]

    @dataclass(frozen=True)
    class _Done:
        function: str
        arguments: Mapping[str, Any]
        status: str = "published"
        reason: str | None = None
        sent_as: Any = None

    for fn, spec in catalog.functions.items():
        if spec.args or not spec.device_arg:
            continue
        devs = catalog.devices_of_type(fn.split(".")[0])
        groups: list[list[str]] = [[d.id] for d in devs]
        for kind in dict.fromkeys(d.kind for d in devs):
            of_kind = [d for d in devs if d.kind == kind]
            groups.append([d.id for d in of_kind])
            for room in catalog.rooms:
                here = [d.id for d in of_kind if catalog.room_of(d).id == room.id]
                if len(here) > 1:
                    groups.append(here)
        for ids in groups:
            out.append(done_text(catalog, [_Done(fn, {"device": i}) for i in ids]))
    for scene in catalog.scenes:
        out.append(done_text(catalog, [_Done("scene.activate", {"scene": scene.id})]))
    for kind in dict.fromkeys(d.kind for d in catalog.devices):
        out.append(question_text(f"Which {catalog.group_words(kind)[0]}?"))
    return list(dict.fromkeys(out))
