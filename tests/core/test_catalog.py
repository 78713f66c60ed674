"""The catalog: the shipped demo home matches the contract; bad files name file and field."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from octohome.core.catalog import DEFAULT_CATALOG_DIR, Catalog, CatalogError
from tests.paths import SHARED

DEMO_FUNCTIONS = [
    "light.turn_on",
    "light.turn_off",
    "light.set_brightness",
    "light.step_brightness",
    "light.set_color",
    "switch.turn_on",
    "switch.turn_off",
    "cover.open",
    "cover.close",
    "cover.set_position",
    "climate.set_temperature",
    "climate.step_temperature",
    "climate.set_mode",
    "lock.lock",
    "lock.unlock",
    "fan.turn_on",
    "fan.turn_off",
    "fan.set_speed",
    "media.play",
    "media.pause",
    "media.set_volume",
    "media.step_volume",
    "scene.activate",
]


@pytest.fixture(scope="module")
def demo() -> Catalog:
    return Catalog.load()


def test_demo_home_functions_in_token_order(demo: Catalog) -> None:
    assert list(demo.function_names) == DEMO_FUNCTIONS


def test_demo_home_devices_and_scenes(demo: Catalog) -> None:
    assert len(demo.devices) == 20
    assert [s.id for s in demo.scenes] == ["good_morning", "movie_night", "good_night", "away"]
    assert demo.device_by_id["living_room_lamp"].type == "light"
    assert demo.signature("fan.set_speed").device_ids == ("bedroom_fan", "office_fan")


@pytest.mark.skipif(not (SHARED / "sample_commands.jsonl").exists(), reason="no ../shared")
def test_every_sample_call_validates(demo: Catalog) -> None:
    for line in (SHARED / "sample_commands.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row["function"] is not None:
            assert demo.validate_call(row["function"], row["arguments"]) == row["arguments"]


def test_fingerprint_is_stable_and_ignores_mqtt(demo: Catalog, tmp_path: Path) -> None:
    copy = tmp_path / "devices"
    shutil.copytree(DEFAULT_CATALOG_DIR, copy)
    text = (copy / "devices.toml").read_text()
    assert Catalog.load(copy).fingerprint == demo.fingerprint
    (copy / "devices.toml").write_text(text.replace('"big light"', '"big lamp"'))
    assert Catalog.load(copy).fingerprint != demo.fingerprint


@pytest.mark.parametrize(
    ("function", "arguments", "message"),
    [
        ("light.set_brightness", {"device": "living_room_lamp", "brightness": 0}, "outside 1..100"),
        ("light.set_brightness", {"device": "living_room_lamp", "brightness": 101}, "outside"),
        ("light.set_brightness", {"device": "thermostat", "brightness": 50}, "not one of"),
        ("light.set_color", {"device": "office_light", "color": "teal"}, "not one of"),
        ("climate.set_temperature", {"device": "thermostat", "temperature": 19.3}, "steps of 0.5"),
        ("climate.set_temperature", {"device": "thermostat", "temperature": 31}, "outside"),
        ("cover.set_position", {"device": "garage_door", "position": 12.5}, "whole number"),
        ("light.turn_on", {"device": "kitchen_lights", "extra": 1}, "takes"),
        ("scene.activate", {"scene": "party"}, "not one of"),
        ("media.set_volume", {"device": "living_room_tv", "volume": True}, "not a number"),
        ("oven.bake", {}, "unknown function"),
    ],
)
def test_validate_call_rejects(demo: Catalog, function: str, arguments: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        demo.validate_call(function, arguments)


def test_validate_call_canonicalises_numbers(demo: Catalog) -> None:
    out = demo.validate_call(
        "climate.set_temperature", {"device": "thermostat", "temperature": 21.0}
    )
    assert out == {"device": "thermostat", "temperature": 21}
    assert isinstance(out["temperature"], int)


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "devices.toml",
            'type = "fan"',
            'type = "toaster"',
            r"devices.toml: field devices\[16\].type: unknown type",
        ),
        (
            "devices.toml",
            'id = "office_fan"',
            'id = "Office Fan"',
            r"devices.toml: field devices\[17\].id",
        ),
        ("devices.toml", 'id = "office_fan"', 'id = "bedroom_fan"', "duplicate id"),
        ("devices.toml", 'id = "porch_light"', 'id = "porch_light', "not valid TOML"),
        ("functions.toml", 'kind = "int", min = 1', 'kind = "int", min = 200', "min <= max"),
        ("functions.toml", '"light.turn_on"', '"turn_on"', "type.action"),
        ("scenes.toml", 'id = "away"', 'idx = "away"', r"scenes.toml: field scenes\[3\]"),
        ("rooms.toml", 'floor = "upstairs"', 'floor = "attic"', r"rooms.toml: field rooms\[3\].floor"),
        ("rooms.toml", 'id = "garage"', 'id = "here"', r"rooms.toml: field rooms\[6\].id"),
        ("rooms.toml", 'id = "office"', 'id = "kitchen"', r"rooms.toml: field rooms\[4\].id"),
        ("devices.toml", 'room = "porch"', 'room = "attic"', r"devices.toml: field devices\[6\].room"),
        ("devices.toml", 'device_class = "blind"', 'device_class = "Blind"',
         r"devices.toml: field devices\[10\].device_class"),
    ],
)
def test_malformed_catalog_names_file_and_field(
    tmp_path: Path, file: str, old: str, new: str, expected: str
) -> None:
    copy = tmp_path / "devices"
    shutil.copytree(DEFAULT_CATALOG_DIR, copy)
    text = (copy / file).read_text()
    assert old in text
    (copy / file).write_text(text.replace(old, new, 1))
    with pytest.raises(CatalogError, match=expected):
        Catalog.load(copy)


def test_missing_catalog_dir(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="not found"):
        Catalog.load(tmp_path / "nope")


def test_rooms_and_floors_of_the_demo_home(demo: Catalog) -> None:
    assert [r.id for r in demo.rooms] == [
        "living_room", "kitchen", "hallway", "bedroom", "office", "porch", "garage"]
    assert [f.id for f in demo.floors] == ["downstairs", "upstairs"]
    lounge = demo.find_room("Lounge")
    assert lounge is not None and lounge.id == "living_room"
    assert demo.find_room("study").id == "office"  # type: ignore[union-attr]
    assert demo.find_room("attic") is None
    assert demo.classes_of_type("cover") == ("blind", "garage_door")
    assert demo.group_words("blind") == ("blinds", "shades", "curtains")
    assert demo.group_words("fan") == ("fans",)  # not in [groups]: the usual word


def test_a_catalog_without_rooms_toml_takes_its_rooms_from_the_devices(tmp_path: Path) -> None:
    copy = tmp_path / "devices"
    shutil.copytree(DEFAULT_CATALOG_DIR, copy)
    (copy / "rooms.toml").unlink()
    cat = Catalog.load(copy)
    assert [r.id for r in cat.rooms] == [
        "living_room", "kitchen", "bedroom", "office", "hallway", "porch", "garage"]
    assert cat.floors == ()


def test_group_targets_are_part_of_each_signature(demo: Catalog) -> None:
    sig = demo.signature("cover.open")
    assert "home:blind" in sig.groups and "upstairs:garage_door" in sig.groups
    assert "here:blind" in sig.groups and "kitchen:blind" in sig.groups
    assert demo.signature("scene.activate").groups == ()
    assert demo.validate_call("cover.open", {"device": "home:blind"}, groups=True)
    with pytest.raises(ValueError):
        demo.validate_call("cover.open", {"device": "home:blind"})
