"""systemd notification (sd_notify(3)): READY, WATCHDOG, STATUS, STOPPING, EXTEND_TIMEOUT_USEC.

Ten lines over the Unix datagram socket systemd names in ``$NOTIFY_SOCKET``; the
``sdnotify`` package added nothing to that. Outside systemd it does nothing.
"""

from __future__ import annotations

import contextlib
import os
import socket

import structlog

log = structlog.get_logger("octohome.daemon")


class Notifier:
    """sd_notify(3) over ``$NOTIFY_SOCKET``; does nothing outside systemd."""

    def __init__(self, address: str | None = None) -> None:
        address = address if address is not None else os.environ.get("NOTIFY_SOCKET")
        self.sock: socket.socket | None = None
        if address:
            if address.startswith("@"):
                address = "\0" + address[1:]
            try:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                sock.connect(address)
                self.sock = sock
            except OSError as exc:
                log.warning("cannot reach systemd's notify socket", error=str(exc))
        usec = os.environ.get("WATCHDOG_USEC")
        pid = os.environ.get("WATCHDOG_PID")
        self.watchdog_s: float | None = None
        if usec and usec.isdigit() and (not pid or pid == str(os.getpid())):
            self.watchdog_s = int(usec) / 1e6
        self._status = ""

    def notify(self, *lines: str) -> None:
        if self.sock is None:
            return
        with contextlib.suppress(OSError):
            self.sock.send("\n".join(lines).encode())

    def status(self, text: str) -> None:
        if text != self._status:
            self._status = text
            self.notify(f"STATUS={text}")
