"""Logs: the MQTT password never reaches a log line, tracebacks included.

The password reaches the log pipeline the two ways the daemon has: ``add_secret``
(the MQTT link registers it) and ``configure(secrets=...)`` from the settings.
Each case logs an exception whose message, chained cause, frame source line or
value quotes it, through structlog and through stdlib ``logging`` (paho), and
checks both renderers: JSON (the journal) and console (a terminal).
"""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from octohome.core import secrets
from octohome.service import logs

PASSWORD = "hunter2-Pw!x"
FORMATS = ("json", "console")


@pytest.fixture(autouse=True)
def _restore() -> Iterator[None]:
    saved = set(secrets._secrets)
    yield
    secrets._secrets.clear()
    secrets._secrets.update(saved)
    logs.configure("info", "json", stream=sys.stderr)


def _capture(fmt: str, *, via_settings: bool) -> io.StringIO:
    buf = io.StringIO()  # not a TTY: no colours in the console format
    if via_settings:
        from octohome.core.config import Settings

        settings = Settings(mqtt={"username": "octo", "password": PASSWORD})  # type: ignore[arg-type]
        pw = settings.mqtt.password
        assert pw is not None
        logs.configure("info", fmt, stream=buf, secrets=[pw.get_secret_value()])
    else:
        logs.configure("info", fmt, stream=buf)
        logs.add_secret(PASSWORD)
    return buf


def _connect(url: str) -> None:
    raise ConnectionError(f"broker refused {url}")


def _fail() -> None:
    secret_url = f"mqtt://octo:{PASSWORD}@192.168.1.5:1883"
    try:
        _connect(secret_url)
    except ConnectionError as exc:
        raise RuntimeError(f"cannot publish: {exc}") from exc


def _assert_masked(out: str, fmt: str) -> None:
    assert PASSWORD not in out, out
    assert logs.MASK in out, out
    if fmt == "json":
        for line in out.splitlines():
            json.loads(line)  # masking keeps every line valid JSON


@pytest.mark.parametrize("via_settings", [False, True], ids=["add_secret", "settings"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_structlog_exception_is_masked(fmt: str, via_settings: bool) -> None:
    buf = _capture(fmt, via_settings=via_settings)
    log = structlog.get_logger("t")
    try:
        _fail()
    except RuntimeError:
        log.exception("publish failed", attempt=3)
    out = buf.getvalue()
    _assert_masked(out, fmt)
    assert "publish failed" in out and "RuntimeError" in out and "ConnectionError" in out
    if fmt == "json":
        line = json.loads(out.splitlines()[0])
        assert line["event"] == "publish failed" and line["attempt"] == 3
        stacks = line["exception"]
        values = " ".join(s["exc_value"] for s in stacks)
        assert f"mqtt://octo:{logs.MASK}@192.168.1.5:1883" in values
        # frames are kept (where it failed), their local variables are not
        frames = [f for s in stacks for f in s["frames"]]
        assert any(f["name"] == "_connect" for f in frames)
        assert all("locals" not in f or not f["locals"] for f in frames)
    else:
        assert "Traceback (most recent call last)" in out
        assert f"mqtt://octo:{logs.MASK}@192.168.1.5:1883" in out


@pytest.mark.parametrize("fmt", FORMATS)
def test_exc_info_argument_and_exception_value_are_masked(fmt: str) -> None:
    buf = _capture(fmt, via_settings=False)
    log = structlog.get_logger("t")
    try:
        _fail()
    except RuntimeError as exc:
        log.error("publish failed", exc_info=exc)
        log.warning("retrying", error=exc, errors=[exc], detail={"cause": exc.__cause__})
    _assert_masked(buf.getvalue(), fmt)
    assert buf.getvalue().count(logs.MASK) >= 4


@pytest.mark.parametrize("fmt", FORMATS)
def test_stdlib_logging_exception_is_masked(fmt: str) -> None:
    buf = _capture(fmt, via_settings=True)
    try:
        _fail()
    except RuntimeError:
        logging.getLogger("paho.mqtt.client").exception("loop failed for %s", PASSWORD)
    out = buf.getvalue()
    _assert_masked(out, fmt)
    assert "loop failed for" in out and "RuntimeError" in out


@pytest.mark.parametrize("fmt", FORMATS)
def test_escaped_forms_of_the_password_are_masked(fmt: str) -> None:
    """A password with a quote or backslash is written escaped by json.dumps and
    repr(); the escaped form is masked too."""
    tricky = 'pa"ss\\word'
    buf = io.StringIO()
    logs.configure("info", fmt, stream=buf, secrets=[tricky])
    log = structlog.get_logger("t")
    try:
        raise ValueError(f"bad login {tricky}")
    except ValueError as exc:
        log.exception("failed", items=[exc], obj=_Holder(tricky))
    out = buf.getvalue()
    for form in (tricky, json.dumps(tricky)[1:-1], repr(tricky)[1:-1]):
        assert form not in out, out
    assert logs.MASK in out


class _Holder:
    """An object that shows the secret only in its repr()."""

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"_Holder({self.value!r})"


def test_secret_containing_another_is_masked_whole() -> None:
    buf = io.StringIO()
    logs.configure("info", "json", stream=buf, secrets=["abc", "abcdef-long"])
    structlog.get_logger("t").info("x", note="key abcdef-long here")
    line: dict[str, Any] = json.loads(buf.getvalue())
    assert line["note"] == f"key {logs.MASK} here"


def test_password_keys_masked_and_other_values_kept() -> None:
    buf = io.StringIO()
    logs.configure("info", "json", stream=buf, secrets=[PASSWORD])
    structlog.get_logger("t").info("connecting", password="anything", token=None,
                                   port=1883, ok=True, ratio=0.5, host="h")
    line = json.loads(buf.getvalue())
    assert line["password"] == logs.MASK and line["token"] is None
    assert (line["port"], line["ok"], line["ratio"], line["host"]) == (1883, True, 0.5, "h")
