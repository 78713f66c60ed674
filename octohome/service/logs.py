"""Logging: structlog, JSON lines for the journal, readable lines on a terminal.

``configure()`` is called once by long-running commands (``octohome run``).
Logs go to stderr; with ``[log] format = "auto"`` they are JSON lines when
stderr is not a terminal (systemd hands both stdout and stderr to journald)
and coloured console lines on a terminal. Standard-library ``logging`` (paho,
faster-whisper) is routed through the same renderer.

Secrets never reach a log line: any key that looks like a password or token is
masked, and so is every occurrence of the configured MQTT password inside any
string value (an exception message that quotes a URL with credentials, say).

Order matters: an exception attached to a log call (``log.exception``,
``exc_info=``) is turned into plain data (a dict per frame for JSON, the
traceback text for the console) *before* ``redact`` runs, so the exception's
message, its chained causes and the traceback text are masked like any other
value. Redacting first and rendering the traceback afterwards, as structlog's
usual chain does, would print the raw exception. A last check on the rendered
line masks whatever a renderer still produced from an object (``str()`` /
``repr()`` of a value).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO

import structlog
from structlog.tracebacks import ExceptionDictTransformer

from octohome.core.secrets import add_secret, known_secrets

MASK = "********"
SECRET_KEYS = frozenset({"password", "passwd", "secret", "token", "api_key", "mqtt_password"})
# structlog/stdlib bookkeeping that must reach later processors untouched (and is
# removed before rendering).
_META_KEYS = frozenset({"_record", "_from_structlog"})



def mask_text(text: str) -> str:
    """``text`` with every known secret masked, also in its JSON- and repr-escaped
    forms (a password with a quote or backslash is written escaped by the renderers)."""
    for s in known_secrets():
        for form in {s, json.dumps(s)[1:-1], repr(s)[1:-1]}:
            if form in text:
                text = text.replace(form, MASK)
    return text


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: MASK if str(k).lower() in SECRET_KEYS and v is not None else _mask(v)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_mask(v) for v in value)
    if value is None or isinstance(value, bool | int | float) or not known_secrets():
        return value
    # Any other object is rendered with str() (JSON) or repr() (console): an
    # exception passed as a value (``error=exc``) carries its message that way.
    try:
        shown = (str(value), repr(value))
    except Exception:
        return value
    for text in shown:
        masked = mask_text(text)
        if masked != text:
            return masked
    return value


def redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: mask secret keys and known secret values.

    Runs after the exception has been rendered to data (see the module docstring);
    ``exc_info`` itself is left alone so that a chain which renders it later still
    gets the real exception (the final ``mask_text`` guard then covers its text)."""
    for key in list(event):
        if key in _META_KEYS or key == "exc_info":
            continue
        if key.lower() in SECRET_KEYS and event[key] is not None:
            event[key] = MASK
        else:
            event[key] = _mask(event[key])
    return event


class _MaskedRenderer:
    """The final renderer, with known secrets masked in the line it produced.

    A safety net after ``redact``: it catches text that only comes into being
    while rendering (an object's ``str()``/``repr()``, a renderer's own framing)."""

    def __init__(self, renderer: Any) -> None:
        self.renderer = renderer

    def __call__(self, logger: Any, name: str, event: MutableMapping[str, Any]) -> Any:
        out = self.renderer(logger, name, event)
        if not known_secrets():
            return out
        if isinstance(out, bytes):
            return mask_text(out.decode("utf-8", "replace")).encode()
        return mask_text(out) if isinstance(out, str) else out


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
    ]
    exceptions: Any
    renderer: Any
    if as_json:
        # Frames without their local variables: locals are repr()'d and cut at 80
        # characters, and a secret cut in two by that limit would escape masking
        # (they would also put transcripts and catalog data in the journal).
        exceptions = structlog.processors.ExceptionRenderer(
            ExceptionDictTransformer(show_locals=False))
        renderer = structlog.processors.JSONRenderer(sort_keys=False, default=str)
    else:
        # Plain traceback text, rendered here so that ``redact`` sees it; the
        # console renderer then prints the (masked) text as it is. Pretty
        # tracebacks (rich, better-exceptions) would be rendered after masking.
        exceptions = structlog.processors.format_exc_info
        renderer = structlog.dev.ConsoleRenderer(
            colors=stream.isatty(), exception_formatter=structlog.dev.plain_traceback)
    final = _MaskedRenderer(renderer)
    structlog.configure(
        processors=[*shared, structlog.processors.StackInfoRenderer(), exceptions, redact,
                    final],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.WriteLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    # stdlib logging (paho, faster-whisper, ...) through the same pipeline; a
    # record's exc_info is rendered and masked in the pre-chain just the same.
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, exceptions, redact],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, final],
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
