"""The command mapping of the demo home: topics, payloads, transforms, safety."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from octohome.act.mapping import (
    Refused,
    build_messages,
    check_mapping,
    plan_messages,
    specs_of,
    state_sources,
)
from octohome.act.state import DeviceStates
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
    # zigbee2mqtt's own relative command: percent points on its 0..254 scale
    ("light.step_brightness", {"device": "kitchen_lights", "step": -20},
     "zigbee2mqtt/kitchen_lights/set", {"brightness_step": -51}),
    ("light.step_brightness", {"device": "porch_light", "step": 100},
     "zigbee2mqtt/porch_light/set", {"brightness_step": 254}),
    ("light.step_brightness", {"device": "office_light", "step": 1},
     "zigbee2mqtt/office_light/set", {"brightness_step": 3}),
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


# (step call, state topic, state payload, absolute call sent, topic, payload): the step
# functions of devices with no relative command of their own, from the last state seen.
FROM_STATE: list[tuple[Call, str, bytes, Call, str, str | dict[str, Any]]] = [
    (Call("light.step_brightness", {"device": "bedroom_light", "step": 20}),
     "home/bedroom_light", b'{"state": "ON", "brightness": 128}',
     Call("light.set_brightness", {"device": "bedroom_light", "brightness": 70}),
     "home/bedroom_light/set", {"state": "ON", "brightness": 179}),
    (Call("light.step_brightness", {"device": "hallway_light", "step": -30}),
     "home/hallway_light/state", b'{"state": "ON", "brightness": 255}',
     Call("light.set_brightness", {"device": "hallway_light", "brightness": 70}),
     "home/hallway_light/set", {"state": "ON", "brightness": 179}),
    (Call("media.step_volume", {"device": "living_room_tv", "step": -10}),
     "home/living_room_tv/volume", b"35",
     Call("media.set_volume", {"device": "living_room_tv", "volume": 25}),
     "home/living_room_tv/volume/set", "25"),
    (Call("media.step_volume", {"device": "kitchen_speaker", "step": 10}),
     "zigbee2mqtt/kitchen_speaker", b'{"state": "PLAY", "volume": 40}',
     Call("media.set_volume", {"device": "kitchen_speaker", "volume": 50}),
     "zigbee2mqtt/kitchen_speaker/set", {"volume": 50}),
    (Call("climate.step_temperature", {"device": "thermostat", "step": 1.5}),
     "home/thermostat/target_temp", b"20.5",
     Call("climate.set_temperature", {"device": "thermostat", "temperature": 22}),
     "home/thermostat/target_temp/set", "22"),
]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def payload_of(raw: bytes, expected: str | dict[str, Any]) -> Any:
    return json.loads(raw) if isinstance(expected, dict) else raw.decode()


def test_every_function_is_covered_by_the_table(catalog: Catalog) -> None:
    functions = {row[0] for row in EXPECTED} | {row[0].function for row in FROM_STATE}
    assert functions == set(catalog.function_names)


def states_with(*messages: tuple[str, bytes]) -> DeviceStates:
    states = DeviceStates()
    for topic, payload in messages:
        assert states.update(topic, payload)
    return states


@pytest.mark.parametrize(("step", "topic", "state", "absolute", "out_topic", "payload"),
                         FROM_STATE)
def test_a_step_without_a_relative_command_goes_out_absolute_from_the_state(
        catalog: Catalog, step: Call, topic: str, state: bytes, absolute: Call,
        out_topic: str, payload: str | dict[str, Any]) -> None:
    plan = plan_messages(catalog, step, states_with((topic, state)))
    assert plan.sent_as == absolute
    [msg] = plan.messages
    assert msg.topic == out_topic and payload_of(msg.payload, payload) == payload
    with pytest.raises(Refused, match=r"I don't know the .*'s .* yet"):
        build_messages(catalog, step, DeviceStates())
    with pytest.raises(Refused):
        build_messages(catalog, step)  # no state store at all


def test_the_state_topics_followed_for_the_demo_home(catalog: Catalog) -> None:
    """Derived by the zigbee2mqtt and Home Assistant conventions: the absolute
    command's topic without /set (Home Assistant and custom: or with /state), the
    value where the command puts it, the command's scale inverted."""
    got = {(s.device, s.topics, s.path) for s in state_sources(catalog)}
    assert got == {
        ("bedroom_light", ("home/bedroom_light", "home/bedroom_light/state"), ("brightness",)),
        ("hallway_light", ("home/hallway_light", "home/hallway_light/state"), ("brightness",)),
        ("living_room_tv", ("home/living_room_tv/volume", "home/living_room_tv/volume/state"),
         ()),
        ("kitchen_speaker", ("zigbee2mqtt/kitchen_speaker",), ("volume",)),
        ("thermostat", ("home/thermostat/target_temp", "home/thermostat/target_temp/state"),
         ()),
    }  # the zigbee2mqtt lights step by themselves (brightness_step): no state needed


def _step(catalog: Catalog, function: str, device: str, step: float,
          *messages: tuple[str, bytes]) -> Call | None:
    return plan_messages(catalog, Call(function, {"device": device, "step": step}),
                         states_with(*messages)).sent_as


@pytest.mark.parametrize(("state", "step", "brightness"), [
    (b'{"state": "ON", "brightness": 230}', 20, 100),   # 90 % + 20: clamped to 100
    (b'{"state": "ON", "brightness": 13}', -20, 1),     # 5 % - 20: 1, never off
    (b'{"state": "ON", "brightness": 255}', -100, 1),
    (b'{"state": "OFF", "brightness": 200}', 30, 30),   # off: counts from 0
    (b'{"state": "OFF"}', 20, 20),
])
def test_brightness_from_state_is_clamped_to_1_100(catalog: Catalog, state: bytes, step: int,
                                                   brightness: int) -> None:
    sent = _step(catalog, "light.step_brightness", "bedroom_light", step,
                 ("home/bedroom_light", state))
    assert sent == Call("light.set_brightness", {"device": "bedroom_light",
                                                 "brightness": brightness})


def test_dimming_a_light_that_is_off_is_refused(catalog: Catalog) -> None:
    with pytest.raises(Refused, match="bedroom light is off"):
        _step(catalog, "light.step_brightness", "bedroom_light", -20,
              ("home/bedroom_light", b'{"state": "OFF", "brightness": 200}'))


@pytest.mark.parametrize(("state", "step", "temperature"), [
    (b"29.5", 1, 30), (b"30", 5, 30), (b"5.5", -1, 5), (b"21", -0.5, 20.5),
    (b"21.3", 1, 22.5),  # a reported value off the 0.5 grid: rounded onto it
])
def test_temperature_from_state_is_clamped_to_5_30(catalog: Catalog, state: bytes, step: float,
                                                   temperature: float) -> None:
    sent = _step(catalog, "climate.step_temperature", "thermostat", step,
                 ("home/thermostat/target_temp", state))
    assert sent == Call("climate.set_temperature", {"device": "thermostat",
                                                    "temperature": temperature})


def test_volume_from_state_is_clamped_to_0_100(catalog: Catalog) -> None:
    sent = _step(catalog, "media.step_volume", "living_room_tv", -30,
                 ("home/living_room_tv/volume/state", b"20"))
    assert sent == Call("media.set_volume", {"device": "living_room_tv", "volume": 0})
    sent = _step(catalog, "media.step_volume", "kitchen_speaker", 10,
                 ("zigbee2mqtt/kitchen_speaker", b'{"volume": 95}'))
    assert sent == Call("media.set_volume", {"device": "kitchen_speaker", "volume": 100})


def test_the_newest_state_wins_and_partial_updates_merge(catalog: Catalog) -> None:
    states = states_with(("home/bedroom_light", b'{"state": "ON", "brightness": 51}'),
                         ("home/bedroom_light/state", b'{"state": "ON", "brightness": 102}'))
    step = Call("light.step_brightness", {"device": "bedroom_light", "step": 10})
    assert plan_messages(catalog, step, states).sent_as == Call(
        "light.set_brightness", {"device": "bedroom_light", "brightness": 50})
    states.update("home/bedroom_light/state", b'{"color_temp": 300}')  # keeps brightness
    assert plan_messages(catalog, step, states).sent_as == Call(
        "light.set_brightness", {"device": "bedroom_light", "brightness": 50})


@pytest.mark.parametrize("state", [
    b"", b"warm", b"NaN", b"inf", b'{"volume": true}', b'{"volume": "40"}', b"[40]",
    b'{"volume": NaN}', b"\xff\xfe",
])
def test_a_state_that_is_not_a_number_is_not_known(catalog: Catalog, state: bytes) -> None:
    states = DeviceStates()
    states.update("zigbee2mqtt/kitchen_speaker", state)
    states.update("home/living_room_tv/volume", state)
    for device in ("kitchen_speaker", "living_room_tv"):
        with pytest.raises(Refused, match="volume yet"):
            plan_messages(catalog, Call("media.step_volume", {"device": device, "step": 10}),
                          states)


def test_an_oversized_state_is_ignored() -> None:
    from octohome.act.state import MAX_STATE_BYTES

    states = DeviceStates()
    assert not states.update("t", b"1" * (MAX_STATE_BYTES + 1))
    assert states.get("t") is None


def _copy_home(tmp_path: Any) -> Any:
    import shutil

    home = tmp_path / "home"
    shutil.copytree(ROOT / "devices", home)
    return home


def test_a_device_own_relative_command_wins_over_the_state(tmp_path: Any) -> None:
    home = _copy_home(tmp_path)
    devices = home / "devices.toml"
    devices.write_text(devices.read_text() + """
[devices.mqtt.commands."media.step_volume"]
topic = "~/volume/step"
payload = "{step}"
format = "text"
""")  # appended to the last device: the kitchen speaker
    catalog = Catalog.load(home)
    step = Call("media.step_volume", {"device": "kitchen_speaker", "step": -10})
    plan = plan_messages(catalog, step)  # no state needed
    assert plan.sent_as is None
    assert [(m.topic, m.payload) for m in plan.messages] == [
        ("zigbee2mqtt/kitchen_speaker/volume/step", b"-10")]
    assert "kitchen_speaker" not in {s.device for s in state_sources(catalog)}
    assert check_mapping(catalog) == []


def test_a_step_whose_state_cannot_be_read_back_is_a_mapping_problem(tmp_path: Any) -> None:
    home = _copy_home(tmp_path)
    devices = home / "devices.toml"
    devices.write_text(devices.read_text().replace('topic = "~/volume/set"',
                                                   'topic = "~/volume"'))
    catalog = Catalog.load(home)
    problems = check_mapping(catalog)
    assert problems and all("media.step_volume living_room_tv" in p and "/set" in p
                            for p in problems), problems
    with pytest.raises(MappingError):
        plan_messages(catalog, Call("media.step_volume",
                                    {"device": "living_room_tv", "step": 10}), DeviceStates())


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
