"""What an import reads from its source, before it becomes catalog files.

Both importers (zigbee2mqtt, Home Assistant) produce an :class:`ImportedHome`;
:mod:`octohome.importing.catalog_writer` merges it into a catalog directory. Every
thing carries a ``key``: its identity in the source (a zigbee IEEE address, a
Home Assistant registry id), which is what keeps its catalog id stable when it is
renamed and the import is run again.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ImportedFloor:
    key: str
    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportedRoom:
    key: str
    name: str
    floor: str | None = None
    """Key of its :class:`ImportedFloor`, or None."""

    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportedDevice:
    key: str
    """Identity in the source, prefixed by the source (``zigbee2mqtt:0x00..../light``)."""

    name: str
    type: str
    """light, switch, cover, climate, lock, fan or media."""

    functions: tuple[str, ...]
    """The catalog functions it can carry out (``light.set_brightness``, ...)."""

    mqtt: dict[str, Any]
    """Its ``mqtt`` table: where and how its commands go."""

    room: str | None = None
    """Key of its :class:`ImportedRoom`; None: the source gives it no room."""

    device_class: str | None = None
    aliases: tuple[str, ...] = ()
    note: str = ""
    """What it is in the source, written as a comment above it."""


@dataclass(frozen=True)
class ImportedScene:
    key: str
    name: str
    mqtt: dict[str, Any]
    aliases: tuple[str, ...] = ()
    note: str = ""


@dataclass
class ImportedHome:
    source: str
    """``zigbee2mqtt`` or ``homeassistant``: keys of other sources are left alone."""

    origin: str
    """Where it was read from, for the files' header (never a secret)."""

    devices: list[ImportedDevice] = field(default_factory=list)
    rooms: list[ImportedRoom] = field(default_factory=list)
    floors: list[ImportedFloor] = field(default_factory=list)
    scenes: list[ImportedScene] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """One line per thing of the source left out, with why."""


_ID_START = re.compile(r"^[a-z]")


def slug(text: str, prefix: str) -> str:
    """A catalog id from a name: "Küche Decke" -> kuche_decke. Ids start with a letter:
    "2nd floor" with prefix "floor" -> floor_2nd_floor."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    out = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")
    if not out:
        return prefix
    return out if _ID_START.match(out) else f"{prefix}_{out}"


def spoken(text: str) -> str:
    """A name as people say it: "ceiling_light" / "ceiling-light" -> "ceiling light"."""
    return " ".join(re.sub(r"[_\-.]+", " ", text).split())
