"""The benchmarks' one percentile: the standard library's, as numpy computes it by default."""

from __future__ import annotations

import math

import numpy as np
import pytest

from octohome.bench.stats import percentile
from octohome.bench.stt import normalize, word_errors


@pytest.mark.parametrize("values", [[5.0, 1.0, 3.0], [1.0, 2.0], list(map(float, range(1, 101)))])
@pytest.mark.parametrize("q", [50, 95, 99])
def test_percentile_matches_numpy(values: list[float], q: int) -> None:
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_percentile_of_nothing_and_one() -> None:
    assert math.isnan(percentile([], 50))
    assert percentile([4.0], 95) == 4.0


def test_word_errors_by_jiwer() -> None:
    ref = normalize("Set the lamp to 40%.")
    assert ref == ["set", "the", "lamp", "to", "forty", "percent"]
    assert word_errors(ref, normalize("set lamp to forty percent please")) == 2
    assert word_errors([], ["x"]) == 1
    assert normalize("volume 120") == ["volume", "one", "hundred", "and", "twenty"]
