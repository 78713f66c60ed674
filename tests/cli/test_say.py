"""``octohome say``: text -> model -> MQTT once, with a stand-in model (and the real one
when its file is present)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, ClassVar

import pytest

from octohome.cli import say
from octohome.core.calls import Call
from octohome.core.catalog import Catalog
from octohome.core.config import load_settings
from tests.mqtt_broker import Broker, Subscriber, free_port

SITE = "saytest"


class StubParser:
    """Same interface as octohome.understand.parser.Parser: parse(text) -> Call."""

    table: ClassVar[dict[str, Call]] = {
        "turn on the kitchen lights": Call("light.turn_on", {"device": "kitchen_lights"}),
        "set the heating to 21": Call("climate.set_temperature",
                                      {"device": "thermostat", "temperature": 21}),
    }

    def parse(self, text: str) -> Call:
        return self.table.get(text, Call(None, {}))


def run(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(say, "_load_parser", lambda settings, catalog: StubParser())
    # Leave the process-wide log setup alone (pytest captures stdout/stderr per test).
    monkeypatch.setattr(say, "_configure_logging", lambda settings: None)
    p = argparse.ArgumentParser()
    p.add_argument("--config")
    say.add_cli(p)
    return say.run_cli(p.parse_args(argv))


def write_config(tmp_path: Path, port: int, **mqtt: Any) -> Path:
    lines = ["[site]", f'id = "{SITE}"', "[mqtt]", 'host = "127.0.0.1"', f"port = {port}"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in mqtt.items()]
    cfg = tmp_path / "config.toml"
    cfg.write_text("\n".join(lines) + "\n")
    return cfg


def test_say_once_publishes_command_and_events(mqtt_broker: Broker, tmp_path: Path) -> None:
    sub = Subscriber(mqtt_broker.port, ["zigbee2mqtt/#", "home/#", f"octohome/{SITE}/#"])
    settings = load_settings(write_config(tmp_path, mqtt_broker.port))
    out = say.say_once("set the heating to 21", settings, StubParser(), Catalog.load())
    assert out.status == "published"
    assert "model" in out.latencies_ms
    assert sub.wait_for(lambda: sub.received("home/thermostat/target_temp/set")
                        and sub.received(f"octohome/{SITE}/intent"))
    assert sub.received("home/thermostat/target_temp/set")[0][1] == b"21"
    transcript = json.loads(sub.received(f"octohome/{SITE}/transcript")[0][1])
    assert transcript["text"] == "set the heating to 21"
    intent = json.loads(sub.received(f"octohome/{SITE}/intent")[0][1])
    assert intent["status"] == "published" and intent["text"] == "set the heating to 21"
    # A one-shot client must not speak for the daemon's availability.
    assert not sub.received(f"octohome/{SITE}/availability")
    sub.close()


def test_cli_uses_config_and_env_credentials(secure_broker: Broker, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert secure_broker.password_port is not None
    sub = Subscriber(secure_broker.port, ["zigbee2mqtt/#"])
    cfg = write_config(tmp_path, free_port(), username="nobody")
    monkeypatch.setenv("OCTOHOME_MQTT__PORT", str(secure_broker.password_port))
    monkeypatch.setenv("OCTOHOME_MQTT__USERNAME", "octo")
    monkeypatch.setenv("OCTOHOME_MQTT__PASSWORD", "s3cret-Pa55word")
    rc = run(["--config", str(cfg), "--json", "turn", "on", "the", "kitchen", "lights"],
             monkeypatch)
    assert rc == 0
    event = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert event["function"] == "light.turn_on" and event["status"] == "published"
    assert sub.wait_for(lambda: sub.received("zigbee2mqtt/kitchen_lights/set"))
    sub.close()


def test_cli_not_a_command_and_unreachable_broker(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = write_config(tmp_path, free_port(), reconnect_min_delay=0.05)
    assert run(["--config", str(cfg), "tell", "me", "a", "joke"], monkeypatch) == 1
    rc = run(["--config", str(cfg), "--ttl", "0.3", "turn on the kitchen lights"], monkeypatch)
    assert rc == 3  # expired: never executed late


def test_cli_with_real_model(mqtt_broker: Broker, tmp_path: Path) -> None:
    """The real load_parser, when llama.cpp and the shipped model are installed."""
    pytest.importorskip("llama_cpp")
    try:
        from octohome.understand.modelfile import shipped_model_path
    except ImportError:
        pytest.skip("octohome.understand.modelfile not available")
    if not shipped_model_path().exists():
        pytest.skip("shipped model not installed")
    settings = load_settings(write_config(tmp_path, mqtt_broker.port))
    catalog = Catalog.load()
    from octohome.understand.parser import load_parser

    out = say.say_once("turn on the kitchen lights", settings, load_parser(settings, catalog),
                       catalog)
    assert out.status == "published"
    assert out.function == "light.turn_on"
