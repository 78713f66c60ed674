"""Helpers: write cases.jsonl from hand-written sentences; groups expanded from the catalog."""

import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from octohome.core.catalog import Catalog


class C:
    """One device call."""

    def __init__(self, function, device=None, **args):
        self.function, self.device, self.args = function, device, args


class G:
    """A group: every device of class `cls` in `scope` (home, a floor id, a room id)
    that has the function; expanded in catalog order."""

    def __init__(self, function, scope, cls, **args):
        self.function, self.scope, self.cls, self.args = function, scope, cls, args


def expand(cat: Catalog, spec):
    if isinstance(spec, C):
        if spec.device is None:  # scene.activate
            return [{"function": spec.function, "arguments": dict(spec.args)}]
        return [{"function": spec.function, "arguments": {"device": spec.device, **spec.args}}]
    dev_type = spec.function.split(".")[0]
    out = []
    for d in cat.devices:
        if d.type != dev_type or d.kind != spec.cls or not cat.device_has(d, spec.function):
            continue
        room = cat.room_of(d)
        if spec.scope == "home" or spec.scope == room.id or (
                room.id and spec.scope == room.floor):
            out.append({"function": spec.function,
                        "arguments": {"device": d.id, **spec.args}})
    assert out, f"group {spec.function} {spec.scope}:{spec.cls} is empty"
    return out


def write(home: str, cases):
    cat = Catalog.load(f"{Path(__file__).resolve().parents[1]}/{home}")
    room_ids = {r.id for r in cat.rooms}
    lines, cats, ncalls, texts = [], Counter(), 0, set()
    for kind, text, specs, room in cases:
        assert (text, room) not in texts, f"duplicate: {text}"
        texts.add((text, room))
        calls = [c for s in specs for c in expand(cat, s)]
        for call in calls:
            canon = cat.validate_call(call["function"], call["arguments"])
            assert canon == call["arguments"], (text, call, canon)
            ncalls += 1
        assert (kind == "refusal") == (not calls), text
        row = {"text": text, "calls": calls}
        if room is not None:
            assert room in room_ids, room
            row["room"] = room
        lines.append(json.dumps(row, ensure_ascii=False))
        cats[kind] += 1
    out = Path(__file__).resolve().parents[1] / home / "cases.jsonl"
    out.write_text("\n".join(lines) + "\n")
    total = sum(cats.values())
    print(f"{home}: {total} sentences, {ncalls} calls validated;",
          ", ".join(f"{k} {v} ({100 * v / total:.0f}%)" for k, v in cats.items()))
