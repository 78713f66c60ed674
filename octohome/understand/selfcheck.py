"""The install-time self-check: one known command through the model, in a child process.

Why a child process: a llama.cpp build that does not suit the CPU does not
raise, it dies of a signal (SIGSEGV, SIGILL) inside ``llama_decode`` on the
first evaluation. In-process that would kill the installer with a bare
"Segmentation fault"; in a child it becomes a verdict the installer can act on
(``setup.sh`` rebuilds llama.cpp with a more portable build tier) and a message
that says what failed and how to rebuild.

Exit codes of ``octohome model check`` (:attr:`CheckResult.code`):
0 the known command gave the known call; 1 the model loaded but answered
wrong, or could not be loaded (corrupt file, wrong catalog); 3 llama.cpp
crashed.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OK, FAILED, CRASHED = 0, 1, 3

REBUILD_HINT = (
    "rebuild llama.cpp for this machine with './setup.sh install' (it tries more portable"
    " builds when one crashes), or force the most portable one with"
    " 'OCTOHOME_LLAMA_TIER=<last> ./setup.sh install'"
    " (python3 octohome/understand/llama_build.py tiers)"
)


@dataclass(frozen=True)
class CheckResult:
    """What the self-check found."""

    code: int
    """0 ok, 1 failed (wrong answer or load error), 3 llama.cpp crashed."""

    message: str
    """One paragraph for a person: what was run, what came back, what to do."""


def known_command(catalog: Any) -> tuple[str, dict[str, Any] | None]:
    """A command whose call is certain for this catalog, and that call.

    The first device whose type has a ``turn_on`` function, called by its name:
    "turn on the kitchen lights" in the demo home. A catalog without one gets a
    plain sentence and no expected call (then only a crash or an invalid
    answer fails the check)."""
    for device in catalog.devices:
        function = f"{device.type}.turn_on"
        if function in catalog.functions:
            return f"turn on the {device.name}", {
                "calls": [{"function": function, "arguments": {"device": device.id}}]}
    return "turn on the light", None


def run_check(model: Path | None = None, *, config: str | None = None,
              timeout: float = 900) -> CheckResult:
    """Run :func:`_child` in a fresh interpreter and judge how it ended."""
    cmd = [sys.executable, "-m", "octohome.understand.selfcheck"]
    if config:
        cmd += ["--config", config]
    if model is not None:
        cmd += ["--model", str(model)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return CheckResult(FAILED, f"self-check: no answer within {timeout:.0f} s; {REBUILD_HINT}")
    return judge(proc)


def judge(proc: subprocess.CompletedProcess[str]) -> CheckResult:
    """The verdict on a finished child: killed by a signal, failed, or its printed answer."""
    if proc.returncode < 0:
        try:
            name = signal.Signals(-proc.returncode).name
        except ValueError:
            name = f"signal {-proc.returncode}"
        return CheckResult(CRASHED, (
            f"self-check: llama.cpp crashed ({name}) while running the model: this llama.cpp"
            f" build does not suit this CPU; {REBUILD_HINT}."
        ))
    lines = proc.stdout.strip().splitlines()
    try:
        verdict = json.loads(lines[-1]) if lines else {}
    except ValueError:
        verdict = {}
    if isinstance(verdict, dict) and "error" in verdict:
        return CheckResult(FAILED, f"self-check: the model could not be loaded: {verdict['error']}")
    if proc.returncode != 0 or not isinstance(verdict, dict) or "ok" not in verdict:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return CheckResult(FAILED, "self-check: the model could not be run: " + " / ".join(tail))
    text, got, want = verdict["text"], verdict["got"], verdict["want"]
    if not verdict["ok"]:
        return CheckResult(FAILED, (
            f"self-check: {text!r} gave {json.dumps(got)}, expected {json.dumps(want)}."
            " The model file or the llama.cpp build is broken: rebuild the model with"
            " 'octohome model install --force' (or retrain it), and if that does not help,"
            f" {REBUILD_HINT}."
        ))
    return CheckResult(OK, f"self-check ok: {text!r} -> {json.dumps(got)}"
                           f" ({verdict['model']}, {verdict['ms']:.0f} ms)")


def _child(argv: list[str]) -> int:
    """In the child: load config, catalog and model, parse the known command, print a verdict."""
    import argparse
    import time

    from octohome.core.catalog import Catalog, CatalogError
    from octohome.core.config import ConfigError, load_settings
    from octohome.understand.parser import ModelError, load_parser

    ap = argparse.ArgumentParser()
    ap.add_argument("--config")
    ap.add_argument("--model", type=Path)
    args = ap.parse_args(argv)
    try:
        settings = load_settings(args.config)
        if args.model is not None:
            settings = settings.model_copy(
                update={"model": settings.model.model_copy(update={"path": args.model})})
        catalog = Catalog.load(settings.catalog)
        parser = load_parser(settings, catalog)
    except (ConfigError, CatalogError, ModelError, OSError) as exc:
        print(json.dumps({"error": str(exc)}))
        return 1
    text, want = known_command(catalog)
    t0 = time.perf_counter()
    got = parser.parse(text).to_json()
    ms = (time.perf_counter() - t0) * 1000
    ok = got == want if want is not None else True
    print(json.dumps({"ok": ok, "text": text, "got": got, "want": want,
                      "model": str(parser.path), "ms": ms}))
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
