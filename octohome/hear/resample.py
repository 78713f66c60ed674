"""Resampling to 16 kHz: whole signals (files) and block by block (a microphone).

Why our own: no scipy/soxr is installed, and both file input (any rate) and a
microphone that refuses 16 kHz need one; a band-limited (windowed-sinc) filter
with integer positions, so a day-long stream does not drift.
"""

from __future__ import annotations

import math

import numpy as np

from octohome.hear.audio import SAMPLE_RATE


class Resampler:
    """Band-limited (windowed-sinc) resampler that works block by block.

    Why our own: the venv has no scipy/soxr, and both file input (any rate)
    and a microphone that refuses 16 kHz need one. Positions are computed
    with integers, so a long stream does not drift.
    """

    HALF_TAPS = 16
    """Kernel half-width in input samples (at the lower of the two rates)."""

    def __init__(self, src_rate: int, dst_rate: int = SAMPLE_RATE) -> None:
        if src_rate <= 0 or dst_rate <= 0:
            raise ValueError("sample rates must be positive")
        g = math.gcd(src_rate, dst_rate)
        self.up = dst_rate // g
        self.down = src_rate // g
        self.cutoff = min(1.0, dst_rate / src_rate) * 0.94
        """Low-pass cutoff relative to the input Nyquist (a little under the output's)."""
        self.half = math.ceil(self.HALF_TAPS / min(1.0, dst_rate / src_rate))
        self._buf = np.zeros(self.half, dtype=np.float64)
        """Input not yet fully used; starts with `half` zeros of history."""
        self._offset = -self.half
        """Input index of ``_buf[0]``."""
        self._n = 0
        """Next output sample index."""

    @property
    def passthrough(self) -> bool:
        return self.up == self.down

    def process(self, x: np.ndarray, final: bool = False) -> np.ndarray:
        """Resample the next block (float samples); ``final`` flushes the tail."""
        x = np.asarray(x, dtype=np.float64)
        if self.passthrough:
            return x.astype(np.float32)
        self._buf = np.concatenate([self._buf, x])
        if final:
            self._buf = np.concatenate([self._buf, np.zeros(self.half)])
        end = self._offset + len(self._buf)  # one past the last input index held
        # Output n sits at input position n*down/up; it needs inputs up to pos+half.
        if final:
            total_in = end - self.half
            n_stop = -(-total_in * self.up // self.down)  # ceil
        else:
            last_base = end - self.half - 1  # largest usable floor(position)
            n_stop = ((last_base + 1) * self.up - 1) // self.down + 1
        out: list[np.ndarray] = []
        taps = np.arange(-self.half + 1, self.half + 1)
        while self._n < n_stop:
            n = np.arange(self._n, min(n_stop, self._n + 8192), dtype=np.int64)
            base = (n * self.down) // self.up
            frac = ((n * self.down) % self.up) / self.up
            idx = base[:, None] + taps[None, :]
            d = frac[:, None] - taps[None, :]
            w = 0.5 + 0.5 * np.cos(np.pi * np.clip(d / self.half, -1.0, 1.0))
            h = self.cutoff * np.sinc(self.cutoff * d) * w
            vals = self._buf[idx - self._offset]
            out.append((vals * h).sum(axis=1))
            self._n = int(n[-1]) + 1
        # Keep only the history still needed by the next output.
        next_base = (self._n * self.down) // self.up
        keep_from = next_base - self.half + 1 - self._offset
        if keep_from > 0:
            self._buf = self._buf[keep_from:]
            self._offset += keep_from
        res = np.concatenate(out) if out else np.zeros(0)
        return res.astype(np.float32)


def resample(x: np.ndarray, src_rate: int, dst_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Resample a whole float signal."""
    if src_rate == dst_rate:
        return np.asarray(x, dtype=np.float32)
    return Resampler(src_rate, dst_rate).process(x, final=True)


def to_int16(x: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] to int16, clipping."""
    return (np.clip(x, -1.0, 32767 / 32768) * 32768.0).round().astype(np.int16)
