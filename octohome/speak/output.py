"""Where replies are played: the sound card (sounddevice), WAV files, or nowhere.

Every sink's ``play`` blocks until the sound has been handed over and returns a
:class:`Played`: when its first sample went out and how long it lasts, from
which the daemon knows how long to keep the microphone deaf. The sound card is
reached through sounddevice/PortAudio like the microphone is, and is tested the
same way, with ALSA's file plugin standing in for a card
(``tests/speak/test_output.py``).

``sounddevice`` is imported lazily: without PortAudio its import raises OSError.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from octohome.speak.voice import Sound, SpeakError

NO_OUTPUT_FIX = (
    "connect a speaker, set [reply] device in config.toml to an output device"
    " ('python -m sounddevice' lists them), or set [reply] mode = \"none\""
)


@dataclass(frozen=True)
class Played:
    """One sound played."""

    first_sample: float
    """``time.monotonic()`` when its first samples were handed to the output."""

    ends: float
    """``time.monotonic()`` by which the listener hears it no more (its last sample
    played, the output's own latency included)."""


class AudioSink(ABC):
    """Plays a sound, blocking until it is handed over."""

    description = "audio output"

    @abstractmethod
    def play(self, sound: Sound, on_start: Callable[[float], None] | None = None) -> Played:
        """Play ``sound``; ``on_start(t)`` is called as its first samples go out."""

    def close(self) -> None:  # noqa: B027 - sinks without resources need no close
        """Release the output."""


def resample_linear(samples: np.ndarray, src: int, dst: int) -> np.ndarray:
    """int16 mono from ``src`` Hz to ``dst`` Hz by linear interpolation (for an output
    that refuses the voice's rate: speech up-sampled to 44.1/48 kHz loses nothing)."""
    if src == dst or len(samples) == 0:
        return samples
    n = round(len(samples) * dst / src)
    x = np.interp(np.arange(n) * (src / dst), np.arange(len(samples)),
                  samples.astype(np.float32))
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


class DeviceSink(AudioSink):
    """A sound card through sounddevice/PortAudio.

    The stream is opened per sound at the sound's rate (ALSA's plug layer and
    PulseAudio convert); a card that refuses the rate is opened at its own and
    the sound resampled. Written in blocks, so the first samples go out at once.
    """

    BLOCK_S = 0.05

    def __init__(self, device: str | int | None = None) -> None:
        if isinstance(device, str):
            device = device.strip() or None
            if isinstance(device, str) and device.isdigit():
                device = int(device)
        self.device = device
        self.description = (f"speaker {device!r}" if device is not None
                            else "speaker (default device)")
        self._sd: Any = None
        """sounddevice, imported at the first sound (a start without PortAudio is not
        refused: the speak stage fails and is retried, like a missing microphone)."""
        self._rate_fallback: int | None = None

    @staticmethod
    def _import() -> Any:
        try:
            import sounddevice
        except OSError as exc:
            raise SpeakError(f"speaker unavailable: {exc}; install PortAudio"
                             f" (apt-get install libportaudio2), or {NO_OUTPUT_FIX}") from exc
        return sounddevice

    def _open(self, rate: int) -> Any:
        sd = self._sd
        try:
            return sd.RawOutputStream(samplerate=rate, device=self.device, channels=1,
                                      dtype="int16")
        except (sd.PortAudioError, ValueError) as exc:
            msg = str(exc)
            if "sample rate" in msg.lower() and self._rate_fallback is None:
                info = sd.query_devices(self.device, "output")
                self._rate_fallback = int(info["default_samplerate"])
                return None
            if "querying device -1" in msg or "No output device" in msg:
                raise SpeakError(f"no speaker found (PortAudio: {msg}); {NO_OUTPUT_FIX}") from exc
            raise SpeakError(f"cannot open speaker {self.device!r}: {msg}; {NO_OUTPUT_FIX}") \
                from exc

    def play(self, sound: Sound, on_start: Callable[[float], None] | None = None) -> Played:
        if self._sd is None:
            self._sd = self._import()
        samples, rate = sound.samples, sound.rate
        if self._rate_fallback is not None:
            samples, rate = resample_linear(samples, rate, self._rate_fallback), \
                self._rate_fallback
        stream = self._open(rate)
        if stream is None:  # the card refused the rate: its own, from now on
            assert self._rate_fallback is not None
            samples, rate = resample_linear(samples, rate, self._rate_fallback), \
                self._rate_fallback
            stream = self._open(rate)
            if stream is None:
                raise SpeakError(f"speaker {self.device!r} refuses {rate} Hz; {NO_OUTPUT_FIX}")
        block = max(1, int(self.BLOCK_S * rate))
        data = samples.astype("<i2")
        try:
            stream.start()
            latency = float(stream.latency or 0.0)
            t0 = time.monotonic()
            if on_start is not None:
                on_start(t0)
            for i in range(0, len(data), block):
                stream.write(data[i:i + block].tobytes())
            done = time.monotonic()
        except self._sd.PortAudioError as exc:
            raise SpeakError(f"playing on {self.description} failed: {exc}") from exc
        finally:
            try:
                stream.stop()
                stream.close()
            except Exception:  # closing a broken stream must not hide the first error
                pass
        return Played(t0, max(done, t0 + sound.seconds) + latency)


class WavDirSink(AudioSink):
    """Each sound to a WAV file in a directory (``reply-001.wav``, ...), at once:
    ``octohome converse --reply-dir`` and the tests."""

    def __init__(self, directory: Path | str, prefix: str = "reply") -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.prefix = prefix
        self.description = f"WAV files in {self.directory}"
        self.files: list[Path] = []
        self._lock = threading.Lock()
        self.next_name: str | None = None
        """The name of the next file (else numbered)."""

    def play(self, sound: Sound, on_start: Callable[[float], None] | None = None) -> Played:
        t0 = time.monotonic()
        if on_start is not None:
            on_start(t0)
        with self._lock:
            name = self.next_name or f"{self.prefix}-{len(self.files) + 1:03d}.wav"
            self.next_name = None
            path = self.directory / name
            path.write_bytes(sound.wav_bytes())
            self.files.append(path)
        return Played(t0, t0)


class MemorySink(AudioSink):
    """Keeps what was played (tests); optionally in real time (``realtime``), so that
    the microphone's deaf time is what a speaker's would be."""

    def __init__(self, realtime: bool = False,
                 listener: Callable[[Sound, float], None] | None = None) -> None:
        self.realtime = realtime
        self.listener = listener
        """Called with each sound as it starts (an echo into a test microphone)."""
        self.played: list[tuple[Sound, Played]] = []
        self.description = "memory"
        self._lock = threading.Lock()

    def play(self, sound: Sound, on_start: Callable[[float], None] | None = None) -> Played:
        t0 = time.monotonic()
        if on_start is not None:
            on_start(t0)
        if self.listener is not None:
            self.listener(sound, t0)
        if self.realtime:
            time.sleep(sound.seconds)
        played = Played(t0, t0 + sound.seconds)
        with self._lock:
            self.played.append((sound, played))
        return played


class NullSink(AudioSink):
    description = "nowhere"

    def play(self, sound: Sound, on_start: Callable[[float], None] | None = None) -> Played:
        t0 = time.monotonic()
        if on_start is not None:
            on_start(t0)
        return Played(t0, t0)
