"""A user's own home, end to end, every step the real command line on real parts:
``octohome import homeassistant`` (a real Home Assistant, tests/homeassistant_server.py)
-> ``octohome train`` (a short run on the imported catalog) -> ``octohome parse`` with
the trained model -> ``octohome say`` -> the service call changes the entity's state in
Home Assistant (the MQTT link, on a real Mosquitto, owns the command's fate).

The training is short (a few minutes on 2 cores), so the model is judged on the
commands any model of that home must get, not on accuracy (that is bench/homes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from octohome.core.catalog import Catalog
from tests.homeassistant_server import HomeAssistant, homeassistant_fixture  # noqa: F401
from tests.mqtt_broker import Broker

pytest.importorskip("torch")
pytest.importorskip("transformers")

STEPS = 200
"""Enough for a ten-device home's plain commands (the test asserts them); the full
default is about 900 steps for a home this size."""


def octohome(*args: str, env: dict[str, str],
             timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """The real command line, in a child process (torch and llama.cpp stay out of pytest)."""
    return subprocess.run([sys.executable, "-m", "octohome.cli", *args], env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


@pytest.mark.slow
def test_import_train_parse_and_the_call_arrives(homeassistant: HomeAssistant,
                                                 mqtt_broker: Broker, tmp_path: Path) -> None:
    homeassistant.reset()
    home, run = tmp_path / "home", tmp_path / "run"
    config = tmp_path / "config.toml"
    env = dict(os.environ, OCTOHOME_HOMEASSISTANT__TOKEN=homeassistant.token)

    config.write_text(f'[homeassistant]\nurl = "{homeassistant.url}"\n')
    out = octohome("--config", str(config), "import", "homeassistant", "--out", str(home),
                   env=env)
    assert out.returncode == 0, out.stderr
    catalog = Catalog.load(home)
    assert catalog.device_by_id["kitchen_lights"].mqtt is not None

    out = octohome("train", "--catalog", str(home), "--out", str(run), "--steps", str(STEPS),
                   "--per-function", "60", env=env)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    record = json.loads((run / "training.json").read_text())
    assert record["catalog_fingerprint"] == catalog.fingerprint
    model = run / "octohome-octohome-q8_0.gguf"

    texts = ["turn on the kitchen lights", "what's the weather like"]
    out = subprocess.run(
        [sys.executable, "-m", "octohome.cli", "parse", "--json", "--catalog", str(home),
         "--model", str(model), "-"],
        input="\n".join(texts) + "\n", env=env, capture_output=True, text=True, timeout=300,
        check=False)
    assert out.returncode == 0, out.stderr
    answers = [json.loads(line) for line in out.stdout.splitlines()]
    assert answers[0]["calls"] == [
        {"function": "light.turn_on", "arguments": {"device": "kitchen_lights"}}]
    assert answers[1]["calls"] == []

    config.write_text(
        f'catalog = "{home}"\n'
        f'[model]\npath = "{model}"\n'
        f'[mqtt]\nport = {mqtt_broker.port}\ndiscovery = false\n'
        f'[homeassistant]\nurl = "{homeassistant.url}"\n')
    assert homeassistant.state("light.kitchen_lights")["state"] == "off"
    out = octohome("--config", str(config), "say", "turn on the kitchen lights", env=env,
                   timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    st = homeassistant.wait_state("light.kitchen_lights", lambda s: s["state"] == "on")
    assert st["state"] == "on"
    assert homeassistant.token not in out.stdout + out.stderr
