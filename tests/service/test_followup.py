"""The conversation without audio: follow-ups, asking back, sensitive functions, the PIN."""

from __future__ import annotations

from typing import Any

import pytest

from octohome.core.calls import Call, Parsed
from octohome.core.catalog import Catalog
from octohome.core.config import Settings
from octohome.service.dialogue import Dialogue, Turn, spoken_digits
from octohome.service.followup import Context, is_follow_up, resolve, undo
from tests.stub_parser import StubParser

CAT = Catalog.load()


def c(function: str, device: str, **args: Any) -> Call:
    return Call(function, {"device": device, **args})


def calls(parsed: Parsed) -> list[tuple[str | None, Any]]:
    return [(x.function, x.arguments.get("device")) for x in parsed.calls]


KITCHEN_ON = Context((c("light.turn_on", "kitchen_lights"),), "turn on the kitchen lights")


@pytest.mark.parametrize(("text", "want"), [
    ("turn it off", [("light.turn_off", "kitchen_lights")]),
    ("Okay, turn them off.", [("light.turn_off", "kitchen_lights")]),
    ("switch it back on", [("light.turn_on", "kitchen_lights")]),
    ("and the bedroom too", [("light.turn_on", "bedroom_light")]),
    ("the office as well", [("light.turn_on", "office_light")]),
    ("also in the living room", [("light.turn_on", "living_room_ceiling"),
                                 ("light.turn_on", "living_room_lamp")]),
    ("and the floor lamp", [("light.turn_on", "living_room_lamp")]),
    ("and the TV too", [("media.play", "living_room_tv")]),
    ("undo", [("light.turn_off", "kitchen_lights")]),
    ("take that back", [("light.turn_off", "kitchen_lights")]),
])
def test_follow_ups_of_turning_on_the_kitchen_lights(text: str, want: list[Any]) -> None:
    fu = resolve(text, KITCHEN_ON, CAT, StubParser(CAT).parse)
    assert fu is not None, text
    assert calls(fu.parsed) == want


def test_undo_and_repeat() -> None:
    assert calls(undo([c("lock.lock", "front_door"), c("cover.open", "garage_door"),
                       c("media.pause", "living_room_tv")], CAT)) == [
        ("lock.unlock", "front_door"), ("cover.close", "garage_door"),
        ("media.play", "living_room_tv")]
    step = undo([c("light.step_brightness", "kitchen_lights", step=-20)], CAT)
    assert step.calls == (c("light.step_brightness", "kitchen_lights", step=20),)
    refused = undo([c("light.set_brightness", "kitchen_lights", brightness=30)], CAT)
    assert refused.calls == ()
    assert refused.reason == ("I don't know what the brightness of the kitchen lights was"
                              " before, so I can't undo that")
    dim = Context((c("light.step_brightness", "kitchen_lights", step=-20),), "dim")
    for text, step_ in (("a bit more", -20), ("more", -20), ("a little less", 20),
                        ("again", -20)):
        fu = resolve(text, dim, CAT)
        assert fu is not None and fu.kind == "repeat"
        assert fu.parsed.calls == (c("light.step_brightness", "kitchen_lights",
                                     step=step_),), text
    set30 = Context((c("light.set_brightness", "kitchen_lights", brightness=30),), "x")
    fu = resolve("a bit more", set30, CAT)
    assert fu is not None
    assert fu.parsed.calls == (c("light.step_brightness", "kitchen_lights", step=20),)
    fu = resolve("a bit more", KITCHEN_ON, CAT)
    assert fu is not None and not fu.parsed.calls and fu.parsed.reason


def test_a_value_said_of_it_goes_through_the_model() -> None:
    two = Context((c("light.turn_on", "kitchen_lights"), c("light.turn_on", "office_light")),
                  "x")
    fu = resolve("set them to thirty percent", two, CAT, StubParser(CAT).parse)
    assert fu is not None
    assert fu.parsed.calls == (c("light.set_brightness", "kitchen_lights", brightness=30),
                               c("light.set_brightness", "office_light", brightness=30))


def test_without_a_command_before_a_follow_up_gives_no_call() -> None:
    for text in ("turn it off", "undo", "a bit more", "and the bedroom too"):
        fu = resolve(text, None, CAT)
        assert fu is not None and fu.parsed.calls == () and fu.parsed.reason, text
    # not follow-ups: the model's turn
    for text in ("turn on the kitchen lights", "make it warmer", "what time is it today",
                 "turn on the bedroom lights too"):
        assert resolve(text, None, CAT) is None or text == "what time is it today", text
    assert is_follow_up("turn it off") and not is_follow_up("turn on the kitchen lights")


# -- the dialogue ----------------------------------------------------------------------


class Talk:
    """A dialogue on a simulated clock with the stand-in model."""

    def __init__(self, **sensitive: Any) -> None:
        s = Settings(sensitive=sensitive)  # type: ignore[arg-type]
        self.settings = s
        self.d = Dialogue(CAT, s.reply, s.sensitive)
        self.parser = StubParser(CAT)
        self.t = 0.0

    def say(self, text: str, *, after: float = 1.0) -> tuple[Turn, str]:
        self.t += after
        shown = self.d.shown_text(text, self.t)
        turn = self.d.interpret(text, None, self.parser.parse, self.t)
        self.t += 1.0
        self.d.replied(self.t)
        return turn, shown


def test_asking_back_and_the_answers() -> None:
    talk = Talk()
    q, _ = talk.say("turn on the light")
    assert q.kind == "question" and q.expect == "room" and q.parsed.calls == ()
    assert q.reply == "Which lights? Say the room."
    a, _ = talk.say("in the kitchen, please")
    assert a.kind == "answer" and calls(a.parsed) == [("light.turn_on", "kitchen_lights")]
    assert talk.parser.rooms[-1] == "kitchen"
    talk.say("turn on the light")
    a, _ = talk.say("both of them")
    assert len(a.parsed.calls) == 7
    talk.say("turn on the light")
    a, _ = talk.say("never mind")
    assert a.kind == "cancelled" and a.parsed.calls == () and a.reply == "Okay, nothing was done."
    talk.say("turn on the light")
    late, _ = talk.say("the kitchen", after=talk.settings.reply.answer_s + 1)
    assert late.kind == "command" and late.parsed.calls == ()  # the question had lapsed
    talk.say("turn on the light")
    talk.d.silence()  # nobody answered
    assert talk.d.expecting(talk.t) is None


def test_follow_up_window_opens_after_the_reply_and_closes() -> None:
    talk = Talk()
    talk.say("turn on the kitchen lights")
    off, _ = talk.say("turn it off", after=talk.settings.reply.follow_up_s - 0.5)
    assert calls(off.parsed) == [("light.turn_off", "kitchen_lights")]
    late, _ = talk.say("turn it off", after=talk.settings.reply.follow_up_s + 0.5)
    assert late.parsed.calls == () and late.parsed.reason
    assert not talk.d.window_open(talk.t + talk.settings.reply.follow_up_s + 1)


def test_sensitive_functions_refused_by_default_with_a_reason() -> None:
    talk = Talk()
    t, _ = talk.say("unlock the front door")
    assert t.parsed.calls == ()
    assert t.parsed.reason == "For safety, I don't unlock the front door by voice"
    t, _ = talk.say("open the garage door")
    assert t.parsed.calls == () and "open the garage door" in (t.parsed.reason or "")
    t, _ = talk.say("open the living room blinds")  # blinds are no garage door
    assert calls(t.parsed) == [("cover.open", "living_room_blinds")]
    talk.say("lock the front door")
    t, _ = talk.say("undo")  # undoing a lock is an unlock: refused too
    assert t.parsed.calls == () and "unlock the front door" in (t.parsed.reason or "")


def test_confirm_needs_a_yes_in_time() -> None:
    talk = Talk(by_voice="confirm")
    q, _ = talk.say("unlock the front door")
    assert q.kind == "confirm" and q.reply == "Unlock the front door?" and q.expect == "confirm"
    assert q.parsed.calls == ()
    yes, _ = talk.say("yes")
    assert yes.kind == "confirmed" and calls(yes.parsed) == [("lock.unlock", "front_door")]
    talk.say("unlock the front door")
    no, _ = talk.say("no")
    assert no.parsed.calls == () and no.kind == "cancelled"
    talk.say("unlock the front door")
    late, _ = talk.say("yes", after=talk.settings.reply.answer_s + 1)
    assert late.parsed.calls == ()
    talk.say("unlock the front door")
    other, _ = talk.say("turn on the kitchen lights")  # not a yes: the door stays locked
    assert calls(other.parsed) == [("light.turn_on", "kitchen_lights")]


def test_pin_is_asked_compared_and_never_shown() -> None:
    talk = Talk(by_voice="pin", pin="4321")
    q, shown = talk.say("unlock the front door")
    assert q.kind == "pin" and q.reply == "Say the code to unlock the front door."
    assert shown == "unlock the front door"
    ok, shown = talk.say("Four, three, two, one.")
    assert shown == "****" and "4321" not in repr(ok)
    assert calls(ok.parsed) == [("lock.unlock", "front_door")]
    talk.say("unlock the front door")
    bad, shown = talk.say("1 2 3 4")
    assert shown == "****" and bad.parsed.calls == () and bad.kind == "wrong_pin"
    # the PIN said out of turn is hidden too
    _, shown = talk.say("the code is 4 3 2 1")
    assert "4" not in shown and "3" not in shown
    # three wrong codes lock the PIN out
    for _ in range(2):
        talk.say("unlock the front door")
        talk.say("0000")
    locked, _ = talk.say("unlock the front door")
    assert locked.parsed.calls == () and "Too many wrong codes" in (locked.parsed.reason or "")
    assert spoken_digits("one two, 3 4") == "1234"


def test_pin_mode_needs_a_pin() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="needs a pin"):
        Settings(sensitive={"by_voice": "pin"})  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="4 to 8 digits"):
        Settings(sensitive={"by_voice": "pin", "pin": "12ab"})  # type: ignore[arg-type]
