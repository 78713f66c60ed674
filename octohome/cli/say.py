"""``octohome say TEXT``: text -> model -> MQTT, once, for scripts.

It runs the same stages as a spoken command after speech-to-text
(:func:`octohome.service.handle.handle_text`, which the daemon uses for the
``octohome/<site>/say`` input too), so a script sees exactly what a voice would
have done: the transcript and intent events, the retained state, and the device
command.

Exit status: 0 published, 1 not a command, 3 expired (broker unreachable for
the whole time-to-live), 4 rejected (no valid mapping), 2 usage/config error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from octohome.act.link import Outcome
    from octohome.core.catalog import Catalog
    from octohome.core.config import Settings
    from octohome.service.handle import TextParser

EXIT_CODES = {"published": 0, "not_a_command": 1, "expired": 3, "rejected": 4}
"""Exit status per outcome, so that shell scripts can branch on it."""


def say_once(
    text: str,
    settings: Settings,
    parser: TextParser,
    catalog: Catalog,
    *,
    ttl: float | None = None,
) -> Outcome:
    """Connect, run one text through the pipeline, wait for the outcome, disconnect.

    Uses its own client id (``<client id>-say-<pid>``): sharing the daemon's
    would make the broker disconnect the daemon. It does not announce itself
    (no last will, no availability), so it cannot mark the site offline.
    """
    from octohome.act.link import MqttLink
    from octohome.service.handle import handle_text

    base_id = settings.mqtt.client_id or f"octohome-{settings.site.id}"
    link = MqttLink(settings.mqtt, settings.site.id, catalog,
                    client_id=f"{base_id}-say-{os.getpid()}", announce=False)
    wait = (settings.mqtt.command_ttl if ttl is None else ttl) + 5.0
    link.start()
    try:
        return handle_text(link, parser, text, source="say", ttl=ttl).result(wait)
    finally:
        link.stop()


def add_cli(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("text", nargs="+", help="the command, e.g. 'turn on the kitchen lights'")
    parser.add_argument("--ttl", type=float, default=None,
                        help="seconds the command may wait for the broker"
                             " (default: [mqtt] command_ttl)")
    parser.add_argument("--json", action="store_true",
                        help="print the intent event (JSON) instead of a sentence")


def _load_parser(settings: Settings, catalog: Catalog) -> TextParser:
    from octohome.understand.parser import load_parser

    return load_parser(settings, catalog)


def _configure_logging(settings: Settings) -> None:
    """Logs to stderr, so that stdout carries only the result (``--json`` for scripts)."""
    secret = settings.mqtt.password.get_secret_value() if settings.mqtt.password else None
    try:
        from octohome.service.logs import configure
    except ImportError:
        import structlog

        structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
        return
    configure(settings.log.level, settings.log.format, secrets=[secret])


def run_cli(args: argparse.Namespace) -> int:
    from octohome.core.catalog import Catalog, CatalogError
    from octohome.core.config import ConfigError, load_settings

    try:
        settings = load_settings(args.config)
        catalog = Catalog.load(settings.catalog)
    except (ConfigError, CatalogError) as exc:
        print(f"octohome say: {exc}", file=sys.stderr)
        return 2
    _configure_logging(settings)
    text = " ".join(args.text).strip()
    if not text:
        print("octohome say: empty text", file=sys.stderr)
        return 2
    parser = _load_parser(settings, catalog)
    outcome = say_once(text, settings, parser, catalog, ttl=args.ttl)
    if args.json:
        print(json.dumps(outcome.event(), ensure_ascii=False))
    else:
        call = outcome.function or "not a command"
        where = ", ".join(m.topic for m in outcome.messages)
        line = f"{outcome.status}: {call}"
        if outcome.arguments:
            line += " " + json.dumps(dict(outcome.arguments))
        if where and outcome.status == "published":
            line += f" -> {where}"
        if outcome.reason:
            line += f" ({outcome.reason})"
        print(line)
    return EXIT_CODES[outcome.status]
