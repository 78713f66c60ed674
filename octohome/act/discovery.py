"""The assistant's own MQTT topics and its Home Assistant discovery document.

Why apart from the link: these are the assistant's public face (what Home
Assistant shows: transcript, command and status sensors, a mute switch, a listen
button); the link only publishes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from octohome import __version__


@dataclass(frozen=True)
class Topics:
    """The assistant's own topics, all under ``octohome/<site>/``."""

    base: str
    """``octohome/<site>``."""

    @property
    def availability(self) -> str:
        """``online``/``offline``, retained; ``offline`` is also the last will."""
        return f"{self.base}/availability"

    @property
    def intent(self) -> str:
        """One JSON event per utterance: text, calls (each with its status), status,
        reason (when something was not done), latencies."""
        return f"{self.base}/intent"

    @property
    def transcript(self) -> str:
        """What speech-to-text heard (JSON: text, source)."""
        return f"{self.base}/transcript"

    @property
    def state(self) -> str:
        """Retained JSON the Home Assistant sensors read: transcript, command, status, reason."""
        return f"{self.base}/state"

    @property
    def say(self) -> str:
        """Input: a text command, as if it had been heard: plain text, or JSON
        ``{"text": ..., "room": ...}`` (the room it is said in, instead of ``[site] room``)."""
        return f"{self.base}/say"

    @property
    def listen(self) -> str:
        """Input: push-to-talk (``PRESS``/``start``, ``stop``)."""
        return f"{self.base}/listen"

    @property
    def mute(self) -> str:
        """Input: ``ON``/``OFF``; Home Assistant publishes it retained, so it survives restarts."""
        return f"{self.base}/mute"

    @property
    def mute_state(self) -> str:
        """The mute state as the assistant applied it, retained."""
        return f"{self.base}/mute/state"


def discovery_payload(device_id: str, site: str, topics: Topics) -> dict[str, Any]:
    """The Home Assistant device-discovery document of the assistant."""

    def uid(name: str) -> str:
        return f"{device_id}_{name}"

    def sensor(name: str, key: str, icon: str) -> dict[str, Any]:
        return {
            "p": "sensor", "name": name, "unique_id": uid(key), "icon": icon,
            "state_topic": topics.state, "value_template": f"{{{{ value_json.{key} }}}}",
        }

    return {
        "dev": {
            "ids": [device_id],
            "name": f"octohome {site}",
            "mf": "octohome",
            "mdl": "offline voice assistant",
            "sw": __version__,
        },
        "o": {"name": "octohome", "sw": __version__},
        "cmps": {
            uid("transcript"): sensor("Last transcript", "transcript", "mdi:microphone-message"),
            uid("command"): sensor("Last command", "command", "mdi:home-lightning-bolt"),
            uid("status"): sensor("Status", "status", "mdi:check-network"),
            uid("reason"): sensor("Why not done", "reason", "mdi:message-alert-outline"),
            uid("mute"): {
                "p": "switch", "name": "Mute", "unique_id": uid("mute"),
                "icon": "mdi:microphone-off", "command_topic": topics.mute,
                "state_topic": topics.mute_state, "payload_on": "ON", "payload_off": "OFF",
                "retain": True,
            },
            uid("listen"): {
                "p": "button", "name": "Listen", "unique_id": uid("listen"),
                "icon": "mdi:microphone", "command_topic": topics.listen,
                "payload_press": "PRESS",
            },
        },
        "availability_topic": topics.availability,
        "payload_available": "online",
        "payload_not_available": "offline",
        "qos": 1,
    }
