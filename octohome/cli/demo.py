"""``octohome demo``: shipped WAV commands through the whole pipeline, end to end.

The same daemon as ``octohome run`` (VAD -> Whisper -> model -> MQTT) on the
files in ``demo/``; a separate MQTT client subscribed to the broker prints
every device command that arrives there. With no broker answering at the
configured address, a private Mosquitto is started on a free loopback port
(own config in a temporary directory, stopped at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from octohome.act.mosquitto import broker_answers, private_mosquitto

DEMO_DIR = Path(__file__).resolve().parents[2] / "demo"


class Recorder:
    """An MQTT client that records every message under the given topic filters."""

    def __init__(self, host: str, port: int, topics: list[str]) -> None:
        import paho.mqtt.client
        from paho.mqtt.enums import CallbackAPIVersion

        mqtt: Any = paho.mqtt.client  # typed by the 1.x stubs; see octohome/act/link.py

        self.messages: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        ready = threading.Event()
        client: Any = mqtt.Client(CallbackAPIVersion.VERSION2,
                                  client_id=f"octohome-demo-{uuid.uuid4().hex[:8]}")

        def on_connect(c: Any, u: Any, f: Any, rc: Any, p: Any) -> None:
            c.subscribe([(t, 1) for t in topics])

        def on_subscribe(*a: Any) -> None:
            ready.set()

        def on_message(c: Any, u: Any, msg: Any) -> None:
            with self.lock:
                self.messages.append((msg.topic, bytes(msg.payload)))

        client.on_connect = on_connect
        client.on_subscribe = on_subscribe
        client.on_message = on_message
        client.connect(host, port, 30)
        client.loop_start()
        self.client = client
        if not ready.wait(10):
            raise RuntimeError(f"cannot subscribe at {host}:{port}")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@dataclass
class DemoItem:
    file: Path
    text: str
    expected: dict[str, Any]


def demo_items(directory: Path = DEMO_DIR) -> list[DemoItem]:
    data = json.loads((directory / "commands.json").read_text())
    return [DemoItem(directory / d["file"], d["text"], d["expected"]) for d in data]


def joined_wav(items: list[DemoItem], out: Path, gap: float = 1.0) -> Path:
    """All demo commands in one file, ``gap`` seconds of silence apart."""
    import numpy as np

    from octohome.hear.audio import SAMPLE_RATE
    from octohome.hear.wav import read_wav, write_wav

    pause = np.zeros(int(gap * SAMPLE_RATE), dtype=np.int16)
    parts: list[Any] = []
    for it in items:
        parts += [read_wav(it.file), pause]
    write_wav(out, np.concatenate(parts))
    return out


def add_cli(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="*", type=Path,
                        help="WAV files to run (default: every command in demo/)")
    parser.add_argument("--mic", action="store_true",
                        help="afterwards keep listening on the microphone (Ctrl-C stops)")
    parser.add_argument("--local-broker", action="store_true",
                        help="always use a private Mosquitto, even if one is configured")


def run_cli(args: argparse.Namespace) -> int:
    from octohome.act.link import Outcome
    from octohome.core.config import ConfigError, load_settings
    from octohome.service import logs
    from octohome.service.daemon import Daemon, Utterance

    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"octohome demo: {exc}", file=sys.stderr)
        return 2
    logs.configure("warning", settings.log.format)
    items = demo_items() if not args.files else [DemoItem(f, "", {}) for f in args.files]
    host, port = settings.mqtt.host, settings.mqtt.port
    with contextlib.ExitStack() as stack:
        if args.local_broker or not broker_answers(host, port):
            port = stack.enter_context(private_mosquitto()).port
            host = "127.0.0.1"
            why = ("--local-broker" if args.local_broker else
                   f"no broker answers at {settings.mqtt.host}:{settings.mqtt.port}")
            print(f"{why}: started a private Mosquitto on {host}:{port}", flush=True)
        else:
            print(f"using the broker at {host}:{port}", flush=True)
        mqtt = settings.mqtt.model_copy(update={"host": host, "port": port})
        audio = settings.audio.model_copy(update={"wake": "none"})
        settings = settings.model_copy(update={"mqtt": mqtt, "audio": audio})
        recorder = Recorder(host, port, ["#"])
        stack.callback(recorder.close)
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="octohome-demo-")))
        wav = joined_wav(items, tmp / "demo.wav")
        outcomes: list[tuple[Utterance, Outcome]] = []
        print(f"loading models and hearing {len(items)} spoken commands from"
              f" {items[0].file.parent}/ ...", flush=True)
        daemon = Daemon(settings, input_spec=str(wav), exit_at_end=True,
                        on_outcome=lambda u, o: outcomes.append((u, o)))
        try:
            daemon.load()
        except Exception as exc:
            print(f"octohome demo: {exc}", file=sys.stderr)
            return 2
        rc = asyncio.run(daemon.run())
        time.sleep(0.3)
        ok = _print_results(items, outcomes, recorder)
        if args.mic:
            print("\nlistening on the microphone; say the wake word"
                  f" '{load_settings(args.config).audio.wake}' and a command (Ctrl-C stops)")
            mic = Daemon(settings.model_copy(
                update={"audio": load_settings(args.config).audio}), input_spec="mic",
                on_outcome=lambda u, o: print(_line(u.text, o), flush=True))
            mic.load()
            asyncio.run(mic.run())
    return rc if rc else (0 if ok else 1)


def _line(text: str, o: Any) -> str:
    """What one utterance did: its calls (one per device), their messages, its status."""
    from octohome.service.daemon import _total_ms

    lat = _total_ms(o.latencies_ms)
    took = f" [{lat:.0f} ms after end of speech]" if lat is not None else ""
    calls = ", ".join(f"{c.function} {dict(c.arguments)}" for c in o.calls) or "no call"
    msgs = "; ".join(f"{m.topic} {m.payload.decode(errors='replace')}" for m in o.messages)
    why = f" ({o.reason})" if o.reason else ""
    return f"  heard {text!r} -> {calls} -> {o.status}{': ' + msgs if msgs else ''}{why}{took}"


def _print_results(items: list[DemoItem], outcomes: list[tuple[Any, Any]],
                   recorder: Recorder) -> bool:
    print("\nwhat the pipeline did:")
    for u, o in outcomes:
        print(_line(u.text, o))
    with recorder.lock:
        got = [(t, p) for t, p in recorder.messages
               if not t.startswith(("octohome/", "homeassistant/"))]
    print("\ndevice commands that arrived at the broker (a subscriber's view):")
    for topic, payload in got:
        print(f"  {topic} {payload.decode(errors='replace')}")
    expected = [it.expected for it in items if it.expected]
    calls = [{"function": c.function, "arguments": dict(c.arguments)} for _, o in outcomes
             for c in o.calls if c.status == "published"]
    ok = all(e in calls for e in expected) and len(got) >= len(expected)
    print(f"\n{sum(e in calls for e in expected)}/{len(expected)} demo commands published"
          " as expected" if expected else "")
    return ok
