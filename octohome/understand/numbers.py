"""The numbers a sentence says, in digits or in words ("one hundred and fifty", "minus five",
"twenty one and a half"), to check a decoded value against what was said.

Why: the model was trained on values inside each argument's range, so for a value
outside it ("150 percent", "one hundred and fifty percent", "minus five degrees") it
tends to answer the nearest value it knows (100, 5). The decoder's grammar cannot see
that; comparing the decoded value with the numbers actually said can. Words become
digits with text2num (``alpha2digit``), which reads English number words in context.
"""

from __future__ import annotations

import re

from text_to_num import alpha2digit

_NUMBER = re.compile(
    r"(?<![\w.])(?P<sign>minus |negative |-)?(?P<n>\d+(?:\.\d+)?)(?P<half> and a half)?(?![\w])"
)


_UNIT_WORDS = (
    (re.compile(r"\bhalf an? (degree|percent|per cent)"), r"0.5 \1"),
    (re.compile(r"\b(?<!half )an? (degree|percent|per cent)\b"), r"1 \1"),
)
"""Amounts said with an article: "half a degree" is 0.5, "a degree" is 1."""


def spoken_numbers(text: str) -> list[float]:
    """Every number ``text`` says, as values: "set it to 21 and a half" -> [21.5],
    "down by half a degree" -> [0.5]."""
    lowered = text.lower()
    for pattern, repl in _UNIT_WORDS:
        lowered = pattern.sub(repl, lowered)
    digits = alpha2digit(lowered, "en", threshold=0)
    out: list[float] = []
    for m in _NUMBER.finditer(digits):
        value = float(m.group("n")) + (0.5 if m.group("half") else 0.0)
        out.append(-value if m.group("sign") else value)
    return out


def was_said(value: float, text: str) -> bool:
    """``value`` is one of the numbers ``text`` says, or ``text`` says no number at all
    (then the value came from a word such as "half", "full" or "max")."""
    said = spoken_numbers(text)
    return not said or any(abs(value - s) < 1e-9 for s in said)
