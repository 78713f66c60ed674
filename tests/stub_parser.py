"""A stand-in for the llama.cpp Parser: same ``parse(text) -> Call``, no model.

The daemon tests drive thousands of commands through the real pipeline
(MQTT in, queue, MQTT out); the real model costs 0.1-0.3 s per parse on this
CPU, so they use this table instead. Like the real Parser, it refuses a
catalog other than the one it was "trained" for (ModelError).

Texts: "turn on the kitchen lights" and friends as listed in KNOWN, and
"cmd N" for the soak, each N a different call (so a duplicate is visible).
"""

from __future__ import annotations

import os
import re
import time

from octohome.core.calls import NOT_A_COMMAND, Call
from octohome.core.catalog import Catalog
from octohome.core.config import Settings
from octohome.understand.parser import ModelError

KNOWN = {
    "turn on the kitchen lights": Call("light.turn_on", {"device": "kitchen_lights"}),
    "lock the front door": Call("lock.lock", {"device": "front_door"}),
    "set the floor lamp to thirty percent": Call(
        "light.set_brightness", {"device": "living_room_lamp", "brightness": 30}),
}
LIGHTS = ["living_room_ceiling", "living_room_lamp", "kitchen_lights", "bedroom_light",
          "office_light", "hallway_light", "porch_light"]
COVERS = ["living_room_blinds", "bedroom_blinds", "garage_door"]


def soak_call(n: int) -> Call:
    """A distinct valid call for each n < 1003."""
    if n < 700:
        return Call("light.set_brightness",
                    {"device": LIGHTS[n // 100], "brightness": n % 100 + 1})
    n -= 700
    return Call("cover.set_position", {"device": COVERS[n // 101], "position": n % 101})


class StubParser:
    def __init__(self, catalog: Catalog, delay: float = 0.0) -> None:
        self.catalog = catalog
        self.delay = delay
        self.calls = 0

    def parse(self, text: str) -> Call:
        self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        text = " ".join(text.lower().split()).strip(" .!?")
        if text == "boom":
            raise RuntimeError("stand-in model failure")
        if text in KNOWN:
            return KNOWN[text]
        m = re.fullmatch(r"cmd (\d+)", text)
        if m:
            return soak_call(int(m.group(1)))
        return NOT_A_COMMAND


DEMO_FINGERPRINT = Catalog.load().fingerprint


def stub_factory(settings: Settings, catalog: Catalog) -> StubParser:
    """Parser factory for the daemon: a "model trained for the demo home"."""
    if catalog.fingerprint != DEMO_FINGERPRINT:
        raise ModelError(
            f"stub model was trained for another catalog (fingerprint {DEMO_FINGERPRINT},"
            f" the catalog in {catalog.source} is {catalog.fingerprint}): retrain")
    return StubParser(catalog, float(os.environ.get("STUB_PARSE_DELAY", "0")))
