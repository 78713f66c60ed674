"""The device catalog: what the home has and what each device can do.

The catalog lives in ``devices/`` as data (four TOML files) so a household can
describe its own home without touching code. Everything the model learns and
everything the runtime validates is derived from it: the function table
(function -> functional token index), the argument signatures, and a
fingerprint that ties a trained model to the catalog it was trained for.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from octohome.core.targets import MqttTarget  # the typed per-device mqtt table

DEFAULT_CATALOG_DIR = Path(__file__).resolve().parents[2] / "devices"
"""The shipped demo home (``devices/`` at the project root)."""

FUNCTIONS_FILE = "functions.toml"
DEVICES_FILE = "devices.toml"
SCENES_FILE = "scenes.toml"
ROOMS_FILE = "rooms.toml"

HOME_SCOPE = "home"
"""Group scope: the whole home ("all the lights")."""
HERE_SCOPE = "here"
"""Group scope: the speaker's room ("turn on the light" said on a satellite)."""

DEFAULT_GROUP_WORDS: dict[str, tuple[str, ...]] = {
    "light": ("lights", "lamps"),
    "switch": ("switches", "plugs"),
    "cover": ("blinds", "shades", "curtains", "covers"),
    "blind": ("blinds", "shades", "curtains"),
    "climate": ("thermostats", "heaters"),
    "lock": ("doors", "locks"),
    "fan": ("fans",),
    "media": ("speakers", "tvs"),
}
"""Group words of a class the catalog does not list in ``[groups]``."""

ANY_CLASS_TYPES: frozenset[str] = frozenset({"media"})
"""Types whose classes are kinds of one thing: said without a class ("louder", "pause
the music in the kitchen") any device of the type is meant, so ``scope:media`` covers
TVs, speakers and receivers alike. Covers are not among them: "open halfway" means the
blinds, never the garage door."""

DOOR_CLASSES: frozenset[str] = frozenset({"garage", "garage_door", "door", "gate"})
"""Cover classes that are doors: a call on one is never a guess, like a lock's."""

_ID_RE = r"^[a-z][a-z0-9_]*$"
_FUNCTION_RE = r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$"


_M = TypeVar("_M", bound="BaseModel")


class CatalogError(ValueError):
    """A catalog file is missing, not TOML, or breaks a rule; names file and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ArgSpec(_Strict):
    """One argument of a function, beyond the device."""

    name: str = Field(pattern=_ID_RE)
    """Argument name as it appears in the JSON output."""

    kind: Literal["int", "number", "enum", "scene"]
    """int: whole number; number: decimal in steps; enum: fixed words; scene: a scene id."""

    min: float | None = None
    """Lowest allowed value (int and number)."""

    max: float | None = None
    """Highest allowed value (int and number)."""

    step: float | None = None
    """Granularity of a number (e.g. 0.5 degrees)."""

    values: tuple[str, ...] = ()
    """Allowed words of an enum."""

    default: float | None = None
    """A relative step said without a number ("brighter") is +default or -default."""

    @model_validator(mode="after")
    def _check_kind(self) -> ArgSpec:
        if self.kind in ("int", "number"):
            if self.min is None or self.max is None or self.min > self.max:
                raise ValueError(f"{self.kind} argument needs min <= max")
            if self.kind == "number" and (self.step is None or self.step <= 0):
                raise ValueError("number argument needs step > 0")
        if self.kind == "enum" and not self.values:
            raise ValueError("enum argument needs values")
        return self


class FunctionSpec(_Strict):
    """A function of a device type, e.g. light.set_brightness."""

    description: str
    """Short words about what it does (seeds the functional token's embedding)."""

    device_arg: bool = True
    """Whether the first argument is the device id (false for scene.activate)."""

    args: tuple[ArgSpec, ...] = ()
    """Arguments after the device."""

    phrasings: tuple[str, ...] = ()
    """How people say it, for a function octohome does not know ("{d}" the device,
    "{v}" the first argument, "{<name>}" the others); the built-in ones have theirs."""


class FunctionsFile(_Strict):
    functions: dict[str, FunctionSpec]

    @model_validator(mode="after")
    def _check_names(self) -> FunctionsFile:
        for name in self.functions:
            if not re.match(_FUNCTION_RE, name):
                raise ValueError(f"function name {name!r} must look like 'type.action'")
        return self


class Device(_Strict):
    """One device of the home."""

    id: str = Field(pattern=_ID_RE)
    """Stable id: what the model answers and what MQTT mapping is keyed on."""

    name: str = Field(min_length=1)
    """Everyday name."""

    type: str = Field(pattern=_ID_RE)
    """Device type; must be the prefix of some functions in functions.toml."""

    room: str | None = Field(default=None, min_length=1)
    """Room it is in: a room of rooms.toml, by name or id; None: in no room (many Home
    Assistant entities have no area), named by its name only."""

    functions: tuple[str, ...] = ()
    """The functions of its type it has (a white-only bulb has no light.set_color);
    empty: all of them. A call to one it lacks is invalid, and a group skips it."""

    device_class: str | None = Field(default=None, pattern=_ID_RE)
    """What group words cover it ("blinds" is not the garage door); default: its type."""

    aliases: tuple[str, ...] = ()
    """Other names people use for it."""

    mqtt: MqttTarget | None = None
    """Command mapping; None means commands are only reported as intents."""

    @property
    def kind(self) -> str:
        """The class group words select on: ``device_class``, else the type."""
        return self.device_class or self.type

    @property
    def is_door(self) -> bool:
        """A lock, or a cover that is a garage door, door or gate (:data:`DOOR_CLASSES`)."""
        return self.type == "lock" or (self.type == "cover" and self.kind in DOOR_CLASSES)


class DevicesFile(_Strict):
    groups: dict[str, tuple[str, ...]] = {}
    """Class -> the plural words that name all its devices at once."""

    devices: tuple[Device, ...]


class Floor(_Strict):
    """A floor: "the lights upstairs" is every light in its rooms."""

    id: str = Field(pattern=_ID_RE)
    name: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()


class Room(_Strict):
    """A room; devices name theirs, a satellite stands in one."""

    id: str = Field(pattern=_ID_RE)
    """How a room group is written in the model's answer."""

    name: str = Field(min_length=1)
    floor: str | None = None
    """Floor id, or None for a room on no floor (porch, garage)."""

    aliases: tuple[str, ...] = ()


class RoomsFile(_Strict):
    floors: tuple[Floor, ...] = ()
    rooms: tuple[Room, ...] = ()


NO_ROOM = Room.model_construct(id="", name="", floor=None, aliases=())
"""Where a device with no room is: in no room's or floor's group, in the home's."""


def room_id(name: str) -> str:
    """The id a room gets when the catalog has no rooms.toml: "Living Room" -> living_room."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return slug if re.match(_ID_RE, slug) else f"room_{slug}"


class Scene(_Strict):
    """A scene, activated by scene.activate."""

    id: str = Field(pattern=_ID_RE)
    name: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()
    mqtt: MqttTarget | None = None


class ScenesFile(_Strict):
    scenes: tuple[Scene, ...] = ()


@dataclass(frozen=True)
class Signature:
    """The full argument list of a function, resolved against the devices."""

    function: str
    device_ids: tuple[str, ...]
    """Allowed device ids (empty when the function takes no device)."""

    groups: tuple[str, ...]
    """Allowed group targets ``scope:class`` (empty when the function takes no device)."""

    args: tuple[ArgSpec, ...]
    scene_ids: tuple[str, ...]


def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise CatalogError(f"{path}: file not found (a catalog needs {path.name})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{path}: not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise CatalogError(f"{path}: not UTF-8 text: {exc}") from exc


def _parse(model: type[_M], path: Path, data: dict[str, Any]) -> _M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise CatalogError(
            f"{path}: field {_format_loc(tuple(err['loc']))}: {err['msg']}{more}"
        ) from exc


def format_value(value: float) -> str:
    """Canonical text of a number argument: 22 -> '22', 19.5 -> '19.5'."""
    if float(value).is_integer():
        return str(int(value))
    return format(Decimal(str(value)).normalize(), "f")


class Catalog:
    """A validated catalog: functions, devices, scenes and what derives from them."""

    def __init__(
        self,
        functions: dict[str, FunctionSpec],
        devices: tuple[Device, ...],
        scenes: tuple[Scene, ...],
        source: Path | None = None,
        *,
        rooms: tuple[Room, ...] | None = None,
        floors: tuple[Floor, ...] = (),
        groups: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.functions = functions
        self.devices = devices
        self.scenes = scenes
        self.source = source
        self.floors = floors
        self.groups = dict(groups or {})
        if rooms is None:  # no rooms.toml: the devices' rooms, on no floor
            names = dict.fromkeys(d.room for d in devices if d.room is not None)
            rooms = tuple(Room(id=room_id(n), name=n) for n in names)
        self.rooms = rooms

    # -- loading -----------------------------------------------------------------

    @classmethod
    def load(cls, directory: Path | str | None = None) -> Catalog:
        """Read and validate ``functions.toml``, ``devices.toml``, ``scenes.toml``."""
        root = Path(directory) if directory is not None else DEFAULT_CATALOG_DIR
        if not root.is_dir():
            raise CatalogError(f"{root}: catalog directory not found")
        fpath, dpath, spath = root / FUNCTIONS_FILE, root / DEVICES_FILE, root / SCENES_FILE
        functions = _parse(FunctionsFile, fpath, _load_toml(fpath)).functions
        dfile = _parse(DevicesFile, dpath, _load_toml(dpath))
        scenes = _parse(ScenesFile, spath, _load_toml(spath)).scenes if spath.exists() else ()
        rpath = root / ROOMS_FILE
        rfile = _parse(RoomsFile, rpath, _load_toml(rpath)) if rpath.exists() else None
        catalog = cls(
            functions,
            dfile.devices,
            scenes,
            source=root,
            rooms=rfile.rooms if rfile is not None else None,
            floors=rfile.floors if rfile is not None else (),
            groups=dfile.groups,
        )
        catalog._check_consistency(fpath, dpath, spath)
        if rfile is not None:
            catalog._check_rooms(rpath, dpath)
        return catalog

    def _check_rooms(self, rpath: Path, dpath: Path) -> None:
        floor_ids = [f.id for f in self.floors]
        ids: dict[str, str] = {}
        for i, floor in enumerate(self.floors):
            if floor.id in ids or floor.id in (HOME_SCOPE, HERE_SCOPE):
                raise CatalogError(f"{rpath}: field floors[{i}].id: {floor.id!r} is taken")
            ids[floor.id] = "floor"
        for i, room in enumerate(self.rooms):
            if room.id in ids or room.id in (HOME_SCOPE, HERE_SCOPE):
                raise CatalogError(f"{rpath}: field rooms[{i}].id: {room.id!r} is taken")
            ids[room.id] = "room"
            if room.floor is not None and room.floor not in floor_ids:
                raise CatalogError(
                    f"{rpath}: field rooms[{i}].floor: unknown floor {room.floor!r};"
                    f" floors are {floor_ids}"
                )
        known = {r.name.lower() for r in self.rooms} | {r.id for r in self.rooms}
        for i, dev in enumerate(self.devices):
            if dev.room is not None and dev.room.lower() not in known:
                raise CatalogError(
                    f"{dpath}: field devices[{i}].room: {dev.room!r} is not a room of"
                    f" {rpath.name} ({sorted(r.name for r in self.rooms)})"
                )

    def _check_consistency(self, fpath: Path, dpath: Path, spath: Path) -> None:
        types = {name.split(".")[0] for name, f in self.functions.items() if f.device_arg}
        seen: dict[str, int] = {}
        for i, dev in enumerate(self.devices):
            if dev.id in seen:
                raise CatalogError(
                    f"{dpath}: field devices[{i}].id: duplicate id {dev.id!r}"
                    f" (also devices[{seen[dev.id]}])"
                )
            seen[dev.id] = i
            if dev.type not in types:
                raise CatalogError(
                    f"{dpath}: field devices[{i}].type: unknown type {dev.type!r};"
                    f" {fpath.name} defines {sorted(types)}"
                )
            for fn in dev.functions:
                if fn not in self.functions or fn.split(".")[0] != dev.type:
                    raise CatalogError(
                        f"{dpath}: field devices[{i}].functions: {fn!r} is not a function of"
                        f" type {dev.type!r} in {fpath.name}"
                    )
        scene_ids = [s.id for s in self.scenes]
        if len(set(scene_ids)) != len(scene_ids):
            raise CatalogError(f"{spath}: field scenes: duplicate scene id")

    # -- derived -----------------------------------------------------------------

    @cached_property
    def function_names(self) -> tuple[str, ...]:
        """Functions in token order: index i is functional token i."""
        return tuple(self.functions)

    @cached_property
    def device_by_id(self) -> dict[str, Device]:
        return {d.id: d for d in self.devices}

    def devices_of_type(self, dev_type: str) -> tuple[Device, ...]:
        return tuple(d for d in self.devices if d.type == dev_type)

    def door_call(self, function: str | None, device: object) -> bool:
        """Whether a call moves a door: any lock function, or any call on a door
        (:attr:`Device.is_door`). Such calls are never made on a guess."""
        if function is None:
            return False
        if function.startswith("lock."):
            return True
        dev = self.device_by_id.get(str(device))
        return dev is not None and dev.is_door

    @staticmethod
    def device_has(dev: Device, function: str) -> bool:
        """Whether ``dev`` has ``function`` (its ``functions``, else every one of its type)."""
        return function in dev.functions if dev.functions else function.startswith(dev.type + ".")

    def room_of(self, dev: Device) -> Room:
        """The Room a device stands in (rooms.toml by name or id); ``NO_ROOM`` (id "",
        which no group scope names) for a device in no room."""
        if dev.room is None:
            return NO_ROOM
        key = dev.room.lower()
        for room in self.rooms:
            if key in (room.id, room.name.lower()):
                return room
        raise KeyError(dev.room)

    def find_room(self, name: str) -> Room | None:
        """A room by id, name or other name ("lounge"), case-insensitive."""
        key = " ".join(name.lower().replace("_", " ").split())
        for room in self.rooms:
            names = {room.id.replace("_", " "), room.name.lower()}
            names.update(a.lower() for a in room.aliases)
            if key in names:
                return room
        return None

    @cached_property
    def scopes(self) -> tuple[str, ...]:
        """Where a group can be: the home, the speaker's room, each floor, each room."""
        return (HOME_SCOPE, HERE_SCOPE, *(f.id for f in self.floors), *(r.id for r in self.rooms))

    @cached_property
    def _classes(self) -> dict[str, tuple[str, ...]]:
        """Each type's device classes, in catalog order (asked per device by groups)."""
        out: dict[str, dict[str, None]] = {}
        for d in self.devices:
            out.setdefault(d.type, {})[d.kind] = None
        return {t: tuple(kinds) for t, kinds in out.items()}

    def classes_of_type(self, dev_type: str) -> tuple[str, ...]:
        """The device classes of a type in this home, in catalog order."""
        return self._classes.get(dev_type, ())

    def any_class(self, dev_type: str) -> str | None:
        """The type as a group class meaning every class of it (``here:media``), where
        the type is one of :data:`ANY_CLASS_TYPES` and every device of it has a class
        (else the type is itself a class: its unclassed devices)."""
        classes = self.classes_of_type(dev_type)
        if dev_type in ANY_CLASS_TYPES and classes and dev_type not in classes:
            return dev_type
        return None

    def group_classes(self, dev_type: str) -> tuple[str, ...]:
        """What may follow ``scope:`` for a type: its classes, and :meth:`any_class`."""
        extra = self.any_class(dev_type)
        return (*self.classes_of_type(dev_type), *((extra,) if extra else ()))

    def in_group(self, dev: Device, kind: str) -> bool:
        """Whether a group of class ``kind`` covers ``dev`` (see :meth:`any_class`)."""
        return dev.kind == kind or kind == self.any_class(dev.type)

    def group_words(self, kind: str) -> tuple[str, ...]:
        """The plural words for every device of a class ("blinds", "shades")."""
        words = self.groups.get(kind) or DEFAULT_GROUP_WORDS.get(kind)
        return words or (kind.replace("_", " ") + "s",)

    def signature(self, function: str) -> Signature:
        fn = self.functions[function]
        dev_type = function.split(".")[0]
        ids = (
            tuple(d.id for d in self.devices_of_type(dev_type) if self.device_has(d, function))
            if fn.device_arg
            else ()
        )
        groups = (
            tuple(f"{s}:{k}" for k in self.group_classes(dev_type) for s in self.scopes)
            if fn.device_arg
            else ()
        )
        return Signature(function, ids, groups, fn.args, tuple(s.id for s in self.scenes))

    @cached_property
    def fingerprint(self) -> str:
        """Hash of everything the model learns from (not the MQTT mapping).

        A model carries this in its metadata; a different catalog means the
        model was trained for another home and must be retrained.
        """
        data = {
            "functions": {k: v.model_dump(mode="json") for k, v in self.functions.items()},
            "devices": [d.model_dump(mode="json", exclude={"mqtt"}) for d in self.devices],
            "scenes": [s.model_dump(mode="json", exclude={"mqtt"}) for s in self.scenes],
            "rooms": [r.model_dump(mode="json") for r in self.rooms],
            "floors": [f.model_dump(mode="json") for f in self.floors],
            "groups": {k: list(v) for k, v in sorted(self.groups.items())},
        }
        blob = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    # -- validation of calls -------------------------------------------------------

    def validate_call(
        self, function: str, arguments: dict[str, Any], *, groups: bool = False
    ) -> dict[str, Any]:
        """Check a call against its signature; return the canonical arguments.

        Raises ValueError naming the offending argument. This is the last gate
        before MQTT: nothing that fails here is ever published. ``groups``
        admits a group target (``scope:class``) in place of the device, as the
        model writes it before the runtime expands it.
        """
        if function not in self.functions:
            raise ValueError(f"unknown function {function!r}")
        sig = self.signature(function)
        out: dict[str, Any] = {}
        expected = (["device"] if sig.device_ids else []) + [a.name for a in sig.args]
        if set(arguments) != set(expected):
            raise ValueError(f"{function} takes {expected}, got {sorted(arguments)}")
        if sig.device_ids:
            dev = arguments["device"]
            if dev not in sig.device_ids and not (groups and dev in sig.groups):
                raise ValueError(f"{function}: device {dev!r} is not one of {sig.device_ids}")
            out["device"] = dev
        for arg in sig.args:
            out[arg.name] = _check_arg(function, arg, arguments[arg.name], sig.scene_ids)
        return out


def _check_arg(function: str, arg: ArgSpec, value: Any, scene_ids: tuple[str, ...]) -> Any:
    where = f"{function}: {arg.name}"
    if arg.kind == "enum" or arg.kind == "scene":
        allowed = arg.values if arg.kind == "enum" else scene_ids
        if value not in allowed:
            raise ValueError(f"{where} = {value!r} is not one of {list(allowed)}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where} = {value!r} is not a number")
    assert arg.min is not None and arg.max is not None
    if not arg.min <= value <= arg.max:
        raise ValueError(
            f"{where} = {value} is outside {format_value(arg.min)}..{format_value(arg.max)}"
        )
    if arg.kind == "int":
        if not float(value).is_integer():
            raise ValueError(f"{where} = {value} is not a whole number")
        return int(value)
    assert arg.step is not None
    steps = (value - arg.min) / arg.step
    if abs(steps - round(steps)) > 1e-6:
        raise ValueError(f"{where} = {value} is not in steps of {format_value(arg.step)}")
    return int(value) if float(value).is_integer() else float(value)


def arg_values(arg: ArgSpec, scene_ids: tuple[str, ...]) -> list[str]:
    """Every allowed value of an argument as canonical text (ranges are finite)."""
    if arg.kind == "enum":
        return list(arg.values)
    if arg.kind == "scene":
        return list(scene_ids)
    assert arg.min is not None and arg.max is not None
    step = 1.0 if arg.kind == "int" else float(arg.step or 1.0)
    n = round((arg.max - arg.min) / step)
    return [format_value(arg.min + i * step) for i in range(n + 1)]
