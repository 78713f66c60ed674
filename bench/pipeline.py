"""End of speech -> publish, per stage, on the shipped WAVs, through the real daemon.

    .venv/bin/python bench/pipeline.py [--repeat 3] [--out bench/pipeline-results.md]

The demo WAVs (and tests/data/kitchen_lights_on.wav) are joined with 1.5 s
pauses and played to ``octohome run``'s pipeline in real time (as a
microphone would deliver them), wake word off, against a private Mosquitto on
a free loopback port. Each utterance's log line gives the stages:

- stt: end of speech detected (VAD: audio.end_silence of quiet after the last
  voiced frame) -> transcript (Whisper, worker thread)
- model: transcript -> validated call (llama.cpp, worker thread)
- publish: call -> the broker's PUBACK (QoS 1)
- total: end of speech detected -> PUBACK

What a person perceives adds audio.end_silence (default 0.7 s) to total: the
VAD waits that long to be sure the command is over.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from octohome.bench.stats import percentile  # noqa: E402  (after the path fix)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None, help="write a markdown table here")
    args = ap.parse_args()

    from octohome.act.mosquitto import private_mosquitto
    from octohome.cli.demo import demo_items
    from octohome.core.config import AudioConfig, MqttConfig, Settings
    from octohome.hear.audio import SAMPLE_RATE
    from octohome.hear.sources import WavFileSource
    from octohome.hear.wav import read_wav, write_wav
    from octohome.service import logs
    from octohome.service.daemon import Daemon

    logs.configure("warning", "json")
    wavs = [it.file for it in demo_items()] + [ROOT / "tests" / "data" / "kitchen_lights_on.wav"]
    pause = np.zeros(int(1.5 * SAMPLE_RATE), dtype=np.int16)
    audio = np.concatenate([p for _ in range(args.repeat) for w in wavs
                            for p in (read_wav(w), pause)])
    rows: list[dict[str, float]] = []
    statuses: list[str] = []
    with private_mosquitto() as broker, tempfile.TemporaryDirectory() as d:
        port = broker.port
        joined = Path(d) / "bench.wav"
        write_wav(joined, audio)
        settings = Settings(mqtt=MqttConfig(port=port, discovery=False),
                            audio=AudioConfig(wake="none"))
        daemon = Daemon(
            settings, input_spec=str(joined), exit_at_end=True,
            source_factory=lambda spec, dev: WavFileSource(spec, realtime=True),
            on_outcome=lambda u, o: (statuses.append(o.status), rows.append(_row(u, o))),
        )
        t0 = time.perf_counter()
        daemon.load()
        load_s = time.perf_counter() - t0
        asyncio.run(daemon.run())
    n = len(rows)
    lines = [
        f"End of speech -> publish on {len(wavs)} shipped WAVs x {args.repeat}"
        f" ({n} utterances, {statuses.count('published')} published),"
        f" real-time playback, {platform.machine()} {_cpus()} cores,"
        f" Whisper {settings.stt.model} int8, models loaded in {load_s:.1f} s.",
        "",
        "| stage | p50 ms | p95 ms |",
        "|---|---|---|",
    ]
    for stage in ("stt", "model", "publish", "total"):
        xs = [r[stage] for r in rows if r[stage] == r[stage]]
        lines.append(f"| {stage} | {percentile(xs, 50):.0f} | {percentile(xs, 95):.0f} |")
    text = "\n".join(lines)
    print(text)
    print(json.dumps({"rows": rows}), file=sys.stderr)
    if args.out:
        args.out.write_text("# Pipeline latency (bench/pipeline.py)\n\n" + text + "\n")
    return 0 if n == len(wavs) * args.repeat else 1


def _row(u: Any, o: Any) -> dict[str, float]:
    from octohome.service.daemon import _total_ms

    lat = dict(o.latencies_ms)
    stt, model = u.stt_ms or 0.0, lat.get("model", 0.0)
    total = _total_ms(lat)
    if total is None:
        total = float("nan")
    publish = lat["mqtt"] if "total" in lat else total - stt - model
    return {"stt": stt, "model": model, "publish": publish, "total": total}


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    sys.exit(main())
