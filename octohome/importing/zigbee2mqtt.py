"""``octohome import zigbee2mqtt``: the devices zigbee2mqtt has, read from the broker.

zigbee2mqtt keeps its device list retained on ``<base>/bridge/devices`` (and its
groups on ``bridge/groups``, itself on ``bridge/info``): :func:`read_bridge` reads
them with one subscription, :func:`home_from_bridge` turns them into an
:class:`~octohome.importing.home.ImportedHome`.

Each device's ``exposes`` (zigbee2mqtt's documented schema) decides what it is:
a ``light`` (``state``, ``brightness``, ``color_xy``/``color_hs``), ``switch``,
``cover`` (``state`` OPEN/CLOSE, ``position``), ``climate``
(``occupied_heating_setpoint`` or ``current_heating_setpoint``, ``system_mode``),
``lock``, ``fan`` (``fan_mode``). Only features zigbee2mqtt can set (access bit 2)
count. A device exposing several of these (a double switch: ``endpoint`` l1 and
l2) becomes one catalog device per expose. The coordinator, disabled devices,
devices never interviewed or without a friendly name, and devices with nothing
to command (sensors, remotes) are skipped, each with its reason.

The mapping is ``style = "zigbee2mqtt"`` with topic ``<base>/<friendly_name>``;
``commands`` are written only where a device differs from the preset (an
endpoint's ``state_l1``, a TRV's ``current_heating_setpoint``), and a mode or
speed the device does not have is mapped to nothing (the call is rejected, never
sent). Rooms come from friendly names (``kitchen/ceiling_light``: room kitchen;
``upstairs/bedroom/lamp``: floor upstairs, room bedroom) or ``--room NAME=ROOM``.
Group scenes become scenes (``{"scene_recall": id}`` to the group's topic).
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from octohome.core.config import MqttConfig
from octohome.importing.home import (
    ImportedDevice,
    ImportedFloor,
    ImportedHome,
    ImportedRoom,
    ImportedScene,
    slug,
    spoken,
)

SOURCE = "zigbee2mqtt"
DEFAULT_BASE = "zigbee2mqtt"

ACCESS_SET = 2
"""zigbee2mqtt access bit: the feature can be set (published to ``<topic>/set``)."""

_TYPES = ("light", "switch", "cover", "climate", "lock", "fan")
_SETPOINTS = ("occupied_heating_setpoint", "current_heating_setpoint",
              "occupied_cooling_setpoint")
_MODES = ("heat", "cool", "auto", "off")
_SPEEDS = ("low", "medium", "high")


class BridgeError(RuntimeError):
    """The broker could not be read, or holds no zigbee2mqtt bridge."""


@dataclass
class Bridge:
    """What zigbee2mqtt keeps retained on ``<base>/bridge/...``."""

    base_topic: str
    devices: list[dict[str, Any]]
    groups: list[dict[str, Any]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    where: str = ""
    """host:port of the broker, for the catalog's header."""


# -- reading the broker -----------------------------------------------------------------


def read_bridge(cfg: MqttConfig, base_topic: str | None = None,
                timeout: float = 5.0) -> Bridge:
    """Read the retained bridge topics. Without ``base_topic``, every
    ``+/bridge/devices`` is looked at and the only one found is taken."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    got: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()
    subscribed = threading.Event()
    failed: list[str] = []
    bases = [base_topic] if base_topic else ["+"]
    topics = [f"{b}/bridge/{what}" for b in bases for what in ("devices", "groups", "info")]

    client = mqtt.Client(CallbackAPIVersion.VERSION2,
                         client_id=f"octohome-import-{uuid.uuid4().hex[:8]}")
    if cfg.username is not None:
        password = cfg.password.get_secret_value() if cfg.password is not None else None
        client.username_pw_set(cfg.username, password)
    if cfg.tls or cfg.ca_certs is not None or cfg.certfile is not None:
        client.tls_set(ca_certs=str(cfg.ca_certs) if cfg.ca_certs else None,
                       certfile=str(cfg.certfile) if cfg.certfile else None,
                       keyfile=str(cfg.keyfile) if cfg.keyfile else None)

    def on_connect(c: Any, u: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            failed.append(f"the broker refused the connection: {reason}")
            subscribed.set()
            return
        c.subscribe([(t, 0) for t in topics])

    def on_subscribe(*args: Any) -> None:
        subscribed.set()

    def on_message(c: Any, u: Any, msg: Any) -> None:
        base, _, what = msg.topic.rpartition("/bridge/")
        try:
            data = json.loads(msg.payload)
        except (ValueError, UnicodeDecodeError):
            return
        with lock:
            got.setdefault(base, {})[what] = data

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    where = f"{cfg.host}:{cfg.port}"
    try:
        client.connect(cfg.host, cfg.port, keepalive=30)
    except OSError as exc:
        raise BridgeError(f"cannot reach the MQTT broker at {where}: {exc}") from exc
    client.loop_start()
    try:
        if not subscribed.wait(timeout):
            raise BridgeError(f"the MQTT broker at {where} did not answer in {timeout:g} s")
        if failed:
            raise BridgeError(f"{where}: {failed[0]}")
        # retained messages follow the subscription at once; wait until each bridge
        # found is complete, or a short while for slow brokers
        end = time.monotonic() + min(timeout, 2.0)
        while time.monotonic() < end:
            with lock:
                done = got and all({"devices", "groups", "info"} <= set(v) for v in got.values())
            if done:
                break
            time.sleep(0.02)
        if not any("devices" in v for v in got.values()):
            end = time.monotonic() + timeout
            while time.monotonic() < end and not any("devices" in v for v in got.values()):
                time.sleep(0.05)
    finally:
        client.disconnect()
        client.loop_stop()
    found = {b: v for b, v in got.items() if isinstance(v.get("devices"), list)}
    if not found:
        where_base = f"'{base_topic}'" if base_topic else "any '<base>'"
        raise BridgeError(
            f"no retained {where_base}/bridge/devices on the broker at {where}: is"
            " zigbee2mqtt running and connected to it? (a base topic with a '/' in it:"
            " give it with --base-topic)")
    if len(found) > 1:
        raise BridgeError(f"several zigbee2mqtt bridges on {where} ({', '.join(sorted(found))}):"
                          " choose one with --base-topic")
    base, data = next(iter(found.items()))
    groups = data.get("groups")
    info = data.get("info")
    return Bridge(base, data["devices"], groups if isinstance(groups, list) else [],
                  info if isinstance(info, dict) else {}, where)


# -- exposes -> functions and mapping ------------------------------------------------------


def _settable(feature: Mapping[str, Any]) -> bool:
    return bool(int(feature.get("access", 0)) & ACCESS_SET)


def _find(features: list[dict[str, Any]], *names: str) -> dict[str, Any] | None:
    for name in names:
        for f in features:
            if f.get("name") == name and _settable(f):
                return f
    return None


def _percent(top: float) -> dict[str, Any]:
    return {"input": [0, 100], "output": [0, top], "digits": 0}


@dataclass
class _Expose:
    """One commandable expose: its catalog type, functions and mapping parts."""

    type: str
    endpoint: str | None
    functions: list[str] = field(default_factory=list)
    commands: dict[str, Any] = field(default_factory=dict)
    target: dict[str, Any] = field(default_factory=dict)
    """Device-level mqtt keys besides style and topic (color_mode, transforms, ...)."""

    def on_off(self, feature: dict[str, Any], on_fn: str, off_fn: str,
               on: str = "ON", off: str = "OFF") -> None:
        prop = str(feature.get("property", feature.get("name")))
        v_on = feature.get("value_on", on)
        v_off = feature.get("value_off", off)
        self.functions += [on_fn, off_fn]
        if prop != "state" or (v_on, v_off) != (on, off):
            self.commands[on_fn] = {"payload": {prop: v_on}}
            self.commands[off_fn] = {"payload": {prop: v_off}}


def _suffix(prop: str, endpoint: str | None) -> str:
    return f"{prop}_{endpoint}" if endpoint else prop


def _light(ex: _Expose, features: list[dict[str, Any]]) -> None:
    from octohome.act.mapping import COLORS_RGB, color_value

    state = _find(features, "state")
    if state is not None:
        ex.on_off(state, "light.turn_on", "light.turn_off")
    bright = _find(features, "brightness")
    if bright is not None:
        top = float(bright.get("value_max", 254))
        ex.functions += ["light.set_brightness", "light.step_brightness"]
        prop = str(bright.get("property", "brightness"))
        if prop != "brightness":
            ex.commands["light.set_brightness"] = {
                "payload": {prop: "{brightness}"}, "transforms": {"brightness": _percent(top)}}
            ex.commands["light.step_brightness"] = {
                "payload": {_suffix("brightness_step", ex.endpoint): "{step}"},
                "transforms": {"step": _percent(top)}}
        elif top != 254:
            ex.target["brightness_scale"] = int(top)
    color = _find(features, "color_xy", "color_hs")
    if color is not None:
        mode = "xy" if color.get("name") == "color_xy" else "hs"
        ex.functions.append("light.set_color")
        ex.target["color_mode"] = mode
        prop = str(color.get("property", "color"))
        if prop != "color":
            ex.commands["light.set_color"] = {
                "payload": {prop: "{color}"},
                "transforms": {"color": {"map": {
                    n: color_value(n, mode, "zigbee2mqtt") for n in COLORS_RGB}}}}


def _cover(ex: _Expose, features: list[dict[str, Any]]) -> None:
    state = _find(features, "state")
    values = [str(v) for v in (state or {}).get("values", [])]
    if state is not None and "OPEN" in values and "CLOSE" in values:
        ex.functions += ["cover.open", "cover.close"]
        prop = str(state.get("property", "state"))
        if prop != "state":
            ex.commands["cover.open"] = {"payload": {prop: "OPEN"}}
            ex.commands["cover.close"] = {"payload": {prop: "CLOSE"}}
    pos = _find(features, "position")
    if pos is not None:
        ex.functions.append("cover.set_position")
        prop = str(pos.get("property", "position"))
        if prop != "position":
            ex.commands["cover.set_position"] = {"payload": {prop: "{position}"}}


def _climate(ex: _Expose, features: list[dict[str, Any]]) -> None:
    setpoint = _find(features, *_SETPOINTS)
    if setpoint is not None:
        ex.functions += ["climate.set_temperature", "climate.step_temperature"]
        prop = str(setpoint.get("property", setpoint["name"]))
        if prop != "occupied_heating_setpoint":
            ex.commands["climate.set_temperature"] = {"payload": {prop: "{temperature}"}}
    mode = _find(features, "system_mode")
    if mode is not None:
        have = [m for m in _MODES if m in mode.get("values", [])]
        if have:
            ex.functions.append("climate.set_mode")
            prop = str(mode.get("property", "system_mode"))
            if prop != "system_mode":
                ex.commands["climate.set_mode"] = {"payload": {prop: "{mode}"}}
            if len(have) < len(_MODES):  # a mode it lacks is rejected, never sent
                ex.target.setdefault("transforms", {})["mode"] = {
                    "map": {m: m for m in have}}


def _fan(ex: _Expose, features: list[dict[str, Any]]) -> None:
    mode = _find(features, "mode", "fan_mode")
    values = [str(v) for v in (mode or {}).get("values", [])]
    prop = str((mode or {}).get("property", "fan_mode"))
    state = _find(features, "state", "fan_state")
    if mode is not None and prop == "fan_mode" and {"on", "off"} <= set(values):
        ex.functions += ["fan.turn_on", "fan.turn_off"]
    elif state is not None:
        ex.on_off(state, "fan.turn_on", "fan.turn_off")
        ex.commands.setdefault("fan.turn_on", {"payload": {
            str(state.get("property", "fan_state")): state.get("value_on", "ON")}})
        ex.commands.setdefault("fan.turn_off", {"payload": {
            str(state.get("property", "fan_state")): state.get("value_off", "OFF")}})
    elif mode is not None and {"on", "off"} <= set(values):
        ex.functions += ["fan.turn_on", "fan.turn_off"]
        ex.commands["fan.turn_on"] = {"payload": {prop: "on"}}
        ex.commands["fan.turn_off"] = {"payload": {prop: "off"}}
    have = [s for s in _SPEEDS if s in values]
    if mode is not None and have:
        ex.functions.append("fan.set_speed")
        if prop != "fan_mode":
            ex.commands["fan.set_speed"] = {"payload": {prop: "{speed}"}}
        if len(have) < len(_SPEEDS):
            ex.target.setdefault("transforms", {})["speed"] = {"map": {s: s for s in have}}


def _simple(ex: _Expose, features: list[dict[str, Any]]) -> None:
    state = _find(features, "state")
    if state is None:
        return
    if ex.type == "lock":
        ex.on_off(state, "lock.lock", "lock.unlock", "LOCK", "UNLOCK")
    else:
        ex.on_off(state, "switch.turn_on", "switch.turn_off")


_BUILDERS = {"light": _light, "switch": _simple, "cover": _cover, "climate": _climate,
             "lock": _simple, "fan": _fan}


def exposes_of(definition: Mapping[str, Any] | None) -> tuple[list[_Expose], list[str]]:
    """The commandable exposes of a device and the names of everything else."""
    out: list[_Expose] = []
    other: list[str] = []
    for item in (definition or {}).get("exposes", []) or []:
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind in _BUILDERS:
            ex = _Expose(str(kind), item.get("endpoint"))
            _BUILDERS[str(kind)](ex, [f for f in item.get("features", []) if isinstance(f, dict)])
            if ex.functions:
                out.append(ex)
                continue
        other.append(str(item.get("name") or item.get("property") or kind))
    return out, other


# -- devices -> an imported home ----------------------------------------------------------------


_ENDPOINT_WORDS = {"l": "", "left": "left", "right": "right", "center": "middle",
                   "top": "top", "bottom": "bottom"}


def _endpoint_words(endpoint: str) -> str:
    m = re.fullmatch(r"l(\d+)", endpoint)
    if m:
        return m.group(1)
    return _ENDPOINT_WORDS.get(endpoint, spoken(endpoint))


def _cover_class(name: str) -> str | None:
    words = set(name.lower().split())
    if "garage" in words:
        return "garage_door"
    if words & {"blind", "blinds", "shade", "shades", "curtain", "curtains", "shutter",
                "shutters", "roller"}:
        return "blind"
    return None


def home_from_bridge(bridge: Bridge, rooms: Mapping[str, str] | None = None) -> ImportedHome:
    """Devices, rooms and group scenes of a zigbee2mqtt bridge.

    ``rooms``: friendly name (or IEEE address) -> room name, over what the friendly
    name says.
    """
    overrides = {k.strip(): v.strip() for k, v in (rooms or {}).items()}
    version = bridge.info.get("version")
    origin = (f"zigbee2mqtt{' ' + str(version) if version else ''} on {bridge.where or 'MQTT'}"
              f" (base topic '{bridge.base_topic}')")
    home = ImportedHome(SOURCE, origin)
    room_keys: dict[str, ImportedRoom] = {}
    floor_keys: dict[str, ImportedFloor] = {}
    pending: list[tuple[dict[str, Any], _Expose, str, str, str | None]] = []
    used_overrides: set[str] = set()
    for dev in bridge.devices:
        if not isinstance(dev, dict):
            continue
        ieee = str(dev.get("ieee_address", ""))
        fname = str(dev.get("friendly_name", ieee))
        label = f"{fname!r}" if fname == ieee else f"{fname!r} ({ieee})"
        if dev.get("type") == "Coordinator":
            home.skipped.append(f"{label}: the coordinator")
            continue
        if dev.get("disabled"):
            home.skipped.append(f"{label}: disabled in zigbee2mqtt")
            continue
        if not dev.get("interview_completed", True) or not dev.get("definition"):
            home.skipped.append(f"{label}: not interviewed or not supported by zigbee2mqtt")
            continue
        exposes, other = exposes_of(dev["definition"])
        if not exposes:
            what = ", ".join(dict.fromkeys(other)) or "no exposes"
            home.skipped.append(f"{label}: nothing to command ({what})")
            continue
        if fname == ieee or not fname.strip("/"):
            home.skipped.append(f"{label}: no friendly name (rename it in zigbee2mqtt)")
            continue
        parts = [p for p in fname.split("/") if p.strip()]
        leaf = spoken(parts[-1])
        room = parts[-2] if len(parts) >= 2 else None
        floor = parts[-3] if len(parts) >= 3 else None
        in_name = room  # "kitchen/ceiling_light" is named "kitchen ceiling light"
        for k in (fname, ieee):
            if k in overrides:
                room, floor, in_name = overrides[k], None, None
                used_overrides.add(k)
                break
        room_key = None
        if room is not None:
            room_name = spoken(room)
            room_key = f"{SOURCE}:room/{slug(room_name, 'room')}"
            floor_key = None
            if floor is not None:
                floor_key = f"{SOURCE}:floor/{slug(spoken(floor), 'floor')}"
                floor_keys.setdefault(floor_key, ImportedFloor(floor_key, spoken(floor)))
            if room_key not in room_keys or (floor_key and room_keys[room_key].floor is None):
                room_keys[room_key] = ImportedRoom(room_key, room_name, floor_key)
        for ex in exposes:
            name = leaf
            if in_name is not None and not leaf.lower().startswith(spoken(in_name).lower()):
                name = f"{spoken(in_name)} {leaf}"
            if len(exposes) > 1:  # one device per expose: "wall switch left", "fan light"
                if ex.endpoint:
                    name = f"{name} {_endpoint_words(ex.endpoint)}".strip()
                elif ex.type not in name.lower().split():
                    name = f"{name} {ex.type}"
            pending.append((dev, ex, name, leaf if len(exposes) == 1 else "", room_key))
    for k in overrides:
        if k not in used_overrides:
            home.skipped.append(f"--room {k}=...: no device has that friendly name or address")
    leaves = Counter(p[3].lower() for p in pending if p[3])
    for dev, ex, name, leaf, room_key in pending:
        ieee = str(dev["ieee_address"])
        fname = str(dev["friendly_name"])
        mqtt: dict[str, Any] = {"style": "zigbee2mqtt",
                                "topic": f"{bridge.base_topic}/{fname}", **ex.target}
        if ex.commands:
            mqtt["commands"] = ex.commands
        aliases = (leaf,) if (leaf and leaves[leaf.lower()] == 1 and len(leaf.split()) > 1
                              and leaf.lower() != name.lower()) else ()
        d = dev.get("definition") or {}
        note = (f"{d.get('vendor', '?')} {d.get('model', '?')}: {d.get('description', '')}"
                f" (zigbee2mqtt '{fname}'{', endpoint ' + ex.endpoint if ex.endpoint else ''})")
        note += "\ncan: " + ", ".join(f.split(".")[1] for f in ex.functions)
        key = f"{SOURCE}:{ieee}/{ex.type}" + (f"/{ex.endpoint}" if ex.endpoint else "")
        home.devices.append(ImportedDevice(
            key=key, name=name, type=ex.type, functions=tuple(dict.fromkeys(ex.functions)),
            mqtt=mqtt, room=room_key, aliases=aliases, note=note,
            device_class=_cover_class(name) if ex.type == "cover" else None))
    home.devices.sort(key=lambda d: (room_keys[d.room].name if d.room else "~", d.type, d.name))
    home.rooms = sorted(room_keys.values(), key=lambda r: r.name)
    home.floors = sorted(floor_keys.values(), key=lambda f: f.name)
    _group_scenes(bridge, home)
    return home


def _group_scenes(bridge: Bridge, home: ImportedHome) -> None:
    scenes: list[tuple[dict[str, Any], dict[str, Any]]] = []
    groups = 0
    for group in bridge.groups:
        if not isinstance(group, dict) or not group.get("friendly_name"):
            continue
        groups += 1
        scenes += [(group, s) for s in group.get("scenes", []) or [] if isinstance(s, dict)]
    names = Counter(spoken(str(s.get("name") or "")).lower() for _, s in scenes)
    for group, scene in scenes:
        gname = str(group["friendly_name"])
        name = spoken(str(scene.get("name") or "")) or f"scene {scene.get('id')}"
        if names[name.lower()] > 1 or not scene.get("name"):  # "kitchen bright"
            parts = [p for p in gname.split("/") if p]
            where = spoken(parts[-2] if len(parts) >= 2 else parts[-1])
            name = f"{where} {name.lower()}"
        home.scenes.append(ImportedScene(
            key=f"{SOURCE}:group/{group.get('id')}/scene/{scene.get('id')}",
            name=name,
            mqtt={"style": "zigbee2mqtt", "topic": f"{bridge.base_topic}/{gname}",
                  "commands": {"scene.activate": {"payload": {"scene_recall": scene.get("id")}}}},
            note=f"scene {scene.get('id')} of zigbee2mqtt group '{gname}'"))
    if groups:
        home.skipped.append(
            f"{groups} zigbee2mqtt group(s) as devices: octohome groups devices by room and"
            " type itself (their scenes are imported)")
