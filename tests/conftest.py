"""Shared pytest setup: fixtures live in their own modules, registered here."""

import pytest

from octohome.core import secrets

pytest_plugins = ["tests.mqtt_broker"]


@pytest.fixture(autouse=True)
def _own_secret_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test masks only the secrets it registers itself.

    The registry is process-wide on purpose (the part holding a secret and the log
    writer never meet), so without this a short secret from one test ("tok", a
    Home Assistant token) masks text in a later test's log lines: '"token": null'
    became '"********en": null' in CI."""
    monkeypatch.setattr(secrets, "_secrets", set(secrets._secrets))
