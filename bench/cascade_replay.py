"""Whisper tiny.en first, Whisper base only when what tiny heard left the model unsure:
replayed on two recorded spoken benchmarks.

    .venv/bin/octohome bench spoken --json-out runs/spoken-tiny.json ...
    .venv/bin/octohome bench spoken --whisper base --json-out runs/spoken-base.json ...
    .venv/bin/python bench/cascade_replay.py runs/spoken-tiny.json runs/spoken-base.json

Why: base hears espeak-ng's voices better than tiny.en (exact calls 79.3% against
77.0% on the tuning voices, 68.2% against 63.6% on the held-out one, clean) but
costs about 200-250 ms more on every command (README, "Whisper base against
tiny.en"). Most commands tiny.en hears well enough for a sure parse; if base is
asked only about the others, the accuracy could come at a fraction of the time.
Both recordings hold the same renderings (espeak-ng is deterministic; Piper draws
noise, so its rows differ a little), so each rendering's tiny.en hypotheses go
through :func:`octohome.hear.heard.understand_words` as the runtime does, and when
the result is what :func:`octohome.hear.heard.wants_second` asks again about (calls
under the sure margin, or no call with a reason; a sure call, a refusal on purpose
and "not a command" are final) the base hypotheses of the same rendering are
understood instead. Printed per voice group and noise: exact calls and utterances
with a wrong call for tiny alone, base alone and the cascade, and how often base
was asked. ``--rows-out`` keeps both outcomes of every rendering, to try another
rule without rerunning Whisper. The live measurement is ``octohome bench spoken
--second-whisper base`` (its own side-by-side table, real timings); this replay is
for comparing rules.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tiny", type=Path, help="--json-out file of a tiny.en run")
    ap.add_argument("base", type=Path, help="--json-out file of a base run (same cases)")
    ap.add_argument("--rows-out", type=Path, help="each rendering's two outcomes as JSON")
    args = ap.parse_args(argv)

    from octohome.bench.spoken import HELDOUT_VOICE, PIPER_VOICE, call_key, call_keys
    from octohome.core.catalog import Catalog
    from octohome.core.config import load_settings
    from octohome.hear.heard import Heard, door_rule, understand_words, wants_second
    from octohome.hear.soundalike import SoundAlike
    from octohome.hear.stt import Hypothesis, Transcript
    from octohome.understand.parser import load_parser

    tiny_data = json.loads(args.tiny.read_text())
    base_data = json.loads(args.base.read_text())
    settings = load_settings()
    catalog = Catalog.load(settings.catalog)
    parser = load_parser(settings, catalog)
    doors = door_rule(catalog)
    fix = SoundAlike.for_catalog(catalog).correct
    setup = tiny_data["setup"]
    sure = float(setup["sure_margin"])

    def key(row: dict[str, Any]) -> tuple[str, str | None, str, str]:
        return (row["text"], row["room"], row["voice"], row["noise"])

    base_rows = {key(r): r for r in base_data["rows"]}

    def heard(row: dict[str, Any]) -> Heard | None:
        if not row["transcript"]:
            return None
        hyps = tuple(Hypothesis(t, s) for t, s in row["hypotheses"])
        tr = Transcript(row["transcript"], 0.0, 0.0, alternatives=hyps)
        return understand_words(tr, parser, row["room"], max_parses=setup["max_parses"],
                                sure_margin=sure, sensitive=doors, soundalike=fix)

    # per group: n, exact and wrong calls of each way, base asked, stt ms
    dump: list[dict[str, Any]] = []

    def outcome(h: Heard | None) -> dict[str, Any]:
        if h is None:
            return {"text": "", "calls": [], "margin": 0.0, "reason": None, "refused": False}
        return {"text": h.text, "calls": sorted(call_keys(h.parsed.calls)),
                "margin": h.parsed.margin, "reason": h.parsed.reason,
                "refused": h.parsed.refused}

    ways = ("tiny", "base", "cascade")
    score: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in tiny_data["rows"]:
        other = base_rows.get(key(row))
        if other is None:
            continue
        want = Counter(call_key(c["function"], c["arguments"]) for c in row["expected"])
        t, b = heard(row), heard(other)
        asked = t is not None and wants_second(t.parsed, sure)
        c = b if asked and b is not None and b.text else t
        got = [Counter(call_keys(h.parsed.calls)) if h else Counter[str]() for h in (t, b, c)]
        dump.append({"text": row["text"], "voice": row["voice"], "noise": row["noise"],
                     "want": sorted(want.elements()), "asked": asked,
                     **{f"{name}_{k}": v for name, h in (("tiny", t), ("base", b))
                        for k, v in outcome(h).items()}})
        group = {HELDOUT_VOICE.label: "held-out espeak voice",
                 PIPER_VOICE.label: "held-out Piper voice"}.get(row["voice"], "tuning voices")
        s = score[(group, row["noise"])]
        s["n"] += 1
        for way, g in zip(ways, got, strict=True):
            s[f"exact {way}"] += g == want
            s[f"wrong {way}"] += bool(g) and g != want
        s["asked"] += asked
        s["stt tiny"] += row["stt_ms"]
        s["stt base"] += other["stt_ms"] if asked else 0.0
    print(f"tiny {args.tiny} ({setup['whisper']}), base {args.base}"
          f" ({base_data['setup']['whisper']}); model {parser.path}", file=sys.stderr)
    print("| voices | audio | n | exact " + " / ".join(ways) + " | utterances with a wrong"
          " call, " + " / ".join(ways) + " | base asked | stt ms per utterance, tiny /"
          " cascade |")
    print("|---|---|---|---|---|---|---|")
    for (voice, noise), s in sorted(score.items()):
        n = s["n"]
        exact = " / ".join(f"{100 * s[f'exact {w}'] / n:.1f}%" for w in ways)
        wrong = " / ".join(f"{s[f'wrong {w}']:.0f}" for w in ways)
        print(f"| {voice} | {noise} | {n:.0f} | {exact} | {wrong} | {100 * s['asked'] / n:.0f}%"
              f" | {s['stt tiny'] / n:.0f} / {(s['stt tiny'] + s['stt base']) / n:.0f} |")
    if args.rows_out:
        args.rows_out.write_text(json.dumps(dump, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
