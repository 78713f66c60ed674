"""Shared pytest setup: fixtures live in their own modules, registered here."""

pytest_plugins = ["tests.mqtt_broker"]
