"""``octohome say TEXT``: text -> model -> MQTT, once, for scripts.

It runs the same stages as a spoken command after speech-to-text
(:func:`octohome.service.handle.handle_text`, which the daemon uses for the
``octohome/<site>/say`` input too), so a script sees exactly what a voice would
have done: the transcript and intent events, the retained state, and the device
command.

It prints one line per device call (a group is one call per device), or
``--json`` the intent event: ``{"text", "calls": [...], "status", "reason"?, ...}``.

Exit status (the utterance's status: every call published, else the first of
expired, rejected, refused that a call met): 0 published, 1 not a command,
3 expired (broker unreachable for the whole time-to-live), 4 rejected (no valid
mapping), 5 refused (understood, not done: a value out of range, "later", a
relative change to a device whose state is not known yet; the reason is printed),
2 usage/config error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from octohome.act.link import CallOutcome, Outcome
    from octohome.core.catalog import Catalog
    from octohome.core.config import Settings
    from octohome.service.handle import TextParser

EXIT_CODES = {"published": 0, "not_a_command": 1, "expired": 3, "rejected": 4, "refused": 5}
"""Exit status per outcome, so that shell scripts can branch on it."""


def say_once(
    text: str,
    settings: Settings,
    parser: TextParser,
    catalog: Catalog,
    *,
    room: str | None = None,
    ttl: float | None = None,
) -> Outcome:
    """Connect, run one text through the pipeline, wait for the outcome, disconnect.

    ``room``: the room it is said in (default ``[site] room``).

    Uses its own client id (``<client id>-say-<pid>``): sharing the daemon's
    would make the broker disconnect the daemon. It does not announce itself
    (no last will, no availability), so it cannot mark the site offline.
    """
    from octohome.act.link import MqttLink
    from octohome.service.handle import handle_text

    base_id = settings.mqtt.client_id or f"octohome-{settings.site.id}"
    link = MqttLink(settings.mqtt, settings.site.id, catalog,
                    client_id=f"{base_id}-say-{os.getpid()}", announce=False,
                    homeassistant=settings.homeassistant)
    wait = (settings.mqtt.command_ttl if ttl is None else ttl) + 5.0
    link.start()
    try:
        room = room if room is not None else settings.site.room
        return handle_text(link, parser, text, room=room, source="say",
                           ttl=ttl).result(wait)
    finally:
        link.stop()


def add_cli(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("text", nargs="+", help="the command, e.g. 'turn on the kitchen lights'")
    parser.add_argument("--ttl", type=float, default=None,
                        help="seconds the command may wait for the broker"
                             " (default: [mqtt] command_ttl)")
    parser.add_argument("--room", default=None,
                        help="the room it is said in: 'turn on the light' means that"
                             " room's lights (default: [site] room)")
    parser.add_argument("--json", action="store_true",
                        help="print the intent event (JSON) instead of lines")


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
    room = getattr(args, "room", None)
    if room is not None:
        found = catalog.find_room(room)
        if found is None:
            names = ", ".join(r.name for r in catalog.rooms)
            print(f"octohome say: --room {room!r} is not a room of the home ({names})",
                  file=sys.stderr)
            return 2
        room = found.id
    parser = _load_parser(settings, catalog)
    outcome = say_once(text, settings, parser, catalog, room=room, ttl=args.ttl)
    if args.json:
        print(json.dumps(outcome.event(), ensure_ascii=False))
    else:
        for line in outcome_lines(outcome):
            print(line)
    return EXIT_CODES[outcome.status]


def outcome_lines(outcome: Outcome) -> list[str]:
    """One line per call (``published: light.turn_on {"device": ...} -> topic``), or one
    line for an utterance without calls."""
    if not outcome.calls:
        what = "not a command" if outcome.status == "not_a_command" else "nothing done"
        return [f"{outcome.status}: {what}"
                + (f" ({outcome.reason})" if outcome.reason else "")]
    lines = [call_line(c) for c in outcome.calls]
    said = {c.reason for c in outcome.calls}
    if outcome.reason and outcome.reason not in said and not any(
            c.reason and c.reason in outcome.reason for c in outcome.calls):
        lines.append(f"({outcome.reason})")
    return lines


def call_line(c: CallOutcome) -> str:
    line = f"{c.status}: {c.function or 'not a command'}"
    if c.arguments:
        line += " " + json.dumps(dict(c.arguments))
    if c.sent_as is not None and c.sent_as.function is not None:
        extra = {k: v for k, v in c.sent_as.arguments.items() if k != "device"}
        line += f" as {c.sent_as.function} {json.dumps(extra)}"
    where = ", ".join(m.topic for m in c.messages)
    if where and c.status == "published":
        line += f" -> {where}"
    if c.reason:
        line += f" ({c.reason})"
    return line
