"""The ``mqtt`` table of a device or scene, as the catalog validates it.

Despite its name the table also says when a device is reached through Home
Assistant's WebSocket API instead of MQTT (``style = "homeassistant_api"``, the
entity's ``entity_id`` and optional ``services`` overrides): it is the one place
a catalog says where a device's commands go.

Why here and not beside the code that builds messages (``octohome.act.mapping``):
the catalog validates these tables when it loads (errors name the file and
field), and the catalog is shared by every stage, so its schema must not
depend on the acting stage. The presets and rendering stay in ``act``.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator


class MappingError(ValueError):
    """A call cannot be turned into MQTT messages (no mapping, or a bad one)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


HA_TOPIC_DEFAULTS: dict[str, str] = {
    "command_topic": "~/set",
    "set_position_topic": "~/position/set",
    "temperature_command_topic": "~/temperature/set",
    "mode_command_topic": "~/mode/set",
    "percentage_command_topic": "~/percentage/set",
    "preset_mode_command_topic": "~/preset/set",
}
"""Home Assistant topic options and where they point when the device names none."""


def check_topic(topic: str, where: str) -> None:
    """Reject topics a broker would refuse or treat as a filter, before any publish."""
    if not topic or "+" in topic or "#" in topic or "\0" in topic:
        raise ValueError(f"{where}: {topic!r} is not a valid MQTT topic to publish on")
    if len(topic.encode()) > 65535:
        raise ValueError(f"{where}: topic is longer than MQTT allows")


class Transform(_Strict):
    """How an argument value becomes the value the receiver expects.

    Applied in order: ``map`` (and nothing else when it matches), then the
    linear rescale ``input`` -> ``output``, then rounding to ``digits``.
    """

    map: dict[str, JsonValue] | None = None
    """Replace a value by another: mode names (auto -> heat_cool), fan speeds, colours."""

    input: tuple[float, float] | None = None
    """Range of the argument for a rescale, e.g. [0, 100] percent."""

    output: tuple[float, float] | None = None
    """Range it maps onto, e.g. [0, 254]; [100, 0] inverts a cover position."""

    digits: int | None = Field(default=None, ge=0, le=6)
    """Round to this many decimals; 0 gives a whole number (half rounds up)."""

    @model_validator(mode="after")
    def _check(self) -> Transform:
        if (self.input is None) != (self.output is None):
            raise ValueError("input and output ranges come together")
        if self.input is not None and self.input[0] == self.input[1]:
            raise ValueError("input range must not be empty")
        return self

    def apply(self, name: str, value: Any) -> Any:
        if self.map is not None:
            key = value if isinstance(value, str) else number_text(value)
            if key not in self.map:
                raise MappingError(f"{name} = {value!r} has no entry in the transform map")
            return self.map[key]
        if self.input is not None and self.output is not None:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise MappingError(f"{name} = {value!r} cannot be rescaled")
            (a, b), (c, d) = self.input, self.output
            value = c + (value - a) * (d - c) / (b - a)
        if self.digits is not None and isinstance(value, int | float):
            exp = Decimal(1).scaleb(-self.digits)
            rounded = Decimal(str(value)).quantize(exp, rounding=ROUND_HALF_UP)
            value = int(rounded) if self.digits == 0 else float(rounded)
        return value


class CommandSpec(_Strict):
    """One MQTT message of a function: topic, payload template, transforms."""

    topic: str = "~/set"
    """``~`` stands for the device's base ``topic``; ``@name`` for one of its HA topic options."""

    payload: JsonValue
    """Template. JSON: a string ``"{arg}"`` becomes the typed value; text: ``{arg}`` is replaced."""

    format: Literal["json", "text"] = "json"
    """``json``: payload is serialized as JSON; ``text``: it must be a string, sent as is."""

    transforms: dict[str, Transform] = Field(default_factory=dict)
    """Per-argument transforms; they win over the device-level ``transforms``."""

    qos: Literal[0, 1, 2] = 1
    retain: bool = False

    @model_validator(mode="after")
    def _check(self) -> CommandSpec:
        if self.format == "text" and not isinstance(self.payload, str | int | float):
            raise ValueError("a text payload must be a string (or a number)")
        return self


ENTITY_ID = re.compile(r"^[a-z0-9_]+\.[a-z0-9_]+$")
"""A Home Assistant entity id (``light.kitchen``), and a service name (``light.turn_on``)."""


class ServiceSpec(_Strict):
    """One Home Assistant service call of a function (``style = "homeassistant_api"``).

    The entity is always the device's own ``entity_id`` (sent as the call's
    target), so a template cannot aim a call at another entity."""

    service: str
    """``domain.service``, e.g. ``fan.set_preset_mode``."""

    data: dict[str, JsonValue] = Field(default_factory=dict)
    """Service data template: a string ``"{arg}"`` becomes the typed (transformed) value."""

    transforms: dict[str, Transform] = Field(default_factory=dict)
    """Per-argument transforms; they win over the device-level ``transforms``."""

    @model_validator(mode="after")
    def _check(self) -> ServiceSpec:
        if not ENTITY_ID.match(self.service):
            raise ValueError(f"service {self.service!r} must be 'domain.service'")
        if "entity_id" in self.data:
            raise ValueError("service data must not name an entity_id: the call goes to the"
                             " device's own entity_id")
        return self

    @property
    def domain(self) -> str:
        return self.service.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.service.split(".", 1)[1]


class MqttTarget(_Strict):
    """The ``mqtt`` table of a device or scene: where and how its commands go."""

    style: Literal["zigbee2mqtt", "homeassistant", "custom", "homeassistant_api"] = "zigbee2mqtt"
    """Preset convention; ``custom`` has none, every function needs ``commands``;
    ``homeassistant_api``: service calls over Home Assistant's WebSocket API."""

    entity_id: str | None = None
    """``homeassistant_api``: the Home Assistant entity (``light.kitchen_lights``)."""

    services: dict[str, ServiceSpec] = Field(default_factory=dict)
    """``homeassistant_api``: function name -> service call; replaces the preset for it."""

    topic: str | None = None
    """Base topic (``~`` in templates): zigbee2mqtt ``zigbee2mqtt/<friendly name>``."""

    command_topic: str | None = None
    """Home Assistant options, as in the entity's YAML; default ``<topic>/set`` etc."""

    set_position_topic: str | None = None
    temperature_command_topic: str | None = None
    mode_command_topic: str | None = None
    percentage_command_topic: str | None = None
    preset_mode_command_topic: str | None = None

    color_mode: Literal["rgb", "hs", "xy"] = "rgb"
    """How light.set_color sends a colour name."""

    brightness_scale: int | None = Field(default=None, ge=1, le=65535)
    """Top of the brightness range (zigbee2mqtt 254, Home Assistant 255 by default)."""

    transforms: dict[str, Transform] = Field(default_factory=dict)
    """Per-argument transforms for every function of the device (e.g. mode names)."""

    commands: dict[str, CommandSpec | tuple[CommandSpec, ...]] = Field(default_factory=dict)
    """Function name -> message(s); replaces the preset for that function."""

    @model_validator(mode="after")
    def _check(self) -> MqttTarget:
        for field in ("topic", *HA_TOPIC_DEFAULTS):
            value = getattr(self, field)
            if value is not None:
                check_topic(value, field)
        for name in self.commands:
            if "." not in name:
                raise ValueError(f"commands key {name!r} must be a function name like 'media.play'")
        for name in self.services:
            if "." not in name:
                raise ValueError(f"services key {name!r} must be a function name like 'media.play'")
        if self.style == "homeassistant_api":
            if self.entity_id is None:
                raise ValueError("style homeassistant_api needs the entity_id it acts on")
            if not ENTITY_ID.match(self.entity_id):
                raise ValueError(f"entity_id {self.entity_id!r} is not a Home Assistant entity id"
                                 " like 'light.kitchen'")
            mqtt_only = [f for f in ("topic", "commands", *HA_TOPIC_DEFAULTS)
                         if getattr(self, f)]
            if mqtt_only:
                raise ValueError(f"style homeassistant_api sends no MQTT: {', '.join(mqtt_only)}"
                                 " would be ignored")
        elif self.entity_id is not None or self.services:
            raise ValueError("entity_id and services belong to style homeassistant_api")
        return self

    def resolve_topic(self, topic: str) -> str:
        """Expand ``@option`` and ``~`` into the concrete topic."""
        if topic.startswith("@"):
            option = topic[1:]
            if option not in HA_TOPIC_DEFAULTS:
                raise MappingError(f"unknown topic option {topic!r}")
            topic = getattr(self, option) or HA_TOPIC_DEFAULTS[option]
        if topic == "~" or topic.startswith("~/"):
            if self.topic is None:
                raise MappingError(f"topic {topic!r} needs a base 'topic' in the mqtt table")
            topic = self.topic + topic[1:]
        check_topic(topic, "topic")
        return topic


def number_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return format(Decimal(str(value)).normalize(), "f")
    return str(value)
