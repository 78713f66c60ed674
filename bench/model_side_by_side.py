"""Parse latency of this checkout's model against an earlier checkout's, in one run.

    git worktree add ../v1 6e62290          # the v1 call language, as shipped
    .venv/bin/python bench/model_side_by_side.py --baseline-checkout ../v1 \\
        [--rounds 5] [--out bench/model-side-by-side.md]

Each checkout answers ``octohome parse --json -`` in a child process of its own (its
own code, catalog and shipped model; the baseline's model is built into
``<checkout>/.bench-models`` by its own code), so an earlier parser can be timed
although this checkout's catalog and model format have moved on. The two children
are asked the same utterances one after the other, alternating which goes first,
so both see the same machine at the same moment; each time is the round trip of
one line through the pipe (the pipe costs both the same, well under a
millisecond).

Utterances: ``octohome bench model``'s single commands (FIXED_SET) and its
two-command utterances (TWO_COMMANDS, which a v1 parser answers with one call at
most: its time is shown for reference, not as like for like).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from octohome.bench.model import FIXED_SET, TWO_COMMANDS  # noqa: E402  (after the path fix)
from octohome.bench.stats import percentile  # noqa: E402

ENTRY = "import sys; from octohome.cli import main; sys.exit(main())"


class Child:
    """``octohome parse --json -`` of one checkout, one line in, one line out."""

    def __init__(self, checkout: Path, model_dir: Path | None) -> None:
        env = dict(os.environ, PYTHONPATH=str(checkout))
        if model_dir is not None:
            env["OCTOHOME_MODEL_DIR"] = str(model_dir)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", ENTRY, "parse", "--json", "-"],
            cwd=checkout, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, bufsize=1,
        )

    def ask(self, text: str) -> tuple[float, str]:
        """Milliseconds for one answer, and the answer."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        t = time.perf_counter()
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"the child in {self.proc.args} stopped (rc {self.proc.poll()})")
        return (time.perf_counter() - t) * 1000, line.strip()

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline-checkout", type=Path, required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", type=Path, default=None, help="write a markdown report here")
    args = ap.parse_args()

    base_dir = args.baseline_checkout.resolve()
    rev = subprocess.run(["git", "-C", str(base_dir), "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip() or "?"
    here = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True).stdout.strip() or "?"
    new = Child(ROOT, None)
    old = Child(base_dir, base_dir / ".bench-models")
    for text in ("turn on the kitchen lights", "lock the front door", "movie night"):
        new.ask(text)  # loads the model (the baseline may build its own first)
        old.ask(text)
    single: dict[str, list[float]] = {"new": [], "old": []}
    two: dict[str, list[float]] = {"new": [], "old": []}
    one_call: list[float] = []  # this checkout's single commands that made exactly one call
    for r in range(args.rounds):
        for texts, into in ((FIXED_SET, single), (TWO_COMMANDS, two)):
            for i, text in enumerate(texts):
                order = [("new", new), ("old", old)]
                if (i + r) % 2:
                    order.reverse()
                for name, child in order:
                    ms, answer = child.ask(text)
                    into[name].append(ms)
                    if name == "new" and into is single and len(json.loads(answer)["calls"]) == 1:
                        one_call.append(ms)
    new.close()
    old.close()

    def pp(xs: list[float]) -> str:
        return f"{percentile(xs, 50):.0f} / {percentile(xs, 95):.0f}"

    ratio = percentile(single["new"], 50) / percentile(single["old"], 50)
    two_ratio = percentile(two["new"], 50) / percentile(one_call, 50)
    lines = [
        f"`{' '.join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])}`",
        "",
        f"This checkout ({here}) against {base_dir.name} ({rev}), {args.rounds} rounds,"
        f" interleaved, {platform.machine()} {len(os.sched_getaffinity(0))} cores,"
        f" load average {os.getloadavg()[0]:.1f} at the end.",
        "",
        "| utterances | this checkout p50 / p95 ms | baseline p50 / p95 ms |",
        "|---|---|---|",
        f"| single commands ({len(single['new'])}) | {pp(single['new'])} | {pp(single['old'])} |",
        f"| two commands ({len(two['new'])}) | {pp(two['new'])} |"
        f" {pp(two['old'])} (one call at most) |",
        f"| single commands that made one call ({len(one_call)}) | {pp(one_call)} | |",
        "",
        f"Single-command p50 against the baseline: **{ratio:.2f}x**. Two commands against"
        f" one call (the single commands that made exactly one call: a non-command"
        f" makes none and costs one model step), this checkout: **{two_ratio:.2f}x**.",
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text("# Parse latency side by side (bench/model_side_by_side.py)\n\n"
                            + text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
