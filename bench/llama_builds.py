"""Parse latency of the same model under different llama.cpp builds, side by side in one run.

    .venv/bin/python bench/llama_builds.py NAME=WHEEL_OR_LIB_DIR ... [--rounds 3] [--passes 3]
        [--out bench/llama-build-results.md]

Each build is a llama-cpp-python wheel (or an unpacked ``llama_cpp/lib`` directory).
``octohome bench model --json`` runs once per build per pass, the builds taking
turns (A B A B ...), with ``LLAMA_CPP_LIB_PATH`` pointing the same Python
package at that build's shared libraries, so only the compiled code differs.
Reported: the median over passes of each run's parse p50 and p95.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def lib_dir(spec: str, scratch: Path) -> Path:
    """A build's ``llama_cpp/lib``: the directory given, or unpacked from the wheel into
    ``scratch`` (one scratch directory per build: wheels of one version share a name)."""
    path = Path(spec)
    if path.is_dir():
        return path
    out = scratch
    with zipfile.ZipFile(path) as z:
        z.extractall(out, [n for n in z.namelist() if n.startswith("llama_cpp/lib/")])
    return out / "llama_cpp" / "lib"


def run_once(lib: Path, rounds: int) -> dict[str, float]:
    env = {**os.environ, "LLAMA_CPP_LIB_PATH": str(lib)}
    out = subprocess.run(
        [sys.executable, "-m", "octohome.cli", "bench", "model", "--json",
         "--rounds", str(rounds), "--conventional-n", "0"],
        capture_output=True, text=True, env=env, check=False, cwd=ROOT,
    )
    if out.returncode != 0:
        return {"crashed": float(out.returncode)}
    data = json.loads(out.stdout)
    return {"p50": data["parse_ms_p50"], "p95": data["parse_ms_p95"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("builds", nargs="+",
                    help="NAME=wheel file or lib directory (split at the last '=')")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        builds = {}
        for k, spec in enumerate(args.builds):
            name, _, where = spec.rpartition("=")
            builds[name] = lib_dir(where, Path(tmp) / str(k))
        runs: dict[str, list[dict[str, float]]] = {n: [] for n in builds}
        for k in range(args.passes):
            for name, lib in builds.items():
                r = run_once(lib, args.rounds)
                runs[name].append(r)
                print(f"pass {k + 1} {name}: {r}", file=sys.stderr, flush=True)
    rows = ["| build | parse p50 ms | parse p95 ms | runs |", "|---|---|---|---|"]
    for name, rs in runs.items():
        ok = [r for r in rs if "crashed" not in r]
        if not ok:
            rows.append(f"| {name} | crashed (exit {rs[0]['crashed']:.0f}) | | {len(rs)} |")
            continue
        p50 = statistics.median(r["p50"] for r in ok)
        p95 = statistics.median(r["p95"] for r in ok)
        rows.append(f"| {name} | {p50:.1f} | {p95:.1f} | {len(ok)} |")
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    text = (f"Machine: {cpu}, {os.cpu_count()} cores, {platform.machine()}; "
            f"{args.passes} passes x {args.rounds} rounds x 24 utterances per build.\n\n"
            + "\n".join(rows) + "\n")
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
