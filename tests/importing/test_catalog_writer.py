"""catalog_writer: merging an imported home into a catalog directory, again and again."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import tomlkit

from octohome.core.catalog import Catalog
from octohome.importing.catalog_writer import (
    PLACEHOLDER_ROOM,
    STATE_FILE,
    ImportFailed,
    room_required,
    write_catalog,
)
from octohome.importing.home import (
    ImportedDevice,
    ImportedFloor,
    ImportedHome,
    ImportedRoom,
    ImportedScene,
)


def z2m(topic: str) -> dict[str, Any]:
    return {"style": "zigbee2mqtt", "topic": f"zigbee2mqtt/{topic}"}


def light(key: str, name: str, room: str | None, *, color: bool = False,
          source: str = "test", aliases: tuple[str, ...] = ()) -> ImportedDevice:
    fns = ("light.turn_on", "light.turn_off", "light.set_brightness", "light.step_brightness")
    return ImportedDevice(f"{source}:{key}", name, "light",
                          (*fns, "light.set_color") if color else fns,
                          z2m(key), room=f"{source}:{room}" if room else None, aliases=aliases)


def home(*devices: ImportedDevice, rooms: tuple[str, ...] = ("kitchen", "hall"),
         floors: dict[str, str] | None = None, scenes: tuple[ImportedScene, ...] = (),
         source: str = "test") -> ImportedHome:
    floors = floors or {}
    return ImportedHome(
        source, "a test", list(devices),
        [ImportedRoom(f"{source}:{r}", r, f"{source}:f/{floors[r]}" if r in floors else None)
         for r in rooms],
        [ImportedFloor(f"{source}:f/{f}", f) for f in dict.fromkeys(floors.values())],
        list(scenes))


def test_only_the_functions_the_devices_have(tmp_path: Path) -> None:
    h = home(light("a", "kitchen light", "kitchen"), light("b", "hall light", "hall"))
    report = write_catalog(h, tmp_path)
    assert report.written
    cat = Catalog.load(tmp_path)
    # no colour light, no switch, no scenes: no set_color, no switch.*, no scene.activate
    assert cat.function_names == ("light.turn_on", "light.turn_off", "light.set_brightness",
                                  "light.step_brightness")
    assert cat.scenes == ()
    text = (tmp_path / "functions.toml").read_text()
    assert "Every function below gets ONE functional token" in text  # the demo's header
    assert "only the functions" in text


def test_ids_are_unique_slugs_and_never_a_group_scope(tmp_path: Path) -> None:
    h = home(light("a", "Küche Licht", "kitchen"), light("b", "küche licht", "hall"),
             light("c", "Home", "hall"), light("d", "2nd lamp", "hall"), rooms=("kitchen", "hall"))
    write_catalog(h, tmp_path)
    assert [d.id for d in Catalog.load(tmp_path).devices] == [
        "kuche_licht", "kuche_licht_2", "device_home", "device_2nd_lamp"]


def test_no_room_goes_to_the_placeholder_until_the_catalog_allows_none(tmp_path: Path) -> None:
    h = home(light("a", "desk lamp", None), light("b", "hall light", "hall"))
    report = write_catalog(h, tmp_path)
    cat = Catalog.load(tmp_path)
    if room_required():
        assert cat.device_by_id["desk_lamp"].room == PLACEHOLDER_ROOM
        assert f"added unassigned: '{PLACEHOLDER_ROOM}'" in "\n".join(report.lines())
        assert "move them to a real room here" in (tmp_path / "rooms.toml").read_text()
    # once the lamp has a room, the placeholder goes
    h2 = home(light("a", "desk lamp", "hall"), light("b", "hall light", "hall"))
    report = write_catalog(h2, tmp_path)
    assert PLACEHOLDER_ROOM not in [r.name for r in Catalog.load(tmp_path).rooms]
    if room_required():
        assert "removed unassigned" in "\n".join(report.lines())


def test_aliases_merge_three_ways(tmp_path: Path) -> None:
    write_catalog(home(light("a", "lamp", "hall", aliases=("big lamp", "old lamp"))), tmp_path)
    path = tmp_path / "devices.toml"
    # the user adds one and deletes one
    path.write_text(path.read_text().replace('aliases = ["big lamp", "old lamp"]',
                                             'aliases = ["big lamp", "my lamp"]'))
    # the source adds one
    report = write_catalog(home(light("a", "lamp", "hall",
                                      aliases=("big lamp", "old lamp", "tall lamp"))), tmp_path)
    assert Catalog.load(tmp_path).device_by_id["lamp"].aliases == (
        "big lamp", "tall lamp", "my lamp")
    assert "kept your edit of lamp.aliases" in "\n".join(report.lines())


def test_a_device_deleted_by_hand_stays_out(tmp_path: Path) -> None:
    write_catalog(home(light("a", "lamp", "hall"), light("b", "spot", "hall")), tmp_path)
    doc = tomlkit.parse((tmp_path / "devices.toml").read_text())
    devices: Any = doc["devices"]
    del devices[1]
    (tmp_path / "devices.toml").write_text(tomlkit.dumps(doc))
    report = write_catalog(home(light("a", "lamp", "hall"), light("b", "spot", "hall")), tmp_path)
    assert [d.id for d in Catalog.load(tmp_path).devices] == ["lamp"]
    assert any(line.startswith("left out spot: you removed it") for line in
               report.sections["devices"])
    # deleting its entry in the state file brings it back
    doc = tomlkit.parse((tmp_path / STATE_FILE).read_text())
    state: Any = doc["devices"]
    del state["spot"]
    (tmp_path / STATE_FILE).write_text(tomlkit.dumps(doc))
    write_catalog(home(light("a", "lamp", "hall"), light("b", "spot", "hall")), tmp_path)
    assert [d.id for d in Catalog.load(tmp_path).devices] == ["lamp", "spot"]


def test_two_sources_share_a_directory_and_rooms(tmp_path: Path) -> None:
    a = home(light("a", "kitchen light", "kitchen", source="zigbee2mqtt"),
             source="zigbee2mqtt", rooms=("kitchen",))
    b = home(light("x", "hall lamp", "hall", source="homeassistant"),
             light("y", "kitchen spot", "kitchen", source="homeassistant", color=True),
             source="homeassistant", rooms=("kitchen", "hall"))
    write_catalog(a, tmp_path)
    write_catalog(b, tmp_path)
    report = write_catalog(a, tmp_path)  # a again: b's devices are not a's to remove
    cat = Catalog.load(tmp_path)
    assert sorted(d.id for d in cat.devices) == ["hall_lamp", "kitchen_light", "kitchen_spot"]
    assert sorted(r.name for r in cat.rooms) == ["hall", "kitchen"]  # one kitchen
    assert "light.set_color" in cat.function_names  # b's colour light keeps its function
    assert not report.sections.get("devices")


def test_floors_and_scenes(tmp_path: Path) -> None:
    scene = ImportedScene("test:s1", "Movie night", z2m("living/lights"), ("cinema",))
    h = home(light("a", "kitchen light", "kitchen"), light("b", "bed light", "bedroom"),
             rooms=("kitchen", "bedroom"), floors={"kitchen": "ground", "bedroom": "upstairs"},
             scenes=(scene,))
    write_catalog(h, tmp_path)
    cat = Catalog.load(tmp_path)
    assert [(r.id, r.floor) for r in cat.rooms] == [("kitchen", "ground"),
                                                    ("bedroom", "upstairs")]
    assert [s.id for s in cat.scenes] == ["movie_night"]
    assert cat.function_names[-1] == "scene.activate"
    # the scene goes, and with it scene.activate; the floor nobody is on goes too
    h2 = home(light("a", "kitchen light", "kitchen"), rooms=("kitchen",),
              floors={"kitchen": "ground"})
    report = write_catalog(h2, tmp_path)
    cat = Catalog.load(tmp_path)
    assert "scene.activate" not in cat.function_names and cat.scenes == ()
    assert [f.id for f in cat.floors] == ["ground"]
    text = "\n".join(report.lines())
    assert "removed movie_night" in text and "removed upstairs" in text
    assert "removed scene.activate" in text and "removed bedroom" in text


def test_a_function_edited_by_hand_is_kept(tmp_path: Path) -> None:
    write_catalog(home(light("a", "lamp", "hall")), tmp_path)
    path = tmp_path / "functions.toml"
    path.write_text(path.read_text().replace('description = "switch a light on"',
                                             'description = "light up a lamp"'))
    write_catalog(home(light("a", "lamp", "hall", color=True)), tmp_path)
    functions = tomllib.loads(path.read_text())["functions"]
    assert functions["light.turn_on"]["description"] == "light up a lamp"
    assert "light.set_color" in functions


def test_nothing_is_written_when_the_result_would_not_load(tmp_path: Path) -> None:
    write_catalog(home(light("a", "lamp", "hall")), tmp_path)
    before = {p.name: p.read_text() for p in tmp_path.iterdir()}
    bad = home(replace(light("a", "lamp", "hall"), mqtt={"style": "nonsense"}))
    with pytest.raises(ImportFailed, match="would not load"):
        write_catalog(bad, tmp_path)
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == before
    (tmp_path / "devices.toml").write_text("[[devices]\n")
    with pytest.raises(ImportFailed, match="not valid TOML"):
        write_catalog(home(light("a", "lamp", "hall")), tmp_path)


def test_devices_sharing_a_name_are_pointed_out(tmp_path: Path) -> None:
    report = write_catalog(home(light("a", "lamp", "kitchen"), light("b", "Lamp", "hall"),
                                light("c", "spot", "hall", aliases=("lamp",))), tmp_path)
    assert ("warning: lamp, lamp_2, spot are all called 'lamp': give each its own name"
            " (in the source, or an alias here) or the model cannot tell them apart"
            in report.lines())
