"""A private Mosquitto: its own config, directory and free loopback port, stoppable.

One implementation for everything that needs a broker of its own: ``octohome demo``
when no broker answers, the MQTT benchmark, and the tests (``tests/mqtt_broker.py``
wraps it in pytest fixtures). It never touches a broker that may already run on the
machine (1883).
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
"""The broker binary (Debian's ``mosquitto`` package; ./setup.sh installs it)."""


def free_port() -> int:
    """A TCP port nothing listens on right now (127.0.0.1)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def broker_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """Something accepts TCP connections at host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


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


@dataclass
class Mosquitto:
    """One Mosquitto process on a free loopback port with its own config and directory;
    ``stop()``/``start()`` keep port and persistence."""

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

    binary: str = MOSQUITTO
    """The mosquitto executable."""

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
        self.proc = subprocess.Popen([self.binary, "-c", str(conf)],
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


@contextlib.contextmanager
def private_mosquitto(*, nodelay: bool = True) -> Iterator[Mosquitto]:
    """A started :class:`Mosquitto` in a temporary directory for the block's duration."""
    if not Path(MOSQUITTO).exists():
        raise RuntimeError("mosquitto is not installed (./setup.sh installs it: packages.apt)")
    with tempfile.TemporaryDirectory(prefix="octohome-mosquitto-") as d:
        broker = Mosquitto(Path(d), nodelay=nodelay)
        broker.start()
        try:
            yield broker
        finally:
            broker.stop()
