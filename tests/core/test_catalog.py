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
    "light.set_color",
    "switch.turn_on",
    "switch.turn_off",
    "cover.open",
    "cover.close",
    "cover.set_position",
    "climate.set_temperature",
    "climate.set_mode",
    "lock.lock",
    "lock.unlock",
    "fan.turn_on",
    "fan.turn_off",
    "fan.set_speed",
    "media.play",
    "media.pause",
    "media.set_volume",
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
