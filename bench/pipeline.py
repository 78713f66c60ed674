"""Last word -> PUBACK, per stage, through the real daemon, with the WAVs played in real time.

    .venv/bin/python bench/pipeline.py [--repeat 3] [--espeak 8] [--modes plain,early]
                                       [--out bench/pipeline-results.md]

The shipped demo WAVs (and tests/data/kitchen_lights_on.wav), plus ``--espeak N``
commands spoken by espeak-ng in the spoken benchmark's tuning voices, are joined
with 1.5 s pauses and played to ``octohome run``'s pipeline the way a microphone
delivers them: frame i is handed over when its 32 ms have been "recorded" (an
absolute schedule, so a busy consumer catches up from a queue, as with a real
microphone, instead of slowing the playback down). Wake word off, replies off,
a private Mosquitto on a free loopback port.

Per utterance:

- last word -> PUBACK: from the wall time at which the last loud sample of the
  utterance was played (playback start + its offset) to the daemon reporting the
  broker's PUBACK (its ``on_outcome`` callback); what a person waits for, the
  end-of-speech silence included;
- stt: end of speech detected -> transcript (0 when the transcript came with the
  end of speech: transcribed in the pause, :mod:`octohome.hear.endpoint`);
- model: transcript -> validated calls.

Modes (each a fresh daemon, one after the other in the same run):

- ``plain``: the listener without early end: the utterance ends after
  ``audio.end_silence`` (0.7 s) and only then is Whisper run;
- ``early``: the daemon's own listener, which transcribes in the pauses and ends a
  whole, sure command after 0.3 s of quiet;
- ``+base`` after a mode (``early+base``): ``[stt] second_model = "base"``, Whisper
  base asked about what tiny.en's words left unsure (bench/cascade-results.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from octohome.bench.stats import percentile  # noqa: E402  (after the path fix)
from octohome.hear.audio import FRAME_SECONDS, SAMPLE_RATE  # noqa: E402
from octohome.hear.sources import AudioSource, frames_of  # noqa: E402

ESPEAK_COMMANDS = (
    "turn off the bedroom light",
    "set the thermostat to twenty one degrees",
    "open the living room blinds",
    "switch on the coffee machine",
    "make the kitchen lights blue",
    "turn the desk fan on",
    "pause the television",
    "set the porch light to fifty percent",
    "close the bedroom curtains",
    "activate movie night",
    "turn on the hall light",
    "switch off the christmas tree",
)
"""Commands for ``--espeak``: none of them a door (a door call is refused by voice by
default and would time the refusal instead of a PUBACK)."""


class ScheduledSource(AudioSource):
    """An array played like a microphone: frame i is available once its 32 ms are over,
    on an absolute schedule from the first frame (``t0``)."""

    def __init__(self, audio: np.ndarray) -> None:
        self.audio = audio
        self.description = "scheduled playback"
        self.t0: float | None = None
        self.started = threading.Event()
        self._stop = threading.Event()

    def frames(self) -> Iterator[np.ndarray]:
        self.t0 = time.monotonic()
        self.started.set()
        for i, f in enumerate(frames_of(self.audio)):
            wait = self.t0 + (i + 1) * FRAME_SECONDS - time.monotonic()
            if wait > 0 and self._stop.wait(wait):
                return
            yield f

    def close(self) -> None:
        self._stop.set()


def last_loud_sample(audio: np.ndarray) -> int:
    """Index after the last sample of the speech (above 2% of the peak, at least 300):
    where the last word ends."""
    level = max(300, int(0.02 * int(np.max(np.abs(audio.astype(np.int32))))))
    loud = np.nonzero(np.abs(audio.astype(np.int32)) > level)[0]
    return int(loud[-1]) + 1 if len(loud) else 0


def build_audio(repeat: int, espeak: int) -> tuple[np.ndarray, list[int], list[str]]:
    """The joined audio, the sample index where each utterance's last word ends, and
    the names of the utterances."""
    from octohome.cli.demo import demo_items
    from octohome.hear.wav import read_wav

    clips: list[tuple[str, np.ndarray]] = [
        (it.file.name, read_wav(it.file)) for it in demo_items()
    ]
    clips.append(("kitchen_lights_on.wav", read_wav(ROOT / "tests/data/kitchen_lights_on.wav")))
    if espeak:
        from octohome.bench.spoken import TUNING_VOICES
        from octohome.bench.stt import render

        for i, text in enumerate(ESPEAK_COMMANDS[:espeak]):
            v = TUNING_VOICES[i % len(TUNING_VOICES)]
            clips.append((f"espeak: {text}", render(text, v.name, v.speed, v.pitch)))
    pause = np.zeros(int(1.5 * SAMPLE_RATE), dtype=np.int16)
    parts: list[np.ndarray] = []
    ends: list[int] = []
    names: list[str] = []
    at = 0
    for _ in range(repeat):
        for name, clip in clips:
            ends.append(at + last_loud_sample(clip))
            names.append(name)
            parts += [clip, pause]
            at += len(clip) + len(pause)
    return np.concatenate(parts), ends, names


def run_mode(mode: str, audio: np.ndarray, ends: list[int]) -> dict[str, Any]:
    """One daemon over the whole audio; a row per utterance heard."""
    from octohome.act.mosquitto import private_mosquitto
    from octohome.core.config import AudioConfig, MqttConfig, ReplyConfig, Settings
    from octohome.hear.listener import Listener
    from octohome.service.daemon import Daemon

    outcomes: list[tuple[float, Any, Any]] = []
    source = ScheduledSource(audio)
    with private_mosquitto() as broker:
        settings = Settings(mqtt=MqttConfig(port=broker.port, discovery=False),
                            audio=AudioConfig(wake="none"), reply=ReplyConfig(mode="none"))
        if mode.endswith("+base"):  # Whisper base asked when tiny.en's words left doubt
            settings.stt.second_model = "base"
            mode = mode.removesuffix("+base")
        daemon = Daemon(
            settings, input_spec="bench.wav", exit_at_end=True,
            source_factory=lambda spec, dev: source,
            on_outcome=lambda u, o: outcomes.append((time.monotonic(), u, o)),
        )
        t0 = time.perf_counter()
        daemon.load()
        if mode == "plain":
            daemon.listener = Listener(settings.audio, transcriber=None)
        elif daemon.listener is None or getattr(daemon.listener, "early", None) is None:
            raise SystemExit("this daemon's listener does not end early: nothing to compare")
        load_s = time.perf_counter() - t0
        asyncio.run(daemon.run())
    assert source.t0 is not None
    said = [source.t0 + e / SAMPLE_RATE for e in ends]
    rows: list[dict[str, Any]] = []
    taken: set[int] = set()
    for t_done, u, o in outcomes:
        # the utterance whose last word came last before the outcome
        k = max((i for i, t in enumerate(said) if t < t_done), default=None)
        if k is None or k in taken:
            continue
        taken.add(k)
        lat = dict(o.latencies_ms)
        rows.append({
            "utterance": k, "status": o.status, "text": u.text,
            "last_word_to_puback": (t_done - said[k]) * 1000,
            "stt": u.stt_ms or 0.0, "model": lat.get("model", float("nan")),
        })
    early = getattr(daemon.listener, "early", None)
    return {"mode": mode + ("+base" if settings.stt.second_model else ""), "rows": rows,
            "load_s": load_s, "heard": len(outcomes),
            "early_ends": getattr(early, "early_ends", 0), "probes": getattr(early, "probes", 0)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--espeak", type=int, default=8, help="espeak-ng commands added (0-12)")
    ap.add_argument("--modes", default="plain,early", help="comma-separated: plain, early;"
                    " +base (early+base): [stt] second_model = base")
    ap.add_argument("--out", type=Path, default=None, help="write a markdown table here")
    args = ap.parse_args()

    from octohome.service import logs

    logs.configure("warning", "json")
    audio, ends, names = build_audio(args.repeat, args.espeak)
    load_before = os.getloadavg()
    results = [run_mode(m.strip(), audio, ends) for m in args.modes.split(",") if m.strip()]
    load_after = os.getloadavg()
    n = len(ends)
    lines = [
        f"{n} utterances ({len(set(names))} recordings x {args.repeat}: the shipped WAVs"
        f"{f' and {args.espeak} espeak-ng commands' if args.espeak else ''}), played in real"
        f" time to the daemon, {platform.machine()} {len(os.sched_getaffinity(0))} cores,"
        f" load average {load_before[0]:.1f} before, {load_after[0]:.1f} after.",
        "",
        "| mode | heard | early ends | last word -> PUBACK p50 / p95 ms | stt p50 / p95 ms |"
        " model p50 / p95 ms |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        rows = [x for x in r["rows"] if x["status"] == "published"]

        def pp(key: str, rows: list[dict[str, Any]] = rows) -> str:
            xs = [x[key] for x in rows if x[key] == x[key]]
            return f"{percentile(xs, 50):.0f} / {percentile(xs, 95):.0f}" if xs else "-"

        lines.append(
            f"| {r['mode']} | {len(rows)} published of {n} | {r['early_ends']} |"
            f" **{pp('last_word_to_puback')}** | {pp('stt')} | {pp('model')} |"
        )
    text = "\n".join(lines)
    print(text)
    print(json.dumps({"results": results, "names": names}), file=sys.stderr)
    if args.out:
        cmd = " ".join(["    .venv/bin/python bench/pipeline.py", *sys.argv[1:]])
        args.out.write_text("# Pipeline latency (bench/pipeline.py)\n\n" + cmd + "\n\n"
                            + text + "\n")
    return 0 if all(len(r["rows"]) == n for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
