"""``octohome transcribe FILE.wav``: the transcript alone on the first line of stdout.

Scripts read the first line, so nothing else ever goes before it: errors go
to stderr (exit 2, stdout empty), no speech prints an empty first line
(exit 0), and ``--timings`` adds lines after the transcript.
"""

from __future__ import annotations

import argparse
import sys
import time


def add_cli(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE.wav", help="WAV file (any rate/width/channels), or -")
    parser.add_argument("--model", help="tiny.en, base or a model directory (stt.model)")
    parser.add_argument("--no-bias", action="store_true", help="no catalog bias prompt")
    parser.add_argument(
        "--full-window", action="store_true", help="encode Whisper's full 30 s window (slower)"
    )
    parser.add_argument(
        "--encoder-frames", type=int, metavar="N", help="mel frames to encode (stt.encoder_frames)"
    )
    parser.add_argument(
        "--no-vad-trim", action="store_true", help="do not cut leading/trailing silence"
    )
    parser.add_argument("--timings", action="store_true", help="print timings after the text")


def run_cli(args: argparse.Namespace) -> int:
    import numpy as np

    from octohome.core.catalog import Catalog, CatalogError
    from octohome.core.config import ConfigError, load_settings
    from octohome.hear.audio import AudioError
    from octohome.hear.stt import SttError, Transcriber
    from octohome.hear.wav import read_wav

    t_start = time.perf_counter()
    try:
        settings = load_settings(args.config)
        update: dict[str, object] = {"warm_up": False}
        if args.model:
            update["model"] = args.model
        if args.no_bias:
            update["catalog_bias"] = False
        if args.full_window:
            update["encoder_frames"] = 3000
        elif args.encoder_frames:
            update["encoder_frames"] = args.encoder_frames
        if args.no_vad_trim:
            update["vad_trim"] = False
        cfg = settings.stt.model_copy(update=update)
        if args.file == "-":
            raw = sys.stdin.buffer.read()
            audio = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2").astype(np.int16)
        else:
            audio = read_wav(args.file)
        t_read = time.perf_counter()
        bounds: tuple[int, int] | None = (0, len(audio))
        if cfg.vad_trim and len(audio):
            from octohome.hear.vad import speech_bounds

            bounds = speech_bounds(audio, settings.audio.vad_threshold)
        t_vad = time.perf_counter()
        if bounds is None or bounds[1] <= bounds[0]:
            print("")
            print("octohome transcribe: no speech found", file=sys.stderr)
            return 0
        catalog = Catalog.load(settings.catalog) if cfg.catalog_bias else None
        transcriber = Transcriber(cfg, catalog)
        result = transcriber.transcribe(audio[bounds[0] : bounds[1]])
    except (AudioError, ConfigError, SttError, CatalogError) as exc:
        print(f"octohome transcribe: {exc}", file=sys.stderr)
        return 2
    print(result.text, flush=True)
    if not result.text:
        print("octohome transcribe: no speech found", file=sys.stderr)
    if args.timings:
        print(f"audio: {len(audio) / 16000:.2f} s, speech {result.audio_seconds:.2f} s")
        print(f"read: {(t_read - t_start) * 1000:.0f} ms, vad: {(t_vad - t_read) * 1000:.0f} ms")
        print(f"model load: {transcriber.load_seconds * 1000:.0f} ms ({cfg.model})")
        print(
            f"transcribe: {result.seconds * 1000:.0f} ms"
            f" (encoder frames {result.encoder_frames})"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m octohome.cli.transcribe``: the command without the other subcommands."""
    parser = argparse.ArgumentParser(prog="octohome transcribe")
    parser.add_argument("--config", metavar="PATH")
    add_cli(parser)
    return run_cli(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
