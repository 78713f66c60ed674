"""A real Mosquitto for tests: own config, own free loopback port, stoppable.

Registered as a pytest plugin from ``tests/conftest.py``. Never touches a broker
that may already run on the machine (1883): every test gets a fresh one.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from octohome.act.mosquitto import MOSQUITTO, Mosquitto, TlsFiles, free_port

Broker = Mosquitto
"""The tests' name for it."""


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
