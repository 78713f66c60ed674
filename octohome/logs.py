"""Logging: structlog, JSON lines for the journal, readable lines on a terminal.

``configure()`` is called once by long-running commands (``octohome run``).
Logs go to stderr; with ``[log] format = "auto"`` they are JSON lines when
stderr is not a terminal (systemd hands both stdout and stderr to journald)
and coloured console lines on a terminal. Standard-library ``logging`` (paho,
faster-whisper) is routed through the same renderer.

Secrets never reach a log line: any key that looks like a password or token is
masked, and so is every occurrence of the configured MQTT password inside any
string value (an exception message that quotes a URL with credentials, say).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO

import structlog

MASK = "********"
SECRET_KEYS = frozenset({"password", "passwd", "secret", "token", "api_key", "mqtt_password"})

_secrets: set[str] = set()


def add_secret(value: str | None) -> None:
    """Mask ``value`` wherever it appears in a log line from now on."""
    if value and len(value) >= 3:
        _secrets.add(value)


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        for s in _secrets:
            if s in value:
                value = value.replace(s, MASK)
        return value
    if isinstance(value, dict):
        return {k: MASK if str(k).lower() in SECRET_KEYS and v is not None else _mask(v)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_mask(v) for v in value)
    return value


def redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: mask secret keys and known secret values."""
    for key in list(event):
        if key.lower() in SECRET_KEYS and event[key] is not None:
            event[key] = MASK
        else:
            event[key] = _mask(event[key])
    return event


def use_json(fmt: str, stream: TextIO) -> bool:
    if fmt == "json":
        return True
    if fmt == "console":
        return False
    try:
        return not stream.isatty()
    except (AttributeError, ValueError):
        return True


def configure(
    level: str = "info",
    fmt: str = "auto",
    *,
    stream: TextIO | None = None,
    secrets: Iterable[str | None] = (),
) -> None:
    """Set up structlog (and stdlib logging) for the whole process."""
    stream = stream if stream is not None else sys.stderr
    for s in secrets:
        add_secret(s)
    as_json = use_json(fmt, stream)
    numeric = logging.getLevelName(level.upper())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
    ]
    renderer: Any
    if as_json:
        renderer = structlog.processors.JSONRenderer(sort_keys=False, default=str)
        tail: list[Any] = [structlog.processors.dict_tracebacks, renderer]
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=stream.isatty())
        tail = [renderer]
    structlog.configure(
        processors=[*shared, structlog.processors.StackInfoRenderer(), *tail],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.WriteLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    # stdlib logging (paho, faster-whisper, ...) through the same pipeline.
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    *([structlog.processors.dict_tracebacks] if as_json else []), renderer],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_octohome", False):
            root.removeHandler(h)
    handler._octohome = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(max(numeric, logging.INFO))  # paho's debug chatter stays out
