"""A real Mosquitto for tests: own config, own free loopback port, stoppable.

Registered as a pytest plugin from ``tests/conftest.py``. Never touches a broker
that may already run on the machine (1883): every test gets a fresh one.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class TlsFiles:
    """A throwaway CA, a server certificate for 127.0.0.1 and a client certificate."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path
    """A CA that signed nothing here: trusting it must fail the handshake."""


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_tls_files(d: Path) -> TlsFiles:
    d.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for name in ("ca", "other_ca"):
        _openssl("req", "-x509", *ec, "-keyout", f"{name}.key", "-out", f"{name}.crt",
                 "-days", "2", "-subj", f"/CN=octohome test {name}",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    (d / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name in ("server", "client"):
        _openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/CN={'localhost' if name == 'server' else 'octohome'}", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{name}.crt", "-days", "2",
                 "-extfile", f"{name}.ext", cwd=d)
    return TlsFiles(d / "ca.crt", d / "server.crt", d / "server.key", d / "client.crt",
                    d / "client.key", d / "other_ca.crt")


@dataclass
class Broker:
    """One Mosquitto process; ``stop()``/``start()`` keep port and persistence."""

    workdir: Path
    port: int = field(default_factory=free_port)
    secure_port: int | None = None
    """TLS listener requiring a client certificate and a password, when set up."""

    password_port: int | None = None
    """Plain listener requiring a password, when set up."""

    users: dict[str, str] = field(default_factory=dict)
    tls: TlsFiles | None = None
    proc: subprocess.Popen[bytes] | None = None
    nodelay: bool = True
    """Broker-side TCP_NODELAY: without it, back-to-back small packets (two PUBACKs)
    wait ~40 ms for the client's delayed ACK."""

    @property
    def log_file(self) -> Path:
        return self.workdir / "mosquitto.log"

    def _write_config(self) -> Path:
        lines = [
            "per_listener_settings true",
            f"set_tcp_nodelay {'true' if self.nodelay else 'false'}",
            "persistence true",
            f"persistence_location {self.workdir}/",
            f"log_dest file {self.log_file}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
        ]
        if os.geteuid() == 0:
            lines.append(f"user {getpass.getuser()}")
        lines += [f"listener {self.port} 127.0.0.1", "allow_anonymous true"]
        if self.users:
            pw = self.workdir / "passwd"
            pw.write_text("")
            for user, password in self.users.items():
                subprocess.run(["mosquitto_passwd", "-b", str(pw), user, password],
                               check=True, capture_output=True)
            if self.password_port:
                lines += [f"listener {self.password_port} 127.0.0.1", "allow_anonymous false",
                          f"password_file {pw}"]
            if self.secure_port and self.tls:
                lines += [
                    f"listener {self.secure_port} 127.0.0.1", "allow_anonymous false",
                    f"password_file {pw}", f"cafile {self.tls.ca}",
                    f"certfile {self.tls.server_cert}", f"keyfile {self.tls.server_key}",
                    "require_certificate true",
                ]
        conf = self.workdir / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n")
        return conf

    def start(self, timeout: float = 10.0) -> None:
        conf = self._write_config()
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                log = self.log_file.read_text() if self.log_file.exists() else ""
                raise RuntimeError(f"mosquitto exited: {err}\n{log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("mosquitto did not start listening")

    def stop(self) -> None:
        """Graceful stop (SIGTERM): Mosquitto saves its persistence file."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # a paused broker must see the SIGTERM
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def pause(self) -> None:
        """SIGSTOP: the kernel still accepts what clients send (a PUBLISH "leaves"
        the client), but the broker neither reads it nor answers (no PUBACK)."""
        assert self.proc is not None and self.proc.poll() is None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after ``pause``."""
        assert self.proc is not None and self.proc.poll() is None
        self.proc.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL, even while paused: gone without saving its persistence file, and
        what sat unread in its sockets is lost, as in a crash or power cut."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None


@pytest.fixture
def mqtt_broker(tmp_path: Path) -> Iterator[Broker]:
    """A plain anonymous broker on a free loopback port (with persistence)."""
    if not Path(MOSQUITTO).exists():
        pytest.skip("mosquitto not installed")
    broker = Broker(tmp_path / "broker")
    broker.workdir.mkdir()
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def secure_broker(tmp_path: Path, tls_files: TlsFiles) -> Iterator[Broker]:
    """Anonymous plain listener (``port``) plus a password listener (``password_port``)
    and a TLS listener with client certificates and passwords (``secure_port``)."""
    if shutil.which("mosquitto_passwd") is None:
        pytest.skip("mosquitto_passwd not installed")
    broker = Broker(tmp_path / "broker", secure_port=free_port(), password_port=free_port(),
                    users={"octo": "s3cret-Pa55word"}, tls=tls_files)
    broker.workdir.mkdir()
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


class Subscriber:
    """A test client recording what arrives, with a persistent session.

    ``clean_session=False`` plus broker persistence means messages published
    while this subscriber is reconnecting after a broker restart still reach
    it, so a test can tell "never sent" from "sent while we were away".
    """

    def __init__(self, port: int, topics: list[str], *, persistent: bool = False) -> None:
        self.messages: list[tuple[str, bytes, bool, float]] = []
        self.redelivered: set[tuple[str, bytes]] = set()
        """(topic, payload) the broker sent again with the DUP flag (its own retry)."""
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2,
                                  client_id=f"test-sub-{uuid.uuid4().hex[:8]}",
                                  clean_session=not persistent)
        self.client.reconnect_delay_set(0.05, 0.3)  # type: ignore[arg-type]
        self.topics = topics

        def on_connect(c: Any, u: Any, f: Any, rc: Any, p: Any) -> None:
            c.subscribe([(t, 1) for t in self.topics])

        def on_subscribe(*a: Any) -> None:
            self.subscribed.set()

        def on_message(c: Any, u: Any, msg: Any) -> None:
            with self.lock:
                if msg.dup:
                    self.redelivered.add((msg.topic, bytes(msg.payload)))
                self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain),
                                      time.monotonic()))

        self.client.on_connect = on_connect
        self.client.on_subscribe = on_subscribe
        self.client.on_message = on_message
        self.client.connect("127.0.0.1", port, 30)
        self.client.loop_start()
        assert self.subscribed.wait(10), "test subscriber could not subscribe"

    def received(self, topic: str | None = None) -> list[tuple[str, bytes, bool, float]]:
        with self.lock:
            return [m for m in self.messages if topic is None or m[0] == topic]

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if predicate():
                return True
            time.sleep(0.01)
        return bool(predicate())

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def publish_once(port: int, topic: str, payload: bytes, *, retain: bool = False) -> None:
    """Publish one message from a throwaway client and wait for the broker's ack."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-pub-{uuid.uuid4().hex[:8]}")
    c.connect("127.0.0.1", port, 30)
    c.loop_start()
    info = c.publish(topic, payload, qos=1, retain=retain)
    info.wait_for_publish(5)
    c.disconnect()
    c.loop_stop()
