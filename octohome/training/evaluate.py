"""``octohome eval``: how often the model makes exactly the expected calls.

Input: JSONL lines in either shape of ``../shared/demo-home.md``:
v1 ``{"text", "function", "arguments"}`` (function null for not-a-command) or
v2 ``{"text", "calls", "room"?}``. Calls are compared as a multiset, as
``shared/tools/run_samples.py`` does. Each line falls in a category (its own
``"category"`` key, else one derived from what it expects) so the report says
which rules of the contract hold and which do not.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from octohome.core.calls import Parsed
from octohome.training.dataset import iter_jsonl

STEP_FUNCTIONS = ("step_",)

SWEEP = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0)
"""Margins :meth:`EvalReport.sweep` tries."""


class _ParsesText(Protocol):
    def parse(self, text: str, room: str | None = None) -> Parsed: ...


@dataclass
class Miss:
    """One utterance the model got wrong."""

    text: str
    expected: list[dict[str, Any]]
    got: dict[str, Any]
    room: str | None = None
    category: str = ""
    margin: float | None = None
    """The parse's smallest logit gap between the model's choice and the runner-up."""


@dataclass
class EvalReport:
    """Accuracy figures of one evaluation run."""

    total: int = 0
    function_correct: int = 0
    """The functions called (as a multiset) are the expected ones."""

    exact_correct: int = 0
    nac_true_pos: int = 0
    """No call expected and none made."""

    nac_false_pos: int = 0
    """No call made where calls were expected."""

    nac_false_neg: int = 0
    """Calls made where none were expected."""

    per_function: dict[str, list[int]] = field(default_factory=dict)
    """first expected function -> [count, function correct, exact correct]."""

    per_category: dict[str, list[int]] = field(default_factory=dict)
    """category -> [count, function correct, exact correct]."""

    outcomes: list[tuple[float, bool, bool]] = field(default_factory=list)
    """Per utterance that made calls: (margin, exact, calls were expected), for
    :meth:`sweep`."""

    misses: list[Miss] = field(default_factory=list)

    @property
    def wrong_calls(self) -> int:
        """Utterances that made calls, and not the expected ones: the costly kind of miss
        (a wrong device acts), where a refusal only fails to act."""
        return sum(1 for _, exact, _ in self.outcomes if not exact)

    def sweep(self, thresholds: Iterable[float] = SWEEP) -> list[dict[str, Any]]:
        """What a ``[model] min_margin`` would give: a parse whose margin is below the
        threshold becomes no call. Per threshold: exact calls, wrong calls, and right
        calls lost to the refusal."""
        rows = []
        for t in thresholds:
            lost = sum(1 for m, ok, want in self.outcomes if m < t and ok and want)
            gained = sum(1 for m, ok, want in self.outcomes if m < t and not want)
            wrong = sum(1 for m, ok, want in self.outcomes if m >= t and not ok)
            rows.append({"min_margin": t, "exact": self.exact_correct - lost + gained,
                         "wrong_calls": wrong, "right_calls_refused": lost})
        return rows

    @property
    def function_accuracy(self) -> float:
        return self.function_correct / self.total if self.total else 0.0

    @property
    def exact_accuracy(self) -> float:
        return self.exact_correct / self.total if self.total else 0.0

    @property
    def nac_precision(self) -> float:
        d = self.nac_true_pos + self.nac_false_pos
        return self.nac_true_pos / d if d else 1.0

    @property
    def nac_recall(self) -> float:
        d = self.nac_true_pos + self.nac_false_neg
        return self.nac_true_pos / d if d else 1.0

    def to_json(self) -> dict[str, Any]:
        def table(d: dict[str, list[int]]) -> dict[str, Any]:
            return {k: {"n": v[0], "function": v[1], "exact": v[2]} for k, v in sorted(d.items())}

        return {
            "total": self.total,
            "function_accuracy": round(self.function_accuracy, 4),
            "exact_accuracy": round(self.exact_accuracy, 4),
            "not_a_command_precision": round(self.nac_precision, 4),
            "not_a_command_recall": round(self.nac_recall, 4),
            "per_category": table(self.per_category),
            "per_function": table(self.per_function),
            "wrong_calls": self.wrong_calls,
            "margin_sweep": self.sweep(),
            "misses": [m.__dict__ for m in self.misses],
        }

    def format(self) -> str:
        lines = [
            f"utterances            {self.total}",
            f"function accuracy     {self.function_accuracy:.1%}",
            f"exact-call accuracy   {self.exact_accuracy:.1%}",
            f"no call expected      precision {self.nac_precision:.1%}"
            f"  recall {self.nac_recall:.1%}",
            f"wrong calls           {self.wrong_calls} (calls made, not the expected ones)",
        ]
        lines += ["", "min_margin  exact  wrong calls  right calls refused"]
        for row in self.sweep():
            lines.append(f"{row['min_margin']:10}  {row['exact']:5d}  {row['wrong_calls']:11d}"
                         f"  {row['right_calls_refused']:19d}")
        for title, d in (("category", self.per_category), ("function", self.per_function)):
            lines += ["", f"{title:28} {'n':>4} {'function':>9} {'exact':>7}"]
            for name, (n, fc, ec) in sorted(d.items()):
                lines.append(f"{name:28} {n:4d} {fc / n:9.1%} {ec / n:7.1%}")
        if self.misses:
            lines += ["", f"misses ({len(self.misses)}):"]
            for m in self.misses:
                room = f"  (room: {m.room})" if m.room else ""
                margin = f"  margin {m.margin:.2f}" if m.margin is not None else ""
                lines.append(f"  {m.text!r}{room}  [{m.category}]{margin}")
                lines.append(f"      expected {json.dumps(m.expected)}")
                lines.append(f"      got      {json.dumps(m.got)}")
        return "\n".join(lines)


def expected_calls(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The calls a case expects, from either shape (v1: one call or none)."""
    if "calls" in row:
        return [{"function": c["function"], "arguments": c.get("arguments") or {}}
                for c in row["calls"]]
    if row.get("function") is None:
        return []
    return [{"function": row["function"], "arguments": row.get("arguments") or {}}]


def category_of(row: dict[str, Any], expected: list[dict[str, Any]]) -> str:
    """The rule a case exercises: its own "category", else derived from what it expects."""
    if row.get("category"):
        return str(row["category"])
    if not expected:
        return "no call"
    functions = [c["function"] for c in expected]
    if any(f.split(".")[1].startswith(STEP_FUNCTIONS) for f in functions):
        return "relative change"
    if row.get("room"):
        return "speaker's room"
    if len(set(functions)) > 1:
        return "several commands"
    if len(expected) > 1:
        return "group"
    return "single device"


def _key(call: dict[str, Any]) -> str:
    return json.dumps(call, sort_keys=True)


def evaluate(parser: _ParsesText, rows: Iterable[dict[str, Any]]) -> EvalReport:
    report = EvalReport()
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    cats: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in rows:
        expected = expected_calls(row)
        room = row.get("room")
        parsed = parser.parse(row["text"], room=room)
        got = parsed.to_json()
        fn_ok = Counter(c["function"] for c in got["calls"]) == Counter(
            c["function"] for c in expected)
        exact = Counter(_key(c) for c in got["calls"]) == Counter(_key(c) for c in expected)
        category = category_of(row, expected)
        report.total += 1
        report.function_correct += fn_ok
        report.exact_correct += exact
        key = expected[0]["function"] if expected else "(no call)"
        for table, k in ((per, key), (cats, category)):
            table[k][0] += 1
            table[k][1] += fn_ok
            table[k][2] += exact
        if not expected:
            report.nac_true_pos += not got["calls"]
            report.nac_false_neg += bool(got["calls"])
        elif not got["calls"]:
            report.nac_false_pos += 1
        if got["calls"]:
            report.outcomes.append((parsed.margin, exact, bool(expected)))
        if not exact:
            margin = parsed.margin if parsed.margin != float("inf") else None
            report.misses.append(Miss(row["text"], expected, got, room, category, margin))
    report.per_function = dict(per)
    report.per_category = dict(cats)
    return report


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for n, row in iter_jsonl(path):
        if "text" not in row or ("function" not in row and "calls" not in row):
            raise ValueError(f"{path}:{n}: needs 'text' and 'function' (v1) or 'calls' (v2)")
        rows.append(row)
    return rows
