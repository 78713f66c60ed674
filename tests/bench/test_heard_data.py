"""bench/heard_data.py's filter: which transcripts may be taught with the calls said.

A transcript taught with the wrong calls is a wrong action waiting to happen, so
each rule that drops one is pinned here on a transcript Whisper tiny.en wrote.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from octohome.core.catalog import Catalog
from tests.paths import ROOT, bench_script


@pytest.fixture(scope="module")
def heard_data() -> ModuleType:
    return bench_script("heard_data")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load(ROOT / "devices")


def off(device: str, function: str = "fan.turn_off") -> tuple[tuple[str, dict[str, Any]], ...]:
    return ((function, {"device": device}),)


@pytest.mark.parametrize(
    ("said", "heard", "calls", "why"),
    [
        ("kill the space heater right now", "Kill the space figure right now.",
         off("office_heater", "switch.turn_off"), None),
        ("the living room tv on", "Living room TV on.",
         (("media.play", {"device": "living_room_tv"}),), None),
        ("turn the desk fan off", "Turn the desk fan off.", off("office_fan"), "heard as said"),
        ("unlock the main door", "I'm locked the main door.",
         (("lock.unlock", {"device": "front_door"}),), "a door"),
        ("turn the desk fan off", "Turn the desk fan on.", off("office_fan"),
         "an action word changed"),
        ("can you please power off the bedroom fan now.",
         "Can you please power off the living room fan?", off("bedroom_fan"),
         "a word naming another device or room was heard"),
        ("quickly turn off desk fan", "Quickly turn off this fan.", off("office_fan"),
         "what is left of the name fits other devices too"),
        ("turn the space heater off", "Turn the space key giraffe.",
         off("office_heater", "switch.turn_off"), "an action word changed"),
    ],
)
def test_keep(heard_data: ModuleType, catalog: Catalog, said: str, heard: str,
              calls: tuple[tuple[str, dict[str, Any]], ...], why: str | None) -> None:
    assert heard_data.keep(said, heard, 0.7, calls, catalog) == why
