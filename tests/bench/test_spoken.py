"""``octohome bench spoken``: cases, door accounting and the report, without models;
one short real run when the shipped model works on this catalog."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from octohome.bench.spoken import (
    DEFAULT_SETS,
    ROOT,
    TUNING_VOICES,
    Case,
    Row,
    call_key,
    load_cases,
    margin_sweep,
    markdown,
    unasked_doors,
)
from octohome.core.catalog import Catalog
from tests.speech_fixtures import needs_espeak

LOCK = call_key("lock.lock", {"device": "back_door"})
UNLOCK = call_key("lock.unlock", {"device": "back_door"})
LIGHT = call_key("light.turn_on", {"device": "kitchen_lights"})


def row(expected: tuple[str, ...], got: tuple[str, ...], margin: float = 5.0,
        top: tuple[str, ...] | None = None) -> Row:
    case = Case("unlock the back door", expected, None, "single device", "x.jsonl")
    return Row(case, TUNING_VOICES[0].label, "clean", "Lock the back door.",
               "Lock the back door.", 0, got, got if top is None else top, margin, margin,
               200.0, 60.0, 1)


def test_the_default_sets_load_in_both_shapes() -> None:
    paths = [p for p in DEFAULT_SETS if (ROOT / p).is_file()]
    if len(paths) < len(DEFAULT_SETS):
        pytest.skip("../shared is not beside this checkout")
    cases = load_cases(paths)
    assert len(cases) >= 100
    assert {c.source for c in cases} == {Path(p).name for p in paths}
    v2 = [c for c in cases if c.room]
    assert v2 and all(c.category for c in cases)
    groups = [c for c in cases if len(c.expected) > 1]
    assert groups and all(json.loads(k)["function"] for c in groups for k in c.expected)
    assert any(not c.expected for c in cases)  # not-a-command cases too


def test_unasked_door_calls_and_the_margin_sweep() -> None:
    cat = Catalog.load()
    misheard = row((UNLOCK,), (LOCK,), margin=4.5)
    right = row((UNLOCK,), (UNLOCK,), margin=1.0)
    light = row((LIGHT,), (LIGHT,), margin=0.1)
    held = row((UNLOCK,), (), top=(LOCK,))
    assert unasked_doors(misheard, cat) == [LOCK]
    assert unasked_doors(right, cat) == [] and unasked_doors(light, cat) == []
    assert unasked_doors(held, cat) == [] and unasked_doors(held, cat, top=True) == [LOCK]
    assert not misheard.exact and right.exact
    sweep = {t: (w, lost, n) for t, w, lost, n in
             margin_sweep([misheard, right, light, held], cat, (0.0, 2.0, 5.0))}
    assert sweep[0.0] == (1, 0, 2)
    assert sweep[2.0] == (1, 1, 2)  # the right unlock refused, the wrong lock still made
    assert sweep[5.0] == (0, 1, 2)


def test_the_report_names_its_setup_and_every_miss() -> None:
    cat = Catalog.load()
    rows = [row((UNLOCK,), (LOCK,)), row((UNLOCK,), (UNLOCK,))]
    setup = {"cases": 2, "whisper": "tiny.en", "beam": 5, "n_best": 5, "max_parses": 3,
             "sure_margin": 4.0, "model": "m.gguf", "sensitive_margin": 0.0,
             "load": [1.0, 1.0, 1.0], "cpus": 2, "minutes": 0.1, "argv": []}
    text = markdown([("tuning voices", "clean", rows)], cat, setup)
    assert "| tuning voices | clean | 2 | **50.0%** |" in text
    assert "lock.lock(device=back_door)" in text
    assert "| sensitive_margin |" in text


def test_the_second_recognizer_is_scored_beside_the_first_from_one_run() -> None:
    """Each row keeps what the first recognizer's words gave before the second one was
    asked, so one run shows both ways side by side."""
    from dataclasses import replace

    cat = Catalog.load()
    fixed = replace(row((UNLOCK,), (UNLOCK,)), asked_again=True, again_ms=300.0,
                    alone_got=())  # tiny.en: no call; base: the right one
    broke = replace(row((LIGHT,), (LOCK,)), asked_again=True, again_ms=300.0,
                    alone_got=(LIGHT,))
    sure = row((LIGHT,), (LIGHT,))  # base not asked
    assert fixed.alone == () and sure.alone == (LIGHT,)
    setup = {"cases": 3, "whisper": "tiny.en", "second_whisper": "base", "beam": 5,
             "n_best": 5, "max_parses": 3, "sure_margin": 4.0, "model": "m.gguf",
             "sensitive_margin": 0.0, "load": [1.0, 1.0, 1.0], "cpus": 2, "minutes": 0.1,
             "argv": []}
    text = markdown([("tuning voices", "clean", [fixed, broke, sure])], cat, setup)
    assert "Whisper tiny.en alone against tiny.en then base when unsure" in text
    assert "| tuning voices | clean | 3 | 66.7% / **66.7%** | 0 / 1 | 66.7% |" in text


@needs_espeak
def test_a_short_real_run(tmp_path: Path) -> None:
    from octohome.core.config import Settings
    from octohome.understand.parser import ModelError, load_parser

    try:
        load_parser(Settings(), Catalog.load())
    except (ModelError, OSError, ValueError) as exc:
        pytest.skip(f"the shipped model does not run on this catalog: {exc}")
    cases = tmp_path / "cases.jsonl"
    cases.write_text(
        json.dumps({"text": "turn on the kitchen lights", "function": "light.turn_on",
                    "arguments": {"device": "kitchen_lights"}}) + "\n"
        + json.dumps({"text": "tell me a joke", "function": None, "arguments": {}}) + "\n")
    out = tmp_path / "r.md"
    rows = tmp_path / "rows.json"
    proc = subprocess.run(
        [sys.executable, "-m", "octohome.cli", "bench", "spoken", "--sets", str(cases),
         "--voices", "tuning", "--output", str(out), "--json-out", str(rows)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(rows.read_text())
    assert len(data["rows"]) == 4  # 2 cases, clean and 10 dB
    clean = [r for r in data["rows"] if r["noise"] == "clean"]
    assert all(r["exact"] for r in clean), clean
    assert "exact" in out.read_text()
