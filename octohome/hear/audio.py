"""The audio format every hearing stage works in: 16 kHz mono int16, 32 ms frames.

Wake word, voice activity and Whisper all want the same thing, so files and
microphones are turned into it at the edge (``octohome.hear.sources``, with
``wav`` and ``resample``); the frame size is Silero VAD's window (512
samples) so the voice detector never re-buffers.
"""

from __future__ import annotations

SAMPLE_RATE = 16000
"""Rate of every frame the sources yield (Whisper, Silero and microWakeWord all want it)."""

FRAME_SAMPLES = 512
"""Samples per frame: Silero VAD's fixed window (32 ms)."""

FRAME_SECONDS = FRAME_SAMPLES / SAMPLE_RATE


class AudioError(RuntimeError):
    """Audio could not be read; the message says what to do about it."""
