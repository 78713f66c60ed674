"""The secrets this process knows (the MQTT password), to be masked wherever they appear.

Why a registry in ``core``: the part that holds a secret (the MQTT link, the
config) registers it, and the part that writes logs (``octohome.service.logs``)
masks it; neither imports the other.
"""

from __future__ import annotations

_secrets: set[str] = set()


def add_secret(value: str | None) -> None:
    """Mask ``value`` wherever it appears in a log line from now on."""
    if value and len(value) >= 3:
        _secrets.add(value)


def known_secrets() -> list[str]:
    """Every registered secret, longest first: one that contains another is masked whole."""
    return sorted(_secrets, key=len, reverse=True)
