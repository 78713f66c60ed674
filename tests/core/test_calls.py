"""Group targets: what 'the upstairs lights' or 'close the blinds' (said in a room) become."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from octohome.core.calls import (
    Call,
    Encoder,
    FunctionTable,
    Parsed,
    args_text,
    expand,
    group_target,
)
from octohome.core.catalog import Catalog


@pytest.fixture(scope="module")
def demo() -> Catalog:
    return Catalog.load()


LIGHTS = ["living_room_ceiling", "living_room_lamp", "kitchen_lights", "bedroom_light",
          "office_light", "hallway_light", "porch_light"]


@pytest.mark.parametrize(
    ("function", "target", "room", "devices"),
    [
        ("light.turn_on", "home:light", None, LIGHTS),
        ("light.turn_off", "living_room:light", None, ["living_room_ceiling", "living_room_lamp"]),
        ("light.turn_off", "upstairs:light", None, ["bedroom_light", "office_light"]),
        ("light.turn_off", "downstairs:light", None,
         ["living_room_ceiling", "living_room_lamp", "kitchen_lights", "hallway_light"]),
        ("cover.open", "home:blind", None, ["living_room_blinds", "bedroom_blinds"]),
        ("cover.close", "home:garage_door", None, ["garage_door"]),
        ("lock.unlock", "home:lock", None, ["front_door", "back_door"]),
        ("light.turn_on", "here:light", "office", ["office_light"]),
        ("light.turn_on", "here:light", "Lounge", ["living_room_ceiling", "living_room_lamp"]),
        ("cover.open", "here:blind", "living room", ["living_room_blinds"]),
        ("media.set_volume", "here:media", "living_room", ["living_room_tv"]),
        # the home's only thermostat, wherever the speaker is and without a room
        ("climate.step_temperature", "here:climate", None, ["thermostat"]),
        ("climate.step_temperature", "here:climate", "bedroom", ["thermostat"]),
        ("light.turn_on", "porch_light", "bedroom", ["porch_light"]),  # a device wins
    ],
)
def test_expand(
    demo: Catalog, function: str, target: str, room: str | None, devices: list[str]
) -> None:
    extra: dict[str, Any] = {}
    if function == "media.set_volume":
        extra = {"volume": 40}
    if function == "climate.step_temperature":
        extra = {"step": -1}
    calls, reason = expand(demo, function, {"device": target, **extra}, room)
    assert reason is None
    assert calls == tuple(Call(function, {"device": d, **extra}) for d in devices)


@pytest.mark.parametrize(
    ("function", "target", "room", "reason"),
    [
        ("cover.open", "here:blind", None, "Which blinds? There are 2: say the room"),
        ("light.turn_on", "here:light", None, "Which lights? There are 7: say the room"),
        ("light.turn_on", "here:light", "garage", "There are no lights in the garage"),
        ("cover.close", "kitchen:blind", None, "There are no blinds in the kitchen"),
        ("fan.turn_on", "downstairs:fan", None, "There are no fans downstairs"),
    ],
)
def test_expand_refuses_with_a_reason(
    demo: Catalog, function: str, target: str, room: str | None, reason: str
) -> None:
    assert expand(demo, function, {"device": target}, room) == ((), reason)


LARGE_HOME = Path(__file__).parents[2] / "bench" / "homes" / "large"


@pytest.mark.parametrize(
    ("target", "room", "devices"),
    [
        # every player has a class (tv, speaker, receiver): "louder" is any of them
        ("here:media", "media_room", ["media_room_receiver"]),
        ("here:media", "living_room", ["living_room_sonos", "living_room_tv"]),
        ("kitchen:media", None, ["kitchen_speaker"]),
        ("here:speaker", "living_room", ["living_room_sonos"]),  # a class stays a class
    ],
)
def test_a_media_group_without_a_class_is_every_player(
        target: str, room: str | None, devices: list[str]) -> None:
    home = Catalog.load(LARGE_HOME)
    assert "here:media" in home.signature("media.pause").groups
    assert "here:cover" not in home.signature("cover.open").groups  # "open halfway": blinds
    calls, reason = expand(home, "media.pause", {"device": target}, room)
    assert reason is None
    assert calls == tuple(Call("media.pause", {"device": d}) for d in devices)


@pytest.mark.parametrize(
    ("device", "expected"),
    [
        ("upstairs:light", ("upstairs", "light")),
        ("home:light", ("home", "light")),
        ("here:cover:blind", ("here", "cover:blind")),  # only the first colon splits
        ("living_room_lamp", None),
        (None, None),
        (7, None),
    ],
)
def test_group_target(device: object, expected: tuple[str, str] | None) -> None:
    assert group_target(device) == expected


def test_several_calls_are_one_target_sequence(demo: Catalog) -> None:
    table = FunctionTable.for_catalog(demo)
    enc = Encoder(lambda t: [ord(c) for c in t], table, demo, 2)
    calls = [("light.turn_off", {"device": "upstairs:light"}),
             ("lock.lock", {"device": "front_door"})]
    ids = enc.calls_target(calls)
    fn = dict(zip(table.functions, table.token_ids, strict=True))
    assert ids[0] == fn["light.turn_off"] and ids[-1] == table.end_id
    assert fn["lock.lock"] in ids
    assert "".join(chr(i) for i in ids if i >= 32) == "('light@upstairs')('front_door')"
    assert enc.later_target() == [table.later_id, table.end_id]
    assert args_text(demo, "climate.step_temperature", {"device": "here:climate", "step": -1.5}) \
        == "('climate@here', -1.5)"
    assert args_text(demo, "light.turn_on", {"device": "here:light"}, "scope:class") \
        == "('here:light')"  # a model trained before the class came first


def test_parsed_json_shape() -> None:
    assert Parsed().to_json() == {"calls": []}
    assert Parsed((), "too far").to_json() == {"calls": [], "reason": "too far"}
    one = Parsed((Call("lock.lock", {"device": "front_door"}),))
    assert one.to_json() == {"calls": [{"function": "lock.lock",
                                        "arguments": {"device": "front_door"}}]}
