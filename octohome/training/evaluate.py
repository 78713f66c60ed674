"""``octohome eval``: how often the model makes exactly the expected call.

Input: JSONL lines ``{"text", "function", "arguments"}`` (function null for
not-a-command), as in ``../shared/sample_commands.jsonl``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from octohome.core.calls import Call


class _ParsesText(Protocol):
    def parse(self, text: str) -> Call: ...


@dataclass
class Miss:
    """One utterance the model got wrong."""

    text: str
    expected: dict[str, Any]
    got: dict[str, Any]


@dataclass
class EvalReport:
    """Accuracy figures of one evaluation run."""

    total: int = 0
    function_correct: int = 0
    exact_correct: int = 0
    nac_true_pos: int = 0
    """Not-a-command expected and answered."""

    nac_false_pos: int = 0
    """Answered not-a-command for a real command."""

    nac_false_neg: int = 0
    """A non-command answered with a call."""

    per_function: dict[str, list[int]] = field(default_factory=dict)
    """function -> [count, function correct, exact correct]."""

    misses: list[Miss] = field(default_factory=list)

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
        return {
            "total": self.total,
            "function_accuracy": round(self.function_accuracy, 4),
            "exact_accuracy": round(self.exact_accuracy, 4),
            "not_a_command_precision": round(self.nac_precision, 4),
            "not_a_command_recall": round(self.nac_recall, 4),
            "per_function": {
                k: {"n": v[0], "function": v[1], "exact": v[2]}
                for k, v in sorted(self.per_function.items())
            },
            "misses": [m.__dict__ for m in self.misses],
        }

    def format(self) -> str:
        lines = [
            f"utterances            {self.total}",
            f"function accuracy     {self.function_accuracy:.1%}",
            f"exact-call accuracy   {self.exact_accuracy:.1%}",
            f"not-a-command         precision {self.nac_precision:.1%}"
            f"  recall {self.nac_recall:.1%}",
            "",
            f"{'function':28} {'n':>4} {'function':>9} {'exact':>7}",
        ]
        for name, (n, fc, ec) in sorted(self.per_function.items()):
            lines.append(f"{name:28} {n:4d} {fc / n:9.1%} {ec / n:7.1%}")
        if self.misses:
            lines += ["", f"misses ({len(self.misses)}):"]
            for m in self.misses:
                lines.append(f"  {m.text!r}")
                lines.append(f"      expected {json.dumps(m.expected)}")
                lines.append(f"      got      {json.dumps(m.got)}")
        return "\n".join(lines)


def evaluate(parser: _ParsesText, rows: Iterable[dict[str, Any]]) -> EvalReport:
    report = EvalReport()
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in rows:
        expected = {"function": row["function"], "arguments": row.get("arguments") or {}}
        got = parser.parse(row["text"]).to_json()
        fn_ok = got["function"] == expected["function"]
        exact = fn_ok and got["arguments"] == expected["arguments"]
        report.total += 1
        report.function_correct += fn_ok
        report.exact_correct += exact
        key = expected["function"] or "(not a command)"
        per[key][0] += 1
        per[key][1] += fn_ok
        per[key][2] += exact
        if expected["function"] is None:
            report.nac_true_pos += got["function"] is None
            report.nac_false_neg += got["function"] is not None
        elif got["function"] is None:
            report.nac_false_pos += 1
        if not exact:
            report.misses.append(Miss(row["text"], expected, got))
    report.per_function = dict(per)
    return report


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{n}: not JSON: {exc}") from exc
            if "text" not in row or "function" not in row:
                raise ValueError(f"{path}:{n}: needs keys 'text' and 'function'")
            rows.append(row)
    return rows
