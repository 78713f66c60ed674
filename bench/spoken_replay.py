"""Re-run the understanding step of a spoken benchmark on the hypotheses it recorded.

    .venv/bin/octohome bench spoken --no-soundalike --json-out runs/spoken.json ...
    .venv/bin/python bench/spoken_replay.py runs/spoken.json            # both ways
    .venv/bin/python bench/spoken_replay.py runs/spoken.json --show     # every change

Why: ``octohome bench spoken`` spends most of its time rendering speech and running
Whisper, whose output does not change when only the hearing side's choices do (the
sound-alike correction, ``max_parses``, the margins). This replays Whisper's n-best
lists of each row through :func:`octohome.hear.heard.understand` with the shipped
parser, once without and once with the sound-alike correction, and scores both in
the same run (calls as a multiset, as the benchmark does). The recorded list is
what Whisper gave, so the figures match a full run except for the latency.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("rows", type=Path, help="--json-out file of octohome bench spoken")
    ap.add_argument("--show", action="store_true", help="print every case that changed")
    args = ap.parse_args(argv)

    from octohome.bench.spoken import HELDOUT_VOICE, PIPER_VOICE, call_key, call_keys
    from octohome.core.catalog import Catalog
    from octohome.core.config import load_settings
    from octohome.hear.heard import door_rule, understand
    from octohome.hear.soundalike import SoundAlike
    from octohome.hear.stt import Hypothesis, Transcript
    from octohome.understand.parser import load_parser

    data = json.loads(args.rows.read_text())
    settings = load_settings()
    catalog = Catalog.load(settings.catalog)
    parser = load_parser(settings, catalog)
    doors = door_rule(catalog)
    fix = SoundAlike.for_catalog(catalog).correct
    setup = data["setup"]
    print(f"{len(data['rows'])} rows of {args.rows} (model {setup['model_sha256']});"
          f" replayed with {parser.path}", file=sys.stderr)

    score: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    cats: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in data["rows"]:
        want = Counter(call_key(c["function"], c["arguments"]) for c in row["expected"])
        hyps = tuple(Hypothesis(t, s) for t, s in row["hypotheses"])
        if not row["transcript"]:
            outcomes = [Counter[str](), Counter[str]()]
            texts = ["", ""]
        else:
            tr = Transcript(row["transcript"], 0.0, 0.0, alternatives=hyps)
            heard = [understand(tr, parser, row["room"], max_parses=setup["max_parses"],
                                sure_margin=setup["sure_margin"], sensitive=doors,
                                soundalike=f) for f in (None, fix)]
            outcomes = [Counter(call_keys(h.parsed.calls)) for h in heard]
            texts = [h.text for h in heard]
        ok = [o == want for o in outcomes]
        group = {HELDOUT_VOICE.label: "held-out espeak voice",
                 PIPER_VOICE.label: "held-out Piper voice"}.get(row["voice"], "tuning voices")
        s = score[(group, row["noise"])]
        s[0] += 1
        s[1] += ok[0]
        s[2] += ok[1]
        s[3] += bool(outcomes[1]) and not ok[1] and not (bool(outcomes[0]) and not ok[0])
        s[4] += bool(outcomes[0]) and not ok[0] and not (bool(outcomes[1]) and not ok[1])
        c = cats[row["category"]]
        c[0] += 1
        c[1] += ok[0]
        c[2] += ok[1]
        if args.show and outcomes[0] != outcomes[1]:
            mark = "+" if ok[1] else ("-" if ok[0] else "~")
            print(f"{mark} [{row['voice']}, {row['noise']}] {row['text']!r}: {texts[0]!r} ->"
                  f" {texts[1]!r}: {sorted(outcomes[1]) or 'none'}")
    print("| voices | audio | n | exact without | exact with | new wrong calls |"
          " wrong calls gone |")
    print("|---|---|---|---|---|---|---|")
    for (voice, noise), (n, a, b, worse, better) in sorted(score.items()):
        print(f"| {voice} | {noise} | {n} | {a} ({100 * a / n:.1f}%) | {b} ({100 * b / n:.1f}%)"
              f" | {worse} | {better} |")
    print("\n| category | n | exact without | exact with |\n|---|---|---|---|")
    for cat, (n, a, b) in sorted(cats.items()):
        print(f"| {cat} | {n} | {a} | {b} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
