"""The generator works for any valid catalog, not only the demo home (issue 12).

Random homes: any subset of the built-in device types (a home without scenes,
without a switch, ...), any number of devices and rooms, ranges above 100, and
functions octohome does not know, with their own phrasings and several
arguments. Every generated example must validate against the catalog.
"""

from __future__ import annotations

import tempfile
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from octohome.core.catalog import DEFAULT_CATALOG_DIR, Catalog, CatalogError
from octohome.training.dataset import build_dataset

DEMO_FUNCTIONS = tomllib.loads((DEFAULT_CATALOG_DIR / "functions.toml").read_text())["functions"]
TYPES = sorted({name.split(".")[0] for name in DEMO_FUNCTIONS if name != "scene.activate"})
WORDS = ["patio", "garden", "desk", "bedside", "left", "right", "big", "small", "blue",
         "corner", "wall", "kids", "guest", "upper", "lower", "north", "south"]
ROOMS = ["kitchen", "attic", "dining room", "garage", "study", "laundry", "hall"]


def _toml_value(v: object) -> str:
    if isinstance(v, str):
        return '"' + v + '"'
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    return str(v)


@st.composite
def homes(draw: st.DrawFn) -> dict[str, str]:
    types = draw(st.lists(st.sampled_from(TYPES), min_size=1, max_size=len(TYPES), unique=True))
    functions: dict[str, dict[str, object]] = {
        name: dict(spec) for name, spec in DEMO_FUNCTIONS.items()
        if name.split(".")[0] in types
    }
    if draw(st.booleans()) and "light" in types:  # a bigger range than the demo's
        functions["light.set_brightness"]["args"] = [
            {"name": "brightness", "kind": "int", "min": 1, "max": 254}]
    custom = draw(st.booleans())
    if custom:  # a function octohome does not know, with two arguments
        functions["sprinkler.run"] = {
            "description": "water a zone for some minutes",
            "args": [{"name": "minutes", "kind": "int", "min": 1, "max": 120},
                     {"name": "mode", "kind": "enum", "values": ["gentle", "strong"]}],
            "phrasings": ["water {d} for {v} minutes {mode}", "run {d} {v} minutes in {mode} mode"],
        }
    scenes = draw(st.booleans())
    if not scenes:
        functions.pop("scene.activate", None)
    rooms = draw(st.lists(st.sampled_from(ROOMS), min_size=1, max_size=4, unique=True))
    devices = []
    all_types = types + (["sprinkler"] if custom else [])
    n = draw(st.integers(1, 12))
    for i in range(n):
        t = draw(st.sampled_from(all_types))
        words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=3, unique=True))
        name = " ".join([*words, t if t != "media" else "speaker"])
        dev: dict[str, object] = {"id": f"dev_{i}", "name": name, "type": t}
        if draw(st.integers(0, 4)):  # some devices are in no room (named by name only)
            dev["room"] = draw(st.sampled_from(rooms))
        if t == "light" and draw(st.booleans()):  # a white-only bulb: no colour
            dev["functions"] = ["light.turn_on", "light.turn_off"]
        devices.append(dev)
    out = {"functions.toml": "", "devices.toml": "", "scenes.toml": ""}
    for name, spec in functions.items():
        out["functions.toml"] += f'[functions."{name}"]\n'
        for k, v in spec.items():
            out["functions.toml"] += f"{k} = {_toml_value(v)}\n"
        out["functions.toml"] += "\n"
    for d in devices:
        out["devices.toml"] += "[[devices]]\n" + "".join(
            f"{k} = {_toml_value(v)}\n" for k, v in d.items()) + "\n"
    if scenes:
        out["scenes.toml"] = '[[scenes]]\nid = "evening"\nname = "evening"\n'
    return out


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(homes())
def test_any_valid_catalog_gives_valid_data(tmp_path: Path, home: dict[str, str]) -> None:
    root = Path(tempfile.mkdtemp(dir=tmp_path))
    for name, text in home.items():
        (root / name).write_text(text)
    catalog = Catalog.load(root)
    data = build_dataset(catalog, per_function=20)
    assert data
    for ex in data:
        for function, arguments in ex.calls:
            if ex.category == "out_of_range":
                continue
            assert catalog.validate_call(function, arguments, groups=True) == arguments, ex
            device = catalog.device_by_id.get(str(arguments.get("device")))
            if device is not None:
                assert catalog.device_has(device, function), ex


def test_a_function_nobody_says_fails_naming_it(tmp_path: Path) -> None:
    root = tmp_path / "home"
    root.mkdir()
    (root / "functions.toml").write_text(
        '[functions."sprinkler.run"]\ndescription = "water"\n')
    (root / "devices.toml").write_text(
        '[[devices]]\nid = "lawn"\nname = "lawn sprinkler"\ntype = "sprinkler"\nroom = "garden"\n')
    with pytest.raises(CatalogError, match=r"functions.toml: field functions.sprinkler.run.phrasings"):
        build_dataset(Catalog.load(root), per_function=5)


def test_a_phrasing_that_drops_an_argument_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "home"
    root.mkdir()
    (root / "functions.toml").write_text(
        '[functions."sprinkler.run"]\ndescription = "water"\n'
        'args = [{ name = "minutes", kind = "int", min = 1, max = 60 }]\n'
        'phrasings = ["water {d}"]\n')
    (root / "devices.toml").write_text(
        '[[devices]]\nid = "lawn"\nname = "lawn sprinkler"\ntype = "sprinkler"\nroom = "garden"\n')
    with pytest.raises(CatalogError, match="does not say"):
        build_dataset(Catalog.load(root), per_function=5)
