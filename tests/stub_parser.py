"""A stand-in for the llama.cpp Parser: same ``parse(text, room=None) -> Parsed``, no model.

The daemon tests drive thousands of commands through the real pipeline
(MQTT in, queue, MQTT out); the real model costs 0.1-0.3 s per parse on this
CPU, so they use this table instead. Like the real Parser, it refuses a
catalog other than the one it was "trained" for (ModelError), and it answers
the way the real one does: group targets (``'living_room:light'``,
``'here:light'`` for the speaker's room) expanded from the catalog with
:func:`octohome.core.calls.expand`, one call per device; a refusal is no call
and a reason.

Texts: "turn on the kitchen lights" and friends as listed in KNOWN, and
"cmd N" for the soak, each N a different call (so a duplicate is visible).
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

from octohome.core.calls import LATER_REASON, NOTHING, Call, Parsed, expand
from octohome.core.catalog import Catalog
from octohome.core.config import Settings
from octohome.understand.parser import ModelError

Raw = tuple[str, dict[str, Any]]
"""A call as the model writes it: the device may be a group target ``scope:class``."""

KNOWN: dict[str, list[Raw] | str] = {
    "turn on the kitchen lights": [("light.turn_on", {"device": "kitchen_lights"})],
    "lock the front door": [("lock.lock", {"device": "front_door"})],
    "set the floor lamp to thirty percent": [
        ("light.set_brightness", {"device": "living_room_lamp", "brightness": 30})],
    # groups and several commands
    "turn off the living room lights": [("light.turn_off", {"device": "living_room:light"})],
    "turn off all the lights": [("light.turn_off", {"device": "home:light"})],
    "turn on the light": [("light.turn_on", {"device": "here:light"})],
    "turn on the kitchen lights and lock the front door": [
        ("light.turn_on", {"device": "kitchen_lights"}), ("lock.lock", {"device": "front_door"})],
    # relative changes
    "dim the kitchen lights": [("light.step_brightness", {"device": "kitchen_lights", "step": -20})],
    "make the bedroom light brighter": [
        ("light.step_brightness", {"device": "bedroom_light", "step": 20})],
    "dim the bedroom light": [("light.step_brightness", {"device": "bedroom_light", "step": -20})],
    "brighter": [("light.step_brightness", {"device": "here:light", "step": 20})],
    "turn the heating up": [("climate.step_temperature", {"device": "thermostat", "step": 1})],
    "turn the heating up by two degrees": [
        ("climate.step_temperature", {"device": "thermostat", "step": 2})],
    "louder": [("media.step_volume", {"device": "here:media", "step": 10})],
    # talking back (tests/service/test_talk_back.py): the other half of a pair, the
    # sensitive functions, a value said of a device a follow-up names
    "turn off the kitchen lights": [("light.turn_off", {"device": "kitchen_lights"})],
    "turn off the light": [("light.turn_off", {"device": "here:light"})],
    "unlock the front door": [("lock.unlock", {"device": "front_door"})],
    "open the garage door": [("cover.open", {"device": "garage_door"})],
    "open the living room blinds": [("cover.open", {"device": "living_room_blinds"})],
    "set the kitchen lights to thirty percent": [
        ("light.set_brightness", {"device": "kitchen_lights", "brightness": 30})],
    # refusals: understood, not done, with the reason
    "set the kitchen lights to 150 percent": "brightness 150 is outside 1..100",
    "turn off the kitchen lights in ten minutes": LATER_REASON,
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
        self.rooms: list[str | None] = []
        """The room of every parse, in order (what the daemon passed)."""

    def parse(self, text: str, room: str | None = None) -> Parsed:
        self.calls += 1
        self.rooms.append(room)
        if self.delay:
            time.sleep(self.delay)
        text = " ".join(text.lower().split()).strip(" .!?")
        if text == "boom":
            raise RuntimeError("stand-in model failure")
        known = KNOWN.get(text)
        if isinstance(known, str):
            return Parsed((), known)
        if known is not None:
            return self.resolve(known, room)
        m = re.fullmatch(r"cmd (\d+)", text)
        if m:
            return Parsed((soak_call(int(m.group(1))),))
        return NOTHING

    def resolve(self, raw: list[Raw], room: str | None) -> Parsed:
        """Validate and expand as the real Parser does (a group -> one call per device)."""
        calls: list[Call] = []
        for function, args in raw:
            arguments = self.catalog.validate_call(function, args, groups=True)
            expanded, reason = expand(self.catalog, function, arguments, room)
            if reason is not None:
                return Parsed((), reason)
            calls.extend(c for c in expanded if c not in calls)
        return Parsed(tuple(calls))


DEMO_FINGERPRINT = Catalog.load().fingerprint


def stub_factory(settings: Settings, catalog: Catalog) -> StubParser:
    """Parser factory for the daemon: a "model trained for the demo home"."""
    if catalog.fingerprint != DEMO_FINGERPRINT:
        raise ModelError(
            f"stub model was trained for another catalog (fingerprint {DEMO_FINGERPRINT},"
            f" the catalog in {catalog.source} is {catalog.fingerprint}): retrain")
    return StubParser(catalog, float(os.environ.get("STUB_PARSE_DELAY", "0")))
