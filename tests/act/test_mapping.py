"""The command mapping of the demo home: topics, payloads, transforms, safety."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from octohome.act.mapping import (
    build_messages,
    check_mapping,
    specs_of,
)
from octohome.core.calls import Call
from octohome.core.catalog import Catalog
from octohome.core.targets import (
    CommandSpec,
    MappingError,
    MqttTarget,
    Transform,
)
from tests.paths import ROOT

# (function, arguments, topic, payload): every function of the demo home at least
# once, and every style variant the demo home uses.
EXPECTED: list[tuple[str, dict[str, Any], str, str | dict[str, Any]]] = [
    ("light.turn_on", {"device": "living_room_ceiling"}, "zigbee2mqtt/living_room_ceiling/set",
     {"state": "ON"}),
    ("light.turn_off", {"device": "office_light"}, "zigbee2mqtt/office_light/set",
     {"state": "OFF"}),
    ("light.set_brightness", {"device": "porch_light", "brightness": 50},
     "zigbee2mqtt/porch_light/set", {"brightness": 127}),
    ("light.set_brightness", {"device": "porch_light", "brightness": 100},
     "zigbee2mqtt/porch_light/set", {"brightness": 254}),
    ("light.set_brightness", {"device": "porch_light", "brightness": 1},
     "zigbee2mqtt/porch_light/set", {"brightness": 3}),
    ("light.set_color", {"device": "living_room_ceiling", "color": "red"},
     "zigbee2mqtt/living_room_ceiling/set", {"color": {"r": 255, "g": 0, "b": 0}}),
    ("light.set_color", {"device": "living_room_lamp", "color": "blue"},
     "zigbee2mqtt/living_room_lamp/set", {"color": {"hue": 240, "saturation": 100}}),
    ("light.set_color", {"device": "kitchen_lights", "color": "white"},
     "zigbee2mqtt/kitchen_lights/set", {"color": {"x": 0.3127, "y": 0.329}}),
    # Home Assistant JSON-schema light
    ("light.turn_on", {"device": "bedroom_light"}, "home/bedroom_light/set", {"state": "ON"}),
    ("light.set_brightness", {"device": "bedroom_light", "brightness": 100},
     "home/bedroom_light/set", {"state": "ON", "brightness": 255}),
    ("light.set_color", {"device": "hallway_light", "color": "green"},
     "home/hallway_light/set", {"state": "ON", "color": {"h": 120, "s": 100}}),
    # switches
    ("switch.turn_on", {"device": "christmas_tree"}, "zigbee2mqtt/christmas_tree/set",
     {"state": "ON"}),
    ("switch.turn_on", {"device": "coffee_maker"}, "home/coffee_maker/set", "ON"),
    ("switch.turn_off", {"device": "office_heater"}, "home/office_heater/power/set", "OFF"),
    # covers
    ("cover.open", {"device": "living_room_blinds"}, "zigbee2mqtt/living_room_blinds/set",
     {"state": "OPEN"}),
    ("cover.close", {"device": "garage_door"}, "home/garage_door/set", "CLOSE"),
    ("cover.set_position", {"device": "living_room_blinds", "position": 25},
     "zigbee2mqtt/living_room_blinds/set", {"position": 75}),
    ("cover.set_position", {"device": "bedroom_blinds", "position": 50},
     "home/bedroom_blinds/position/set", "50"),
    # climate
    ("climate.set_temperature", {"device": "thermostat", "temperature": 21.5},
     "home/thermostat/target_temp/set", "21.5"),
    ("climate.set_temperature", {"device": "thermostat", "temperature": 20},
     "home/thermostat/target_temp/set", "20"),
    ("climate.set_mode", {"device": "thermostat", "mode": "auto"},
     "home/thermostat/mode/set", "heat_cool"),
    ("climate.set_mode", {"device": "thermostat", "mode": "off"}, "home/thermostat/mode/set",
     "off"),
    # locks
    ("lock.lock", {"device": "front_door"}, "zigbee2mqtt/front_door/set", {"state": "LOCK"}),
    ("lock.unlock", {"device": "back_door"}, "home/back_door/set", "UNLOCK"),
    # fans
    ("fan.turn_on", {"device": "office_fan"}, "zigbee2mqtt/office_fan/set", {"fan_mode": "on"}),
    ("fan.turn_off", {"device": "bedroom_fan"}, "home/bedroom_fan/set", "OFF"),
    ("fan.set_speed", {"device": "office_fan", "speed": "high"}, "zigbee2mqtt/office_fan/set",
     {"fan_mode": "high"}),
    ("fan.set_speed", {"device": "bedroom_fan", "speed": "low"},
     "home/bedroom_fan/percentage/set", "33"),
    # media (written out as data in devices.toml)
    ("media.play", {"device": "living_room_tv"}, "home/living_room_tv/command", "play"),
    ("media.pause", {"device": "kitchen_speaker"}, "zigbee2mqtt/kitchen_speaker/set",
     {"state": "PAUSE"}),
    ("media.set_volume", {"device": "living_room_tv", "volume": 30},
     "home/living_room_tv/volume/set", "30"),
    ("media.set_volume", {"device": "kitchen_speaker", "volume": 0},
     "zigbee2mqtt/kitchen_speaker/set", {"volume": 0}),
    # scenes
    ("scene.activate", {"scene": "movie_night"}, "home/scene/movie_night/set", "ON"),
]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def payload_of(raw: bytes, expected: str | dict[str, Any]) -> Any:
    return json.loads(raw) if isinstance(expected, dict) else raw.decode()


def test_every_function_is_covered_by_the_table(catalog: Catalog) -> None:
    assert {row[0] for row in EXPECTED} == set(catalog.function_names)


@pytest.mark.parametrize(("function", "arguments", "topic", "payload"), EXPECTED)
def test_demo_home_mapping(catalog: Catalog, function: str, arguments: dict[str, Any],
                           topic: str, payload: str | dict[str, Any]) -> None:
    [msg] = build_messages(catalog, Call(function, arguments))
    assert msg.topic == topic
    assert payload_of(msg.payload, payload) == payload
    assert msg.qos == 1
    assert msg.retain is False


def test_every_allowed_call_of_the_demo_home_maps(catalog: Catalog) -> None:
    assert check_mapping(catalog) == []


def test_not_a_command_sends_nothing(catalog: Catalog) -> None:
    assert build_messages(catalog, Call(None, {})) == []


@pytest.mark.parametrize(
    ("function", "arguments"),
    [
        ("light.set_brightness", {"device": "kitchen_lights", "brightness": 150}),
        ("light.set_brightness", {"device": "kitchen_lights", "brightness": "50"}),
        ("light.turn_on", {"device": "sauna"}),
        ("light.turn_on", {"device": "coffee_maker"}),
        ("light.set_color", {"device": "kitchen_lights", "color": "ultraviolet"}),
        ("climate.set_temperature", {"device": "thermostat", "temperature": 21.3}),
        ("lock.unlock", {"device": "front_door", "extra": "x"}),
        ("oven.turn_on", {"device": "oven"}),
    ],
)
def test_invalid_calls_are_rejected(catalog: Catalog, function: str,
                                    arguments: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        build_messages(catalog, Call(function, arguments))


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_free_text_never_reaches_a_message(text: str) -> None:
    """Whatever text is passed as an argument, it is refused, never published."""
    catalog = Catalog.load()
    for function, args in [
        ("light.set_color", {"device": "kitchen_lights", "color": text}),
        ("light.turn_on", {"device": text}),
        ("scene.activate", {"scene": text}),
        ("climate.set_mode", {"device": "thermostat", "mode": text}),
    ]:
        try:
            msgs = build_messages(catalog, Call(function, args))
        except ValueError:
            continue
        # Only a legitimate enum word / id can pass; it is catalog data, not user text.
        assert text in {"red", "orange", "yellow", "green", "blue", "purple", "pink", "white",
                        "heat", "cool", "auto", "off", "kitchen_lights", "good_morning",
                        "movie_night", "good_night", "away", *catalog.device_by_id}
        assert msgs


def test_transform_rescale_invert_and_round() -> None:
    t = Transform(input=(0, 100), output=(100, 0), digits=0)
    assert t.apply("position", 30) == 70
    assert Transform(input=(0, 100), output=(0, 254), digits=0).apply("b", 50) == 127
    assert Transform(digits=1).apply("t", 21.25) == 21.3
    assert Transform(map={"auto": "heat_cool"}).apply("mode", "auto") == "heat_cool"
    with pytest.raises(MappingError):
        Transform(map={"auto": "heat_cool"}).apply("mode", "heat")


def test_custom_style_without_command_has_no_specs() -> None:
    target = MqttTarget(style="custom", topic="x/y")
    assert specs_of(target, "light.turn_on") == ((), False)


def test_topics_with_wildcards_are_refused() -> None:
    with pytest.raises(ValueError):
        MqttTarget(topic="zigbee2mqtt/+/x")
    with pytest.raises(ValueError):
        MqttTarget(command_topic="home/#")


def test_text_payload_must_be_a_string() -> None:
    with pytest.raises(ValueError):
        CommandSpec(payload={"a": 1}, format="text")


def test_unknown_placeholder_is_caught_by_check_mapping(tmp_path: Any) -> None:
    import shutil

    src = ROOT / "devices"
    for name in ("functions.toml", "devices.toml", "scenes.toml"):
        shutil.copy(src / name, tmp_path / name)
    devices = (tmp_path / "devices.toml").read_text()
    devices = devices.replace('payload = "{volume}"', 'payload = "{loudness}"')
    (tmp_path / "devices.toml").write_text(devices)
    problems = check_mapping(Catalog.load(tmp_path))
    assert problems and all("loudness" in p for p in problems)
