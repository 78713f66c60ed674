"""The install-time self-check, run as setup.sh runs it: a child process, judged by how it ended."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from octohome.core.catalog import Catalog
from octohome.understand import selfcheck


def test_known_command_of_the_demo_home() -> None:
    text, want = selfcheck.known_command(Catalog.load())
    assert text == "turn on the living room ceiling light"
    assert want == {
        "calls": [{"function": "light.turn_on", "arguments": {"device": "living_room_ceiling"}}]}


def test_a_crash_in_the_child_becomes_exit_3_and_a_rebuild_hint() -> None:
    """llama.cpp's SIGSEGV cannot be caused on this CPU; a child that dies of the same
    signal goes through the same judgement."""
    proc = subprocess.run(
        [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"],
        capture_output=True, text=True, check=False,
    )
    result = selfcheck.judge(proc)
    assert result.code == selfcheck.CRASHED
    assert "SIGSEGV" in result.message and "./setup.sh install" in result.message


def test_a_wrong_answer_is_a_failure_that_says_what_came_back() -> None:
    proc = subprocess.CompletedProcess(
        [], 0,
        stdout='{"ok": false, "text": "turn on the x", "got": {"calls": []},'
               ' "want": {"calls": [{"function": "light.turn_on", "arguments": {"device": "x"}}]},'
               ' "model": "m.gguf", "ms": 1.0}\n',
        stderr="",
    )
    result = selfcheck.judge(proc)
    assert result.code == selfcheck.FAILED
    assert "expected" in result.message and "octohome model install --force" in result.message


def test_the_shipped_model_passes(model_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "octohome.cli", "model", "check", str(model_path)],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("self-check ok:")


def test_a_corrupt_model_fails_with_a_message_not_a_crash(model_path: Path, tmp_path: Path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(model_path.read_bytes()[: 10_000_000])
    out = subprocess.run(
        [sys.executable, "-m", "octohome.cli", "model", "check", str(bad)],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert out.returncode == selfcheck.FAILED, (out.returncode, out.stderr)
    assert "truncated" in out.stderr


@pytest.fixture(scope="module")
def model_path() -> Path:
    from octohome.understand.modelfile import install_shipped

    return install_shipped(progress=False)
