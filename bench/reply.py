"""The call's PUBACK -> the reply's first audio sample, through the real daemon.

    .venv/bin/python bench/reply.py [--repeat 5] [--model] [--out bench/reply-results.md]

Commands arrive as ``say`` messages (text: the microphone and Whisper come before
the PUBACK and are measured by bench/pipeline.py) at a private Mosquitto; the
daemon runs them, and its speak stage says each reply with the real Piper voice
through sounddevice/PortAudio into ALSA's file plugin (a .asoundrc in a
temporary HOME: no sound card is needed, and the path is the one a card takes;
a card adds its own output latency, printed from PortAudio).

Two cases, one command at a time, the next after the reply:

- **cached**: the catalog's usual replies were prepared (``[reply] prepare``, as at
  every start; on disk they survive restarts), and the commands are usual ones
  ("turn on the kitchen lights", "lock the front door", "turn off the living
  room lights"...);
- **synthesized**: every reply is new ("Living room ceiling light at 37
  percent."): Piper runs between the PUBACK and the first sample.

PUBACK is the link's own time for the command's PUBACK (the outcome's ``total``
from the say's arrival); the first sample is when the first block was handed to
PortAudio. Memory: the process's RSS before and after loading Piper and
synthesizing the first replies (psutil).

The model is the stand-in of tests/stub_parser.py unless ``--model`` (it runs
before the PUBACK, so it does not change what is measured here).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from octohome.bench.stats import percentile  # noqa: E402  (after the path fix)

USUAL = ["turn on the kitchen lights", "lock the front door", "turn off the living room lights",
         "turn off all the lights", "turn off the kitchen lights"]


def _alsa_home(d: Path) -> None:
    """Point ALSA's default output at the file plugin (before PortAudio starts)."""
    out = d / "speaker.raw"
    (d / ".asoundrc").write_text(
        "pcm.nullspk { type null }\n"
        f'pcm.!default {{ type file; slave.pcm "nullspk"; file "{out}"; format "raw" }}\n')
    os.environ["HOME"] = str(d)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=4, help="rounds of the usual commands")
    ap.add_argument("--new", type=int, default=20, help="commands with a new reply each")
    ap.add_argument("--model", action="store_true", help="the real model, not the stand-in")
    ap.add_argument("--out", type=Path, default=None, help="write a markdown table here")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="octohome-bench-reply-"))
    _alsa_home(tmp)
    os.environ["XDG_CACHE_HOME"] = str(tmp / "cache")

    import psutil

    from octohome.act.mosquitto import private_mosquitto
    from octohome.core.catalog import Catalog
    from octohome.core.config import MqttConfig, ReplyConfig, Settings
    from octohome.service import logs
    from octohome.service.daemon import Daemon, ReplyJob
    from octohome.speak.output import DeviceSink
    from octohome.speak.reply import likely_replies
    from octohome.speak.speaker import Speaker, Spoken
    from tests.mqtt_broker import publish_once

    logs.configure("warning", "json")
    proc = psutil.Process()
    rss0 = proc.memory_info().rss
    reply_cfg = ReplyConfig(prepare=False)
    t0 = time.perf_counter()
    speaker = Speaker.from_config(reply_cfg, sink=DeviceSink(None))
    load_s = time.perf_counter() - t0
    rss_loaded = proc.memory_info().rss
    catalog = Catalog.load()
    usual = likely_replies(catalog)
    t0 = time.perf_counter()
    voice: Any = speaker.voice
    voice.prepare(usual, background=False)  # what [reply] prepare does at start
    prepare_s = time.perf_counter() - t0
    rss_prepared = proc.memory_info().rss

    got: list[tuple[ReplyJob, Spoken | None]] = []
    done = threading.Event()

    def on_reply(job: ReplyJob, spoken: Spoken | None) -> None:
        got.append((job, spoken))
        done.set()

    factory = None
    if not args.model:
        from tests.stub_parser import stub_factory

        factory = stub_factory
    rows: dict[str, list[float]] = {"cached": [], "synthesized": []}
    synth_ms: dict[str, list[float]] = {"cached": [], "synthesized": []}
    with private_mosquitto() as broker:
        settings = Settings(site={"id": "bench"},  # type: ignore[arg-type]
                            mqtt=MqttConfig(port=broker.port, discovery=False),
                            reply=reply_cfg)
        daemon = Daemon(settings, audio=False, parser_factory=factory, speaker=speaker,
                        on_reply=on_reply)
        daemon.load()
        loop = asyncio.new_event_loop()
        runner = threading.Thread(target=lambda: loop.run_until_complete(daemon.run()),
                                  daemon=True)
        runner.start()
        assert daemon.link is not None or _wait_link(daemon)
        time.sleep(1.0)

        def one(text: str, case: str) -> None:
            done.clear()
            n = len(got)
            publish_once(broker.port, "octohome/bench/say", text.encode())
            if not done.wait(30) or len(got) <= n:
                raise RuntimeError(f"no reply to {text!r}")
            job, spoken = got[-1]
            lat = dict(job.outcome.latencies_ms)
            if spoken is None or "total" not in lat:
                raise RuntimeError(f"{text!r}: {job.outcome.status}, nothing said")
            puback = job.utterance.t_end + lat["total"] / 1000
            rows[case].append((spoken.played.first_sample - puback) * 1000)
            synth_ms[case].append(spoken.synth_s * 1000)
            time.sleep(0.3)

        for _ in range(args.repeat):
            for text in USUAL:
                one(text, "cached")
        for i in range(args.new):
            one(f"cmd {37 + 100 * (i % 7) + i // 7}", "synthesized")  # a new value each
        rss_end = proc.memory_info().rss
        loop.call_soon_threadsafe(daemon.request_stop)
        runner.join(30)
    mib = 1024 * 1024
    out_latency = None
    try:
        import sounddevice as sd

        out_latency = float(sd.query_devices(kind="output")["default_low_output_latency"])
    except Exception:
        pass
    lines = [
        f"PUBACK -> first reply sample, through the daemon (say -> stand-in model -> private"
        f" Mosquitto -> speak stage -> Piper en_US-joe-medium, 1 thread -> PortAudio ->"
        f" ALSA file plugin), {platform.machine()} {len(os.sched_getaffinity(0))} cores,"
        f" one command at a time.",
        "",
        "| replies | n | p50 ms | p95 ms | synthesis p50 ms |",
        "|---|---|---|---|---|",
    ]
    for case in ("cached", "synthesized"):
        xs = rows[case]
        lines.append(f"| {case} | {len(xs)} | {percentile(xs, 50):.0f} |"
                     f" {percentile(xs, 95):.0f} | {percentile(synth_ms[case], 50):.0f} |")
    lines += [
        "",
        f"Piper: loaded in {load_s:.2f} s, RSS +{(rss_loaded - rss0) / mib:.0f} MiB;"
        f" {len(usual)} usual replies prepared in {prepare_s:.1f} s,"
        f" RSS +{(rss_prepared - rss0) / mib:.0f} MiB; after the run"
        f" +{(rss_end - rss0) / mib:.0f} MiB (the daemon and its MQTT link included).",
    ]
    if out_latency is not None:
        lines.append(f"PortAudio's default low output latency for this device:"
                     f" {out_latency * 1000:.0f} ms (a sound card adds its own).")
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text("# Reply latency (bench/reply.py)\n\n" + text + "\n")
    return 0


def _wait_link(daemon: Any) -> bool:
    end = time.monotonic() + 30
    while daemon.link is None and time.monotonic() < end:
        time.sleep(0.05)
    return daemon.link is not None


if __name__ == "__main__":
    sys.exit(main())
