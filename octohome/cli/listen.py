"""``octohome listen``: wake word -> speech -> text, printed as events as they happen.

The events come from :class:`octohome.hear.listener.Listener`; times are
seconds of audio since the stream started, so file input gives reproducible
output.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from octohome.hear.listener import ListenEvent


def add_cli(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--input", "-i", metavar="SRC", default=None,
        help="'mic' (default: audio.input), a WAV file, or '-' for raw 16 kHz s16le mono on stdin",
    )
    parser.add_argument("--device", help="microphone name or index (audio.device)")
    parser.add_argument(
        "--wake", help="okay_nabu, hey_jarvis, hey_mycroft, alexa, none or ptt (audio.wake)"
    )
    parser.add_argument("--model", help="Whisper model: tiny.en, base or a directory (stt.model)")
    parser.add_argument("--no-stt", action="store_true", help="events only, no transcription")
    parser.add_argument("--realtime", action="store_true", help="pace a WAV file in real time")
    parser.add_argument("--json", action="store_true", help="one JSON object per event")
    parser.add_argument(
        "--list-devices", action="store_true", help="print capture devices and exit"
    )


def _describe(ev: ListenEvent) -> tuple[str, dict[str, object]]:
    from octohome.hear.listener import ListenTimeout, SpeechEnd, SpeechStart, WakeEvent

    if isinstance(ev, WakeEvent):
        return f"wake ({ev.source})", {"source": ev.source}
    if isinstance(ev, SpeechStart):
        return "speech start", {}
    if isinstance(ev, SpeechEnd):
        return f"speech end ({ev.seconds:.2f} s, {ev.reason})", {
            "seconds": round(ev.seconds, 3), "reason": ev.reason,
        }
    if isinstance(ev, ListenTimeout):
        return "timeout (no command)", {}
    tr = ev.transcript
    return f"transcript: {tr.text}  [{ev.latency * 1000:.0f} ms]", {
        "text": tr.text, "latency_ms": round(ev.latency * 1000), "audio_seconds": tr.audio_seconds,
    }


_KIND = {
    "WakeEvent": "wake", "SpeechStart": "speech_start", "SpeechEnd": "speech_end",
    "ListenTimeout": "timeout", "TranscriptEvent": "transcript",
}
"""The ``event`` field of ``--json`` per event class (by name: the classes load lazily)."""


def run_cli(args: argparse.Namespace) -> int:
    from octohome.core.config import ConfigError, load_settings
    from octohome.hear.audio import AudioError
    from octohome.hear.listener import Listener
    from octohome.hear.sources import list_input_devices, open_source
    from octohome.hear.stt import SttError
    from octohome.hear.wake import WakeError

    try:
        if args.list_devices:
            for idx, name, ch in list_input_devices():
                print(f"{idx:3d}  {name}  ({ch} ch)")
            return 0
        settings = load_settings(args.config)
        audio = settings.audio.model_copy(
            update={k: v for k, v in (("wake", args.wake), ("device", args.device)) if v}
        )
        stt = settings.stt.model_copy(update={"model": args.model} if args.model else {})
        settings = settings.model_copy(update={"audio": audio, "stt": stt})
        spec = args.input or audio.input
        source = open_source(spec, audio.device, realtime=args.realtime)
        listener = Listener.from_settings(settings, transcribe=not args.no_stt)
    except (AudioError, ConfigError, SttError, WakeError) as exc:
        print(f"octohome listen: {exc}", file=sys.stderr)
        return 2
    mode = f"wake word {audio.wake}" if listener.mode == "wake" else (
        "voice activity alone" if listener.mode == "none" else "push-to-talk only"
    )
    print(f"listening on {source.description} ({mode})", file=sys.stderr, flush=True)
    try:
        with source:
            for ev in listener.run(source):
                line, data = _describe(ev)
                if args.json:
                    print(json.dumps({"event": _KIND[type(ev).__name__], "t": ev.t, **data}),
                          flush=True)
                else:
                    print(f"{ev.t:8.2f}  {line}", flush=True)
    except AudioError as exc:
        print(f"octohome listen: {exc}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m octohome.cli.listen``: the command without the other subcommands."""
    parser = argparse.ArgumentParser(prog="octohome listen")
    parser.add_argument("--config", metavar="PATH")
    add_cli(parser)
    return run_cli(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
