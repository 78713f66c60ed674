"""``octohome import homeassistant``: the entities exposed to Assist, read over Home
Assistant's WebSocket API.

One connection (``<url>/api/websocket``, a long-lived access token from
``[homeassistant]`` url/token or ``OCTOHOME_HOMEASSISTANT__URL`` / ``__TOKEN``), a
handful of read-only commands:

* ``homeassistant/expose_entity/list``: which entities are exposed to Assist (the
  ``conversation`` assistant; the registry entry's options say it too). An entity
  with no setting yet is left out: expose it explicitly and import again;
* ``get_states``: names (``friendly_name``), device classes, supported features,
  colour modes, HVAC modes;
* ``config/entity_registry/list`` and ``config/entity_registry/get_entries``: the
  registry id (what keeps a catalog id when the entity_id is renamed), area and
  device, aliases;
* ``config/device_registry/list``: the device's area, for an entity without one;
* ``config/area_registry/list`` and ``config/floor_registry/list``: rooms and
  floors with their aliases (a Home Assistant without floors has none).

light, switch, cover, climate, lock, fan and media_player entities become devices,
with only the functions their features allow; scenes become scenes. Every mapping
is ``style = "homeassistant_api"`` with the entity_id: octohome then acts through
Home Assistant's service calls. Other domains (sensors, scripts, vacuums...) are
skipped and counted.
"""

from __future__ import annotations

import contextlib
import json
import ssl
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from octohome.importing.home import (
    ImportedDevice,
    ImportedFloor,
    ImportedHome,
    ImportedRoom,
    ImportedScene,
)

if TYPE_CHECKING:
    from octohome.core.config import Settings

SOURCE = "homeassistant"
STYLE = "homeassistant_api"
ASSISTANT = "conversation"
"""Assist's name in Home Assistant's expose settings."""

TYPES = {"light": "light", "switch": "switch", "cover": "cover", "climate": "climate",
         "lock": "lock", "fan": "fan", "media_player": "media"}
"""Home Assistant domain -> catalog device type."""

# supported_features bits (Home Assistant's *EntityFeature enums)
COVER_OPEN, COVER_CLOSE, COVER_SET_POSITION = 1, 2, 4
CLIMATE_TARGET_TEMPERATURE = 1
FAN_SET_SPEED = 1
MEDIA_PAUSE, MEDIA_VOLUME_SET, MEDIA_VOLUME_STEP, MEDIA_PLAY = 1, 4, 1024, 16384

_COLOR_MODES = {"hs", "xy", "rgb", "rgbw", "rgbww"}
_MODES = ("heat", "cool", "auto", "off")
_COVER_CLASSES = {"garage": "garage_door", "blind": "blind", "shade": "blind",
                  "curtain": "blind"}
"""Home Assistant cover device classes -> the catalog's ("all the blinds" covers
blinds, shades and curtains, never the garage door)."""


class HomeAssistantError(RuntimeError):
    """Home Assistant could not be reached, refused the token, or answered an error."""


def websocket_url(url: str) -> str:
    """``http://ha.local:8123`` -> ``ws://ha.local:8123/api/websocket`` (https -> wss)."""
    url = url.strip().rstrip("/")
    if url.startswith("http://"):
        url = "ws://" + url[len("http://"):]
    elif url.startswith("https://"):
        url = "wss://" + url[len("https://"):]
    elif not url.startswith(("ws://", "wss://")):
        url = "ws://" + url
    return url if url.endswith("/api/websocket") else url + "/api/websocket"


class Connection:
    """A synchronous WebSocket session: authenticate, then one command at a time."""

    def __init__(self, url: str, token: str, timeout: float = 10.0,
                 ca_certs: Path | None = None) -> None:
        from websockets.exceptions import InvalidStatus, WebSocketException
        from websockets.sync.client import connect

        self.url = websocket_url(url)
        self.timeout = timeout
        self._next = 1
        self._stack = contextlib.ExitStack()
        ssl_ctx = (ssl.create_default_context(cafile=str(ca_certs) if ca_certs else None)
                   if self.url.startswith("wss://") else None)
        try:
            self.ws = self._stack.enter_context(connect(
                self.url, open_timeout=timeout, close_timeout=2, max_size=64 * 1024 * 1024,
                ssl=ssl_ctx, user_agent_header="octohome-import"))
        except InvalidStatus as exc:
            raise HomeAssistantError(
                f"{self.url}: not Home Assistant's WebSocket API"
                f" (HTTP {exc.response.status_code})") from exc
        except (OSError, WebSocketException, TimeoutError) as exc:
            raise HomeAssistantError(f"cannot reach Home Assistant at {self.url}: {exc}"
                                     ) from exc
        try:
            hello = self._recv()
            if hello.get("type") != "auth_required":
                raise HomeAssistantError(f"{self.url}: unexpected greeting {hello.get('type')!r}")
            self.version = str(hello.get("ha_version", ""))
            self.ws.send(json.dumps({"type": "auth", "access_token": token}))
            answer = self._recv()
            if answer.get("type") != "auth_ok":
                raise HomeAssistantError(
                    f"Home Assistant at {self.url} refused the token"
                    f" ({answer.get('message', answer.get('type'))}): make a long-lived access"
                    " token in your Home Assistant profile and put it in [homeassistant] token"
                    " (or OCTOHOME_HOMEASSISTANT__TOKEN)")
        except BaseException:
            self.close()
            raise

    def _recv(self) -> dict[str, Any]:
        from websockets.exceptions import WebSocketException

        try:
            raw = self.ws.recv(timeout=self.timeout)
        except TimeoutError as exc:
            raise HomeAssistantError(f"{self.url}: no answer in {self.timeout:g} s") from exc
        except WebSocketException as exc:
            raise HomeAssistantError(f"{self.url}: connection lost: {exc}") from exc
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise HomeAssistantError(f"{self.url}: unexpected message {str(raw)[:80]!r}")
        return data

    def command(self, type_: str, **fields: Any) -> Any:
        """Send one command, return its result; HomeAssistantError on an error answer."""
        msg_id = self._next
        self._next += 1
        self.ws.send(json.dumps({"id": msg_id, "type": type_, **fields}))
        while True:
            answer = self._recv()
            if answer.get("id") != msg_id or answer.get("type") != "result":
                continue  # an event of an earlier subscription, or a pong
            if not answer.get("success"):
                err = answer.get("error") or {}
                raise CommandFailed(type_, str(err.get("code", "")), str(err.get("message", "")))
            return answer.get("result")

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class CommandFailed(HomeAssistantError):
    def __init__(self, command: str, code: str, message: str) -> None:
        super().__init__(f"Home Assistant answered {command} with an error: {code} {message}")
        self.code = code


# -- what Home Assistant has ---------------------------------------------------------------------


@dataclass
class Registry:
    """The answers of the read-only commands, as Home Assistant sent them."""

    states: list[dict[str, Any]]
    exposed: dict[str, dict[str, bool]]
    entities: list[dict[str, Any]]
    entries: dict[str, dict[str, Any]]
    """entity_id -> the registry entry with aliases (``get_entries``)."""
    devices: list[dict[str, Any]]
    areas: list[dict[str, Any]]
    floors: list[dict[str, Any]] = field(default_factory=list)
    version: str = ""
    url: str = ""


def read_registry(conn: Connection) -> Registry:
    states = conn.command("get_states") or []
    exposed = (conn.command("homeassistant/expose_entity/list") or {}).get(
        "exposed_entities", {})
    entities = conn.command("config/entity_registry/list") or []
    wanted = [e["entity_id"] for e in entities if e.get("entity_id", "").split(".")[0]
              in (*TYPES, "scene")]
    entries: dict[str, dict[str, Any]] = {}
    if wanted:
        try:
            got = conn.command("config/entity_registry/get_entries", entity_ids=wanted) or {}
            entries = {k: v for k, v in got.items() if isinstance(v, dict)}
        except CommandFailed:  # older Home Assistant: one at a time
            for eid in wanted:
                entries[eid] = conn.command("config/entity_registry/get", entity_id=eid) or {}
    devices = conn.command("config/device_registry/list") or []
    areas = conn.command("config/area_registry/list") or []
    try:
        floors = conn.command("config/floor_registry/list") or []
    except CommandFailed:  # before 2024.4: no floors
        floors = []
    return Registry(states, exposed, entities, entries, devices, areas, floors, conn.version,
                    conn.url)


def read_home(settings: Settings) -> ImportedHome:
    """Connect with ``[homeassistant]`` url and token and read the home."""
    ha = settings.homeassistant
    if not ha.configured or ha.url is None or ha.token is None:
        raise HomeAssistantError(
            "set [homeassistant] url and token in config.toml (or OCTOHOME_HOMEASSISTANT__URL"
            " and OCTOHOME_HOMEASSISTANT__TOKEN): the token is a long-lived access token from"
            " your Home Assistant profile")
    with Connection(ha.url, ha.token.get_secret_value(), ha.connect_timeout,
                    ha.ca_certs) as conn:
        return home_from_registry(read_registry(conn))


# -- registry -> an imported home ------------------------------------------------------------


def _exposed(reg: Registry, eid: str, entry: Mapping[str, Any] | None) -> bool:
    """Exposed to Assist: listed by ``expose_entity/list`` (which lists only what is
    exposed, in 2025.x; older releases list False too), or so in the registry entry.

    An entity with no setting at all is left out: Home Assistant settles it the first
    time Assist looks at it, and an import takes only what the user can see exposed."""
    setting = reg.exposed.get(eid, {}).get(ASSISTANT)
    if setting is not None:
        return bool(setting)
    options = (entry or {}).get("options") or {}
    return bool((options.get(ASSISTANT) or {}).get("should_expose", False))


def _features(attrs: Mapping[str, Any]) -> int:
    try:
        return int(attrs.get("supported_features") or 0)
    except (TypeError, ValueError):
        return 0


def functions_of(domain: str, attrs: Mapping[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """The catalog functions an entity's state attributes allow, and extra mapping keys."""
    feats = _features(attrs)
    extra: dict[str, Any] = {}
    out: list[str] = []
    if domain == "light":
        modes = set(attrs.get("supported_color_modes") or [])
        out += ["light.turn_on", "light.turn_off"]
        if modes - {"onoff"}:
            out += ["light.set_brightness", "light.step_brightness"]
        if modes & _COLOR_MODES:
            out.append("light.set_color")
    elif domain == "switch":
        out += ["switch.turn_on", "switch.turn_off"]
    elif domain == "cover":
        if feats & COVER_OPEN:
            out.append("cover.open")
        if feats & COVER_CLOSE:
            out.append("cover.close")
        if feats & COVER_SET_POSITION:
            out.append("cover.set_position")
    elif domain == "climate":
        if feats & CLIMATE_TARGET_TEMPERATURE:
            out += ["climate.set_temperature", "climate.step_temperature"]
        hvac = [str(m) for m in attrs.get("hvac_modes") or []]
        have = {m: m for m in _MODES if m in hvac}
        if "auto" not in have and "heat_cool" in hvac:
            have["auto"] = "heat_cool"  # "auto" as people say it
        if have:
            out.append("climate.set_mode")
            if have != {m: m for m in _MODES}:  # a mode it lacks is rejected, never sent
                extra["transforms"] = {"mode": {"map": have}}
    elif domain == "lock":
        out += ["lock.lock", "lock.unlock"]
    elif domain == "fan":
        out += ["fan.turn_on", "fan.turn_off"]
        if feats & FAN_SET_SPEED:
            out.append("fan.set_speed")
    elif domain == "media_player":
        if feats & MEDIA_PLAY:
            out.append("media.play")
        if feats & MEDIA_PAUSE:
            out.append("media.pause")
        if feats & MEDIA_VOLUME_SET:
            out.append("media.set_volume")
        if feats & (MEDIA_VOLUME_SET | MEDIA_VOLUME_STEP):
            out.append("media.step_volume")
    return out, extra


def _device_class(domain: str, attrs: Mapping[str, Any], entry: Mapping[str, Any]) -> str | None:
    raw = entry.get("device_class") or attrs.get("device_class") or entry.get(
        "original_device_class")
    if not raw:
        return None
    raw = str(raw)
    if domain == "cover":
        return _COVER_CLASSES.get(raw, raw)
    return raw if domain in ("media_player", "switch") else None


def home_from_registry(reg: Registry) -> ImportedHome:
    """Devices (the exposed entities we can command), rooms, floors and scenes."""
    origin = f"Home Assistant{' ' + reg.version if reg.version else ''} at {reg.url or 'its API'}"
    home = ImportedHome(SOURCE, origin)
    registry = {str(e.get("entity_id")): e for e in reg.entities}
    device_area = {str(d.get("id")): d.get("area_id") for d in reg.devices}
    floors = sorted(reg.floors, key=lambda f: (f.get("level") is None, f.get("level") or 0,
                                                str(f.get("name", ""))))
    home.floors = [ImportedFloor(f"{SOURCE}:floor/{f['floor_id']}", str(f["name"]),
                                 tuple(str(a) for a in f.get("aliases") or ()))
                   for f in floors if f.get("floor_id") and f.get("name")]
    home.rooms = [ImportedRoom(f"{SOURCE}:area/{a['area_id']}", str(a["name"]),
                               f"{SOURCE}:floor/{a['floor_id']}" if a.get("floor_id") else None,
                               tuple(str(x) for x in a.get("aliases") or ()))
                  for a in sorted(reg.areas, key=lambda a: str(a.get("name", "")))
                  if a.get("area_id") and a.get("name")]
    not_exposed = 0
    other: Counter[str] = Counter()
    for state in sorted(reg.states, key=lambda s: str(s.get("entity_id"))):
        eid = str(state.get("entity_id", ""))
        domain, _, object_id = eid.partition(".")
        entry = registry.get(eid)
        full_entry = reg.entries.get(eid) or entry
        if domain not in TYPES and domain != "scene":
            if _exposed(reg, eid, full_entry):
                other[domain] += 1
            continue
        if not _exposed(reg, eid, full_entry):
            not_exposed += 1
            continue
        attrs = state.get("attributes") or {}
        full = reg.entries.get(eid) or entry or {}
        name = str(attrs.get("friendly_name") or full.get("name") or full.get("original_name")
                   or object_id.replace("_", " "))
        aliases = tuple(str(a) for a in full.get("aliases") or () if a)
        key = f"{SOURCE}:{(entry or {}).get('id') or eid}"
        mqtt = {"style": STYLE, "entity_id": eid}
        if domain == "scene":
            home.scenes.append(ImportedScene(key, name, mqtt, aliases,
                                             note=f"Home Assistant {eid}"))
            continue
        functions, extra = functions_of(domain, attrs)
        if not functions:
            home.skipped.append(f"{eid} ({name}): none of its features is a function octohome"
                                f" has (supported_features {attrs.get('supported_features')})")
            continue
        area = (entry or {}).get("area_id") or device_area.get(str((entry or {}).get(
            "device_id")))
        home.devices.append(ImportedDevice(
            key=key, name=name, type=TYPES[domain], functions=tuple(functions),
            mqtt={**mqtt, **extra}, room=f"{SOURCE}:area/{area}" if area else None,
            device_class=_device_class(domain, attrs, full), aliases=aliases,
            note=f"Home Assistant {eid}\ncan: "
                 + ", ".join(f.split(".")[1] for f in functions)))
    known_rooms = {r.key for r in home.rooms}
    for dev in home.devices:
        if dev.room is not None and dev.room not in known_rooms:
            home.skipped.append(f"{dev.key}: its area is not in the area registry")
    if not_exposed:
        home.skipped.append(f"{not_exposed} entities not exposed to Assist (expose them in"
                            " Settings > Voice assistants > Expose, then import again)")
    if other:
        what = ", ".join(f"{n} {d}" for d, n in sorted(other.items()))
        home.skipped.append(f"exposed entities octohome cannot command: {what}")
    return home
