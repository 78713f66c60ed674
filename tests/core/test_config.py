"""Config and the MQTT password: warnings when it is exposed, loading it as a credential.

- a password sent over plain TCP to a broker on another machine is warned about
  (a log line at daemon start, and ``octohome config check`` on stderr);
- so is a config file holding it that every user can read;
- the systemd unit hands the config over as a credential
  (``OCTOHOME_CONFIG=$CREDENTIALS_DIRECTORY/config.toml``, a 0400 copy): it loads.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import structlog

from octohome.core.config import (
    Settings,
    default_config_path,
    load_settings,
    log_security_warnings,
    security_warnings,
)
from octohome.service import logs
from tests.paths import ROOT

PASSWORD = "s3cret-Pa55"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("OCTOHOME_") or key == "CREDENTIALS_DIRECTORY":
            monkeypatch.delenv(key)


def _settings(**mqtt: object) -> Settings:
    return Settings(mqtt=mqtt)  # type: ignore[arg-type]


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OCTOHOME_")}
    return subprocess.run([sys.executable, "-m", "octohome.cli", *args], capture_output=True,
                          text=True, timeout=120, cwd=ROOT, env={**clean, **(env or {})},
                          check=False)


def _config(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    cfg = tmp_path / "config.toml"
    cfg.write_text(text)
    cfg.chmod(mode)
    return cfg


# -- clear-text password -------------------------------------------------------------


@pytest.mark.parametrize("host", ["192.168.1.5", "broker.lan", "10.0.0.2", "fd00::1",
                                  "127.example.com"])
def test_password_without_tls_to_another_host_is_warned_about(host: str) -> None:
    warnings = security_warnings(_settings(host=host, username="octo", password=PASSWORD))
    assert len(warnings) == 1
    assert "clear text" in warnings[0] and host in warnings[0] and "mqtt.tls" in warnings[0]
    assert PASSWORD not in warnings[0]


@pytest.mark.parametrize("mqtt", [
    {"host": "127.0.0.1", "password": PASSWORD},
    {"host": "127.0.0.53", "password": PASSWORD},
    {"host": "localhost", "password": PASSWORD},
    {"host": "LOCALHOST.", "password": PASSWORD},
    {"host": "mosquitto.localhost", "password": PASSWORD},
    {"host": "::1", "password": PASSWORD},
    {"host": "[::1]", "password": PASSWORD},
    {"host": "192.168.1.5", "password": PASSWORD, "tls": True, "port": 8883},
    {"host": "192.168.1.5", "username": "octo"},  # no password: nothing to expose
    {},
], ids=lambda m: ",".join(f"{k}={v}" for k, v in m.items() if k != "password") or "defaults")
def test_no_warning_for_loopback_tls_or_no_password(mqtt: dict[str, object]) -> None:
    assert security_warnings(_settings(**mqtt)) == []


def test_warning_is_a_log_line_at_start() -> None:
    buf = io.StringIO()
    logs.configure("info", "json", stream=buf, secrets=[PASSWORD])
    try:
        settings = _settings(host="192.168.1.5", password=PASSWORD)
        warnings = log_security_warnings(settings)
        structlog.get_logger("t").info("after")
    finally:
        logs.configure("info", "json", stream=sys.stderr)
    lines = [json.loads(x) for x in buf.getvalue().splitlines()]
    assert [x["event"] for x in lines] == ["insecure config", "after"]
    assert lines[0]["level"] == "warning" and lines[0]["problem"] == warnings[0]
    assert PASSWORD not in buf.getvalue()


def test_no_log_line_when_nothing_is_exposed() -> None:
    buf = io.StringIO()
    logs.configure("info", "json", stream=buf)
    try:
        assert log_security_warnings(_settings(password=PASSWORD)) == []
    finally:
        logs.configure("info", "json", stream=sys.stderr)
    assert buf.getvalue() == ""


# -- file permissions -----------------------------------------------------------------


def test_world_readable_config_with_the_password_is_warned_about(tmp_path: Path) -> None:
    cfg = _config(tmp_path, f'[mqtt]\npassword = "{PASSWORD}"\n', mode=0o644)
    warnings = security_warnings(load_settings(cfg), cfg)
    assert len(warnings) == 1
    assert str(cfg) in warnings[0] and "0644" in warnings[0] and "0640" in warnings[0]


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o400])
def test_private_config_is_not_warned_about(tmp_path: Path, mode: int) -> None:
    cfg = _config(tmp_path, f'[mqtt]\npassword = "{PASSWORD}"\n', mode=mode)
    assert security_warnings(load_settings(cfg), cfg) == []


def test_world_readable_config_without_the_password_is_fine(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _config(tmp_path, '[site]\nid = "hall"\n', mode=0o644)
    monkeypatch.setenv("OCTOHOME_MQTT__PASSWORD", PASSWORD)  # from the environment
    settings = load_settings(cfg)
    assert settings.mqtt.password is not None
    assert security_warnings(settings, cfg) == []


# -- octohome config check ------------------------------------------------------------


def test_config_check_warns_on_stderr_and_still_succeeds(tmp_path: Path) -> None:
    cfg = _config(tmp_path, f'[mqtt]\nhost = "192.168.1.5"\nusername = "octo"\n'
                            f'password = "{PASSWORD}"\n', mode=0o644)
    out = _cli("--config", str(cfg), "config", "check", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["mqtt"]["password"] == "********"
    warnings = [x for x in out.stderr.splitlines() if "warning" in x]
    assert len(warnings) == 2, out.stderr
    assert any("clear text" in w and "192.168.1.5:1883" in w for w in warnings)
    assert any(str(cfg) in w and "every user can read" in w for w in warnings)
    assert PASSWORD not in out.stdout + out.stderr


def test_config_check_is_quiet_for_a_safe_config(tmp_path: Path) -> None:
    cfg = _config(tmp_path, f'[mqtt]\nhost = "192.168.1.5"\nport = 8883\ntls = true\n'
                            f'password = "{PASSWORD}"\n', mode=0o640)
    out = _cli("--config", str(cfg), "config", "check")
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""


# -- the config as a systemd credential -------------------------------------------------


def test_config_loads_from_the_credentials_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the unit does: LoadCredential=config.toml:/etc/octohome/config.toml and
    OCTOHOME_CONFIG=%d/config.toml; systemd's copy is read-only to the service."""
    creds = tmp_path / "credentials" / "octohome.service"
    creds.mkdir(parents=True)
    cfg = _config(creds, f'[mqtt]\nusername = "octo"\npassword = "{PASSWORD}"\n', mode=0o400)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    monkeypatch.setenv("OCTOHOME_CONFIG", str(cfg))
    monkeypatch.chdir(tmp_path)
    assert default_config_path() == cfg
    settings = load_settings()
    assert settings.mqtt.password is not None
    assert settings.mqtt.password.get_secret_value() == PASSWORD
    assert security_warnings(settings, cfg) == []


def test_the_daemon_warns_at_start(tmp_path: Path) -> None:
    """`octohome run` logs the warning before anything else (here it then stops: no model)."""
    env = {**os.environ, "OCTOHOME_MQTT__HOST": "mqtt.example", "OCTOHOME_MQTT__USERNAME": "u",
           "OCTOHOME_MQTT__PASSWORD": PASSWORD,
           "OCTOHOME_MODEL__PATH": str(tmp_path / "none.gguf")}
    out = subprocess.run([sys.executable, "-m", "octohome.cli", "run", "--no-audio"],
                         capture_output=True, text=True, env=env, timeout=120, check=False)
    assert out.returncode == 2
    assert "insecure config" in out.stderr and "clear text" in out.stderr
    assert PASSWORD not in out.stderr + out.stdout
