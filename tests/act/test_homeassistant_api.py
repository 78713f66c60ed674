"""Acting through Home Assistant's WebSocket API, against a real Home Assistant
(tests/homeassistant_server.py; skipped with the reason when .ha/venv is missing)."""

from __future__ import annotations

import pytest

from tests.homeassistant_server import (  # noqa: F401  (the fixture)
    ENTITIES,
    HomeAssistant,
    HomeAssistantError,
    homeassistant_fixture,
)


def test_the_fixture_home_is_in_the_registries(homeassistant: HomeAssistant) -> None:
    ha = homeassistant
    floors = {f["floor_id"]: f for f in ha.ws("config/floor_registry/list")}
    assert floors["first_floor"]["aliases"] == ["upstairs"]
    areas = {a["area_id"]: a for a in ha.ws("config/area_registry/list")}
    assert areas["living_room"]["floor_id"] == "ground_floor"
    assert areas["living_room"]["aliases"] == ["lounge"]
    assert areas["hallway"]["floor_id"] is None
    exposed = ha.ws("homeassistant/expose_entity/list")["exposed_entities"]
    assert {e for e, s in ENTITIES.items() if s.get("exposed", True)} <= set(exposed)
    assert "switch.secret_plug" not in exposed
    entity = ha.ws("config/entity_registry/get", entity_id="light.kitchen_lights")
    assert entity["area_id"] == "kitchen" and entity["aliases"] == ["kitchen light"]
    outlet = ha.ws("config/entity_registry/get", entity_id="switch.outlet_1")
    assert outlet["area_id"] is None
    devices = {d["id"]: d for d in ha.ws("config/device_registry/list")}
    assert devices[outlet["device_id"]]["area_id"] == "living_room"


def test_a_wrong_token_is_refused(homeassistant: HomeAssistant) -> None:
    import json

    from websockets.sync.client import connect

    with connect(homeassistant.ws_url) as conn:
        assert json.loads(conn.recv(5))["type"] == "auth_required"
        conn.send(json.dumps({"type": "auth", "access_token": "not-a-token"}))
        assert json.loads(conn.recv(5))["type"] == "auth_invalid"
    with pytest.raises(HomeAssistantError):
        homeassistant.ws("not/a/command")
