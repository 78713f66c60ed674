"""The ``octohome`` entry point: ``--help`` imports no pipeline stage, and every
command's own ``--help`` still shows its arguments.

Imports are read from ``python -X importtime`` (one line per module imported,
on stderr), so the check sees what a fresh process really loads.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from octohome.cli import COMMANDS, command_of
from tests.paths import ROOT

HEAVY = ("torch", "numpy", "llama_cpp", "faster_whisper", "ctranslate2", "onnxruntime",
         "structlog", "pydantic", "transformers", "paho")
"""Third-party packages that make a start slow (none is needed to list the commands)."""

STAGES = ("octohome.core", "octohome.hear", "octohome.understand", "octohome.act",
          "octohome.service", "octohome.training", "octohome.bench")
"""Every octohome package but the command line."""


def _python(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "OCTOHOME_CONFIG"}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def _imported(importtime_stderr: str) -> set[str]:
    """Module names from ``-X importtime`` lines: ``import time: self | cumulative | name``."""
    names = set()
    for line in importtime_stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            if name != "package":  # the header line
                names.add(name)
    return names


def _offending(names: set[str]) -> list[str]:
    return sorted(n for n in names
                  if n.split(".")[0] in HEAVY or n.startswith(tuple(s + "." for s in STAGES))
                  or n in STAGES)


def test_import_octohome_cli_loads_no_stage() -> None:
    out = _python("-X", "importtime", "-c", "import octohome.cli")
    assert out.returncode == 0, out.stderr[-2000:]
    names = _imported(out.stderr)
    assert "octohome.cli" in names  # the check reads the importtime output right
    assert _offending(names) == []


def test_help_lists_every_command_and_loads_no_stage() -> None:
    out = _python("-X", "importtime", "-m", "octohome.cli", "--help")
    assert out.returncode == 0, out.stderr[-2000:]
    names = _imported(out.stderr)
    assert "octohome.cli" in names
    assert _offending(names) == []
    assert not any(n.startswith("octohome.cli.") and n != "octohome.cli.__main__"
                   for n in names), sorted(names)
    listed = {line.split()[0] for line in out.stdout.splitlines() if line.startswith("    ")}
    assert listed >= set(COMMANDS)
    for name, (_module, short, _long) in COMMANDS.items():
        assert name in out.stdout and short.split()[0] in out.stdout


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_help_exits_0(name: str) -> None:
    out = _python("-m", "octohome.cli", name, "--help")
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith(f"usage: octohome {name} ")
    assert "-h, --help" in out.stdout


def test_command_help_shows_the_command_arguments() -> None:
    out = _python("-m", "octohome.cli", "--config", "none.toml", "run", "--help")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "--no-audio" in out.stdout and "--keep-running" in out.stdout


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        ([], None),
        (["--help"], None),
        (["say", "hello"], "say"),
        (["--config", "run", "parse", "x"], "parse"),  # "run" is the config file here
        (["--conf", "c.toml", "run"], "run"),  # argparse takes the option abbreviated
        (["--config=c.toml", "listen", "--json"], "listen"),
        (["--version"], None),
        (["nonsense", "run"], None),
    ],
)
def test_command_of(argv: list[str], command: str | None) -> None:
    assert command_of(argv) == command
