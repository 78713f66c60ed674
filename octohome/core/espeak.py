"""espeak-ng's phonemes for a text, from the copy Piper bundles (``piper-tts``).

Why in ``core``: espeak-ng is one global state per process, and two stages use it,
``speak`` (Piper phonemizes each reply before synthesizing it) and ``hear`` (words
Whisper wrote compared by sound with the home's names). Neither imports the other,
so the lock both take lives here: two threads inside espeak-ng at once can crash
the process, not just give wrong phonemes.
"""

from __future__ import annotations

import threading
from typing import Any

LOCK = threading.RLock()
"""Held around every call into espeak-ng: this module's and Piper's phonemizing
(``speak.voice`` wraps it; Piper's synthesis proper runs outside the lock)."""

VOICE = "en-us"

_bridge: Any = None


class EspeakUnavailable(RuntimeError):
    """piper-tts (and with it espeak-ng) is not installed."""


def _ready() -> Any:
    global _bridge
    if _bridge is None:
        try:
            from piper import espeakbridge
            from piper.phonemize_espeak import ESPEAK_DATA_DIR
        except ImportError as exc:
            raise EspeakUnavailable("piper-tts is not installed: pip install piper-tts") from exc
        espeakbridge.initialize(str(ESPEAK_DATA_DIR))
        _bridge = espeakbridge
    return _bridge


def phonemes(text: str) -> str:
    """``text`` in IPA as espeak-ng's English voice says it, clauses joined by
    spaces (stress and length marks kept: callers strip what they do not compare)."""
    with LOCK:
        bridge = _ready()
        bridge.set_voice(VOICE)
        return " ".join(p for p, _term, _end in bridge.get_phonemes(text))
