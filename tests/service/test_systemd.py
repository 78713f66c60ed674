"""The systemd unit: `systemd-analyze verify` prints nothing, and its exposure stays low.

It also keeps what the daemon relies on: the config as a credential (it holds
the MQTT password), the stop timeout the daemon extends while it drains, and
RestartPreventExitStatus= listing the codes 'octohome run' exits with when a
restart cannot help (checked against the real process).

The unit is checked as ``./setup.sh unit`` renders it for this checkout (the
path /opt/octohome replaced), which is what ``./setup.sh service`` installs.

Security threshold: 2.0 ("OK" in systemd's scale; the unit measures about 1.4).
What keeps it above 0 is what an audio + MQTT daemon needs and each is
argued in the unit: AF_INET for the broker (limited to loopback and private
LAN by IPAddressAllow), /dev/snd (DeviceAllow=char-alsa, the audio group),
/proc/asound (no ProcSubset=pid), JIT kernels in CTranslate2 (no
MemoryDenyWriteExecute), no PrivateUsers (the audio group must map).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.paths import ROOT

THRESHOLD = 20  # systemd-analyze's units: 20 = exposure 2.0

needs_systemd_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze not installed (see packages.apt)")


@pytest.fixture(scope="module")
def unit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    text = subprocess.run(["bash", str(ROOT / "setup.sh"), "unit"], capture_output=True,
                          text=True, check=True, cwd=ROOT).stdout
    assert "/opt/octohome" not in text
    path = tmp_path_factory.mktemp("unit") / "octohome.service"
    path.write_text(text)
    return path


@needs_systemd_analyze
def test_verify_prints_nothing(unit: Path) -> None:
    if not (ROOT / ".venv" / "bin" / "octohome").exists():
        pytest.skip("no .venv/bin/octohome: run ./setup.sh first (verify checks ExecStart)")
    out = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                         text=True, check=False)
    assert out.returncode == 0
    assert out.stdout + out.stderr == "", out.stdout + out.stderr


@needs_systemd_analyze
def test_security_exposure_within_threshold(unit: Path) -> None:
    out = subprocess.run(["systemd-analyze", "security", "--offline=yes",
                          f"--threshold={THRESHOLD}", str(unit)],
                         capture_output=True, text=True, check=False)
    m = re.search(r"Overall exposure level for \S+: ([\d.]+)", out.stdout + out.stderr)
    assert m, out.stdout[-2000:] + out.stderr
    assert out.returncode == 0, f"exposure {m.group(1)} above {THRESHOLD / 10}"
    assert float(m.group(1)) <= THRESHOLD / 10


def test_unit_has_what_the_daemon_relies_on() -> None:
    text = (ROOT / "systemd" / "octohome.service").read_text()
    for line in ("Type=notify", "WatchdogSec=", "Restart=on-failure", "DynamicUser=yes",
                 "SupplementaryGroups=audio", "ProtectSystem=strict", "StateDirectory=octohome",
                 "ExecReload=/bin/kill -HUP $MAINPID", "NoNewPrivileges=yes"):
        assert line in text, line


def _directives(key: str) -> list[str]:
    text = (ROOT / "systemd" / "octohome.service").read_text()
    return [line.split("=", 1)[1] for line in text.splitlines() if line.startswith(key + "=")]


def test_config_is_a_credential() -> None:
    """The config holds the MQTT password: systemd reads it as root and gives the
    transient user a private copy, so /etc/octohome/config.toml can be 0600 root."""
    assert _directives("LoadCredential") == ["config.toml:/etc/octohome/config.toml"]
    assert "OCTOHOME_CONFIG=%d/config.toml" in _directives("Environment")
    assert not any(e.startswith("OCTOHOME_CONFIG=/etc") for e in _directives("Environment"))


def _comment_above(key: str) -> str:
    lines = (ROOT / "systemd" / "octohome.service").read_text().splitlines()
    i = next(n for n, line in enumerate(lines) if line.startswith(key + "="))
    above: list[str] = []
    while i > 0 and lines[i - 1].startswith("#"):
        i -= 1
        above.insert(0, lines[i])
    return "\n".join(above)


def test_stop_timeout_is_the_base_the_daemon_extends() -> None:
    assert _directives("TimeoutStopSec") == ["60"]
    assert "EXTEND_TIMEOUT_USEC" in _comment_above("TimeoutStopSec")
    assert _directives("NotifyAccess") == ["main"]  # the daemon's notifications count


def _exit_codes() -> set[int]:
    (value,) = _directives("RestartPreventExitStatus")
    return {int(v) for v in value.split()}


def test_unfixable_exit_codes_are_not_restarted() -> None:
    assert _exit_codes() == {2, 243}  # octohome's start refusal; systemd's CREDENTIALS


def _run(tmp_path: Path, config: str, **env: str) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "config.toml"
    cfg.write_text(config)
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith("OCTOHOME_") and k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
    return subprocess.run(
        [sys.executable, "-m", "octohome.cli", "--config", str(cfg), "run", "--no-audio"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={**clean, **env, "OCTOHOME_LOG__FORMAT": "json"}, check=False)


@pytest.mark.parametrize(("config", "words"), [
    ("[mqtt]\nport = \"many\"\n", "mqtt.port"),
    ("[mqtt\n", "not valid TOML"),
    ('catalog = "/nonexistent/octohome-catalog"\n', "octohome-catalog"),
    ('[model]\npath = "/nonexistent/octohome.gguf"\n', "octohome.gguf"),
], ids=["bad-key", "bad-toml", "missing-catalog", "missing-model"])
def test_start_refusals_exit_with_a_code_that_is_not_restarted(
        tmp_path: Path, config: str, words: str) -> None:
    """A bad config, catalog or model stops 'octohome run' with a code listed in
    RestartPreventExitStatus= (today all share 2), before any broker is needed."""
    out = _run(tmp_path, config)
    assert out.returncode in _exit_codes(), (out.returncode, out.stderr[-2000:])
    assert words in out.stderr, out.stderr[-2000:]
