"""``octohome say``: text -> model -> MQTT once, with a stand-in model (and the real one
when its file is present)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import pytest

from octohome.cli import say
from octohome.core.calls import Call, Parsed
from octohome.core.catalog import Catalog
from octohome.core.config import load_settings
from tests import stub_parser
from tests.mqtt_broker import Broker, Subscriber, free_port, publish_once

SITE = "saytest"


class StubParser(stub_parser.StubParser):
    """Same interface as octohome.understand.parser.Parser: parse(text, room) -> Parsed
    (the daemon tests' stand-in, plus one command)."""

    def __init__(self) -> None:
        super().__init__(Catalog.load())

    def parse(self, text: str, room: str | None = None) -> Parsed:
        if text == "set the heating to 21":
            return Parsed((Call("climate.set_temperature",
                                {"device": "thermostat", "temperature": 21}),))
        return super().parse(text, room)


def run(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(say, "_load_parser", lambda settings, catalog: StubParser())
    # Leave the process-wide log setup alone (pytest captures stdout/stderr per test).
    monkeypatch.setattr(say, "_configure_logging", lambda settings: None)
    p = argparse.ArgumentParser()
    p.add_argument("--config")
    say.add_cli(p)
    return say.run_cli(p.parse_args(argv))


def printed(capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The result lines on stdout (the test leaves structlog printing there too)."""
    return [line for line in capsys.readouterr().out.splitlines()
            if line.split(":")[0] in say.EXIT_CODES]


def write_config(tmp_path: Path, port: int, room: str | None = None, **mqtt: Any) -> Path:
    lines = ["[site]", f'id = "{SITE}"', *([f'room = "{room}"'] if room else []),
             "[mqtt]", 'host = "127.0.0.1"', f"port = {port}"]
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
    assert event["calls"] == [{"function": "light.turn_on",
                               "arguments": {"device": "kitchen_lights"},
                               "status": "published"}]
    assert event["status"] == "published"
    assert sub.wait_for(lambda: sub.received("zigbee2mqtt/kitchen_lights/set"))
    sub.close()


def test_cli_not_a_command_and_unreachable_broker(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = write_config(tmp_path, free_port(), reconnect_min_delay=0.05)
    assert run(["--config", str(cfg), "tell", "me", "a", "joke"], monkeypatch) == 1
    rc = run(["--config", str(cfg), "--ttl", "0.3", "turn on the kitchen lights"], monkeypatch)
    assert rc == 3  # expired: never executed late


def test_cli_room_group_and_refusal(mqtt_broker: Broker, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    sub = Subscriber(mqtt_broker.port, ["zigbee2mqtt/#", "home/#"])
    cfg = str(write_config(tmp_path, mqtt_broker.port, room="office"))
    # [site] room, then --room (by another name of the room) over it
    assert run(["--config", cfg, "turn on the light"], monkeypatch) == 0
    assert run(["--config", cfg, "--room", "Lounge", "turn on the light"], monkeypatch) == 0
    assert sub.wait_for(lambda: len(sub.received()) == 3)
    assert [m[0] for m in sub.received()] == [
        "zigbee2mqtt/office_light/set", "zigbee2mqtt/living_room_ceiling/set",
        "zigbee2mqtt/living_room_lamp/set"]
    assert printed(capsys) == [
        'published: light.turn_on {"device": "office_light"} -> zigbee2mqtt/office_light/set',
        'published: light.turn_on {"device": "living_room_ceiling"}'
        ' -> zigbee2mqtt/living_room_ceiling/set',
        'published: light.turn_on {"device": "living_room_lamp"}'
        ' -> zigbee2mqtt/living_room_lamp/set',
    ]
    assert run(["--config", cfg, "--room", "sauna", "turn on the light"], monkeypatch) == 2
    assert "sauna" in capsys.readouterr().err
    # refused: exit 5, the reason printed (and in the JSON event); nothing sent
    assert run(["--config", cfg, "set the kitchen lights to 150 percent"], monkeypatch) == 5
    assert printed(capsys) == ["refused: nothing done (brightness 150 is outside 1..100)"]
    assert run(["--config", cfg, "--json", "turn off the kitchen lights in ten minutes"],
               monkeypatch) == 5
    event = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert event["calls"] == [] and event["status"] == "refused"
    assert "not later" in event["reason"]
    time.sleep(0.2)
    assert len(sub.received()) == 3
    sub.close()


def test_cli_step_from_a_retained_state_and_without_one(
        mqtt_broker: Broker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A one-shot say waits for the retained states before a step that reads one."""
    publish_once(mqtt_broker.port, "home/thermostat/target_temp", b"20.5", retain=True)
    sub = Subscriber(mqtt_broker.port, ["home/#"])
    cfg = str(write_config(tmp_path, mqtt_broker.port))
    assert run(["--config", cfg, "turn the heating up"], monkeypatch) == 0
    assert printed(capsys) == [
        'published: climate.step_temperature {"device": "thermostat", "step": 1}'
        ' as climate.set_temperature {"temperature": 21.5} -> home/thermostat/target_temp/set']
    assert sub.wait_for(lambda: sub.received("home/thermostat/target_temp/set"))
    assert sub.received("home/thermostat/target_temp/set")[0][1] == b"21.5"
    assert run(["--config", cfg, "dim the bedroom light"], monkeypatch) == 5
    assert printed(capsys) == [
        'refused: light.step_brightness {"device": "bedroom_light", "step": -20}'
        " (I don't know the bedroom light's brightness yet)"]
    time.sleep(0.2)
    assert not sub.received("home/bedroom_light/set")
    sub.close()


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
    assert [(c.function, dict(c.arguments)) for c in out.calls] == [
        ("light.turn_on", {"device": "kitchen_lights"})]
