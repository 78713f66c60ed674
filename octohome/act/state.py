"""The last state each device reported: where a relative change ("brighter") starts.

A relative change goes out as the device's own relative command where its
convention has one (zigbee2mqtt ``brightness_step``). Otherwise the link reads
the device's current value from the last message seen on its *state topic*
(subscribed for every device that may need it), adds the step, clamps the
result to the absolute function's range and publishes that absolute command.
Without a state seen, nothing is published: the call is refused with a reason.

Where the state is read, by the conventions of zigbee2mqtt and Home Assistant
(the ``mqtt`` table of a device names command topics only):

* the state topic is the absolute command's topic without its ``/set``
  (zigbee2mqtt ``zigbee2mqtt/<name>``; Home Assistant ``home/bedroom_light``);
  for Home Assistant and custom devices also that topic plus ``/state``;
* the value sits where the command puts it: the same JSON key (zigbee2mqtt and
  Home Assistant's JSON light echo the keys they take: ``brightness``,
  ``occupied_heating_setpoint``, ``volume``), or the whole payload for a text
  command (``home/thermostat/target_temp`` carries ``21.5``);
* the command's transform of that argument is inverted (brightness 0..254 ->
  0..100 percent), and a light whose JSON ``state`` is ``OFF`` is at 0.

A device reached through Home Assistant's WebSocket API (``style =
"homeassistant_api"``) has no state topic: the Home Assistant link keeps its
entity's state here (:meth:`DeviceStates.set_entity`, the attributes with the
state under ``state``), and the value is the attribute named like the service
data key of the absolute call (``temperature``; ``volume_level``, 0..1, whose
transform is inverted to percent).

Everything here is data arriving from the network: a value is used only when it
is a finite number, and the absolute call built from it is clamped and then
validated against the catalog like any other call.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from octohome.core.targets import Transform

MAX_STATE_BYTES = 65536
"""A state payload larger than this is ignored (a zigbee2mqtt state is ~1 KB)."""


@dataclass(frozen=True)
class Seen:
    """The last message on one state topic."""

    at: float
    """``time.monotonic()`` when it arrived."""

    text: str
    fields: dict[str, Any] | None
    """A JSON object state, merged over the earlier ones of the topic (a partial
    update such as ``{"state": "OFF"}`` keeps the brightness last reported)."""


class DeviceStates:
    """Last message per state topic; thread-safe (paho's thread writes, callers read)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, Seen] = {}

    def update(self, topic: str, payload: bytes) -> bool:
        """Record a state message; False when it is ignored (too large, not UTF-8)."""
        if len(payload) > MAX_STATE_BYTES:
            return False
        try:
            text = payload.decode("utf-8").strip()
        except UnicodeDecodeError:
            return False
        fields: dict[str, Any] | None = None
        if text.startswith("{"):
            try:
                data = json.loads(text)
            except ValueError:
                data = None
            if isinstance(data, dict):
                fields = data
        with self._lock:
            old = self._seen.get(topic)
            if fields is not None and old is not None and old.fields is not None:
                fields = {**old.fields, **fields}
            self._seen[topic] = Seen(time.monotonic(), text, fields)
        return True

    def set_entity(self, entity_id: str, state: str, attributes: dict[str, Any]) -> None:
        """Record a Home Assistant entity's whole state (it replaces the last one: Home
        Assistant always sends every attribute)."""
        fields = {**attributes, "state": state}
        with self._lock:
            self._seen[entity_key(entity_id)] = Seen(time.monotonic(), state, fields)

    def get(self, topic: str) -> Seen | None:
        with self._lock:
            return self._seen.get(topic)

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)


def entity_key(entity_id: str) -> str:
    """Where a Home Assistant entity's state is kept in :class:`DeviceStates`, beside
    the MQTT state topics (a topic could be spelt like this, but none of a device
    mapping is: state topics end where a command topic's ``/set`` was)."""
    return f"hass:{entity_id}"


@dataclass(frozen=True)
class Reading:
    """A device's current value, in the unit of the function's argument."""

    value: float
    off: bool = False
    """A light that reports itself off (its value then counts as 0)."""


@dataclass(frozen=True)
class StateSource:
    """Where and how one device's current value of one argument is read back."""

    device: str
    topics: tuple[str, ...]
    path: tuple[str, ...]
    """JSON keys down to the value; empty: the whole payload is the number."""

    transform: Transform | None = None
    """The command's transform of the argument, inverted on reading."""

    switch_key: str | None = None
    """JSON key saying ``ON``/``OFF`` (lights), or None."""

    entity_id: str | None = None
    """A Home Assistant entity (``style = "homeassistant_api"``) instead of topics."""

    @property
    def keys(self) -> tuple[str, ...]:
        """Where its state is kept in :class:`DeviceStates`."""
        return self.topics if self.entity_id is None else (entity_key(self.entity_id),)

    def read(self, states: DeviceStates) -> Reading | None:
        """The current value from the newest topic that carries one; None: unknown."""
        seen = [s for s in (states.get(t) for t in self.keys) if s is not None]
        for s in sorted(seen, key=lambda x: x.at, reverse=True):
            reading = self._read(s)
            if reading is not None:
                return reading
        return None

    def _read(self, seen: Seen) -> Reading | None:
        off = False
        if self.path:
            if seen.fields is None:
                return None
            if self.switch_key is not None:
                switch = seen.fields.get(self.switch_key)
                off = isinstance(switch, str) and switch.upper() == "OFF"
            node: Any = seen.fields
            for key in self.path:
                node = node.get(key) if isinstance(node, dict) else None
            raw = node
        else:
            try:
                raw = float(seen.text)
            except ValueError:
                return None
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            if off:  # an off light need not report a brightness
                return Reading(0.0, off=True)
            return None
        value = float(raw)
        if not math.isfinite(value):
            return None
        inverted = _invert(self.transform, value)
        if inverted is None:
            return None
        return Reading(inverted, off=off)


def _invert(transform: Transform | None, value: float) -> float | None:
    """The argument value that the transform would have turned into ``value``."""
    if transform is None:
        return value
    if transform.map is not None:
        keys = [k for k, v in transform.map.items()
                if isinstance(v, int | float) and not isinstance(v, bool) and v == value]
        try:
            return float(keys[0]) if keys else None
        except ValueError:
            return None
    if transform.input is not None and transform.output is not None:
        (a, b), (c, d) = transform.input, transform.output
        if c == d:
            return None
        return a + (value - c) * (b - a) / (d - c)
    return value
