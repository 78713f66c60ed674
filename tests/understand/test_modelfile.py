"""Model files are never loaded blind: a truncated or corrupt file is rebuilt or refused."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from octohome.understand import modelfile


@pytest.fixture(scope="module")
def shipped() -> Path:
    return modelfile.install_shipped(progress=False)


def _copy(src: Path, dst_dir: Path) -> Path:
    dst = dst_dir / src.name
    shutil.copyfile(src, dst)
    shutil.copyfile(modelfile.record_path(src), modelfile.record_path(dst))
    return dst


def test_a_built_model_has_a_record_that_matches(shipped: Path) -> None:
    record = modelfile.read_record(shipped)
    assert record["size"] == shipped.stat().st_size
    assert record["delta_sha256"] == modelfile.file_sha256(modelfile.SHIPPED_DELTA)
    assert modelfile.check_file(shipped) is None


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        ("truncate", "truncated"),
        ("flip", "corrupt"),
        ("empty", "truncated"),
    ],
)
def test_damage_is_found(shipped: Path, tmp_path: Path, damage: str, says: str) -> None:
    model = _copy(shipped, tmp_path)
    with model.open("r+b") as f:
        if damage == "truncate":
            f.truncate(model.stat().st_size // 2)
        elif damage == "empty":
            f.truncate(0)
        else:
            f.seek(model.stat().st_size // 2)
            byte = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([byte[0] ^ 0xFF]))
    fault = modelfile.check_file(model)
    assert fault is not None and says in fault


def test_a_foreign_gguf_without_record_is_checked_for_truncation(shipped: Path,
                                                                  tmp_path: Path) -> None:
    model = tmp_path / "foreign.gguf"
    shutil.copyfile(shipped, model)
    assert modelfile.check_file(model) is None
    with model.open("r+b") as f:
        f.truncate(model.stat().st_size - 4096)
    fault = modelfile.check_file(model)
    assert fault is not None and ("truncated" in fault or "not a readable GGUF" in fault)
    (tmp_path / "junk.gguf").write_bytes(b"not a model at all")
    assert "not a readable GGUF" in (modelfile.check_file(tmp_path / "junk.gguf") or "")


def _parse(env: dict[str, str], text: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "octohome.cli", "parse", "--json", text],
        capture_output=True, text=True, timeout=900, check=False, env={**os.environ, **env},
    )


def test_a_corrupt_configured_model_is_refused_with_a_message(shipped: Path,
                                                              tmp_path: Path) -> None:
    model = _copy(shipped, tmp_path)
    with model.open("r+b") as f:
        f.truncate(model.stat().st_size - 1000)
    out = _parse({"OCTOHOME_MODEL__PATH": str(model)}, "turn on the kitchen lights")
    assert out.returncode == 2, out.stderr
    assert "truncated" in out.stderr and "not loading it" in out.stderr
    assert out.stdout == ""


def test_a_corrupt_shipped_model_is_rebuilt_at_the_next_start(shipped: Path,
                                                              tmp_path: Path) -> None:
    """The shipped model (in OCTOHOME_MODEL_DIR) damaged in place: the next start rebuilds it."""
    model = _copy(shipped, tmp_path)
    with model.open("r+b") as f:
        f.seek(4_000_000)
        f.write(b"\0" * 4096)
    out = _parse({"OCTOHOME_MODEL_DIR": str(tmp_path)}, "turn on the kitchen lights")
    assert out.returncode == 0, out.stderr
    assert "corrupt" in out.stderr and "rebuilding" in out.stderr
    assert json.loads(out.stdout)["calls"][0]["arguments"] == {"device": "kitchen_lights"}
    assert modelfile.check_file(model) is None
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no temporary left"
