"""Smoke test of ``octohome bench mqtt`` (a few commands; no timing asserted)."""

from __future__ import annotations

from pathlib import Path

import pytest

from octohome.bench import mqtt as bench_mqtt
from tests.mqtt_broker import MOSQUITTO


def test_latency_run_smoke(tmp_path: Path) -> None:
    if not Path(MOSQUITTO).exists():
        pytest.skip("mosquitto not installed")
    r = bench_mqtt._latency_run(MOSQUITTO, tmp_path, True, 3)
    assert {len(v) for v in r.values()} == {3}
    assert all(x > 0 for v in r.values() for x in v)
