"""Audio in: microphone, WAV file or raw PCM on stdin, all as 16 kHz mono frames.

Everything after this module (wake word, voice activity, Whisper) wants the
same thing: 16 kHz, 16-bit, mono, in frames of a fixed size. The frame size
is Silero VAD's window (512 samples, 32 ms) so the voice detector never has
to re-buffer; the wake word front end takes any length.

``sounddevice`` is imported lazily: without PortAudio its import raises
OSError, and ``octohome --help`` or file input must not depend on a sound
stack being present.
"""

from __future__ import annotations

import contextlib
import math
import queue
import struct
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

SAMPLE_RATE = 16000
"""Rate of every frame this module yields (Whisper, Silero and microWakeWord all want it)."""

FRAME_SAMPLES = 512
"""Samples per frame: Silero VAD's fixed window (32 ms)."""

FRAME_SECONDS = FRAME_SAMPLES / SAMPLE_RATE

PORTAUDIO_FIX = (
    "install PortAudio (Debian/Ubuntu: apt-get install libportaudio2), "
    "or use --input FILE.wav / --input - (raw 16 kHz 16-bit mono PCM on stdin)"
)
NO_DEVICE_FIX = (
    "connect a microphone, set audio.device in config.toml to a name or index from "
    "'octohome listen --list-devices', or use --input FILE.wav / --input -"
)


class AudioError(RuntimeError):
    """Audio could not be read; the message says what to do about it."""


# -- resampling ------------------------------------------------------------------


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


# -- WAV -------------------------------------------------------------------------

_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE


def read_wav(path: str | Path) -> np.ndarray:
    """Read a WAV file of any rate, width and channel count as 16 kHz mono int16.

    Python's ``wave`` (3.11) refuses float and WAVE_FORMAT_EXTENSIBLE files,
    which many recorders write, so this parses the RIFF chunks itself.
    A data chunk cut short (a recording that was killed) is read as far as
    it goes; anything that is not a PCM/float WAV raises AudioError.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise AudioError(f"{path}: file not found") from exc
    except IsADirectoryError as exc:
        raise AudioError(f"{path}: is a directory, not a WAV file") from exc
    except OSError as exc:
        raise AudioError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    samples, rate = decode_wav(data, str(path))
    return to_int16(resample(samples, rate))


def decode_wav(data: bytes, name: str = "WAV") -> tuple[np.ndarray, int]:
    """Decode WAV bytes to (float32 mono samples, sample rate)."""
    if len(data) < 12 or data[:4] not in (b"RIFF", b"RIFX") or data[8:12] != b"WAVE":
        raise AudioError(f"{name}: not a WAV file (no RIFF/WAVE header)")
    if data[:4] == b"RIFX":
        raise AudioError(f"{name}: big-endian WAV (RIFX) is not supported")
    pos = 12
    fmt: tuple[int, int, int, int] | None = None
    payload: bytes | None = None
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        body = data[pos + 8 : pos + 8 + size]
        if cid == b"fmt ":
            if len(body) < 16:
                raise AudioError(f"{name}: truncated WAV header (fmt chunk)")
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == _EXTENSIBLE and len(body) >= 26:
                tag = struct.unpack("<H", body[24:26])[0]
            fmt = (tag, channels, rate, bits)
        elif cid == b"data":
            payload = body  # may be shorter than `size` when the file was cut
            break
        pos += 8 + size + (size & 1)
    if fmt is None:
        raise AudioError(f"{name}: WAV file has no fmt chunk (truncated or damaged)")
    if payload is None:
        raise AudioError(f"{name}: WAV file has no data chunk (truncated or damaged)")
    tag, channels, rate, bits = fmt
    if channels < 1 or rate < 1000 or rate > 384000:
        raise AudioError(f"{name}: implausible WAV format ({channels} channels, {rate} Hz)")
    if (tag == _PCM and bits in (8, 16, 24, 32)) or (tag == _FLOAT and bits in (32, 64)):
        width = bits // 8
    else:
        kind = {_PCM: "PCM", _FLOAT: "float"}.get(tag, f"format tag {tag:#x}")
        raise AudioError(
            f"{name}: unsupported WAV encoding ({kind}, {bits} bit); "
            "convert it with: sox IN.wav -r 16000 -c 1 -b 16 OUT.wav"
        )
    frame = width * channels
    usable = len(payload) // frame * frame
    raw = payload[:usable]
    if tag == _FLOAT:
        x = np.frombuffer(raw, dtype="<f4" if width == 4 else "<f8").astype(np.float32)
        x = np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0)
    elif width == 1:
        x = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        x = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    elif width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        x = v.astype(np.float32) / float(1 << 23)
    else:
        x = np.frombuffer(raw, dtype="<i4").astype(np.float32) / float(1 << 31)
    x = x.reshape(-1, channels).mean(axis=1) if channels > 1 else x
    return x.astype(np.float32), rate


def write_wav(path: str | Path, audio: np.ndarray, rate: int = SAMPLE_RATE) -> None:
    """Write int16 mono samples as a plain 16-bit WAV."""
    import wave

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.asarray(audio, dtype="<i2").tobytes())


# -- frame sources ---------------------------------------------------------------


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
