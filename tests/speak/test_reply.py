"""Reply texts: an outcome in words a person understands."""

from __future__ import annotations

from typing import Any

from octohome.act.link import CallOutcome, Outcome
from octohome.core.calls import Call
from octohome.core.catalog import Catalog
from octohome.speak.reply import (
    NOT_UNDERSTOOD,
    device_phrase,
    likely_replies,
    question_text,
    reason_text,
    reply_text,
)

CAT = Catalog.load()


def _done(*calls: tuple[str, dict[str, Any]], **kw: Any) -> Outcome:
    outs = tuple(CallOutcome("published", f, dict(a)) for f, a in calls)
    return Outcome("published", text="x", calls=outs, **kw)


def test_done_names_the_device_or_the_group() -> None:
    assert reply_text(_done(("light.turn_on", {"device": "kitchen_lights"})), CAT) == \
        "Kitchen lights on."
    living = [("light.turn_off", {"device": d}) for d in ("living_room_ceiling",
                                                          "living_room_lamp")]
    assert reply_text(_done(*living), CAT) == "Living room lights off."
    two = [("light.turn_off", {"device": d}) for d in ("kitchen_lights", "office_light")]
    assert reply_text(_done(*two), CAT) == "Two lights off."
    doors = [("lock.lock", {"device": d}) for d in ("front_door", "back_door")]
    assert reply_text(_done(*doors), CAT) == "All doors locked."
    up = [("light.turn_off", {"device": d}) for d in ("bedroom_light", "office_light")]
    assert reply_text(_done(*up), CAT) == "Upstairs lights off."
    assert reply_text(_done(("light.set_brightness", {"device": "living_room_lamp",
                                                     "brightness": 30})), CAT) == \
        "Living room floor lamp at 30 percent."
    assert reply_text(_done(("climate.set_temperature", {"device": "thermostat",
                                                        "temperature": 21.5})), CAT) == \
        "Thermostat set to 21.5 degrees."
    assert reply_text(_done(("scene.activate", {"scene": "movie_night"})), CAT) == \
        "Movie night scene on."
    both = _done(("light.turn_on", {"device": "kitchen_lights"}),
                 ("lock.lock", {"device": "front_door"}))
    assert reply_text(both, CAT) == "Kitchen lights on. Front door locked."


def test_a_step_computed_from_state_says_the_value_sent() -> None:
    c = CallOutcome("published", "light.step_brightness", {"device": "bedroom_light",
                                                          "step": -20},
                    sent_as=Call("light.set_brightness", {"device": "bedroom_light",
                                                          "brightness": 20}))
    assert reply_text(Outcome("published", calls=(c,)), CAT) == "Bedroom light at 20 percent."
    c2 = CallOutcome("published", "light.step_brightness", {"device": "kitchen_lights",
                                                           "step": -20})
    assert reply_text(Outcome("published", calls=(c2,)), CAT) == "Kitchen lights dimmer."


def test_refusals_and_not_understood() -> None:
    assert reply_text(Outcome("not_a_command"), CAT) == NOT_UNDERSTOOD
    refused = Outcome("refused", reason="brightness 150 is outside 1..100")
    assert reply_text(refused, CAT) == "Brightness goes up to 100 percent."
    assert reason_text("temperature 2 is outside 5..30") == "Temperature goes down to 5 degrees."
    assert reason_text("brightness must be in 1..100: nothing was done") == \
        "Brightness goes from 1 to 100 percent. Nothing was done."
    assert reason_text("Which lights? There are 7: say the room") == \
        "Which lights? Say the room."
    assert question_text("Which blinds? There are 2: say the room") == \
        "Which blinds? Say the room."
    assert reason_text("I can only act now, not later or on a condition: nothing was done") == \
        "I can only act now, not later. Nothing was done."
    assert reason_text("I heard the garage, and I won't guess another room's device:"
                       " nothing was done") == (
        "I heard the garage, and I won't guess another room's device. Nothing was done.")
    # a refused call among published ones: what was done, then why the rest was not
    mixed = Outcome("refused", calls=(
        CallOutcome("published", "light.turn_on", {"device": "kitchen_lights"}),
        CallOutcome("refused", "light.step_brightness", {"device": "bedroom_light",
                                                         "step": -20},
                    reason="I don't know the bedroom light's brightness yet")))
    assert reply_text(mixed, CAT) == \
        "Kitchen lights on. I don't know the bedroom light's brightness yet."
    expired = Outcome("expired", calls=(CallOutcome("expired", "light.turn_on",
                                                    {"device": "kitchen_lights"}),))
    assert "Nothing was done" in reply_text(expired, CAT)


def test_device_phrase_counts_what_is_no_group() -> None:
    assert device_phrase(CAT, ["kitchen_lights", "bedroom_light", "porch_light"]) == \
        "three lights"
    assert device_phrase(CAT, ["kitchen_lights", "front_door"]) == "two devices"


def test_likely_replies_cover_the_usual_ones() -> None:
    texts = likely_replies(CAT)
    for t in ("Kitchen lights on.", "Living room lights off.", "All doors locked.",
              "Garage door open.", NOT_UNDERSTOOD, "Which lights? Say the room."):
        assert t in texts, t
    assert len(texts) < 150  # a bounded warm-up
