"""octohome import homeassistant against a real Home Assistant (tests/homeassistant_server.py:
the test home's floors, areas, aliases and exposed entities)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from octohome.cli import main
from octohome.core.catalog import Catalog
from octohome.core.config import Settings
from octohome.core.targets import MqttTarget
from octohome.importing.catalog_writer import PLACEHOLDER_ROOM, room_required, write_catalog
from octohome.importing.home import ImportedHome
from octohome.importing.homeassistant import (
    Connection,
    HomeAssistantError,
    home_from_registry,
    read_registry,
)
from tests.homeassistant_server import HomeAssistant, homeassistant_fixture  # noqa: F401

STYLE_READY = "homeassistant_api" in str(MqttTarget.model_fields["style"].annotation)
needs_style = pytest.mark.skipif(
    not STYLE_READY, reason="core/targets.py has no style 'homeassistant_api' yet")

EXPECTED = {
    # id: (type, room, entity_id)
    "bedroom_fan": ("fan", "bedroom", "fan.bedroom_fan"),
    "bedroom_lamp": ("light", "bedroom", "light.bedroom_lamp"),
    "coffee_maker": ("switch", "kitchen", "switch.coffee_maker"),
    "front_door": ("lock", "hallway", "lock.front_door"),
    "kitchen_lights": ("light", "kitchen", "light.kitchen_lights"),
    "living_room_blinds": ("cover", "living room", "cover.living_room_blinds"),
    "living_room_speaker": ("media", "living room", "media_player.living_room_speaker"),
    "outlet_1": ("switch", "living room", "switch.outlet_1"),  # its device's area
    "porch_light": ("light", PLACEHOLDER_ROOM, "light.porch_light"),  # no area
    "thermostat": ("climate", "hallway", "climate.thermostat"),
}


def read(ha: HomeAssistant) -> ImportedHome:
    with Connection(ha.url, ha.token) as conn:
        return home_from_registry(read_registry(conn))


def test_the_exposed_entities_with_areas_floors_aliases_and_features(
        homeassistant: HomeAssistant) -> None:
    home = read(homeassistant)
    got = {d.mqtt["entity_id"]: d for d in home.devices}
    assert sorted(got) == sorted(e for _, _, e in EXPECTED.values())
    # not exposed (switch.secret_plug: exposed false; kitchen_sink's locks and
    # outlet 2: never exposed) stays out, and is counted
    assert any("entities not exposed to Assist" in s for s in home.skipped)
    assert all(d.mqtt["style"] == "homeassistant_api" for d in home.devices)
    assert got["light.kitchen_lights"].aliases == ("kitchen light",)
    assert got["climate.thermostat"].aliases == ("heating",)
    # features decide the functions
    assert got["light.kitchen_lights"].functions == (
        "light.turn_on", "light.turn_off", "light.set_brightness", "light.step_brightness",
        "light.set_color")
    assert got["light.bedroom_lamp"].functions == (
        "light.turn_on", "light.turn_off", "light.set_brightness", "light.step_brightness")
    assert got["light.porch_light"].functions == ("light.turn_on", "light.turn_off")
    assert got["cover.living_room_blinds"].functions == (
        "cover.open", "cover.close", "cover.set_position")
    assert got["cover.living_room_blinds"].device_class == "blind"
    assert got["climate.thermostat"].functions == (
        "climate.set_temperature", "climate.step_temperature", "climate.set_mode")
    # heat and off only: cool and auto are rejected, never sent
    assert got["climate.thermostat"].mqtt["transforms"] == {
        "mode": {"map": {"heat": "heat", "off": "off"}}}
    assert got["fan.bedroom_fan"].functions == ("fan.turn_on", "fan.turn_off", "fan.set_speed")
    assert got["media_player.living_room_speaker"].functions == (
        "media.play", "media.pause", "media.set_volume", "media.step_volume")
    assert [(s.name, s.aliases, s.mqtt["entity_id"]) for s in home.scenes] == [
        ("movie night", ("cinema mode",), "scene.movie_night")]
    assert [(f.name, f.aliases) for f in home.floors] == [
        ("ground floor", ("downstairs",)), ("first floor", ("upstairs",))]
    rooms = {r.name: r for r in home.rooms}
    assert sorted(rooms) == ["bedroom", "hallway", "kitchen", "living room"]
    assert rooms["living room"].aliases == ("lounge",)
    assert rooms["hallway"].floor is None


@needs_style
def test_the_catalog_loads_and_acts_through_home_assistant(
        homeassistant: HomeAssistant, tmp_path: Path) -> None:
    report = write_catalog(read(homeassistant), tmp_path / "home")
    cat = Catalog.load(tmp_path / "home")
    got = {d.id: (d.type, d.room, d.mqtt.model_dump().get("entity_id") if d.mqtt else None)
           for d in cat.devices}
    expected = dict(EXPECTED)
    if not room_required():
        expected["porch_light"] = ("light", None, "light.porch_light")  # type: ignore[assignment]
    assert got == expected
    assert [(r.id, r.floor) for r in cat.rooms] == [
        ("bedroom", "first_floor"), ("hallway", None), ("kitchen", "ground_floor"),
        ("living_room", "ground_floor"), *([("unassigned", None)] if room_required() else [])]
    assert [s.id for s in cat.scenes] == ["movie_night"]
    assert "scene.activate" in cat.function_names
    assert "added kitchen_lights: 'kitchen lights' (light, kitchen)" in "\n".join(report.lines())


@pytest.fixture
def changed_home(homeassistant: HomeAssistant) -> Iterator[HomeAssistant]:
    """Between two imports the user renames, moves, unexposes and exposes; undone after."""
    ha = homeassistant
    yield ha
    ha.ws_many([
        {"type": "config/entity_registry/update", "entity_id": "light.kitchen_main",
         "new_entity_id": "light.kitchen_lights", "name": None},
        {"type": "config/entity_registry/update", "entity_id": "light.bedroom_lamp",
         "area_id": "bedroom"},
        {"type": "config/area_registry/update", "area_id": "kitchen", "aliases": []},
        {"type": "homeassistant/expose_entity", "assistants": ["conversation"],
         "entity_ids": ["switch.coffee_maker"], "should_expose": True},
        {"type": "homeassistant/expose_entity", "assistants": ["conversation"],
         "entity_ids": ["switch.secret_plug"], "should_expose": False},
    ])


@needs_style
def test_reimport_keeps_ids_and_reports_what_changed(
        changed_home: HomeAssistant, tmp_path: Path) -> None:
    ha = changed_home
    out = tmp_path / "home"
    write_catalog(read(ha), out)
    ha.ws_many([
        # renamed, and its entity_id too: the registry id keeps the catalog id
        {"type": "config/entity_registry/update", "entity_id": "light.kitchen_lights",
         "new_entity_id": "light.kitchen_main", "name": "kitchen ceiling"},
        {"type": "config/entity_registry/update", "entity_id": "light.bedroom_lamp",
         "area_id": "living_room"},
        {"type": "config/area_registry/update", "area_id": "kitchen", "aliases": ["galley"]},
        {"type": "homeassistant/expose_entity", "assistants": ["conversation"],
         "entity_ids": ["switch.coffee_maker"], "should_expose": False},
        {"type": "homeassistant/expose_entity", "assistants": ["conversation"],
         "entity_ids": ["switch.secret_plug"], "should_expose": True},
    ])
    report = write_catalog(read(ha), out)
    text = "\n".join(report.lines())
    assert "renamed kitchen_lights: 'kitchen lights' -> 'kitchen ceiling'" in text
    assert "moved bedroom_lamp: 'bedroom' -> 'living room'" in text
    assert "removed coffee_maker: 'coffee maker' (switch, kitchen)" in text
    assert "added secret_plug: 'secret plug' (switch, kitchen)" in text
    cat = Catalog.load(out)
    lights = cat.device_by_id["kitchen_lights"]
    assert lights.name == "kitchen ceiling" and lights.mqtt is not None
    assert lights.mqtt.model_dump()["entity_id"] == "light.kitchen_main"
    assert cat.find_room("galley") is not None
    assert "coffee_maker" not in cat.device_by_id
    # and once more: nothing changed
    assert write_catalog(read(ha), out).lines()[1] == "no changes"


def test_a_wrong_token_or_no_home_assistant_is_a_clear_error(
        homeassistant: HomeAssistant) -> None:
    wrong = "not-the-token-" + "x" * 20
    with pytest.raises(HomeAssistantError, match="refused the token") as info:
        Connection(homeassistant.url, wrong)
    assert wrong not in str(info.value)
    from octohome.act.mosquitto import free_port

    with pytest.raises(HomeAssistantError, match="cannot reach Home Assistant"):
        Connection(f"http://127.0.0.1:{free_port()}", wrong, timeout=3)


@needs_style
@pytest.mark.skipif("homeassistant" not in Settings.model_fields,
                    reason="core/config.py has no [homeassistant] section yet")
def test_the_command_line(homeassistant: HomeAssistant, tmp_path: Path,
                          capsys: pytest.CaptureFixture[str],
                          monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[homeassistant]\nurl = "{homeassistant.url}"\n')
    monkeypatch.setenv("OCTOHOME_HOMEASSISTANT__TOKEN", homeassistant.token)
    out = tmp_path / "home"
    rc = main(["--config", str(cfg), "import", "homeassistant", "--out", str(out)])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert homeassistant.token not in captured.out + captured.err
    assert "added thermostat: 'thermostat' (climate, hallway)" in captured.out
    assert sorted(d.id for d in Catalog.load(out).devices) == sorted(EXPECTED)
    monkeypatch.setenv("OCTOHOME_HOMEASSISTANT__TOKEN", "wrong")
    rc = main(["--config", str(cfg), "import", "homeassistant", "--out", str(out)])
    assert rc == 1 and "refused the token" in capsys.readouterr().err

