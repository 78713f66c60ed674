"""octohome import zigbee2mqtt against a real Mosquitto holding zigbee2mqtt's retained
bridge topics (zigbee2mqtt_bridge.json: 12 devices in zigbee2mqtt's documented
bridge/devices schema, a coordinator, a sensor, a remote and an unnamed plug among
them, two groups with scenes, bridge/info)."""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from octohome.act.mapping import build_messages, check_mapping
from octohome.cli import main
from octohome.core.calls import Call
from octohome.core.catalog import Catalog
from octohome.core.targets import MappingError
from octohome.importing.catalog_writer import PLACEHOLDER_ROOM, STATE_FILE, room_required
from tests.mqtt_broker import Broker, publish_once

FIXTURE = Path(__file__).with_name("zigbee2mqtt_bridge.json")

EXPECTED_DEVICES = {
    # id: (type, room, topic)
    "bedroom_blinds": ("cover", "bedroom", "zigbee2mqtt/bedroom/blinds"),
    "hallway_wall_switch_left": ("switch", "hallway", "zigbee2mqtt/hallway/wall_switch"),
    "hallway_wall_switch_right": ("switch", "hallway", "zigbee2mqtt/hallway/wall_switch"),
    "kitchen_ceiling_light": ("light", "kitchen", "zigbee2mqtt/kitchen/ceiling_light"),
    "kitchen_coffee_maker": ("switch", "kitchen", "zigbee2mqtt/kitchen/coffee_maker"),
    "living_room_floor_lamp": ("light", "living room", "zigbee2mqtt/living_room/floor_lamp"),
    "office_radiator": ("climate", "office", "zigbee2mqtt/office/radiator"),
    "office_ceiling_fan": ("fan", "office", "zigbee2mqtt/office/ceiling_fan"),
    "office_ceiling_fan_light": ("light", "office", "zigbee2mqtt/office/ceiling_fan"),
    "front_door": ("lock", PLACEHOLDER_ROOM if room_required() else None,
                   "zigbee2mqtt/front_door"),
}


def bridge() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text())
    return data


def publish_bridge(port: int, data: dict[str, Any], base: str = "zigbee2mqtt") -> None:
    for topic, payload in data.items():
        topic = topic.replace("zigbee2mqtt/", f"{base}/", 1)
        publish_once(port, topic, json.dumps(payload).encode(), retain=True)


def run_import(tmp_path: Path, port: int, *args: str,
               capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f"[mqtt]\nhost = \"127.0.0.1\"\nport = {port}\n")
    rc = main(["--config", str(cfg), "import", "zigbee2mqtt", *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def devices_of(out: Path) -> dict[str, dict[str, Any]]:
    data = tomllib.loads((out / "devices.toml").read_text())
    return {d["id"]: d for d in data["devices"]}


def test_import_writes_a_catalog_that_loads(mqtt_broker: Broker, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    publish_bridge(mqtt_broker.port, bridge())
    out = tmp_path / "home"
    rc, stdout, stderr = run_import(tmp_path, mqtt_broker.port, "--out", str(out),
                                    capsys=capsys)
    assert rc == 0, stderr
    catalog = Catalog.load(out)
    got = {d.id: (d.type, d.room, d.mqtt.topic if d.mqtt else None) for d in catalog.devices}
    assert got == EXPECTED_DEVICES
    # what cannot be commanded is skipped, and said so
    assert "'Coordinator' (0x00124b0024c2a7f1): the coordinator" in stdout
    assert "'bedroom/climate_sensor' (0x00158d00045b2a11): nothing to command (battery," \
           " temperature, humidity, pressure, voltage, linkquality)" in stdout
    assert "'office/button' (0x00158d0001e7bc66): nothing to command" in stdout
    assert "'0x00158d0005d2e188': no friendly name (rename it in zigbee2mqtt)" in stdout
    assert "added kitchen_ceiling_light: 'kitchen ceiling light' (light, kitchen)" in stdout
    assert f"--catalog {out}" in stdout and f'catalog = "{out.resolve()}"' in stdout
    # only the functions the devices have: no media, no colour-less gaps
    assert set(catalog.function_names) == {
        "light.turn_on", "light.turn_off", "light.set_brightness", "light.step_brightness",
        "light.set_color", "switch.turn_on", "switch.turn_off", "cover.open", "cover.close",
        "cover.set_position", "climate.set_temperature", "climate.step_temperature",
        "climate.set_mode", "lock.lock", "lock.unlock", "fan.turn_on", "fan.turn_off",
        "fan.set_speed", "scene.activate"}
    # rooms from friendly names; a device without one in the placeholder room
    assert [r.name for r in catalog.rooms] == (
        ["bedroom", "hallway", "kitchen", "living room", "office", PLACEHOLDER_ROOM]
        if room_required() else ["bedroom", "hallway", "kitchen", "living room", "office"])
    # unique leaf names become aliases ("floor lamp"), a bare type word never does
    devices = {d.id: d for d in catalog.devices}
    assert devices["living_room_floor_lamp"].aliases == ("floor lamp",)
    assert devices["office_ceiling_fan_light"].aliases == ()
    assert devices["bedroom_blinds"].device_class == "blind"
    # group scenes: "Bright" is in two groups, so each is named by its group's room
    assert sorted((s.id, s.name) for s in catalog.scenes) == [
        ("kitchen_bright", "kitchen bright"), ("living_room_bright", "living room bright"),
        ("movie_night", "Movie night")]


def _messages(catalog: Catalog, function: str, **args: Any) -> list[tuple[str, Any]]:
    return [(m.topic, json.loads(m.payload)) for m in build_messages(catalog, Call(function, args))]


def test_the_mapping_follows_each_devices_exposes(mqtt_broker: Broker, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    publish_bridge(mqtt_broker.port, bridge())
    out = tmp_path / "home"
    assert run_import(tmp_path, mqtt_broker.port, "--out", str(out), capsys=capsys)[0] == 0
    cat = Catalog.load(out)
    assert _messages(cat, "light.set_brightness", device="kitchen_ceiling_light",
                     brightness=50) == [("zigbee2mqtt/kitchen/ceiling_light/set",
                                         {"brightness": 127})]
    assert _messages(cat, "light.set_color", device="living_room_floor_lamp", color="white") \
        == [("zigbee2mqtt/living_room/floor_lamp/set", {"color": {"x": 0.3127, "y": 0.329}})]
    # an endpoint of a double switch: state_left, not state
    assert _messages(cat, "switch.turn_on", device="hallway_wall_switch_left") == [
        ("zigbee2mqtt/hallway/wall_switch/set", {"state_left": "ON"})]
    assert _messages(cat, "switch.turn_off", device="hallway_wall_switch_right") == [
        ("zigbee2mqtt/hallway/wall_switch/set", {"state_right": "OFF"})]
    # a TRV sets current_heating_setpoint; a mode it lacks is rejected, never sent
    assert _messages(cat, "climate.set_temperature", device="office_radiator",
                     temperature=21.5) == [("zigbee2mqtt/office/radiator/set",
                                            {"current_heating_setpoint": 21.5})]
    assert _messages(cat, "climate.set_mode", device="office_radiator", mode="auto") == [
        ("zigbee2mqtt/office/radiator/set", {"system_mode": "auto"})]
    with pytest.raises(MappingError, match="cool"):
        build_messages(cat, Call("climate.set_mode", {"device": "office_radiator",
                                                      "mode": "cool"}))
    assert _messages(cat, "fan.set_speed", device="office_ceiling_fan", speed="high") == [
        ("zigbee2mqtt/office/ceiling_fan/set", {"fan_mode": "high"})]
    assert _messages(cat, "cover.set_position", device="bedroom_blinds", position=30) == [
        ("zigbee2mqtt/bedroom/blinds/set", {"position": 30})]
    assert _messages(cat, "lock.unlock", device="front_door") == [
        ("zigbee2mqtt/front_door/set", {"state": "UNLOCK"})]
    assert _messages(cat, "scene.activate", scene="movie_night") == [
        ("zigbee2mqtt/living_room/lights/set", {"scene_recall": 1})]
    # every other allowed call maps (the step from state included)
    assert check_mapping(cat) == [
        "climate.set_mode office_radiator: mode = 'cool' has no entry in the transform map"]


def test_reimport_keeps_ids_and_edits_and_reports_changes(
        mqtt_broker: Broker, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = bridge()
    publish_bridge(mqtt_broker.port, data)
    out = tmp_path / "home"
    assert run_import(tmp_path, mqtt_broker.port, "--out", str(out), capsys=capsys)[0] == 0

    # the user edits the catalog by hand: an alias, a device of their own, a room name
    text = (out / "devices.toml").read_text()
    text = text.replace('aliases = ["floor lamp"]', 'aliases = ["floor lamp", "reading lamp"]')
    text += ('\n[[devices]]\n# my own: a custom MQTT radio\nid = "radio"\nname = "radio"\n'
             'type = "switch"\nroom = "kitchen"\n'
             'mqtt = { style = "custom", topic = "home/radio", commands."switch.turn_on" ='
             ' { payload = "on", format = "text" }, commands."switch.turn_off" ='
             ' { payload = "off", format = "text" } }\n')
    (out / "devices.toml").write_text(text)

    # meanwhile in zigbee2mqtt: a rename, a removal, a new plug, a device moved
    devices = data["zigbee2mqtt/bridge/devices"]
    by_name = {d["friendly_name"]: d for d in devices}
    by_name["kitchen/ceiling_light"]["friendly_name"] = "kitchen/main_light"
    by_name["bedroom/blinds"]["friendly_name"] = "guest_room/blinds"
    devices.remove(by_name["kitchen/coffee_maker"])
    plug = copy.deepcopy(by_name["kitchen/coffee_maker"])
    plug.update(ieee_address="0x000b57fffe000001", friendly_name="garden/fountain_pump")
    devices.append(plug)
    publish_bridge(mqtt_broker.port, data)

    rc, stdout, stderr = run_import(tmp_path, mqtt_broker.port, "--out", str(out),
                                    capsys=capsys)
    assert rc == 0, stderr
    assert "renamed kitchen_ceiling_light: 'kitchen ceiling light' -> 'kitchen main light'" \
        in stdout
    assert "moved bedroom_blinds: 'bedroom' -> 'guest room'" in stdout
    assert "removed kitchen_coffee_maker: 'kitchen coffee maker' (switch, kitchen)" in stdout
    assert "added garden_fountain_pump: 'garden fountain pump' (switch, garden)" in stdout
    assert "added garden: 'garden'" in stdout and "added guest_room: 'guest room'" in stdout
    assert "removed bedroom: 'bedroom'" in stdout  # nothing left in it
    cat = Catalog.load(out)
    devs = {d.id: d for d in cat.devices}
    # ids are stable across renames and moves
    assert devs["kitchen_ceiling_light"].name == "kitchen main light"
    assert devs["kitchen_ceiling_light"].mqtt is not None
    assert devs["kitchen_ceiling_light"].mqtt.topic == "zigbee2mqtt/kitchen/main_light"
    assert devs["bedroom_blinds"].room == "guest room"
    assert "kitchen_coffee_maker" not in devs
    # the user's own alias and device stay, the device's comment included
    assert devs["living_room_floor_lamp"].aliases == ("floor lamp", "reading lamp")
    assert devs["radio"].mqtt is not None and devs["radio"].mqtt.style == "custom"
    assert "# my own: a custom MQTT radio" in (out / "devices.toml").read_text()

    # the same again: nothing changes
    rc, stdout, _ = run_import(tmp_path, mqtt_broker.port, "--out", str(out), capsys=capsys)
    assert rc == 0 and "no changes" in stdout, stdout

    # a field edited by hand wins over the source, and the import says so
    text = (out / "devices.toml").read_text()
    (out / "devices.toml").write_text(text.replace('name = "kitchen main light"',
                                                   'name = "big kitchen light"'))
    by_name["kitchen/ceiling_light"]["friendly_name"] = "kitchen/top_light"  # same dict
    publish_bridge(mqtt_broker.port, data)
    rc, stdout, _ = run_import(tmp_path, mqtt_broker.port, "--out", str(out), capsys=capsys)
    assert rc == 0
    assert "kept your edit of kitchen_ceiling_light.name" in stdout
    dev = {d.id: d for d in Catalog.load(out).devices}["kitchen_ceiling_light"]
    assert dev.name == "big kitchen light"
    assert dev.mqtt is not None and dev.mqtt.topic == "zigbee2mqtt/kitchen/top_light"


def test_without_the_state_file_entries_are_adopted_by_topic(
        mqtt_broker: Broker, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    publish_bridge(mqtt_broker.port, bridge())
    out = tmp_path / "home"
    assert run_import(tmp_path, mqtt_broker.port, "--out", str(out), capsys=capsys)[0] == 0
    text = (out / "devices.toml").read_text().replace('id = "kitchen_ceiling_light"',
                                                      'id = "big_light"')
    (out / "devices.toml").write_text(text)
    (out / STATE_FILE).unlink()
    rc, stdout, stderr = run_import(tmp_path, mqtt_broker.port, "--out", str(out),
                                    capsys=capsys)
    assert rc == 0, stderr
    assert "adopted big_light" in stdout
    ids = [d.id for d in Catalog.load(out).devices]
    assert "big_light" in ids and "kitchen_ceiling_light" not in ids
    assert len(ids) == len(EXPECTED_DEVICES)


def test_room_map_base_topic_and_dry_run(mqtt_broker: Broker, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    data = bridge()
    data["zigbee2mqtt/bridge/info"]["config"]["mqtt"]["base_topic"] = "home/z2m"
    publish_bridge(mqtt_broker.port, data, base="home/z2m")
    out = tmp_path / "home"
    rc, stdout, _ = run_import(tmp_path, mqtt_broker.port, "--out", str(out), "--dry-run",
                               "--base-topic", "home/z2m", "--room", "front_door=hallway",
                               capsys=capsys)
    assert rc == 0
    assert "dry run: nothing written" in stdout and not out.exists()
    assert "added front_door: 'front door' (lock, hallway)" in stdout
    rc, stdout, _ = run_import(tmp_path, mqtt_broker.port, "--out", str(out),
                               "--base-topic", "home/z2m", "--room", "0x000d6f000d9c4e44=porch",
                               capsys=capsys)
    assert rc == 0
    cat = Catalog.load(out)
    door = cat.device_by_id["front_door"]
    assert door.room == "porch" and door.mqtt is not None
    assert door.mqtt.topic == "home/z2m/front_door"
    assert PLACEHOLDER_ROOM not in [r.name for r in cat.rooms]


def test_a_broker_without_zigbee2mqtt_is_a_clear_error(
        mqtt_broker: Broker, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, stderr = run_import(tmp_path, mqtt_broker.port, "--out", str(tmp_path / "h"),
                               "--timeout", "0.5", capsys=capsys)
    assert rc == 1
    assert "no retained any '<base>'/bridge/devices" in stderr
    assert not (tmp_path / "h").exists()
    rc, _, stderr = run_import(tmp_path, mqtt_broker.port, "--room", "oops", capsys=capsys)
    assert rc == 2 and "NAME=ROOM" in stderr


def test_the_demo_home_is_never_overwritten(mqtt_broker: Broker, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from octohome.core.catalog import DEFAULT_CATALOG_DIR

    publish_bridge(mqtt_broker.port, bridge())
    before = (DEFAULT_CATALOG_DIR / "devices.toml").read_text()
    rc, _, stderr = run_import(tmp_path, mqtt_broker.port, "--out", str(DEFAULT_CATALOG_DIR),
                               capsys=capsys)
    assert rc == 1 and "shipped demo home" in stderr
    assert (DEFAULT_CATALOG_DIR / "devices.toml").read_text() == before
