"""``octohome eval``'s report: wrong calls counted apart from refusals, and the margin
sweep that shows what a ``[model] min_margin`` would trade."""

from __future__ import annotations

from typing import Any

from octohome.core.calls import Call, Parsed
from octohome.training.evaluate import evaluate

ON = {"function": "light.turn_on", "arguments": {"device": "kitchen_lights"}}
OFF = {"function": "light.turn_off", "arguments": {"device": "kitchen_lights"}}


class Answers:
    """Parses from a table: text -> (calls, margin); what the sweep is computed from."""

    def __init__(self, table: dict[str, tuple[list[dict[str, Any]], float]]) -> None:
        self.table = table

    def parse(self, text: str, room: str | None = None) -> Parsed:
        calls, margin = self.table[text]
        return Parsed(tuple(Call(c["function"], c["arguments"]) for c in calls), None, margin)


def test_wrong_calls_and_the_margin_sweep() -> None:
    rows: list[dict[str, Any]] = [
        {"text": "right and sure", "calls": [ON]},
        {"text": "right but unsure", "calls": [ON]},
        {"text": "wrong and unsure", "calls": [ON]},
        {"text": "refused", "calls": [ON]},
        {"text": "a question answered with a call", "calls": []},
    ]
    parser = Answers({
        "right and sure": ([ON], 5.0),
        "right but unsure": ([ON], 0.7),
        "wrong and unsure": ([OFF], 0.2),
        "refused": ([], float("inf")),
        "a question answered with a call": ([OFF], 1.2),
    })
    report = evaluate(parser, rows)
    assert (report.exact_correct, report.wrong_calls) == (2, 2)
    sweep = {row["min_margin"]: row for row in report.sweep((0.0, 0.5, 1.0, 2.0))}
    assert sweep[0.0] == {"min_margin": 0.0, "exact": 2, "wrong_calls": 2,
                          "right_calls_refused": 0}
    assert sweep[0.5]["wrong_calls"] == 1 and sweep[0.5]["exact"] == 2
    assert sweep[1.0] == {"min_margin": 1.0, "exact": 1, "wrong_calls": 1,
                          "right_calls_refused": 1}
    # the question's call refused too: one more right answer (no call), no wrong call
    assert sweep[2.0] == {"min_margin": 2.0, "exact": 2, "wrong_calls": 0,
                          "right_calls_refused": 1}
    assert "margin 0.20" in report.format()
