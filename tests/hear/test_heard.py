"""Choosing among Whisper's hypotheses with the parser (hear.heard), with a fake parser."""

from __future__ import annotations

from dataclasses import replace

import pytest

from octohome.core.calls import LATER_REASON, Call, Parsed
from octohome.hear.heard import (
    UNSURE_REASON,
    Hearing,
    candidates,
    ends_open,
    understand,
)
from octohome.hear.stt import Hypothesis, Transcript

LIGHT_ON = Call("light.turn_on", {"device": "living_room_lamp"})


class FakeParser:
    """Knows a few sentences; counts its runs."""

    def __init__(self, known: dict[str, Parsed]) -> None:
        self.known = known
        self.runs: list[str] = []

    def parse(self, text: str, room: str | None = None) -> Parsed:
        self.runs.append(text)
        return self.known.get(text.lower().rstrip("."), Parsed())


def transcript(*texts: str) -> Transcript:
    alts = tuple(Hypothesis(t, -0.1 * i) for i, t in enumerate(texts))
    return Transcript(texts[0], 2.0, 0.2, alternatives=alts)


def test_a_sure_first_hypothesis_costs_one_parse() -> None:
    p = FakeParser({"reading lamp on": Parsed((LIGHT_ON,), margin=9.0)})
    heard = understand(transcript("Reading lamp on.", "Regent lamp on."), p)
    assert heard.parsed.calls == (LIGHT_ON,) and heard.rank == 0
    assert p.runs == ["Reading lamp on."] and heard.parses == 1


def test_a_misheard_first_hypothesis_gives_way_to_a_command() -> None:
    p = FakeParser({"reading lamp on": Parsed((LIGHT_ON,), margin=9.0)})
    heard = understand(transcript("Regent lamp on.", "Reading lamp on."), p)
    assert heard.text == "Reading lamp on." and heard.rank == 1
    assert heard.parsed.calls == (LIGHT_ON,) and heard.parses == 2


def test_an_unsure_first_parse_gives_way_to_a_surer_one() -> None:
    other = Call("light.turn_on", {"device": "hallway_light"})
    p = FakeParser({
        "turn on the whole light": Parsed((other,), margin=1.0),
        "turn on the hall light": Parsed((LIGHT_ON,), margin=7.0),
    })
    heard = understand(transcript("Turn on the whole light.", "Turn on the hall light."), p)
    assert heard.parsed.calls == (LIGHT_ON,)
    # but a surer first one stays
    p2 = FakeParser({
        "turn on the whole light": Parsed((other,), margin=5.0),
        "turn on the hall light": Parsed((LIGHT_ON,), margin=7.0),
    })
    assert understand(transcript("Turn on the whole light.", "Turn on the hall light."),
                      p2).parsed.calls == (other,)


def test_a_later_hypothesis_must_be_sure_to_stand_in() -> None:
    # "Do not open the garage." is no call; "You have opened the garage." an unsure one
    garage = Call("cover.open", {"device": "garage_door"})
    p = FakeParser({"you have opened the garage": Parsed((garage,), margin=1.2)})
    heard = understand(transcript("Do not open the garage.", "You have opened the garage."), p)
    assert heard.parsed.calls == () and heard.rank == 0
    # an unsure first parse is replaced only by a clearly surer one
    other = Call("light.turn_on", {"device": "hallway_light"})
    p = FakeParser({"stop the kitchen speaker": Parsed((other,), margin=2.5),
                    "start the kitchen speaker": Parsed((LIGHT_ON,), margin=4.0)})
    heard = understand(transcript("Stop the kitchen speaker.", "Start the kitchen speaker."), p)
    assert heard.parsed.calls == (other,)


def test_no_command_among_the_hypotheses_is_no_command() -> None:
    p = FakeParser({})
    heard = understand(transcript("What's the capital of Spain?", "What's the capital of space?"),
                       p)
    assert heard.parsed.calls == () and heard.text == "What's the capital of Spain?"


def test_hypotheses_that_differ_only_in_punctuation_are_parsed_once() -> None:
    tr = transcript("Lights off.", "Lights off", "lights, off.", "Light is off.")
    assert [t for _, t in candidates(tr, 5)] == ["Lights off.", "Light is off."]
    assert [r for r, _ in candidates(tr, 5)] == [0, 3]
    assert candidates(Transcript("Hello.", 1.0, 0.1), 3) == [(0, "Hello.")]
    tr = transcript("Set the floor lamp to 30 percent.", "Set the floor lamp to 30%.",
                    "Set the floor lamp to 13 percent.")
    assert [r for r, _ in candidates(tr, 5)] == [0, 2]
    assert candidates(Transcript("", 1.0, 0.1), 3) == []


def test_a_hypothesis_that_agrees_ends_the_search() -> None:
    dim = Call("light.set_brightness", {"device": "living_room_lamp", "brightness": 30})
    p = FakeParser({"set the floor lamp to 30 percent": Parsed((dim,), margin=1.5),
                    "set floor lamp to 30 percent": Parsed((dim,), margin=0.9)})
    heard = understand(transcript("Set the floor lamp to 30 percent.",
                                  "Set floor lamp to 30 percent.",
                                  "Set the floor lamp to 35 percent."), p)
    assert heard.parsed.calls == (dim,) and heard.rank == 0 and heard.parses == 2


def test_a_hypothesis_that_differs_only_in_its_number_is_not_parsed() -> None:
    heat = Call("climate.set_temperature", {"device": "thermostat", "temperature": 21})
    p = FakeParser({"set the thermostat to 21 degrees": Parsed((heat,), margin=1.6),
                    "set the thermostat to twenty one degrees": Parsed((heat,), margin=7.0)})
    heard = understand(transcript("Set the thermostat to 21 degrees.",
                                  "Set the thermostat to 20-1 degrees.",
                                  "Set the thermostat to 41 degrees.",
                                  "Set the thermostat to twenty one degrees."), p)
    assert heard.parsed.calls == (heat,) and heard.parses == 1
    assert p.runs == ["Set the thermostat to 21 degrees."]
    # a first hypothesis with no call (out of range) still tries the other numbers
    p = FakeParser({"set the thermostat to 19 degrees": Parsed((heat,), margin=6.0)})
    heard = understand(transcript("Set the thermostat to 90 degrees.",
                                  "Set the thermostat to 19 degrees."), p)
    assert heard.parsed.calls == (heat,) and heard.rank == 1


def test_max_parses_bounds_the_cost() -> None:
    p = FakeParser({})
    understand(transcript("a b", "c d", "e f", "g h", "i j"), p, max_parses=3)
    assert len(p.runs) == 3


def test_ends_open() -> None:
    for text in ("Turn on the light and", "Set the thermostat to", "Lights in the",
                 "Turn on the kitchen light,", ""):
        assert ends_open(text), text
    for text in ("Turn on the light.", "Movie night, please.", "Set it to 20.", "Lights on"):
        assert not ends_open(text), text


def test_hearing_parses_a_heard_text_with_its_hypotheses_once() -> None:
    p = FakeParser({
        "reading lamp on": Parsed((LIGHT_ON,), margin=9.0),
        "turn on the floor lamp": Parsed((LIGHT_ON,), margin=2.0),
    })
    hearing = Hearing(lambda: p, early_margin=6.0)
    tr = transcript("Regent lamp on.", "Reading lamp on.")
    assert hearing.judge(tr)  # a whole command, sure: may end early
    assert p.runs == ["Regent lamp on.", "Reading lamp on."]
    # the dialogue then parses the transcript's text: no second model run
    assert hearing.parse("Regent lamp on.").calls == (LIGHT_ON,)
    assert len(p.runs) == 2 and hearing.last is not None and hearing.last.rank == 1
    hearing.TTL_S = -1.0  # said again later: parsed again
    assert hearing.parse("Regent lamp on.").calls == (LIGHT_ON,) and len(p.runs) == 4
    hearing.TTL_S = Hearing.TTL_S
    # another room is another parse; a typed text is the parser's alone
    hearing.parse("Regent lamp on.", room="office")
    assert len(p.runs) == 6
    assert hearing.parse("reading lamp on").calls == (LIGHT_ON,) and len(p.runs) == 7
    assert not hearing.judge(transcript("Turn on the floor lamp."))  # unsure
    assert not hearing.judge(transcript("Reading lamp on and"))  # more to come
    assert not hearing.judge(transcript("Tell me a joke."))
    assert not Hearing(lambda: None).judge(transcript("Reading lamp on."))


UNLOCK = Call("lock.unlock", {"device": "back_door"})
LOCK = Call("lock.lock", {"device": "back_door"})


def test_never_a_guess_at_a_door() -> None:
    from octohome.core.catalog import Catalog
    from octohome.hear.heard import DOUBT_REASON, door_rule

    sensitive = door_rule(Catalog.load())
    assert sensitive(LOCK) and sensitive(UNLOCK)
    assert sensitive(Call("cover.open", {"device": "garage_door"}))
    assert not sensitive(Call("cover.open", {"device": "bedroom_blinds"}))
    assert not sensitive(LIGHT_ON) and not sensitive(Call(None, {}))
    p = FakeParser({
        "unlock the back door": Parsed((UNLOCK,), margin=9.0),
        "and lock the back door": Parsed((LOCK,), margin=9.0),
        "a lock in the back door": Parsed((LOCK,), margin=3.0),
    })
    # Whisper's first guess is a sure "lock", but it also heard "unlock": no call
    heard = understand(transcript("And lock the back door.", "Unlock the back door."), p,
                       sensitive=sensitive)
    assert heard.parsed.calls == () and heard.parsed.reason == DOUBT_REASON
    heard = understand(transcript("Unlock the back door.", "A lock in the back door."), p,
                       sensitive=sensitive)
    assert heard.parsed.calls == ()
    # "and lock" is how Whisper writes an "unlock" it missed: no call either
    for heard_as in ("And lock the back door.", "I'm locked the back door.",
                     "a lock the back door"):
        p.known[heard_as.lower().rstrip(".")] = Parsed((LOCK,), margin=9.0)
        assert understand(transcript(heard_as), p, sensitive=sensitive).parsed.calls == ()
    p.known["lock the back door and the front door"] = Parsed((LOCK,), margin=9.0)
    assert understand(transcript("Lock the back door and the front door."), p,
                      sensitive=sensitive).parsed.calls == (LOCK,)
    # the right words fifth, behind four sure "lock"s: still no call
    for t in ("lock the back door", "lock them back door", "lock the bat door",
              "lock the back floor"):
        p.known[t] = Parsed((LOCK,), margin=9.0)
    heard = understand(transcript("Lock the back door.", "Lock them back door.",
                                  "Lock the bat door.", "Lock the back floor.",
                                  "Unlock the back door."), p, sensitive=sensitive)
    assert heard.parsed.calls == () and heard.parses == 3  # the fifth by its words
    p.known["light the back door"] = Parsed((LIGHT_ON,), margin=9.0)
    heard = understand(transcript("Unlock the back door.", "Light the back door."), p,
                       sensitive=sensitive)
    assert heard.parsed.calls == (UNLOCK,)  # no door call there: no disagreement
    # a call the dialogue guards anyway (refused, or asked about) is left to it
    refusing = door_rule(Catalog.load(), guarded=lambda c: c.function == "lock.unlock")
    heard = understand(transcript("Unlock the back door.", "And lock the back door."), p,
                       sensitive=refusing)
    assert heard.parsed.calls == (UNLOCK,)
    # hypotheses that agree (or say nothing about a door) leave the call alone
    heard = understand(transcript("Unlock the back door.", "Unlock the bad door.",
                                  "Unlock the back door please."), p, sensitive=sensitive)
    assert heard.parsed.calls == (UNLOCK,) and heard.parses == 3
    # without the rule the sure first guess wins, and lights never pay for it
    assert understand(transcript("And lock the back door.", "Unlock the back door."),
                      p).parsed.calls == (LOCK,)
    p2 = FakeParser({"reading lamp on": Parsed((LIGHT_ON,), margin=9.0)})
    assert understand(transcript("Reading lamp on.", "Regent lamp on."), p2,
                      sensitive=sensitive).parses == 1


GARAGE_CLOSE = Call("cover.close", {"device": "garage_door"})


@pytest.mark.parametrize(
    ("heard", "calls"),
    [
        # words Whisper was unsure of (-1.0): no door call, however wide the margin
        ((("Keep it in back door.", -1.0),), ()),
        # the same words heard surely: the call stands
        ((("Keep it in back door.", -0.2),), (LOCK,)),
        # a light from the same unsure words, with a sure parse, is not the door rule's
        ((("Reading lamp on.", -1.0),), (LIGHT_ON,)),
        # a close hypothesis the model refuses on purpose (a delayed request): no call
        ((("Close the garage door in the hallway.", -0.38),
          ("Close the garage door in an hour.", -0.45)), ()),
        # one it just does not understand is no disagreement
        ((("Close the garage door in the hallway.", -0.38),
          ("Close the garage door in a hollow way.", -0.45)), (GARAGE_CLOSE,)),
        # the likeliest words make no door call: a later hearing does not move it
        ((("Lock the garage door.", -0.44), ("Lift the garage door.", -0.77)), ()),
    ],
)
def test_a_door_moves_on_sure_words_and_agreeing_hypotheses_only(
    heard: tuple[tuple[str, float], ...], calls: tuple[Call, ...]
) -> None:
    from octohome.core.catalog import Catalog
    from octohome.hear.heard import DOUBT_REASON, door_rule

    p = FakeParser({
        "keep it in back door": Parsed((LOCK,), margin=3.4),
        "reading lamp on": Parsed((LIGHT_ON,), margin=9.0),
        "close the garage door in the hallway": Parsed((GARAGE_CLOSE,), margin=9.0),
        "close the garage door in an hour": Parsed((), LATER_REASON, refused=True),
        "lift the garage door": Parsed((Call("cover.open", {"device": "garage_door"}),),
                                       margin=6.0),
    })
    tr = Transcript(heard[0][0], 2.0, 0.2,
                    alternatives=tuple(Hypothesis(t, sc) for t, sc in heard))
    got = understand(tr, p, sensitive=door_rule(Catalog.load())).parsed
    assert got.calls == calls
    assert calls or got.reason == DOUBT_REASON


@pytest.mark.parametrize(
    ("first", "reason"),
    [
        ("Set the office light to 300 percent.", "brightness 300 is outside 1..100"),
        ("Turn the porch light off at midnight.", LATER_REASON),
    ],
)
def test_a_refusal_is_not_replaced_by_another_hypothesis(first: str, reason: str) -> None:
    """A value out of range is refused, never bent into what a later hypothesis says."""
    some_call = Parsed((Call("light.turn_off", {"device": "porch_light"}),), margin=9.0)
    p = FakeParser({first.lower().rstrip("."): Parsed((), reason, refused=True),
                    "set the office light to 100 percent": some_call,
                    "turn the porch light off": some_call})
    second = ("Set the office light to 100 percent." if "300" in first
              else "Turn the porch light off.")
    heard = understand(transcript(first, second), p)
    assert heard.parsed.calls == () and heard.parsed.reason == reason and p.runs == [first]


def heard_unsure(*texts: str) -> Transcript:
    """Words Whisper was not sure of (mean token log-probability -0.7)."""
    alts = tuple(Hypothesis(t, -0.7 - 0.1 * i) for i, t in enumerate(texts))
    return Transcript(texts[0], 2.0, 0.2, alternatives=alts)


@pytest.mark.parametrize(
    ("sure_words", "margin", "acted"),
    [
        (False, 1.0, False),  # unsure words, unsure parse: say it again
        (False, 6.0, True),  # unsure words, a sure parse
        (True, 1.0, True),  # sure words, an unsure parse (digits are close calls)
    ],
)
def test_unsure_words_and_an_unsure_parse_make_no_call(
    sure_words: bool, margin: float, acted: bool
) -> None:
    p = FakeParser({"call me light off": Parsed((LIGHT_ON,), margin=margin)})
    tr = transcript("Call me light off.") if sure_words else heard_unsure("Call me light off.")
    heard = understand(tr, p)
    assert heard.parsed.calls == ((LIGHT_ON,) if acted else ())
    assert acted or heard.parsed.reason == UNSURE_REASON


class SecondEar:
    """A second recognizer's answer for one utterance; counts how often it was asked."""

    def __init__(self, *texts: str, score: float = 0.0) -> None:
        self.answer = transcript(*texts) if texts else Transcript("", 2.0, 0.4)
        if texts:
            self.answer = replace(self.answer, alternatives=(
                Hypothesis(texts[0], score), *self.answer.alternatives[1:]))
        self.asked = 0

    def __call__(self) -> Transcript:
        self.asked += 1
        return self.answer


@pytest.mark.parametrize(
    ("first", "second", "asked", "calls"),
    [
        # tiny.en was sure: base is never asked
        ("Reading lamp on.", ("Reading lamp on.",), 0, (LIGHT_ON,)),
        # base was unsure of its own words (scored below -0.5): they are not used
        ("Regent lamp on.", ("Reading lamp on, unsure.",), 1, ()),
        # no call, with a reason, from tiny.en's words: base's are understood instead
        ("Regent lamp on.", ("Reading lamp on.",), 1, (LIGHT_ON,)),
        # an unsure call: the same
        ("Reading lamp on, man.", ("Reading lamp on.",), 1, (LIGHT_ON,)),
        # a refusal on purpose is final whoever heard it
        ("Set the lamp to 300 percent.", ("Set the lamp to 30 percent.",), 0, ()),
        # so is "not a command"
        ("Tell me a joke.", ("Reading lamp on.",), 0, ()),
        # base heard nothing: what tiny.en gave stands
        ("Regent lamp on.", (), 1, ()),
    ],
)
def test_a_second_recognizer_is_asked_only_when_the_first_left_the_model_unsure(
    first: str, second: tuple[str, ...], asked: int, calls: tuple[Call, ...]
) -> None:
    p = FakeParser({
        "reading lamp on": Parsed((LIGHT_ON,), margin=9.0),
        "regent lamp on": Parsed((), UNSURE_REASON),
        "reading lamp on, man": Parsed((LIGHT_ON,), margin=0.5),
        "set the lamp to 300 percent": Parsed((), "out of range", refused=True),
        "set the lamp to 30 percent": Parsed((LIGHT_ON,), margin=9.0),
    })
    unsure = bool(second) and second[0].endswith("unsure.")
    ear = SecondEar(*(t.replace(", unsure", "") for t in second),
                    score=-0.9 if unsure else 0.0)
    heard = understand(replace(transcript(first), again=ear), p)
    assert ear.asked == asked and heard.asked_again == (asked == 1)
    assert heard.parsed.calls == calls
    # what the first recognizer's words gave is kept beside when the second's were used
    assert (heard.before is not None) == (asked == 1 and bool(second) and not unsure)
    assert heard.before is None or heard.before.text == transcript(first).text


def test_a_door_held_back_is_said_again_not_asked_again() -> None:
    from octohome.hear.heard import DOUBT_REASON, UNSURE_REASON, wants_second

    assert not wants_second(Parsed((), DOUBT_REASON))
    assert wants_second(Parsed((), UNSURE_REASON))


def test_hearing_asks_the_second_recognizer_after_the_early_judge_parsed() -> None:
    """The early-end judge parses the listener's words (no second recognizer yet);
    the dialogue's parse of the same words then asks it, once."""
    other = Call("light.turn_on", {"device": "hallway_light"})
    p = FakeParser({"turn on the whole light": Parsed((other,), margin=1.5),
                    "turn on the hall light": Parsed((LIGHT_ON,), margin=7.0)})
    hearing = Hearing(lambda: p)
    assert hearing.judge(transcript("Turn on the whole light."))  # margin 1.5 >= early 1.0
    ear = SecondEar("Turn on the hall light.")
    hearing.heard(replace(transcript("Turn on the whole light."), again=ear))
    assert hearing.parse("Turn on the whole light.").calls == (LIGHT_ON,)
    assert hearing.parse("Turn on the whole light.").calls == (LIGHT_ON,)
    assert ear.asked == 1 and hearing.last is not None and hearing.last.asked_again
