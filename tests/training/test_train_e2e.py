"""End to end through the real pipeline: a tiny home -> data -> fine-tune -> GGUF -> llama.cpp.

Trained in the Octopus v2 format (``<nexa_N>`` tokens, the Octopus prompt) and
run with a function table given as a JSON file, to show the runtime is driven
by the table and not by octohome's own conventions. Takes a few minutes on
2 cores (most of it loading Gemma 3 and writing the GGUF).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from octohome.core.catalog import Catalog
from octohome.training.train import TrainConfig, train
from octohome.understand.parser import Parser

pytest.importorskip("torch")
pytest.importorskip("transformers")

FUNCTIONS = """
[functions."light.turn_on"]
description = "switch a light on"
[functions."light.turn_off"]
description = "switch a light off"
[functions."light.set_brightness"]
description = "set the brightness of a light in percent"
args = [{ name = "brightness", kind = "int", min = 1, max = 100 }]
[functions."scene.activate"]
description = "activate a scene"
device_arg = false
args = [{ name = "scene", kind = "scene" }]
"""

DEVICES = """
[[devices]]
id = "desk_lamp"
name = "desk lamp"
type = "light"
room = "office"
aliases = ["study lamp"]

[[devices]]
id = "porch_light"
name = "porch light"
type = "light"
room = "porch"
aliases = ["outside light"]
"""

SCENES = """
[[scenes]]
id = "movie_night"
name = "movie night"
[[scenes]]
id = "good_night"
name = "good night"
"""

UNSEEN = [
    ("could you switch the desk lamp on", "light.turn_on", {"device": "desk_lamp"}),
    ("porch light off please", "light.turn_off", {"device": "porch_light"}),
    (
        "set the study lamp to 60 percent",
        "light.set_brightness",
        {"device": "desk_lamp", "brightness": 60},
    ),
    ("movie night", "scene.activate", {"scene": "movie_night"}),
    ("tell me a joke", None, {}),
]


@pytest.fixture(scope="module")
def tiny_home(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    root = tmp_path_factory.mktemp("tiny") / "devices"
    root.mkdir()
    (root / "functions.toml").write_text(FUNCTIONS)
    (root / "devices.toml").write_text(DEVICES)
    (root / "scenes.toml").write_text(SCENES)
    return Catalog.load(root)


@pytest.mark.slow
def test_train_octopus_format_end_to_end(tiny_home: Catalog, tmp_path: Path) -> None:
    cfg = TrainConfig(
        steps=70, batch_size=8, per_function=40, style="octopus", warmup=10, threads=2
    )
    gguf = train(tiny_home, cfg, tmp_path / "run", progress=False)
    assert gguf.exists()
    record = json.loads((tmp_path / "run" / "training.json").read_text())
    assert record["catalog_fingerprint"] == tiny_home.fingerprint

    # A foreign-model style load: the function table comes from a JSON file.
    from octohome.understand.modelfile import load_delta

    _, table, _ = load_delta(tmp_path / "run" / "delta.npz")
    table_file = tmp_path / "table.json"
    table_file.write_text(table.to_json())
    assert table.tokens[0] == "<nexa_0>" and table.end_token == "<nexa_end>"

    parser = Parser(gguf, tiny_home, table=type(table).from_json(table_file.read_text()))
    assert parser.llm.detokenize([table.token_ids[0]]) == b"<nexa_0>"
    assert parser.tokenize("<nexa_0>") == [table.token_ids[0]]
    got = [parser.parse(text).to_json()["calls"] for text, _, _ in UNSEEN]
    want = [[{"function": f, "arguments": a}] if f else [] for _, f, a in UNSEEN]
    correct = sum(g == w for g, w in zip(got, want, strict=True))
    assert correct >= 4, list(zip(got, want, strict=True))
