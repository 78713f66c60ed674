"""An imported home -> a catalog directory (or an update of one written before).

Writes ``devices.toml``, ``rooms.toml``, ``scenes.toml`` and ``functions.toml`` (only
the functions its devices have, ``scene.activate`` only with scenes), checks the
result with ``Catalog.load`` before anything replaces the old files, and keeps
``imported.toml`` beside them: for every id, the thing of the source it stands for
and what the import wrote for it last.

Re-running an import into the same directory:

* **ids are stable**: a device keeps its id when it is renamed or moved in the
  source (matched by its key: zigbee IEEE address, Home Assistant registry id);
  without ``imported.toml`` a device is matched by its mqtt table (same topic or
  entity), a room by its name;
* **your edits are kept**: a field you changed by hand (a name, a room, the mqtt
  table, a device_class) stays as you wrote it, and the import says so when the
  source would have changed it; aliases are merged: those you added stay, those
  you deleted stay deleted, and the source's new ones come in;
* **devices, rooms and scenes you wrote yourself** (ids not in ``imported.toml``),
  and those another source imported, are kept as they are, comments included;
  a device of this source that you deleted from devices.toml stays out;
* what changed is reported: added, removed, renamed, moved devices, rooms,
  floors, scenes, functions.

Comments the import writes are rewritten on every run; comments you put inside a
hand-written device, room or scene stay; comments inside an imported one do not.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
import tomlkit.items

from octohome.core.catalog import (
    DEFAULT_CATALOG_DIR,
    DEVICES_FILE,
    FUNCTIONS_FILE,
    HERE_SCOPE,
    HOME_SCOPE,
    ROOMS_FILE,
    SCENES_FILE,
    Catalog,
    CatalogError,
    Device,
)
from octohome.importing.home import ImportedHome, slug

STATE_FILE = "imported.toml"
"""Beside the catalog files: key and last imported fields of every imported id."""

PLACEHOLDER_ROOM = "unassigned"
"""The room a device without one is put in, while the catalog requires a room."""

PLACEHOLDER_KEY = "octohome:unassigned"

BUILTIN_FUNCTIONS = DEFAULT_CATALOG_DIR / FUNCTIONS_FILE
"""The definitions of the built-in types' functions: the demo home's."""

_MISSING: Any = object()

_DEVICE_FIELDS = ("name", "type", "room", "device_class", "functions", "aliases", "mqtt")
_ROOM_FIELDS = ("name", "floor", "aliases")
_FLOOR_FIELDS = ("name", "aliases")
_SCENE_FIELDS = ("name", "aliases", "mqtt")
_RESERVED_IDS = {HOME_SCOPE, HERE_SCOPE}


class ImportFailed(RuntimeError):
    """The import cannot be written (the source or the directory is not usable)."""


def _type_functions(dev_type: str) -> list[str]:
    """Every built-in function of a device type (the demo home's definitions)."""
    return [f for f in _builtin_functions()[1] if f.split(".")[0] == dev_type]


def room_required() -> bool:
    """Whether the catalog still requires a room on every device."""
    return Device.model_fields["room"].is_required()


# -- the report ------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import changed, section by section, for the person running it."""

    out: Path
    sections: dict[str, list[str]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    written: bool = False

    def add(self, section: str, line: str) -> None:
        self.sections.setdefault(section, []).append(line)

    @property
    def changed(self) -> bool:
        return any(self.sections.values())

    def lines(self) -> list[str]:
        out: list[str] = []
        total = ", ".join(f"{n} {what}" for what, n in self.counts.items())
        out.append(f"{self.out}: {total}")
        if not self.changed:
            out.append("no changes")
        for section, lines in self.sections.items():
            if lines:
                out.append(f"{section}:")
                out.extend(f"  {line}" for line in lines)
        if self.skipped:
            out.append(f"skipped ({len(self.skipped)}):")
            out.extend(f"  {line}" for line in self.skipped)
        out.extend(self.notes)
        return out


# -- reading what is there ----------------------------------------------------------------


def _read(path: Path) -> tomlkit.TOMLDocument | None:
    if not path.exists():
        return None
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    except (tomlkit.exceptions.ParseError, UnicodeDecodeError) as exc:
        raise ImportFailed(f"{path}: not valid TOML ({exc}); fix or remove it first") from exc


def _tables(doc: tomlkit.TOMLDocument | None, key: str) -> list[tomlkit.items.Table]:
    if doc is None or key not in doc:
        return []
    value = doc[key]
    if not isinstance(value, tomlkit.items.AoT):
        raise ImportFailed(f"[[{key}]] is expected to be an array of tables")
    return [t for t in value.body if isinstance(t.get("id"), str)]


def _plain(value: Any) -> Any:
    return value.unwrap() if hasattr(value, "unwrap") else value


# -- merging one collection ------------------------------------------------------------------


@dataclass
class _New:
    """One thing as the source has it now."""

    key: str
    want_id: str
    fields: dict[str, Any]
    note: str = ""
    match: Any = None
    """Identity to adopt a hand-written entry by when there is no state for it."""


@dataclass
class _Out:
    id: str
    table: tomlkit.items.Table
    state: dict[str, Any] | None
    """What imported.toml keeps for it (None: not imported, e.g. written by hand)."""

    managed: bool = False
    """Imported by this run (False: hand-written or another source's)."""

    removable: bool = False
    """This source no longer has it, but something still uses it (rooms, floors)."""


def _three_way(name: str, new: Any, cur: Any, last: Any) -> tuple[Any, bool]:
    """The value to write and whether it is the user's edit (kept over the source)."""
    if name == "aliases":
        n = list(new or ())
        c = list(cur) if cur is not _MISSING else list(last if last is not _MISSING else n)
        lst = list(last) if last is not _MISSING else []
        deleted = {a.lower() for a in lst} - {a.lower() for a in c}
        added = [a for a in c if a.lower() not in {x.lower() for x in lst}]
        merged = [a for a in n if a.lower() not in deleted]
        merged += [a for a in added if a.lower() not in {x.lower() for x in merged}]
        return merged, bool(added or deleted)
    if cur is not _MISSING and cur != last:
        return cur, True
    if cur is _MISSING and last is not _MISSING:
        return _MISSING, True  # the user deleted the field
    return (new if new is not None else _MISSING), False


def _unique(want: str, taken: set[str], prefix: str) -> str:
    base = slug(want, prefix)
    if base in _RESERVED_IDS:
        base = f"{prefix}_{base}"
    out, n = base, 2
    while out in taken:
        out, n = f"{base}_{n}", n + 1
    taken.add(out)
    return out


def _merge(
    kind: str,
    news: Sequence[_New],
    tables: Sequence[tomlkit.items.Table],
    state: dict[str, dict[str, Any]],
    *,
    source: str,
    file_exists: bool,
    fields: tuple[str, ...],
    match: Callable[[dict[str, Any]], Any],
    build: Callable[[str, dict[str, Any], str], tomlkit.items.Table],
    describe: Callable[[dict[str, Any]], str],
    report: ImportReport,
    taken: set[str],
    prefix: str,
    left_out: dict[str, dict[str, Any]],
    keep_removed: bool = False,
) -> list[_Out]:
    """Merge the source's things of one kind into the file's; see the module doc."""
    section = kind
    by_id = {str(t["id"]): t for t in tables}
    taken.update(state)  # an id imported before is never handed to another thing
    key_to_id = {str(st["key"]): i for i, st in state.items() if "key" in st}
    # entries a fallback match may adopt: written by hand, or another source's
    unclaimed = {i: match(_plain(t)) for i, t in by_id.items()
                 if not str(state.get(i, {}).get("key", "")).startswith(f"{source}:")}
    merged: dict[str, _Out] = {}
    added: list[_Out] = []
    for new in news:
        known = key_to_id.get(new.key)
        if known is not None and file_exists and known not in by_id:
            left_out[known] = state[known]  # remembered, so that it stays out
            report.add(section, f"left out {known}: you removed it from the file (delete"
                                f" [{kind}.{known}] in {STATE_FILE} to bring it back)")
            continue
        adopted = False
        if known is None and new.match is not None:
            known = next((i for i, m in unclaimed.items() if m == new.match), None)
            adopted = known is not None
        if known is not None:
            unclaimed.pop(known, None)
        last = state.get(known, {}) if known is not None and not adopted else {}
        cur_table = by_id.get(known) if known is not None else None
        cur = _plain(cur_table) if cur_table is not None else {}
        final: dict[str, Any] = {}
        for f in fields:
            new_v = new.fields.get(f)
            if new_v == []:
                new_v = None
            if cur_table is None:
                value: Any = new_v if new_v is not None else _MISSING
                edited = False
            else:
                value, edited = _three_way(f, new_v, cur.get(f, _MISSING),
                                           last.get(f, _MISSING))
            if value is not _MISSING and value != [] and value is not None:
                final[f] = value
            last_v = last.get(f)
            if f == "aliases":
                differs = set(final.get(f, [])) != set(new_v or [])
                source_moved = set(new_v or []) != set(last_v or [])
            else:
                differs, source_moved = final.get(f) != new_v, new_v != last_v
            # said when the source changed it since the last import and your edit won
            if edited and differs and source_moved and not adopted:
                report.add(section, f"kept your edit of {known}.{f}")
        new_id = known if known is not None else _unique(new.want_id, taken, prefix)
        state_entry = {"key": new.key, **{k: v for k, v in new.fields.items()
                                           if v is not None and v != []}}
        out = _Out(new_id, build(new_id, final, new.note), state_entry, managed=True)
        if cur_table is None and known is None:
            added.append(out)
            report.add(section, f"added {new_id}: {describe(final)}")
            continue
        merged[new_id] = out
        if adopted:
            report.add(section, f"adopted {new_id}: your entry for {describe(final)}"
                                " (kept as you wrote it)")
        elif cur_table is None:
            report.add(section, f"restored {new_id}: {describe(final)}")
        for f in ("name", "room", "floor"):
            before, after = last.get(f), new.fields.get(f)
            if f in fields and before is not None and before != after and final.get(f) == after:
                verb = "renamed" if f == "name" else "moved"
                report.add(section, f"{verb} {new_id}: {before!r} -> {after!r}")
    result: list[_Out] = []
    for i, table in by_id.items():
        if i in merged:
            result.append(merged.pop(i))
            continue
        st = state.get(i)
        if st is not None and str(st.get("key", "")).startswith(f"{source}:"):
            if keep_removed:
                result.append(_Out(i, table, st, removable=True))
            else:
                report.add(section, f"removed {i}: {describe(_plain(table))}")
            continue
        result.append(_Out(i, table, st))  # written by hand, or another source's
    result.extend(merged.values())  # restored after the file lost them
    result.extend(added)
    return result


# -- building tables -----------------------------------------------------------------------


def _value(v: Any) -> Any:
    if isinstance(v, dict):
        t = tomlkit.inline_table()
        for k, x in v.items():
            t[k] = _value(x)
        return t
    if isinstance(v, list | tuple):
        arr = tomlkit.array()
        arr.extend(_value(x) for x in v)
        return arr
    return v


def _table(id_: str, fields: dict[str, Any], note: str,
           order: Sequence[str]) -> tomlkit.items.Table:
    t = tomlkit.table()
    for line in note.splitlines():
        t.add(tomlkit.comment(line))
    t["id"] = id_
    for f in order:
        if f in fields:
            v = fields[f]
            if f == "mqtt" and isinstance(v, dict) and "commands" in v:
                sub = tomlkit.table()
                for k, x in v.items():
                    sub[k] = _value(x)
                t[f] = sub
            else:
                t[f] = _value(v)
    return t


def _doc(header: Iterable[str], key: str, outs: Sequence[_Out],
         extra: Callable[[tomlkit.TOMLDocument], None] | None = None) -> tomlkit.TOMLDocument:
    doc = tomlkit.document()
    for line in header:
        doc.add(tomlkit.comment(line))
    doc.add(tomlkit.nl())
    if extra is not None:
        extra(doc)
    if outs:
        aot = tomlkit.aot()
        for o in outs:
            aot.append(o.table)
        doc[key] = aot
    return doc


def _header(home: ImportedHome, what: list[str]) -> list[str]:
    return [
        *what,
        "",
        f"Written by `octohome import {home.source}` from {home.origin}.",
        "Run it again to update: ids stay the same, new things are added and gone ones",
        "removed. What you add by hand (devices, rooms, scenes, aliases) and fields you",
        f"change are kept; {STATE_FILE} remembers what the import wrote.",
    ]


# -- functions -------------------------------------------------------------------------------


def _builtin_functions() -> tuple[list[str], dict[str, tomlkit.items.Table]]:
    text = BUILTIN_FUNCTIONS.read_text(encoding="utf-8")
    header = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        header.append(line[2:] if line.startswith("# ") else line[1:])
    doc = tomlkit.parse(text)
    funcs: Any = doc["functions"]
    return header, {str(k): v for k, v in funcs.items()}


def _functions_needed(devices: Sequence[_Out], scenes: bool,
                      existing: dict[str, Any]) -> list[str]:
    builtin = _builtin_functions()[1]
    needed: dict[str, None] = {}
    for d in devices:
        if d.state is not None and "functions" in d.state:
            needed.update(dict.fromkeys(d.state["functions"]))
            continue
        dev_type = str(d.table.get("type", ""))  # hand-written: every function of its type
        own = [n for n in existing if n.split(".")[0] == dev_type]
        needed.update(dict.fromkeys(own or [n for n in builtin if n.split(".")[0] == dev_type]))
    if scenes:
        needed["scene.activate"] = None
    order = [*builtin, *(n for n in existing if n not in builtin)]
    return [n for n in order if n in needed] + [n for n in needed if n not in order]


# -- the whole import ---------------------------------------------------------------------------


def write_catalog(home: ImportedHome, out: Path, *, dry_run: bool = False) -> ImportReport:
    """Merge ``home`` into the catalog directory ``out`` (created when missing).

    Nothing is replaced unless the merged catalog loads (``Catalog.load``); with
    ``dry_run`` nothing is written and the report says what would change.
    """
    out = Path(out)
    if out.resolve() == DEFAULT_CATALOG_DIR.resolve():
        raise ImportFailed(f"{out} is the shipped demo home: import into another directory")
    if out.exists() and not out.is_dir():
        raise ImportFailed(f"{out} is not a directory")
    report = ImportReport(out)
    report.skipped = list(home.skipped)
    src = home.source

    docs = {name: _read(out / name)
            for name in (DEVICES_FILE, ROOMS_FILE, SCENES_FILE, FUNCTIONS_FILE, STATE_FILE)}
    state_doc = docs[STATE_FILE]
    state: dict[str, Any] = _plain(state_doc) if state_doc is not None else {}
    sections = {k: dict(state.get(k, {})) for k in ("devices", "rooms", "floors", "scenes")}
    left: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in sections}

    # floors, then rooms (which name floors), then devices (which name rooms)
    floor_tables = _tables(docs[ROOMS_FILE], "floors")
    room_tables = _tables(docs[ROOMS_FILE], "rooms")
    room_taken = {str(t["id"]) for t in (*floor_tables, *room_tables)}
    floor_news = [
        _New(f.key, f.name, {"name": f.name, "aliases": list(f.aliases)},
             match=f.name.lower())
        for f in home.floors
    ]
    floors = _merge("floors", floor_news, floor_tables, sections["floors"], source=src,
                    file_exists=docs[ROOMS_FILE] is not None, fields=_FLOOR_FIELDS,
                    match=lambda t: str(t.get("name", "")).lower(),
                    build=lambda i, f, n: _table(i, f, n, _FLOOR_FIELDS),
                    describe=lambda f: repr(f.get("name")), report=report,
                    taken=room_taken, prefix="floor", keep_removed=True,
                    left_out=left["floors"])
    floor_id = {str(o.state["key"]): o.id for o in floors if o.state and "key" in o.state}

    rooms_used = {d.room for d in home.devices}
    needs_placeholder = None in rooms_used and room_required()
    room_news = [
        _New(r.key, r.name, {"name": r.name, "floor": floor_id.get(r.floor or ""),
                             "aliases": list(r.aliases)}, match=r.name.lower())
        for r in home.rooms
    ]
    if needs_placeholder:
        room_news.append(_New(PLACEHOLDER_KEY, PLACEHOLDER_ROOM, {"name": PLACEHOLDER_ROOM},
                              note="Devices the source gives no room (see README).",
                              match=PLACEHOLDER_ROOM))
    rooms = _merge("rooms", room_news, room_tables, sections["rooms"], source=src,
                   file_exists=docs[ROOMS_FILE] is not None, fields=_ROOM_FIELDS,
                   match=lambda t: str(t.get("name", "")).lower(),
                   build=lambda i, f, n: _table(i, f, n, _ROOM_FIELDS),
                   describe=lambda f: repr(f.get("name")), report=report,
                   taken=room_taken, prefix="room", keep_removed=True,
                   left_out=left["rooms"])
    room_name = {str(o.state["key"]): str(o.table["name"]) for o in rooms
                 if o.state and "key" in o.state}

    dev_tables = _tables(docs[DEVICES_FILE], "devices")
    dev_news = []
    for d in home.devices:
        room = room_name.get(d.room) if d.room is not None else None
        if room is None and needs_placeholder:
            room = room_name[PLACEHOLDER_KEY]
        fields = {"name": d.name, "type": d.type, "room": room,
                  "device_class": d.device_class, "aliases": list(d.aliases), "mqtt": d.mqtt}
        if set(d.functions) != set(_type_functions(d.type)):
            # a white-only bulb: the catalog says which functions it has (no colour calls)
            fields["functions"] = sorted(d.functions)
        dev_news.append(_New(d.key, d.name, fields, note=d.note, match=_target_id(d.mqtt)))
    devices = _merge("devices", dev_news, dev_tables, sections["devices"], source=src,
                     file_exists=docs[DEVICES_FILE] is not None, fields=_DEVICE_FIELDS,
                     match=lambda t: _target_id(t.get("mqtt")),
                     build=lambda i, f, n: _table(i, f, n, _DEVICE_FIELDS),
                     describe=_describe_device, report=report,
                     taken={str(t["id"]) for t in dev_tables}, prefix="device",
                     left_out=left["devices"])
    functions_of = {d.key: list(d.functions) for d in home.devices}
    for o in devices:
        if o.managed and o.state is not None:
            o.state["functions"] = functions_of[o.state["key"]]

    scene_tables = _tables(docs[SCENES_FILE], "scenes")
    scene_news = [_New(s.key, s.name, {"name": s.name, "aliases": list(s.aliases),
                                       "mqtt": s.mqtt}, note=s.note, match=_target_id(s.mqtt))
                  for s in home.scenes]
    scenes = _merge("scenes", scene_news, scene_tables, sections["scenes"], source=src,
                    file_exists=docs[SCENES_FILE] is not None, fields=_SCENE_FIELDS,
                    match=lambda t: _target_id(t.get("mqtt")),
                    build=lambda i, f, n: _table(i, f, n, _SCENE_FIELDS),
                    describe=lambda f: repr(f.get("name")), report=report,
                    taken={str(t["id"]) for t in scene_tables}, prefix="scene",
                    left_out=left["scenes"])

    # rooms and floors this source no longer has go once nothing is in them
    in_use = {str(_plain(o.table).get("room", "")).lower() for o in devices}
    kept_rooms = []
    for o in rooms:
        called = {o.id, str(o.table.get("name", "")).lower()}
        unused = not (called & in_use)
        if (o.removable or (o.state or {}).get("key") == PLACEHOLDER_KEY) and unused:
            report.add("rooms", f"removed {o.id}: {o.table.get('name')!r}")
            continue
        kept_rooms.append(o)
    floors_in_use = {str(o.table.get("floor")) for o in kept_rooms}
    kept_floors = []
    for o in floors:
        if o.removable and o.id not in floors_in_use:
            report.add("floors", f"removed {o.id}: {o.table.get('name')!r}")
            continue
        kept_floors.append(o)

    # functions: only what the devices have
    existing_funcs: dict[str, Any] = {}
    fdoc = docs[FUNCTIONS_FILE]
    if fdoc is not None and "functions" in fdoc:
        table_of: Any = fdoc["functions"]
        existing_funcs = dict(table_of.items())
    names = _functions_needed(devices, bool(scenes), existing_funcs)
    header, builtin = _builtin_functions()
    funcs_table = tomlkit.table(is_super_table=True)
    for name in names:
        table = existing_funcs.get(name, builtin.get(name))
        if table is None:
            raise ImportFailed(f"function {name} has no definition (not a built-in one)")
        funcs_table[name] = table
    if docs[FUNCTIONS_FILE] is not None:
        gone = [n for n in existing_funcs if n not in names]
        fresh = [n for n in names if n not in existing_funcs]
        if fresh:
            report.add("functions", "added " + ", ".join(fresh))
        if gone:
            report.add("functions", "removed " + ", ".join(gone))

    report.notes.extend(_same_names(devices))
    report.counts = {"devices": len(devices), "rooms": len(kept_rooms),
                     "floors": len(kept_floors), "scenes": len(scenes),
                     "functions": len(names)}

    files = {
        DEVICES_FILE: _doc(_header(home, [
            "The devices of the home, imported. One [[devices]] table per device.",
            "",
            "id      : what the model answers (stays the same across re-imports)",
            "name    : the everyday name; aliases: other names people use for it",
            "type    : light, switch, cover, climate, lock, fan or media (functions.toml)",
            "room    : a room of rooms.toml",
            "mqtt    : where its commands go (see README, 'The devices/ format')",
        ]), "devices", devices,
            extra=_groups_of(docs[DEVICES_FILE])),
        ROOMS_FILE: _rooms_doc(home, kept_floors, kept_rooms),
        SCENES_FILE: _doc(_header(home, [
            "Scenes: said on their own (\"good night\") they are activated.",
        ]), "scenes", scenes),
        FUNCTIONS_FILE: _functions_doc(home, header, funcs_table),
        STATE_FILE: _state_doc(state, src, home.origin, devices, kept_rooms, kept_floors,
                               scenes, left),
    }
    if dry_run:
        _check(files, out)
        report.notes.append("dry run: nothing written")
        return report
    _check(files, out)
    out.mkdir(parents=True, exist_ok=True)
    for name, doc in files.items():
        _atomic_write(out / name, tomlkit.dumps(doc))
    report.written = True
    return report


def _same_names(devices: Sequence[_Out]) -> list[str]:
    """Warnings for names (or aliases) that several devices share: the model cannot
    tell such devices apart, and a wrong device is worse than no call."""
    owners: dict[str, list[str]] = {}
    for o in devices:
        table = _plain(o.table)
        for name in dict.fromkeys(
                n.lower() for n in (table.get("name"), *(table.get("aliases") or ())) if n):
            owners.setdefault(name, []).append(o.id)
    return [f"warning: {', '.join(ids)} are all called {name!r}: give each its own name"
            " (in the source, or an alias here) or the model cannot tell them apart"
            for name, ids in owners.items() if len(ids) > 1]


def _target_id(mqtt: Any) -> Any:
    """What a device's mqtt table points at (adopts hand-written entries)."""
    if not isinstance(mqtt, dict):
        return None
    for k in ("entity_id", "topic", "command_topic"):
        if mqtt.get(k):
            return (k, mqtt[k])
    return None


def _describe_device(f: dict[str, Any]) -> str:
    return f"{f.get('name')!r} ({f.get('type')}, {f.get('room', 'no room')})"


def _groups_of(doc: tomlkit.TOMLDocument | None) -> Callable[[tomlkit.TOMLDocument], None]:
    def add(new: tomlkit.TOMLDocument) -> None:
        if doc is not None and "groups" in doc:
            new["groups"] = doc["groups"]  # yours, kept
    return add


def _rooms_doc(home: ImportedHome, floors: Sequence[_Out],
               rooms: Sequence[_Out]) -> tomlkit.TOMLDocument:
    lines = [
        "Rooms and floors of the home, imported. A device's `room` is one of these.",
        "",
        "\"the lights upstairs\" is every light in the rooms of a floor; a room",
        "without `floor` is on none. aliases: other names people use for it.",
    ]
    if room_required() and any(str(o.table.get("name")) == PLACEHOLDER_ROOM for o in rooms):
        lines += ["", f"`{PLACEHOLDER_ROOM}` holds the devices the source puts in no room:",
                  "move them to a real room here (their `room` in devices.toml)."]
    doc = _doc(_header(home, lines), "floors", floors)
    if rooms:
        aot = tomlkit.aot()
        for o in rooms:
            aot.append(o.table)
        doc["rooms"] = aot
    return doc


def _functions_doc(home: ImportedHome, header: list[str],
                   funcs: tomlkit.items.Table) -> tomlkit.TOMLDocument:
    doc = tomlkit.document()
    for line in header:
        doc.add(tomlkit.comment(line))
    doc.add(tomlkit.comment(""))
    doc.add(tomlkit.comment(f"Imported by `octohome import {home.source}`: only the functions"
                            " the devices have"))
    doc.add(tomlkit.comment("(a function you edit here is kept by the next import)."))
    doc.add(tomlkit.nl())
    doc["functions"] = funcs
    return doc


def _state_doc(old: dict[str, Any], source: str, origin: str, devices: Sequence[_Out],
               rooms: Sequence[_Out], floors: Sequence[_Out],
               scenes: Sequence[_Out],
               left: dict[str, dict[str, dict[str, Any]]]) -> tomlkit.TOMLDocument:
    doc = tomlkit.document()
    for line in (
        "Written by `octohome import`: for every imported id, the thing of the source",
        "it stands for (key) and what the import wrote for it last. It keeps ids stable",
        "and your edits to the catalog files. Not part of the catalog; do not edit.",
        "Delete an entry to import that thing afresh.",
    ):
        doc.add(tomlkit.comment(line))
    doc.add(tomlkit.nl())
    sources = dict(old.get("sources", {}))
    sources[source] = {"origin": origin}
    doc["sources"] = _value(sources)
    for name, outs in (("floors", floors), ("rooms", rooms), ("devices", devices),
                       ("scenes", scenes)):
        section = tomlkit.table(is_super_table=True)
        for o in outs:
            if o.state is not None:
                section[o.id] = _value(o.state)
        for id_, entry in left[name].items():  # deleted by hand: stays out
            section[id_] = _value(entry)
        doc[name] = section
    return doc


def _check(files: dict[str, tomlkit.TOMLDocument], out: Path) -> None:
    """Load the merged catalog from a scratch copy: never write one that does not load."""
    with tempfile.TemporaryDirectory(prefix="octohome-import-") as tmp:
        for name, doc in files.items():
            (Path(tmp) / name).write_text(tomlkit.dumps(doc), encoding="utf-8")
        try:
            Catalog.load(tmp)
        except CatalogError as exc:
            msg = str(exc).replace(tmp, str(out))
            raise ImportFailed(f"the merged catalog would not load, nothing written: {msg}"
                               ) from exc


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        if path.exists():
            shutil.copymode(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
