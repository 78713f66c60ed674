"""``octohome run``: the assistant as a service (:class:`octohome.service.daemon.Daemon`).

Arguments over the config file, log setup, load (a bad config, catalog, model
or audio input exits 2 with the reason), then the daemon's loop until SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from octohome.core.config import Settings
    from octohome.service.daemon import ParserFactory


def add_cli(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--input", "-i", metavar="SRC",
        help="audio input: 'mic', a WAV file, or '-' for raw 16 kHz s16le PCM on stdin"
             " (default: audio.input). A file runs through the pipeline, then octohome"
             " exits once every command is published or expired",
    )
    parser.add_argument("--keep-running", action="store_true",
                        help="with a file input: keep serving MQTT 'say' after the file ends")
    parser.add_argument("--no-audio", action="store_true",
                        help="no microphone or Whisper: text commands over MQTT 'say' only")
    parser.add_argument("--wake", help="override audio.wake (okay_nabu, ..., none, ptt)")


def settings_for_run(args: argparse.Namespace) -> Settings:
    from octohome.core.config import load_settings

    settings = load_settings(args.config)
    if getattr(args, "wake", None):
        settings = settings.model_copy(
            update={"audio": settings.audio.model_copy(update={"wake": args.wake})})
    return settings


def _secret(settings: Settings) -> str | None:
    pw = settings.mqtt.password
    return pw.get_secret_value() if pw is not None else None


def run_cli(args: argparse.Namespace, parser_factory: ParserFactory | None = None) -> int:
    import asyncio

    import structlog

    from octohome.core.catalog import CatalogError
    from octohome.core.config import ConfigError, default_config_path, log_security_warnings
    from octohome.hear.audio import AudioError
    from octohome.hear.stt import SttError
    from octohome.hear.wake import WakeError
    from octohome.service import logs
    from octohome.service.daemon import Daemon
    from octohome.understand.parser import ModelError

    log = structlog.get_logger("octohome.service.daemon")
    try:
        settings = settings_for_run(args)
    except ConfigError as exc:
        print(f"octohome run: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log.level, settings.log.format, secrets=[_secret(settings)])
    config_path = Path(args.config) if args.config else default_config_path()
    log_security_warnings(settings, config_path)
    spec = args.input or settings.audio.input
    daemon = Daemon(
        settings, config_path=config_path.resolve() if config_path else None,
        input_spec=spec, audio=not args.no_audio,
        exit_at_end=spec != "mic" and not args.keep_running and not args.no_audio,
        parser_factory=parser_factory,
    )
    # Until the loop's handlers are installed, SIGHUP must not kill a loading daemon.
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGHUP, lambda *_: log.warning("SIGHUP ignored while starting"))
    try:
        daemon.load()
    except (ConfigError, CatalogError, ModelError, SttError, WakeError, AudioError,
            FileNotFoundError) as exc:
        log.error("cannot start", error=str(exc))
        print(f"octohome run: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(daemon.run())
