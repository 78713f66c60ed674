"""WAV files in and out, as 16 kHz mono int16.

Python's ``wave`` (3.11) refuses float and WAVE_FORMAT_EXTENSIBLE files, which
many recorders write, so the RIFF chunks are parsed here; PyAV (faster-whisper's
decoder) would take any container ffmpeg knows, where octohome refuses what is
not PCM or float WAV with the command that converts it.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from octohome.hear.audio import SAMPLE_RATE, AudioError
from octohome.hear.resample import resample, to_int16

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
