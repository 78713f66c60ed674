"""``octohome bench mqtt``: command latency at QoS 1 and reconnect time, measured
against a private Mosquitto that the benchmark starts (and restarts) itself.

What is timed is what a user waits for: from ``MqttLink.publish_command`` (the
moment a validated call is handed over) to the broker's PUBACK, and to the
message reaching a subscriber (the device's side). Reconnect time is from the
broker listening again to the link being connected, and to a command that was
queued during the outage reaching the subscriber.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from octohome.act.mosquitto import Mosquitto
from octohome.bench.stats import percentile

BROKER_CANDIDATES = ("mosquitto", "/usr/sbin/mosquitto")


def add_bench_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--count", type=int, default=500,
                        help="commands per latency run (default 500)")
    parser.add_argument("--restarts", type=int, default=5,
                        help="broker restarts for the reconnect measurement (default 5)")
    parser.add_argument("--mosquitto", default=None, help="mosquitto binary (default: on PATH)")
    parser.add_argument("--output", type=Path, default=None,
                        help="also write the results as Markdown to this file")


def _paho() -> Any:
    """paho untyped: the installed 1.x stubs (types-paho-mqtt) do not know the 2.x API."""
    return importlib.import_module("paho.mqtt.client")


def _no_delay(client: Any, userdata: Any, sock: Any) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _row(name: str, values: list[float]) -> str:
    p50, p95, p99 = (percentile(values, q) for q in (50, 95, 99))
    return f"| {name} | {len(values)} | {p50:.2f} | {p95:.2f} | {p99:.2f} | {max(values):.2f} |"


class _Sink:
    """Subscriber recording arrival times by payload."""

    def __init__(self, port: int, topic: str) -> None:
        mqtt = _paho()
        from paho.mqtt.enums import CallbackAPIVersion

        self.arrived: dict[bytes, float] = {}
        self.cond = threading.Condition()
        self.ready = threading.Event()
        self.client: Any = mqtt.Client(CallbackAPIVersion.VERSION2,
                                       client_id=f"bench-sink-{os.getpid()}", clean_session=False)
        self.client.reconnect_delay_set(0.01, 0.05)
        self.client.on_connect = lambda c, *a: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *a: self.ready.set()
        self.client.on_socket_open = _no_delay

        def on_message(c: Any, u: Any, msg: Any) -> None:
            with self.cond:
                self.arrived[bytes(msg.payload)] = time.perf_counter()
                self.cond.notify_all()

        self.client.on_message = on_message
        self.client.connect("127.0.0.1", port, 30)
        self.client.loop_start()
        if not self.ready.wait(10):
            raise RuntimeError("benchmark subscriber could not subscribe")

    def wait(self, payload: bytes, timeout: float = 30) -> float:
        with self.cond:
            self.cond.wait_for(lambda: payload in self.arrived, timeout)
            return self.arrived[payload]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _latency_run(binary: str, workdir: Path, nodelay: bool, count: int) -> dict[str, list[float]]:
    mqtt = _paho()
    from paho.mqtt.enums import CallbackAPIVersion

    from octohome.act.link import MqttLink
    from octohome.act.mapping import Message, build_messages
    from octohome.core.calls import Call
    from octohome.core.catalog import Catalog
    from octohome.core.config import MqttConfig

    broker = Mosquitto(workdir, nodelay=nodelay, binary=binary)
    broker.start()
    sink = _Sink(broker.port, "#")
    catalog = Catalog.load()
    link = MqttLink(MqttConfig(port=broker.port, discovery=False), "bench", catalog)
    link.start()
    try:
        if not link.wait_connected(10):
            raise RuntimeError(f"cannot connect: {link.last_error}")
        ack: list[float] = []
        arrive: list[float] = []
        for i in range(count + 20):  # the first 20 warm up and are not counted
            payload = f'{{"brightness":{i}}}'.encode()
            t0 = time.perf_counter()
            out = link.publish_command([Message("bench/light/set", payload)]).result(10)
            t1 = time.perf_counter()
            got = sink.wait(payload)
            if out.status != "published":
                raise RuntimeError(f"command {i}: {out.status}")
            if i >= 20:
                ack.append((t1 - t0) * 1000)
                arrive.append((got - t0) * 1000)
        # The daemon's path: execute() also publishes the intent event and the
        # retained state after each command (more small packets back to back).
        lights = [d.id for d in catalog.devices_of_type("light")]
        full: list[float] = []
        full_arrive: list[float] = []
        for i in range(min(count + 20, 100 * len(lights))):
            call = Call("light.set_brightness",
                        {"device": lights[i % len(lights)], "brightness": 1 + i // len(lights)})
            payload = build_messages(catalog, call)[0].payload
            sink.arrived.pop(payload, None)
            t0 = time.perf_counter()
            out = link.execute(call).result(10)
            t1 = time.perf_counter()
            got = sink.wait(payload)
            if out.status != "published":
                raise RuntimeError(f"command {i}: {out.status}")
            if i >= 20:
                full.append((t1 - t0) * 1000)
                full_arrive.append((got - t0) * 1000)
        # Baseline: bare paho publish + wait_for_publish, no queue/worker of ours.
        raw: list[float] = []
        c: Any = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-raw")
        c.on_socket_open = _no_delay
        c.connect("127.0.0.1", broker.port, 30)
        c.loop_start()
        for i in range(count + 20):
            t0 = time.perf_counter()
            c.publish("bench/raw", b"x", qos=1).wait_for_publish(10)
            if i >= 20:
                raw.append((time.perf_counter() - t0) * 1000)
        c.disconnect()
        c.loop_stop()
        return {"ack": ack, "arrive": arrive, "raw": raw, "full": full,
                "full_arrive": full_arrive}
    finally:
        link.stop()
        sink.close()
        broker.stop()


def _reconnect_run(binary: str, workdir: Path, restarts: int,
                   min_delay: float, max_delay: float) -> dict[str, list[float]]:
    from octohome.act.link import MqttLink
    from octohome.act.mapping import Message
    from octohome.core.config import MqttConfig

    broker = Mosquitto(workdir, nodelay=True, binary=binary)
    broker.start()
    sink = _Sink(broker.port, "bench/#")
    cfg = MqttConfig(port=broker.port, discovery=False, reconnect_min_delay=min_delay,
                     reconnect_max_delay=max_delay, command_ttl=60)
    link = MqttLink(cfg, "bench")
    link.start()
    connect: list[float] = []
    deliver: list[float] = []
    try:
        if not link.wait_connected(10):
            raise RuntimeError(f"cannot connect: {link.last_error}")
        for i in range(restarts):
            broker.stop()
            while link.connected:
                time.sleep(0.001)
            payload = f"queued-{i}".encode()
            future = link.publish_command([Message("bench/queued", payload)])
            time.sleep(1.0)  # a one-second outage
            broker.start()
            up = time.perf_counter()
            if not link.wait_connected(max_delay + 10):
                raise RuntimeError("link did not reconnect")
            connect.append((time.perf_counter() - up) * 1000)
            if future.result(30).status != "published":
                raise RuntimeError("queued command not published")
            deliver.append((sink.wait(payload) - up) * 1000)
        return {"connect": connect, "deliver": deliver}
    finally:
        link.stop()
        sink.close()
        broker.stop()


def run_bench(args: argparse.Namespace) -> int:
    binary = args.mosquitto or next(
        (p for p in (shutil.which(b) or b for b in BROKER_CANDIDATES) if Path(p).exists()), None)
    if binary is None:
        print("octohome bench mqtt: mosquitto not found (apt install mosquitto)")
        return 2
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))  # errors only
    lines = [
        "| measurement | n | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory(prefix="octohome-bench-mqtt-") as tmp:
        for nodelay in (True, False):
            d = Path(tmp) / f"lat-{nodelay}"
            d.mkdir()
            r = _latency_run(binary, d, nodelay, args.count)
            tag = "broker set_tcp_nodelay " + ("true" if nodelay else "false (default)")
            lines.append(_row(f"command -> PUBACK, QoS 1 ({tag})", r["ack"]))
            lines.append(_row(f"command -> at subscriber ({tag})", r["arrive"]))
            lines.append(_row(f"bare paho publish -> PUBACK ({tag})", r["raw"]))
            lines.append(_row(f"execute() with intent/state events -> PUBACK ({tag})",
                              r["full"]))
            lines.append(_row(f"execute() -> at subscriber ({tag})", r["full_arrive"]))
        for min_delay, max_delay in ((0.5, 30.0), (0.05, 0.25)):
            d = Path(tmp) / f"rc-{min_delay}"
            d.mkdir()
            r = _reconnect_run(binary, d, args.restarts, min_delay, max_delay)
            tag = f"backoff {min_delay:g}..{max_delay:g} s, 1 s outage"
            lines.append(_row(f"broker up -> reconnected ({tag})", r["connect"]))
            lines.append(_row(f"broker up -> queued command at subscriber ({tag})",
                              r["deliver"]))
    version = subprocess.run([binary, "-h"], capture_output=True, text=True).stdout.split("\n")[0]
    header = [
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python"
        f" {platform.python_version()}, {version.strip()}, loopback TCP.",
        "",
    ]
    report = "\n".join(header + lines) + "\n"
    print(report)
    if args.output is not None:
        args.output.write_text(report)
    return 0
