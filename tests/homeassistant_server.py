"""A real Home Assistant for tests: its own config dir, free port, a known home and token.

Home Assistant core (the version pinned in ``tests/ha_setup.sh``) runs from its
own virtual environment, ``.ha/venv`` (``./setup.sh test`` installs it). Tests
talk to it only over its WebSocket API, as octohome does to a user's Home
Assistant. Without that venv the fixture skips the test, saying why.

Use it from a test module::

    from tests.homeassistant_server import HomeAssistant, homeassistant_fixture  # noqa: F401

    def test_x(homeassistant: HomeAssistant) -> None:
        homeassistant.url, homeassistant.token          # what octohome's config takes
        homeassistant.ws("config/area_registry/list")   # any WebSocket command, its result
        homeassistant.state("light.kitchen_lights")     # {"state": "on", "attributes": {...}}

The fixture is session-scoped: one Home Assistant for every test of the run (it
starts in a few seconds, but a test should not rely on the state an earlier
test left; :meth:`HomeAssistant.reset` puts the devices back). A test that stops
it (:meth:`HomeAssistant.stop`) starts it again before it ends.

The home (:data:`HOME`, written by :meth:`HomeAssistant.setup_home` through
the registries' WebSocket commands, as a user's own edits would be):

* floors ``ground_floor`` ("ground floor", alias "downstairs", level 0) and
  ``first_floor`` ("first floor", alias "upstairs", level 1);
* areas ``kitchen``, ``living_room`` (alias "lounge") on the ground floor,
  ``bedroom`` on the first floor, ``hallway`` on no floor;
* entities exposed to Assist, with areas and aliases: template lights
  ``light.kitchen_lights`` (brightness and hs colour, alias "kitchen light")
  and ``light.bedroom_lamp`` (alias "bedside lamp"), ``light.porch_light`` (no
  area), template switch ``switch.coffee_maker``, template cover
  ``cover.living_room_blinds`` (position, device class blind), generic
  thermostat ``climate.thermostat`` (target temperature 5..30, step 0.5, modes
  heat/off), template lock ``lock.front_door``, template fan
  ``fan.bedroom_fan`` (percentage, presets low/medium/high), universal media
  player ``media_player.living_room_speaker`` (play/pause, volume), scene
  ``scene.movie_night``, and ``switch.outlet_1`` of the ``kitchen_sink``
  integration, whose *device* ("Outlet 1") is in the living room while the
  entity has no area of its own;
* not exposed: ``switch.secret_plug`` (kitchen), and everything else
  (``kitchen_sink``'s sensors and the helpers behind the template entities).

How the token is made without the UI: before the first start the fixture
writes ``.storage/auth`` with an owner in the admin group and one refresh
token of type ``long_lived_access_token`` (what *Profile -> Long-lived access
tokens* creates), and signs the access token itself: a JWT (HS256) with
``iss`` the refresh token's id, keyed by its ``jwt_key``, which is how Home
Assistant's ``AuthManager.async_create_access_token`` makes one. Onboarding is
marked done in ``.storage/onboarding``. (``hass --script auth`` only manages
the username/password provider; a token from it would need the login flow.)

Home Assistant runs with ``--skip-pip``: every requirement of the integrations
it loads (``home-assistant-frontend`` included: Home Assistant starts in
recovery mode without a frontend) is installed by ``tests/ha_setup.sh``, so it
never reaches for the network.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from octohome.act.mosquitto import free_port
from tests.paths import ROOT

HA_VENV = Path(os.environ.get("OCTOHOME_HA_DIR", ROOT / ".ha")) / "venv"
"""Where ``tests/ha_setup.sh`` installs Home Assistant."""

HASS = HA_VENV / "bin" / "hass"

START_TIMEOUT_S = 120.0
"""The first start on a loaded 2-core machine takes about 10 s; a slow CI more."""

CONFIGURATION_YAML = """\
homeassistant:
  name: octohome test home
  unit_system: metric
  time_zone: UTC
  latitude: 51.5
  longitude: 0
  elevation: 0
  country: GB
  language: en
  currency: EUR
http:
  server_host: 127.0.0.1
  server_port: {port}
logger:
  default: warning
kitchen_sink:

input_boolean:
  heater:
  front_door_locked:
  bedroom_fan_on:
  speaker_playing:
input_number:
  bedroom_fan_percentage: {{min: 0, max: 100, step: 1}}
  speaker_volume: {{min: 0, max: 1, step: 0.01, initial: 0.3}}

template:
  - sensor:
      - name: hall temperature
        unique_id: hall_temperature
        state: "19.5"
        unit_of_measurement: "°C"
        device_class: temperature
  - light:
      # optimistic: no state templates, so they keep what they are told
      - name: kitchen lights
        unique_id: kitchen_lights
        turn_on: []
        turn_off: []
        set_level: []
        set_hs: []
      - name: bedroom lamp
        unique_id: bedroom_lamp
        turn_on: []
        turn_off: []
        set_level: []
      - name: porch light
        unique_id: porch_light
        turn_on: []
        turn_off: []
  - switch:
      - name: coffee maker
        unique_id: coffee_maker
        turn_on: []
        turn_off: []
      - name: secret plug
        unique_id: secret_plug
        turn_on: []
        turn_off: []

cover:
  - platform: template
    covers:
      living_room_blinds:
        unique_id: living_room_blinds
        friendly_name: living room blinds
        device_class: blind
        open_cover: []
        close_cover: []
        set_cover_position: []

lock:
  - platform: template
    name: front door
    unique_id: front_door
    value_template: "{{{{ is_state('input_boolean.front_door_locked', 'on') }}}}"
    lock: {{action: input_boolean.turn_on, target: {{entity_id: input_boolean.front_door_locked}}}}
    unlock: {{action: input_boolean.turn_off, target: {{entity_id: input_boolean.front_door_locked}}}}

fan:
  - platform: template
    fans:
      bedroom_fan:
        unique_id: bedroom_fan
        friendly_name: bedroom fan
        value_template: "{{{{ states('input_boolean.bedroom_fan_on') }}}}"
        percentage_template: "{{{{ states('input_number.bedroom_fan_percentage') | int }}}}"
        preset_modes: [low, medium, high]
        turn_on: {{action: input_boolean.turn_on, target: {{entity_id: input_boolean.bedroom_fan_on}}}}
        turn_off: {{action: input_boolean.turn_off, target: {{entity_id: input_boolean.bedroom_fan_on}}}}
        set_percentage:
          - action: input_number.set_value
            target: {{entity_id: input_number.bedroom_fan_percentage}}
            data: {{value: "{{{{ percentage }}}}"}}
        set_preset_mode:
          - action: input_number.set_value
            target: {{entity_id: input_number.bedroom_fan_percentage}}
            data:
              value: "{{{{ {{'low': 33, 'medium': 67, 'high': 100}}[preset_mode] }}}}"

climate:
  - platform: generic_thermostat
    name: thermostat
    unique_id: thermostat
    heater: input_boolean.heater
    target_sensor: sensor.hall_temperature
    target_temp: 20
    min_temp: 5
    max_temp: 30
    target_temp_step: 0.5
    precision: 0.5
    initial_hvac_mode: heat

media_player:
  - platform: universal
    name: living room speaker
    unique_id: living_room_speaker
    state_template: >
      {{{{ 'playing' if is_state('input_boolean.speaker_playing', 'on') else 'paused' }}}}
    attributes:
      volume_level: input_number.speaker_volume
    commands:
      media_play: {{action: input_boolean.turn_on, target: {{entity_id: input_boolean.speaker_playing}}}}
      media_pause: {{action: input_boolean.turn_off, target: {{entity_id: input_boolean.speaker_playing}}}}
      volume_set:
        action: input_number.set_value
        target: {{entity_id: input_number.speaker_volume}}
        data: {{value: "{{{{ volume_level }}}}"}}

scene:
  - name: movie night
    id: movie_night
    entities:
      light.kitchen_lights: {{state: "on", brightness: 51}}
      cover.living_room_blinds: {{state: closed}}
"""
"""The test home's ``configuration.yaml`` (``{port}`` filled in; ``{{``: a brace)."""

FLOORS: list[dict[str, Any]] = [
    {"floor_id": "ground_floor", "name": "ground floor", "aliases": ["downstairs"], "level": 0},
    {"floor_id": "first_floor", "name": "first floor", "aliases": ["upstairs"], "level": 1},
]

AREAS: list[dict[str, Any]] = [
    {"area_id": "kitchen", "name": "kitchen", "floor_id": "ground_floor", "aliases": []},
    {"area_id": "living_room", "name": "living room", "floor_id": "ground_floor",
     "aliases": ["lounge"]},
    {"area_id": "bedroom", "name": "bedroom", "floor_id": "first_floor", "aliases": []},
    {"area_id": "hallway", "name": "hallway", "floor_id": None, "aliases": []},
]

ENTITIES: dict[str, dict[str, Any]] = {
    "light.kitchen_lights": {"area_id": "kitchen", "aliases": ["kitchen light"]},
    "light.bedroom_lamp": {"area_id": "bedroom", "aliases": ["bedside lamp"]},
    "light.porch_light": {"area_id": None, "aliases": []},
    "switch.coffee_maker": {"area_id": "kitchen", "aliases": []},
    "switch.secret_plug": {"area_id": "kitchen", "aliases": [], "exposed": False},
    "switch.outlet_1": {"area_id": None, "aliases": [], "device_area_id": "living_room"},
    "cover.living_room_blinds": {"area_id": "living_room", "aliases": ["blinds"]},
    "climate.thermostat": {"area_id": "hallway", "aliases": ["heating"]},
    "lock.front_door": {"area_id": "hallway", "aliases": []},
    "fan.bedroom_fan": {"area_id": "bedroom", "aliases": []},
    "media_player.living_room_speaker": {"area_id": "living_room", "aliases": ["speaker"]},
    "scene.movie_night": {"area_id": None, "aliases": ["cinema mode"]},
}
"""The home's entities: area, aliases, exposed to Assist (default yes)."""

HOME: dict[str, Any] = {"floors": FLOORS, "areas": AREAS, "entities": ENTITIES}
"""Everything :meth:`HomeAssistant.setup_home` puts in the registries."""


class HomeAssistantError(RuntimeError):
    """Home Assistant did not start, or a WebSocket command failed."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign_access_token(refresh_id: str, jwt_key: str, lifetime_s: int) -> str:
    """The access token of a refresh token, as Home Assistant signs one (JWT, HS256)."""
    now = int(time.time())
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = _b64(json.dumps({"iss": refresh_id, "iat": now, "exp": now + lifetime_s}).encode())
    signature = hmac.new(jwt_key.encode(), f"{header}.{claims}".encode(), hashlib.sha256)
    return f"{header}.{claims}.{_b64(signature.digest())}"


def write_auth(config_dir: Path) -> str:
    """``.storage/auth`` with an owner and a long-lived access token; returns the token.

    The layout is ``homeassistant/auth/auth_store.py``'s ``_data_to_save`` (storage
    version 1); the system groups are added by Home Assistant when it loads."""
    storage = config_dir / ".storage"
    storage.mkdir(parents=True, exist_ok=True)
    user_id, refresh_id = uuid.uuid4().hex, uuid.uuid4().hex
    jwt_key = secrets.token_hex(64)
    lifetime_s = 10 * 365 * 24 * 3600
    data = {
        "users": [{
            "id": user_id, "group_ids": ["system-admin"], "is_owner": True,
            "is_active": True, "name": "octohome tests", "system_generated": False,
            "local_only": False,
        }],
        "groups": [
            {"id": "system-admin", "name": "Administrators"},
            {"id": "system-users", "name": "Users"},
            {"id": "system-read-only", "name": "Read Only"},
        ],
        "credentials": [],
        "refresh_tokens": [{
            "id": refresh_id, "user_id": user_id, "client_id": None,
            "client_name": "octohome tests", "client_icon": None,
            "token_type": "long_lived_access_token",
            "created_at": datetime.now(UTC).isoformat(),
            "access_token_expiration": float(lifetime_s),
            "token": secrets.token_hex(64), "jwt_key": jwt_key,
            "last_used_at": None, "last_used_ip": None, "expire_at": None,
            "credential_id": None, "version": None,
        }],
    }
    _write_store(storage / "auth", "auth", 1, data)
    _write_store(storage / "onboarding", "onboarding", 4,
                 {"done": ["user", "core_config", "analytics", "integration"]})
    return sign_access_token(refresh_id, jwt_key, lifetime_s)


def _write_store(path: Path, key: str, version: int, data: dict[str, Any]) -> None:
    path.write_text(json.dumps({"version": version, "minor_version": 1, "key": key,
                                "data": data}, indent=2))
    path.chmod(0o600)


class HomeAssistant:
    """One Home Assistant process with the test home (see the module docstring)."""

    def __init__(self, config_dir: Path, port: int | None = None) -> None:
        self.config_dir = config_dir
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.started_in_s: float | None = None
        """Seconds the last start took, until the WebSocket API answered (and RUNNING)."""
        config_dir.mkdir(parents=True, exist_ok=True)
        (config_dir / "configuration.yaml").write_text(CONFIGURATION_YAML.format(port=self.port))
        token_file = config_dir / ".octohome-token"
        if not token_file.exists():
            token_file.write_text(write_auth(config_dir))
            token_file.chmod(0o600)
        self.token = token_file.read_text().strip()
        self._home_done = (config_dir / ".octohome-home").exists()

    @property
    def url(self) -> str:
        """What ``[homeassistant] url`` takes."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/websocket"

    @property
    def log_file(self) -> Path:
        return self.config_dir / "hass.out"

    # -- lifecycle -------------------------------------------------------------------

    def start(self, timeout: float = START_TIMEOUT_S) -> None:
        """Start ``hass`` and wait until its WebSocket API answers and it is RUNNING."""
        if self.process is not None and self.process.poll() is None:
            return
        begin = time.monotonic()
        with self.log_file.open("ab") as out:
            self.process = subprocess.Popen(
                [str(HASS), "-c", str(self.config_dir), "--skip-pip", "--log-no-color"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        end = begin + timeout
        last: Exception | None = None
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise HomeAssistantError(
                    f"hass exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if self.ws("get_config", timeout=5.0).get("state") == "RUNNING":
                    break
            except (OSError, HomeAssistantError, TimeoutError) as exc:
                last = exc
            time.sleep(0.3)
        else:
            self.stop()
            raise HomeAssistantError(
                f"Home Assistant did not answer within {timeout:.0f} s ({last}):\n"
                f"{self.log_tail()}")
        self.started_in_s = time.monotonic() - begin
        if not self._home_done:
            self.setup_home()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop it (SIGTERM: it saves its registries), SIGKILL after ``timeout``."""
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def log_text(self) -> str:
        """Everything Home Assistant wrote (its stdout and stderr) so far."""
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""

    # -- WebSocket API ---------------------------------------------------------------

    def ws(self, type_: str, *, timeout: float = 10.0, **fields: Any) -> Any:
        """Run one WebSocket command on a fresh authenticated connection; its result."""
        return self.ws_many([{"type": type_, **fields}], timeout=timeout)[0]

    def ws_many(self, commands: list[dict[str, Any]], *, timeout: float = 10.0) -> list[Any]:
        """Run commands in order on one connection; their results (error: raises)."""
        from websockets.sync.client import connect

        results: list[Any] = []
        with connect(self.ws_url, open_timeout=timeout, close_timeout=1,
                     max_size=None) as conn:
            hello = json.loads(conn.recv(timeout))
            if hello.get("type") != "auth_required":
                raise HomeAssistantError(f"unexpected greeting {hello}")
            conn.send(json.dumps({"type": "auth", "access_token": self.token}))
            answer = json.loads(conn.recv(timeout))
            if answer.get("type") != "auth_ok":
                raise HomeAssistantError(f"authentication failed: {answer.get('type')}")
            for i, command in enumerate(commands, start=1):
                conn.send(json.dumps({"id": i, **command}))
                while True:
                    msg = json.loads(conn.recv(timeout))
                    if msg.get("id") == i and msg.get("type") == "result":
                        break
                if not msg.get("success"):
                    raise HomeAssistantError(f"{command['type']}: {msg.get('error')}")
                results.append(msg.get("result"))
        return results

    def state(self, entity_id: str) -> dict[str, Any]:
        """The entity's state object (``state``, ``attributes``, ...)."""
        for st in self.ws("get_states"):
            if st["entity_id"] == entity_id:
                return dict(st)
        raise HomeAssistantError(f"no entity {entity_id}")

    def wait_state(self, entity_id: str, predicate: Callable[[dict[str, Any]], bool],
                   timeout: float = 10.0) -> dict[str, Any]:
        """Poll the entity's state until ``predicate`` holds; the last state either way."""
        end = time.monotonic() + timeout
        st = self.state(entity_id)
        while not predicate(st) and time.monotonic() < end:
            time.sleep(0.1)
            st = self.state(entity_id)
        return st

    def call_service(self, domain: str, service: str, entity_id: str,
                     **data: Any) -> None:
        self.ws("call_service", domain=domain, service=service, service_data=data,
                target={"entity_id": entity_id})

    # -- the home --------------------------------------------------------------------

    def setup_home(self) -> None:
        """Floors, areas, entity areas and aliases, device area, exposure to Assist."""
        cmds: list[dict[str, Any]] = []
        for floor in FLOORS:
            cmds.append({"type": "config/floor_registry/create",
                         **{k: v for k, v in floor.items() if k != "floor_id"}})
        self.ws_many(cmds)
        floor_ids = {f["name"]: f["floor_id"] for f in self.ws("config/floor_registry/list")}
        for floor in FLOORS:  # ids are derived from names; check they are the expected ones
            if floor_ids.get(floor["name"]) != floor["floor_id"]:
                raise HomeAssistantError(f"floor id {floor_ids.get(floor['name'])!r}")
        cmds = [{"type": "config/area_registry/create",
                 **{k: v for k, v in area.items() if k != "area_id" and v is not None}}
                for area in AREAS]
        self.ws_many(cmds)
        area_ids = {a["name"]: a["area_id"] for a in self.ws("config/area_registry/list")}
        for area in AREAS:
            if area_ids.get(area["name"]) != area["area_id"]:
                raise HomeAssistantError(f"area id {area_ids.get(area['name'])!r}")
        registry = {e["entity_id"]: e for e in self.ws("config/entity_registry/list")}
        cmds = []
        for entity_id, spec in ENTITIES.items():
            if entity_id not in registry:
                raise HomeAssistantError(f"{entity_id} is not in the entity registry")
            cmds.append({"type": "config/entity_registry/update", "entity_id": entity_id,
                         "area_id": spec["area_id"], "aliases": spec["aliases"]})
            if "device_area_id" in spec:
                cmds.append({"type": "config/device_registry/update",
                             "device_id": registry[entity_id]["device_id"],
                             "area_id": spec["device_area_id"]})
        exposed = [e for e, s in ENTITIES.items() if s.get("exposed", True)]
        hidden = [e for e, s in ENTITIES.items() if not s.get("exposed", True)]
        cmds.append({"type": "homeassistant/expose_entity", "assistants": ["conversation"],
                     "entity_ids": exposed, "should_expose": True})
        cmds.append({"type": "homeassistant/expose_entity", "assistants": ["conversation"],
                     "entity_ids": hidden, "should_expose": False})
        self.ws_many(cmds)
        (self.config_dir / ".octohome-home").write_text("done\n")
        self._home_done = True

    def reset(self) -> None:
        """The devices back to a known state: lights and switches off, blinds open at
        100, thermostat heat at 20, door unlocked, fan off, speaker paused at 30 %."""
        calls = [
            ("light", "turn_off", "light.kitchen_lights,light.bedroom_lamp,light.porch_light",
             {}),
            ("switch", "turn_off", "switch.coffee_maker,switch.secret_plug", {}),
            ("cover", "set_cover_position", "cover.living_room_blinds", {"position": 100}),
            ("climate", "set_hvac_mode", "climate.thermostat", {"hvac_mode": "heat"}),
            ("climate", "set_temperature", "climate.thermostat", {"temperature": 20}),
            ("lock", "unlock", "lock.front_door", {}),
            ("fan", "turn_off", "fan.bedroom_fan", {}),
            ("media_player", "media_pause", "media_player.living_room_speaker", {}),
            ("media_player", "volume_set", "media_player.living_room_speaker",
             {"volume_level": 0.3}),
        ]
        self.ws_many([
            {"type": "call_service", "domain": d, "service": s, "service_data": data,
             "target": {"entity_id": e.split(",")}}
            for d, s, e, data in calls])


_shared: dict[str, HomeAssistant] = {}
"""The one Home Assistant of this test process, whichever module's fixture made it
(a fixture imported into several modules is one fixture per module to pytest)."""


def ha_missing_reason() -> str | None:
    """Why no real Home Assistant can run here (None: it can)."""
    if not HASS.exists():
        return (f"Home Assistant is not installed ({HASS} is missing): run tests/ha_setup.sh"
                " (./setup.sh test does)")
    return None


@pytest.fixture(scope="session", name="homeassistant")
def homeassistant_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HomeAssistant]:
    """A started Home Assistant with the test home (see the module docstring)."""
    reason = ha_missing_reason()
    if reason is not None:
        pytest.skip(reason)
    ha = _shared.get("ha")
    owner = ha is None
    if ha is None:
        ha = HomeAssistant(tmp_path_factory.mktemp("homeassistant"))
        _shared["ha"] = ha
    try:
        ha.start()
    except HomeAssistantError:
        _shared.pop("ha", None)
        raise
    try:
        yield ha
    finally:
        if owner:
            ha.stop()
            _shared.pop("ha", None)


homeassistant = homeassistant_fixture
"""The fixture under its own name too (``from ... import homeassistant``)."""
