"""Audio sources: microphone, WAV file or raw PCM on stdin, all as 16 kHz mono frames.

``sounddevice`` is imported lazily: without PortAudio its import raises
OSError, and ``octohome --help`` or file input must not depend on a sound
stack being present.
"""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from octohome.hear.audio import FRAME_SAMPLES, FRAME_SECONDS, SAMPLE_RATE, AudioError
from octohome.hear.resample import Resampler, to_int16
from octohome.hear.wav import read_wav

PORTAUDIO_FIX = (
    "install PortAudio (Debian/Ubuntu: apt-get install libportaudio2), "
    "or use --input FILE.wav / --input - (raw 16 kHz 16-bit mono PCM on stdin)"
)
NO_DEVICE_FIX = (
    "connect a microphone, set audio.device in config.toml to a name or index from "
    "'octohome listen --list-devices', or use --input FILE.wav / --input -"
)


def frames_of(audio: np.ndarray, frame: int = FRAME_SAMPLES) -> Iterator[np.ndarray]:
    """Split int16 samples into fixed frames; the last is padded with zeros."""
    for i in range(0, len(audio), frame):
        chunk = audio[i : i + frame]
        if len(chunk) < frame:
            chunk = np.concatenate([chunk, np.zeros(frame - len(chunk), dtype=np.int16)])
        yield chunk


class AudioSource(ABC):
    """A stream of 16 kHz mono int16 frames of FRAME_SAMPLES samples."""

    description: str = "audio"

    @abstractmethod
    def frames(self) -> Iterator[np.ndarray]:
        """Yield frames until the source ends (files) or close() is called (mic)."""

    def close(self) -> None:  # noqa: B027 - sources without resources need no close
        """Stop the source; a blocked frames() returns soon after."""

    def __enter__(self) -> AudioSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class WavFileSource(AudioSource):
    """A WAV file (any rate, width, channels); optionally paced in real time."""

    def __init__(self, path: str | Path, realtime: bool = False) -> None:
        self.path = Path(path)
        self.realtime = realtime
        self.description = str(path)
        self.audio = read_wav(self.path)  # fail early, with the file's name
        self._stop = threading.Event()

    def frames(self) -> Iterator[np.ndarray]:
        for f in frames_of(self.audio):
            if self._stop.is_set():
                return
            if self.realtime:
                self._stop.wait(FRAME_SECONDS)
            yield f

    def close(self) -> None:
        self._stop.set()


class RawPcmSource(AudioSource):
    """Raw 16 kHz 16-bit little-endian mono PCM from a binary stream (stdin)."""

    def __init__(self, stream: IO[bytes] | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdin.buffer
        self.description = "stdin (raw 16 kHz s16le mono)"
        self._closed = False

    def frames(self) -> Iterator[np.ndarray]:
        need = FRAME_SAMPLES * 2
        pending = b""
        while not self._closed:
            chunk = self.stream.read(need - len(pending))
            if not chunk:
                break
            pending += chunk
            if len(pending) == need:
                yield np.frombuffer(pending, dtype="<i2").astype(np.int16)
                pending = b""
        if pending and not self._closed:
            pending = pending[: len(pending) // 2 * 2]
            yield from frames_of(np.frombuffer(pending, dtype="<i2").astype(np.int16))

    def close(self) -> None:
        self._closed = True


def import_sounddevice() -> Any:
    """Import sounddevice, turning a missing PortAudio into AudioError."""
    try:
        import sounddevice
    except OSError as exc:  # "PortAudio library not found"
        raise AudioError(f"microphone unavailable: {exc}; {PORTAUDIO_FIX}") from exc
    return sounddevice


def parse_device(device: str | int | None) -> str | int | None:
    """Config device to sounddevice's form: digits become an index, '' means default."""
    if isinstance(device, str):
        device = device.strip()
        if not device:
            return None
        if device.isdigit():
            return int(device)
    return device


def list_input_devices() -> list[tuple[int, str, int]]:
    """(index, name, max input channels) of every capture device PortAudio sees."""
    sd = import_sounddevice()
    out = []
    for i, dev in enumerate(sd.query_devices()):
        if dev["max_input_channels"] > 0:
            out.append((i, str(dev["name"]), int(dev["max_input_channels"])))
    return out


class MicSource(AudioSource):
    """The microphone through sounddevice/PortAudio.

    Asks PortAudio for 16 kHz mono directly (ALSA's plug layer and PulseAudio
    convert); a device that refuses is opened at its own rate and resampled
    here. Blocks arrive on PortAudio's thread and are handed over through a
    bounded queue, so a slow consumer loses the oldest audio, never blocks
    the driver.
    """

    def __init__(self, device: str | int | None = None, queue_seconds: float = 30.0) -> None:
        self.device = parse_device(device)
        self.description = f"microphone {self.device!r}" if self.device is not None else (
            "microphone (default device)"
        )
        sd = import_sounddevice()
        self._q: queue.Queue[bytes | None] = queue.Queue(
            maxsize=max(1, int(queue_seconds / FRAME_SECONDS))
        )
        self.dropped = 0
        """Blocks thrown away because the consumer fell behind."""
        self._resampler: Resampler | None = None
        self._stream = self._open(sd)

    def _open(self, sd: Any) -> Any:
        def callback(indata: Any, frames: int, time: Any, status: Any) -> None:
            data = bytes(indata)
            try:
                self._q.put_nowait(data)
            except queue.Full:
                with contextlib.suppress(queue.Empty):
                    self._q.get_nowait()
                self.dropped += 1
                self._q.put_nowait(data)

        try:
            try:
                stream = sd.RawInputStream(
                    samplerate=SAMPLE_RATE, blocksize=FRAME_SAMPLES, device=self.device,
                    channels=1, dtype="int16", callback=callback,
                )
            except sd.PortAudioError as exc:
                if "sample rate" not in str(exc).lower():
                    raise
                rate = int(sd.query_devices(self.device, "input")["default_samplerate"])
                self._resampler = Resampler(rate, SAMPLE_RATE)
                stream = sd.RawInputStream(
                    samplerate=rate, device=self.device, channels=1, dtype="int16",
                    callback=callback,
                )
            stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            msg = str(exc)
            if "querying device -1" in msg or "No input device" in msg:
                raise AudioError(
                    f"no microphone found (PortAudio: {msg}); {NO_DEVICE_FIX}"
                ) from exc
            raise AudioError(
                f"cannot open microphone {self.device!r}: {msg}; {NO_DEVICE_FIX}"
            ) from exc
        return stream

    def frames(self) -> Iterator[np.ndarray]:
        pending = np.zeros(0, dtype=np.int16)
        while True:
            try:
                data = self._q.get(timeout=0.5)
            except queue.Empty:
                if self._stream is None or not self._stream.active:
                    return
                continue
            if data is None:
                return
            block = np.frombuffer(data, dtype="<i2").astype(np.int16)
            if self._resampler is not None:
                block = to_int16(self._resampler.process(block / 32768.0))
            pending = np.concatenate([pending, block])
            while len(pending) >= FRAME_SAMPLES:
                yield pending[:FRAME_SAMPLES]
                pending = pending[FRAME_SAMPLES:]

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.stop()
                stream.close()
            except Exception:  # closing a broken stream must not raise
                pass
        with contextlib.suppress(queue.Full):
            self._q.put_nowait(None)


def open_source(
    spec: str, device: str | int | None = None, realtime: bool = False
) -> AudioSource:
    """``mic`` -> MicSource, ``-`` -> raw PCM on stdin, anything else -> a WAV file."""
    if spec == "mic":
        return MicSource(device)
    if spec == "-":
        return RawPcmSource()
    return WavFileSource(spec, realtime=realtime)
