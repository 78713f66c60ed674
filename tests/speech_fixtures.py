"""Helpers for the speech tests: espeak-ng renderings, the Whisper model loaded once.

Not a conftest plugin on purpose: the test modules import what they use, and
the model loader is cached per process, so every test that needs Whisper
shares one load (about a second) whichever module asks first.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from octohome.hear.audio import SAMPLE_RATE
from octohome.hear.resample import resample, to_int16
from octohome.hear.wav import decode_wav, read_wav

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parent.parent

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng not installed (see packages.apt)"
)
needs_sox = pytest.mark.skipif(
    shutil.which("sox") is None, reason="sox not installed (see packages.apt)"
)


@functools.lru_cache(maxsize=64)
def _speak(text: str, voice: str) -> bytes:
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "--stdout", text], check=True, capture_output=True
    ).stdout
    samples, rate = decode_wav(wav)
    return to_int16(resample(samples, rate)).tobytes()


def speak(text: str, voice: str = "en-us") -> np.ndarray:
    """``text`` spoken by espeak-ng as 16 kHz int16 (cached)."""
    return np.frombuffer(_speak(text, voice), dtype=np.int16).copy()


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.int16)


def data_wav(name: str) -> np.ndarray:
    return read_wav(DATA / name)


@functools.lru_cache(maxsize=1)
def shared_transcriber() -> object:
    """tiny.en with catalog bias, loaded once per test process."""
    from octohome.core.config import SttConfig
    from octohome.hear.stt import Transcriber

    return Transcriber(SttConfig(), warm_up=False)


@functools.lru_cache(maxsize=1)
def shared_vad() -> object:
    from octohome.hear.vad import VoiceActivity

    return VoiceActivity()


def run_module(
    module: str, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[bytes]:
    """``python -m octohome.<module> ARGS`` in a subprocess (the real CLI path)."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = str(ROOT)
    full_env.pop("OCTOHOME_CONFIG", None)
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", module, *args], input=stdin, capture_output=True,
        env=full_env, timeout=timeout, cwd=ROOT,
    )
