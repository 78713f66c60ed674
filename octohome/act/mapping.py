"""Command mapping: from a validated call to the MQTT messages that carry it out.

Each device (and scene) in ``devices/`` has an ``mqtt`` table saying where its
commands go and in which convention. Two conventions come built in as presets,
so a device usually needs only a style and a topic:

* ``zigbee2mqtt``: JSON to ``<topic>/set`` (``{"state": "ON"}``,
  ``{"brightness": 127}``, ``{"color": {"r": 255, ...}}``, ``{"position": 50}``,
  ``{"state": "LOCK"}``, ``{"occupied_heating_setpoint": 21}``,
  ``{"system_mode": "heat"}``, ``{"fan_mode": "low"}``);
* ``homeassistant``: what Home Assistant itself would publish to an MQTT entity
  (JSON-schema light on ``command_topic``; plain ``ON``/``OFF`` switch; cover
  ``OPEN``/``CLOSE`` and ``set_position_topic``; climate
  ``temperature_command_topic`` / ``mode_command_topic``; fan ``ON``/``OFF`` and
  ``percentage_command_topic`` / ``preset_mode_command_topic``; lock; scene).

Anything else, or any deviation, is written as data in the device's
``commands`` table: topic, payload template and value transforms per function.
The presets are expressed in exactly the same model (:class:`CommandSpec`), so
there is one rendering path to trust.

Relative changes (``light.step_brightness``, ``media.step_volume``,
``climate.step_temperature``) use the device's own relative command where its
mapping has one (the zigbee2mqtt preset: ``{"brightness_step": N}``, percent
points on the 0..254 scale; or a ``commands`` entry of the device). Otherwise
the step is added to the value the device last reported on its state topic
(:mod:`octohome.act.state`), clamped to the range of the absolute function
(``light.set_brightness`` 1..100: dimming never turns a light off), and sent as
that absolute command; with no state seen the call is :class:`Refused`.

A device reached through Home Assistant's WebSocket API (``style =
"homeassistant_api"``, the entity's ``entity_id``) gets a :class:`ServiceCall`
instead of messages: ``light.turn_on`` with ``brightness_pct``, ``color_name``
or ``brightness_step_pct`` (Home Assistant's own relative command, so a light
step needs no state), ``cover.set_cover_position``, ``climate.set_temperature``
/ ``set_hvac_mode``, ``fan.set_percentage``, ``media_player.volume_set``,
``scene.turn_on``, ... (:data:`SERVICE_PRESETS`); a device's ``services`` table
replaces a preset per function. A volume or temperature step is computed from
the entity's state in Home Assistant (its ``volume_level`` or ``temperature``
attribute, read where the absolute call puts the value), as for MQTT devices.

Safety: a payload template can only reference *argument names* of the function,
and it is filled with the arguments after ``Catalog.validate_call`` (then
transformed by data from the catalog). Topics never contain argument values.
Nothing the user said is ever copied into a topic or a payload.
"""

from __future__ import annotations

import colorsys
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from pydantic import JsonValue

from octohome.act.state import StateSource
from octohome.core.targets import (
    CommandSpec,
    MappingError,
    MqttTarget,
    ServiceSpec,
    number_text,
)

if TYPE_CHECKING:
    from octohome.act.state import DeviceStates
    from octohome.core.calls import Call
    from octohome.core.catalog import Catalog

_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
"""``{name}`` in a payload template: replaced by the (transformed) argument."""

@dataclass(frozen=True)
class Message:
    """One MQTT publication, ready for the client."""

    topic: str
    payload: bytes
    qos: int = 1
    """Commands go at QoS 1: the broker acknowledges, the client resends until it does."""

    retain: bool = False
    """Commands are never retained: a restarted device must not replay an old command."""


@dataclass(frozen=True)
class ServiceCall:
    """One Home Assistant service call, ready for the WebSocket API (``call_service``)."""

    domain: str
    service: str
    entity_id: str
    """The target: always the device's (or scene's) own entity."""

    data: Mapping[str, Any]
    """Service data from validated, transformed arguments only."""

    def message(self) -> dict[str, Any]:
        """The ``call_service`` command, without its ``id``."""
        return {"type": "call_service", "domain": self.domain, "service": self.service,
                "service_data": dict(self.data), "target": {"entity_id": self.entity_id}}

    def __str__(self) -> str:
        args = "".join(f", {k}={v}" for k, v in self.data.items())
        return f"{self.domain}.{self.service}({self.entity_id}{args})"


# -- presets -------------------------------------------------------------------------

COLORS_RGB: dict[str, tuple[int, int, int]] = {
    "red": (255, 0, 0),
    "orange": (255, 165, 0),
    "yellow": (255, 255, 0),
    "green": (0, 255, 0),
    "blue": (0, 0, 255),
    "purple": (128, 0, 128),
    "pink": (255, 192, 203),
    "white": (255, 255, 255),
}
"""Colour names of the demo home (the light.set_color enum) as sRGB."""


def _rgb_to_xy(rgb: tuple[int, int, int]) -> tuple[float, float]:
    """CIE 1931 xy of an sRGB colour (what zigbee bulbs take as ``color.x/y``)."""

    def lin(c: int) -> float:
        v = c / 255
        return ((v + 0.055) / 1.055) ** 2.4 if v > 0.04045 else v / 12.92

    r, g, b = (lin(c) for c in rgb)
    x = r * 0.4124 + g * 0.3576 + b * 0.1805
    y = r * 0.2126 + g * 0.7152 + b * 0.0722
    z = r * 0.0193 + g * 0.1192 + b * 0.9505
    total = x + y + z
    return (round(x / total, 4), round(y / total, 4)) if total else (0.3127, 0.329)


def color_value(name: str, mode: str, style: str) -> dict[str, JsonValue]:
    """The ``color`` object for a colour name in a colour mode and convention."""
    rgb = COLORS_RGB[name]
    if mode == "rgb":
        return {"r": rgb[0], "g": rgb[1], "b": rgb[2]}
    if mode == "hs":
        h, s, _ = colorsys.rgb_to_hsv(*(c / 255 for c in rgb))
        hue, sat = round(h * 360), round(s * 100)
        return {"hue": hue, "saturation": sat} if style == "zigbee2mqtt" else {"h": hue, "s": sat}
    x, y = _rgb_to_xy(rgb)
    return {"x": x, "y": y}


def _percent(top: int) -> dict[str, Any]:
    return {"input": (0, 100), "output": (0, top), "digits": 0}


_Raw = dict[str, Any]
_PRESETS: dict[str, dict[str, tuple[_Raw, ...]]] = {
    "zigbee2mqtt": {
        "light.turn_on": ({"payload": {"state": "ON"}},),
        "light.turn_off": ({"payload": {"state": "OFF"}},),
        "light.set_brightness": ({"payload": {"brightness": "{brightness}"}, "_bright": 254},),
        # zigbee2mqtt's own relative command: brightness points on its 0..254 scale.
        "light.step_brightness": (
            {"payload": {"brightness_step": "{step}"}, "_bright": 254, "_arg": "step"},
        ),
        "light.set_color": ({"payload": {"color": "{color}"}, "_color": True},),
        "switch.turn_on": ({"payload": {"state": "ON"}},),
        "switch.turn_off": ({"payload": {"state": "OFF"}},),
        "cover.open": ({"payload": {"state": "OPEN"}},),
        "cover.close": ({"payload": {"state": "CLOSE"}},),
        "cover.set_position": ({"payload": {"position": "{position}"}},),
        "climate.set_temperature": (
            {"payload": {"occupied_heating_setpoint": "{temperature}"}},
        ),
        "climate.set_mode": ({"payload": {"system_mode": "{mode}"}},),
        "lock.lock": ({"payload": {"state": "LOCK"}},),
        "lock.unlock": ({"payload": {"state": "UNLOCK"}},),
        "fan.turn_on": ({"payload": {"fan_mode": "on"}},),
        "fan.turn_off": ({"payload": {"fan_mode": "off"}},),
        "fan.set_speed": ({"payload": {"fan_mode": "{speed}"}},),
    },
    "homeassistant": {
        "light.turn_on": ({"topic": "@command_topic", "payload": {"state": "ON"}},),
        "light.turn_off": ({"topic": "@command_topic", "payload": {"state": "OFF"}},),
        "light.set_brightness": (
            {
                "topic": "@command_topic",
                "payload": {"state": "ON", "brightness": "{brightness}"},
                "_bright": 255,
            },
        ),
        "light.set_color": (
            {
                "topic": "@command_topic",
                "payload": {"state": "ON", "color": "{color}"},
                "_color": True,
            },
        ),
        "switch.turn_on": ({"topic": "@command_topic", "payload": "ON", "format": "text"},),
        "switch.turn_off": ({"topic": "@command_topic", "payload": "OFF", "format": "text"},),
        "cover.open": ({"topic": "@command_topic", "payload": "OPEN", "format": "text"},),
        "cover.close": ({"topic": "@command_topic", "payload": "CLOSE", "format": "text"},),
        "cover.set_position": (
            {"topic": "@set_position_topic", "payload": "{position}", "format": "text"},
        ),
        "climate.set_temperature": (
            {"topic": "@temperature_command_topic", "payload": "{temperature}", "format": "text"},
        ),
        "climate.set_mode": (
            {"topic": "@mode_command_topic", "payload": "{mode}", "format": "text"},
        ),
        "lock.lock": ({"topic": "@command_topic", "payload": "LOCK", "format": "text"},),
        "lock.unlock": ({"topic": "@command_topic", "payload": "UNLOCK", "format": "text"},),
        "fan.turn_on": ({"topic": "@command_topic", "payload": "ON", "format": "text"},),
        "fan.turn_off": ({"topic": "@command_topic", "payload": "OFF", "format": "text"},),
        "fan.set_speed": (
            {
                "topic": "@percentage_command_topic",
                "payload": "{speed}",
                "format": "text",
                "transforms": {"speed": {"map": {"low": 33, "medium": 67, "high": 100}}},
            },
        ),
        "scene.activate": ({"topic": "@command_topic", "payload": "ON", "format": "text"},),
    },
}
"""Built-in mappings per style and function (keys starting with ``_`` are filled per device)."""

SERVICE_PRESETS: dict[str, _Raw] = {
    "light.turn_on": {"service": "light.turn_on"},
    "light.turn_off": {"service": "light.turn_off"},
    "light.set_brightness": {"service": "light.turn_on",
                             "data": {"brightness_pct": "{brightness}"}},
    # Home Assistant's own relative command, in percent points like the function.
    "light.step_brightness": {"service": "light.turn_on",
                              "data": {"brightness_step_pct": "{step}"}},
    "light.set_color": {"service": "light.turn_on", "data": {"color_name": "{color}"}},
    "switch.turn_on": {"service": "switch.turn_on"},
    "switch.turn_off": {"service": "switch.turn_off"},
    "cover.open": {"service": "cover.open_cover"},
    "cover.close": {"service": "cover.close_cover"},
    "cover.set_position": {"service": "cover.set_cover_position",
                           "data": {"position": "{position}"}},
    "climate.set_temperature": {"service": "climate.set_temperature",
                                "data": {"temperature": "{temperature}"}},
    "climate.set_mode": {"service": "climate.set_hvac_mode", "data": {"hvac_mode": "{mode}"}},
    "lock.lock": {"service": "lock.lock"},
    "lock.unlock": {"service": "lock.unlock"},
    "fan.turn_on": {"service": "fan.turn_on"},
    "fan.turn_off": {"service": "fan.turn_off"},
    "fan.set_speed": {"service": "fan.set_percentage", "data": {"percentage": "{speed}"},
                      "transforms": {"speed": {"map": {"low": 33, "medium": 67, "high": 100}}}},
    "media.play": {"service": "media_player.media_play"},
    "media.pause": {"service": "media_player.media_pause"},
    # volume_level is 0..1 in Home Assistant; its state reports it the same way.
    "media.set_volume": {"service": "media_player.volume_set",
                         "data": {"volume_level": "{volume}"},
                         "transforms": {"volume": {"input": (0, 100), "output": (0, 1),
                                                   "digits": 2}}},
    "scene.activate": {"service": "scene.turn_on"},
}
"""Home Assistant service calls per function (``style = "homeassistant_api"``). The volume
and temperature steps have none: they are computed from the entity's state."""


def service_spec(target: MqttTarget, function: str) -> tuple[ServiceSpec | None, bool]:
    """The service call spec of a function and whether it comes from a preset."""
    if function in target.services:
        return target.services[function], False
    raw = SERVICE_PRESETS.get(function) if target.style == "homeassistant_api" else None
    if raw is None:
        return None, False
    transforms = dict(raw.get("transforms", {}))
    transforms.update({k: v.model_dump(exclude_none=True) for k, v in target.transforms.items()})
    return ServiceSpec.model_validate({**raw, "transforms": transforms}), True


def render_service(target: MqttTarget, function: str, spec: ServiceSpec,
                   arguments: Mapping[str, Any], *, preset: bool = False) -> ServiceCall:
    """The service call of one function from validated arguments.

    A preset's domain must be the entity's: a light function on a ``switch.``
    entity (a lamp on a smart plug) is switched with ``homeassistant.turn_on`` /
    ``turn_off``, which Home Assistant dispatches by domain; any other function
    on an entity of another domain is a mapping error (say which service in
    ``services``)."""
    assert target.entity_id is not None
    transforms = dict(spec.transforms) if preset else {**target.transforms, **spec.transforms}
    values = {
        name: (transforms[name].apply(name, v) if name in transforms else v)
        for name, v in arguments.items()
    }
    domain, service = spec.domain, spec.name
    entity_domain = target.entity_id.split(".", 1)[0]
    if preset and domain != entity_domain:
        if service in ("turn_on", "turn_off") and not spec.data:
            domain = "homeassistant"
        else:
            raise MappingError(
                f"{function}: {target.entity_id} is not a {domain} entity, and the preset"
                f" calls {spec.service} (say which service in services.\"{function}\")")
    data = _fill(spec.data, values)
    return ServiceCall(domain, service, target.entity_id, data)


def has_own_command(target: MqttTarget, function: str) -> bool:
    """Does the mapping carry this function itself (messages or a service call)?
    For a step function, False means it is computed from the device's state."""
    return bool(specs_of(target, function)[0]) or service_spec(target, function)[0] is not None


def specs_of(target: MqttTarget, function: str) -> tuple[tuple[CommandSpec, ...], bool]:
    """The message specs of a function and whether they come from a preset."""
    if function in target.commands:
        own = target.commands[function]
        return (own if isinstance(own, tuple) else (own,)), False
    preset = _PRESETS.get(target.style, {}).get(function)
    if preset is None:
        return (), False
    return tuple(_preset_spec(target, function, raw) for raw in preset), True


def _preset_spec(target: MqttTarget, function: str, raw: _Raw) -> CommandSpec:
    data = {k: v for k, v in raw.items() if not k.startswith("_")}
    transforms = dict(data.pop("transforms", {}))
    if "_bright" in raw:
        transforms[raw.get("_arg", "brightness")] = _percent(
            target.brightness_scale or raw["_bright"])
    if raw.get("_color"):
        transforms["color"] = {
            "map": {n: color_value(n, target.color_mode, target.style) for n in COLORS_RGB}
        }
    # Device-level transforms override the preset's own (mode names, inverted covers).
    transforms.update({k: v.model_dump(exclude_none=True) for k, v in target.transforms.items()})
    return CommandSpec.model_validate({**data, "transforms": transforms})


# -- rendering -----------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number_text(value)
    return json.dumps(value, separators=(",", ":"))


def _fill(template: Any, values: Mapping[str, Any]) -> Any:
    """Replace placeholders in a JSON template; unknown names are a mapping error."""
    if isinstance(template, dict):
        return {k: _fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, values) for v in template]
    if not isinstance(template, str):
        return template
    whole = _PLACEHOLDER.fullmatch(template)
    if whole:
        name = whole.group(1)
        if name not in values:
            raise MappingError(f"payload placeholder {{{name}}} is not an argument")
        return values[name]

    def sub(m: re.Match[str]) -> str:
        if m.group(1) not in values:
            raise MappingError(f"payload placeholder {{{m.group(1)}}} is not an argument")
        return _text(values[m.group(1)])

    return _PLACEHOLDER.sub(sub, template)


def render(target: MqttTarget, spec: CommandSpec, arguments: Mapping[str, Any], *,
           preset: bool = False) -> Message:
    """One message from one spec and validated arguments."""
    transforms = dict(spec.transforms) if preset else {**target.transforms, **spec.transforms}
    values = {
        name: (transforms[name].apply(name, v) if name in transforms else v)
        for name, v in arguments.items()
    }
    filled = _fill(spec.payload, values)
    if spec.format == "json":
        payload = json.dumps(filled, separators=(",", ":"), ensure_ascii=False).encode()
    else:
        payload = _text(filled).encode()
    return Message(target.resolve_topic(spec.topic), payload, spec.qos, spec.retain)


def target_of(catalog: Catalog, function: str, arguments: Mapping[str, Any]) -> MqttTarget:
    """The mqtt table that a (validated) call goes to: its device's, or its scene's."""
    if "device" in arguments:
        target = catalog.device_by_id[arguments["device"]].mqtt
        owner = f"device {arguments['device']!r}"
    elif "scene" in arguments:
        scene = next(s for s in catalog.scenes if s.id == arguments["scene"])
        target, owner = scene.mqtt, f"scene {scene.id!r}"
    else:
        raise MappingError(f"{function}: no device or scene to send to")
    if target is None:
        raise MappingError(f"{owner} has no mqtt table; {function} is only reported")
    return target


# -- relative changes ----------------------------------------------------------------


@dataclass(frozen=True)
class Relative:
    """A step function and the absolute function whose argument it moves."""

    absolute: str
    """``light.set_brightness`` for ``light.step_brightness``."""

    arg: str
    """The absolute function's argument the step is added to."""

    quantity: str
    """What is changed, in words ("brightness"), for the reasons people are told."""


RELATIVE: dict[str, Relative] = {
    "light.step_brightness": Relative("light.set_brightness", "brightness", "brightness"),
    "media.step_volume": Relative("media.set_volume", "volume", "volume"),
    "climate.step_temperature": Relative(
        "climate.set_temperature", "temperature", "target temperature"),
}
"""Step functions of the catalog and how they are carried out from a known state."""


class Refused(ValueError):
    """A call that is valid and mapped but not carried out now, for a reason a person
    is told (a relative change to a device whose current value is not known yet)."""


@dataclass(frozen=True)
class Plan:
    """The messages of one call, and the absolute call they carry when a relative
    change was computed from the device's last state (None otherwise)."""

    messages: list[Message]
    sent_as: Call | None = None
    service: ServiceCall | None = None
    """The Home Assistant service call (``style = "homeassistant_api"``): no messages then."""


def _placeholder_path(template: Any, name: str) -> tuple[str, ...] | None:
    """Where ``"{name}"`` stands alone in a JSON template: its keys (() for the whole)."""
    if isinstance(template, str):
        return () if template == "{" + name + "}" else None
    if isinstance(template, dict):
        for key, value in template.items():
            sub = _placeholder_path(value, name)
            if sub is not None:
                return (key, *sub)
    return None


def state_source(catalog: Catalog, device: str, function: str) -> StateSource:
    """Where the current value behind a step function is read for a device (see
    :mod:`octohome.act.state`). Raises MappingError when it cannot be derived."""
    rel = RELATIVE[function]
    target = target_of(catalog, function, {"device": device})
    if target.style == "homeassistant_api":
        return _entity_source(target, device, function)
    specs, preset = specs_of(target, rel.absolute)
    for spec in specs:
        path = _placeholder_path(spec.payload, rel.arg)
        if path is None:
            continue
        topic = target.resolve_topic(spec.topic)
        if not topic.endswith("/set") or topic == "/set":
            raise MappingError(
                f"{function}: {device!r} has no relative command and its {rel.absolute}"
                f" topic {topic!r} does not end in /set, so no state topic can be derived")
        base = topic[: -len("/set")]
        topics = (base,) if target.style == "zigbee2mqtt" else (base, f"{base}/state")
        transforms = dict(spec.transforms) if preset else {**target.transforms,
                                                          **spec.transforms}
        switch = "state" if function.startswith("light.") and path else None
        return StateSource(device, topics, path, transforms.get(rel.arg), switch)
    payloads = ", ".join(json.dumps(spec.payload) for spec in specs) or "none"
    raise MappingError(
        f"{function}: {device!r} has no relative command, and its {rel.absolute} payload"
        f" ({payloads}) does not carry {{{rel.arg}}} alone, so its state cannot be read back")


def _entity_source(target: MqttTarget, device: str, function: str) -> StateSource:
    """A Home Assistant entity's value behind a step: the state attribute named like
    the service data key of the absolute call (``temperature``, ``volume_level``)."""
    rel = RELATIVE[function]
    spec, preset = service_spec(target, rel.absolute)
    path = _placeholder_path(spec.data, rel.arg) if spec is not None else None
    if spec is None or not path:
        shown = json.dumps(spec.data) if spec is not None else "none"
        raise MappingError(
            f"{function}: {device!r} has no service for it, and its {rel.absolute} service"
            f" data ({shown}) does not carry {{{rel.arg}}} under a key, so the entity's"
            " attribute cannot be read back")
    transforms = dict(spec.transforms) if preset else {**target.transforms, **spec.transforms}
    return StateSource(device, (), path, transforms.get(rel.arg), None,
                       entity_id=target.entity_id)


def state_sources(catalog: Catalog) -> list[StateSource]:
    """Every state the link must follow: devices with a step function and no relative
    command of their own (those that cannot be read back are left out)."""
    out: list[StateSource] = []
    for function in RELATIVE:
        if function not in catalog.functions:
            continue
        for device in catalog.signature(function).device_ids:
            target = catalog.device_by_id[device].mqtt
            if target is None or has_own_command(target, function):
                continue
            try:
                out.append(state_source(catalog, device, function))
            except MappingError:
                continue
    return out


def _from_state(catalog: Catalog, function: str, arguments: Mapping[str, Any],
                states: DeviceStates | None) -> Call:
    """The absolute call a step becomes from the device's last state (clamped)."""
    from octohome.core.calls import Call

    rel = RELATIVE[function]
    device = arguments["device"]
    source = state_source(catalog, device, function)
    dev = catalog.device_by_id[device]
    reading = source.read(states) if states is not None else None
    if reading is None:
        raise Refused(f"I don't know the {dev.name}'s {rel.quantity} yet")
    step = float(arguments["step"])
    if reading.off and step < 0:
        raise Refused(f"the {dev.name} is off: nothing to turn down")
    spec = next(a for a in catalog.signature(rel.absolute).args if a.name == rel.arg)
    assert spec.min is not None and spec.max is not None
    grid = spec.step if spec.kind == "number" and spec.step else 1.0
    value = (0.0 if reading.off else reading.value) + step
    steps = Decimal(str((value - spec.min) / grid)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    value = min(spec.max, max(spec.min, spec.min + float(steps) * grid))
    number: int | float = int(value) if spec.kind == "int" or value.is_integer() else value
    return Call(rel.absolute, {"device": device, rel.arg: number})


def plan_messages(catalog: Catalog, call: Call, states: DeviceStates | None = None) -> Plan:
    """The messages that carry out a call; none for "not a command".

    The arguments are validated again here (``Catalog.validate_call``): this is
    the last gate before the broker, so it does not trust its caller. A step
    function goes out as the device's own relative command where its mapping has
    one, else as the absolute command computed from ``states`` (the last state
    the device reported). Raises ``Refused`` when that state is not known,
    ``MappingError`` when the catalog has no mapping, ``ValueError`` otherwise.
    """
    if call.function is None:
        return Plan([])
    arguments = catalog.validate_call(call.function, dict(call.arguments))
    target = target_of(catalog, call.function, arguments)
    if not has_own_command(target, call.function) and call.function in RELATIVE:
        absolute = _from_state(catalog, call.function, arguments, states)
        inner = plan_messages(catalog, absolute)
        return Plan(inner.messages, absolute, inner.service)
    if target.style == "homeassistant_api":
        spec, preset = service_spec(target, call.function)
        if spec is None:
            raise MappingError(
                f"{call.function}: no service for it in the homeassistant_api mqtt table"
                f" (add services.\"{call.function}\")")
        return Plan([], service=render_service(target, call.function, spec, arguments,
                                               preset=preset))
    specs, preset = specs_of(target, call.function)
    if not specs:
        raise MappingError(
            f"{call.function}: no mapping in the {target.style} mqtt table"
            f" (add commands.\"{call.function}\")"
        )
    return Plan([render(target, spec, arguments, preset=preset) for spec in specs])


def build_messages(catalog: Catalog, call: Call,
                   states: DeviceStates | None = None) -> list[Message]:
    """The messages that carry out a call; [] for "not a command" (see :func:`plan_messages`)."""
    return plan_messages(catalog, call, states).messages


def _all_calls(catalog: Catalog) -> Iterator[tuple[str, dict[str, Any]]]:
    from itertools import product

    from octohome.core.catalog import arg_values

    for function in catalog.function_names:
        sig = catalog.signature(function)
        choices: list[list[tuple[str, Any]]] = []
        if sig.device_ids:
            choices.append([("device", d) for d in sig.device_ids])
        for arg in sig.args:
            vals = arg_values(arg, sig.scene_ids)
            typed = [v if arg.kind in ("enum", "scene") else float(v) for v in vals]
            choices.append([(arg.name, v) for v in typed])
        for combo in product(*choices):
            yield function, dict(combo)


def check_mapping(catalog: Catalog) -> list[str]:
    """Render every allowed call once; return the problems (empty: all map).

    The argument ranges are finite, so this proves that no validated call can
    fail to map at runtime. Calls to devices without an ``mqtt`` table are
    skipped: they are deliberately report-only.
    """
    from octohome.core.calls import Call

    problems: set[str] = set()
    checked: set[tuple[str, str]] = set()
    for function, arguments in _all_calls(catalog):
        if function in RELATIVE:
            # No relative command of its own: its state must be readable (once per device).
            device = arguments["device"]
            target = catalog.device_by_id[device].mqtt
            if target is not None and not has_own_command(target, function):
                if (function, device) not in checked:
                    checked.add((function, device))
                    try:
                        state_source(catalog, device, function)
                    except MappingError as exc:
                        problems.add(f"{function} {device}: {exc}")
                continue
        try:
            build_messages(catalog, Call(function, arguments))
        except MappingError as exc:
            if "has no mqtt table" not in str(exc):
                owner = arguments.get("device") or arguments.get("scene")
                problems.add(f"{function} {owner}: {exc}")
        except ValueError as exc:
            problems.add(f"{function}: {exc}")
    return sorted(problems)
