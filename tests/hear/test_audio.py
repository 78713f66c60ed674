"""Audio in: WAV decoding of any format, resampling, raw PCM, the real microphone path."""

from __future__ import annotations

import builtins
import io
import struct
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pytest

from octohome.hear.audio import FRAME_SAMPLES, SAMPLE_RATE, AudioError
from octohome.hear.resample import Resampler, resample
from octohome.hear.sources import RawPcmSource, WavFileSource, frames_of, import_sounddevice
from octohome.hear.wav import read_wav, write_wav
from tests.paths import ROOT
from tests.speech_fixtures import data_wav, needs_espeak, needs_sox, run_module, speak


def _similar(a: np.ndarray, b: np.ndarray) -> float:
    """Best normalised correlation of two int16 signals over small shifts."""
    n = min(len(a), len(b)) - 64
    x = a[32 : 32 + n].astype(np.float64)
    best = 0.0
    for s in range(0, 64):
        y = b[s : s + n].astype(np.float64)
        best = max(best, float(np.dot(x, y) / (np.linalg.norm(x) * np.linalg.norm(y) + 1e-9)))
    return best


def test_resampler_blockwise_equals_whole() -> None:
    t = np.arange(44100) / 44100
    x = 0.5 * np.sin(2 * np.pi * 440 * t)
    whole = resample(x, 44100)
    r = Resampler(44100)
    parts = [r.process(x[i : i + 777]) for i in range(0, len(x), 777)]
    parts.append(r.process(np.zeros(0), final=True))
    blocks = np.concatenate(parts)
    assert len(whole) == len(blocks) == SAMPLE_RATE
    assert np.allclose(whole, blocks, atol=1e-6)
    ref = 0.5 * np.sin(2 * np.pi * 440 * np.arange(SAMPLE_RATE) / SAMPLE_RATE)
    assert np.abs(whole - ref)[64:-64].max() < 1e-3


def test_resampler_removes_aliasing() -> None:
    # 7 kHz survives 48k -> 16k; 12 kHz (above the new Nyquist) must not fold back to 4 kHz.
    t = np.arange(48000) / 48000
    keep = resample(np.sin(2 * np.pi * 7000 * t), 48000)
    drop = resample(np.sin(2 * np.pi * 12000 * t), 48000)
    assert np.sqrt(np.mean(keep[100:-100] ** 2)) > 0.6
    assert np.sqrt(np.mean(drop[100:-100] ** 2)) < 0.02


def test_odd_format_wav_from_data_dir() -> None:
    # 11.025 kHz, stereo, 24-bit, WAVE_FORMAT_EXTENSIBLE header
    audio = data_wav("floor_lamp_11k_stereo_24bit.wav")
    assert audio.dtype == np.int16
    assert abs(len(audio) / SAMPLE_RATE - 2.35) < 0.05
    assert np.abs(audio).max() > 3000


@needs_espeak
@needs_sox
@pytest.mark.parametrize(
    "sox_args",
    [
        ["-r", "8000", "-b", "8", "-e", "unsigned-integer"],
        ["-r", "22050", "-b", "16", "-c", "2"],
        ["-r", "44100", "-b", "24"],
        ["-r", "48000", "-b", "32", "-e", "signed-integer", "-c", "3"],
        ["-r", "16000", "-b", "32", "-e", "floating-point"],
        ["-r", "32000", "-b", "64", "-e", "floating-point", "-c", "2"],
    ],
    ids=["8k-u8", "22k-s16-stereo", "44k-s24", "48k-s32-3ch", "16k-f32", "32k-f64-stereo"],
)
def test_any_wav_format_becomes_16k_mono(tmp_path: Path, sox_args: list[str]) -> None:
    ref = speak("turn on the kitchen lights")
    src = tmp_path / "ref.wav"
    write_wav(src, ref)
    out = tmp_path / "conv.wav"
    subprocess.run(["sox", str(src), *sox_args, str(out)], check=True)
    got = read_wav(out)
    assert got.dtype == np.int16
    assert abs(len(got) - len(ref)) <= 2
    # 8-bit and 8 kHz lose detail; everything else must be near identical.
    assert _similar(ref, got) > (0.8 if "8000" in sox_args else 0.98)


def _wav_bytes(samples: np.ndarray) -> bytes:
    buf = io.BytesIO()
    import wave

    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(samples.astype("<i2").tobytes())
    return buf.getvalue()


def test_bad_files_give_clear_errors(tmp_path: Path) -> None:
    good = _wav_bytes(np.arange(16000, dtype=np.int16))
    cases = {
        "missing.wav": None,
        "text.wav": b"this is not audio at all\n" * 10,
        "empty.wav": b"",
        "header_cut.wav": good[:30],
        "mp3.wav": b"ID3\x04\x00" + b"\x00" * 200,
    }
    for name, content in cases.items():
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        with pytest.raises(AudioError, match=name):
            read_wav(path)
    with pytest.raises(AudioError, match="directory"):
        read_wav(tmp_path)
    # ADPCM (format tag 2) is named, with the conversion command.
    adpcm = bytearray(good)
    adpcm[20:22] = struct.pack("<H", 2)
    (tmp_path / "adpcm.wav").write_bytes(bytes(adpcm))
    with pytest.raises(AudioError, match="sox"):
        read_wav(tmp_path / "adpcm.wav")


def test_truncated_data_and_zero_length(tmp_path: Path) -> None:
    good = _wav_bytes(np.arange(16000, dtype=np.int16))
    (tmp_path / "cut.wav").write_bytes(good[: 44 + 2 * 8000 + 1])  # half the data, odd byte
    assert len(read_wav(tmp_path / "cut.wav")) == 8000
    (tmp_path / "zero.wav").write_bytes(_wav_bytes(np.zeros(0, dtype=np.int16)))
    assert len(read_wav(tmp_path / "zero.wav")) == 0
    assert list(WavFileSource(tmp_path / "zero.wav").frames()) == []


def test_frames_are_fixed_size() -> None:
    frames = list(frames_of(np.ones(FRAME_SAMPLES * 2 + 10, dtype=np.int16)))
    assert [len(f) for f in frames] == [FRAME_SAMPLES] * 3
    assert frames[-1][10:].sum() == 0


def test_raw_pcm_source_reads_in_pieces() -> None:
    samples = np.arange(3000, dtype=np.int16)

    class Trickle(io.RawIOBase):
        """A pipe that hands out at most 100 bytes per read, like a slow producer."""

        def __init__(self, data: bytes) -> None:
            self.data = data

        def readable(self) -> bool:
            return True

        def read(self, n: int = -1) -> bytes:
            chunk, self.data = self.data[: min(n, 100)], self.data[min(n, 100) :]
            return chunk

    frames = list(RawPcmSource(Trickle(samples.tobytes() + b"\x01")).frames())  # type: ignore[arg-type]
    got = np.concatenate(frames)
    assert len(got) == 6 * FRAME_SAMPLES
    assert np.array_equal(got[:3000], samples)


def test_missing_portaudio_is_one_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def fake_import(name: str, *args: object, **kwargs: object) -> object:
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.delitem(__import__("sys").modules, "sounddevice", raising=False)
    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(AudioError, match="libportaudio2"):
        import_sounddevice()


def _alsa_home(tmp_path: Path, raw: Path) -> dict[str, str]:
    """A HOME whose .asoundrc makes ``filemic`` a capture device playing ``raw``."""
    (tmp_path / ".asoundrc").write_text(
        'pcm.nullmic { type null }\n'
        f'pcm.filemic {{ type file; slave.pcm "nullmic"; file "/dev/null"; '
        f'infile "{raw}"; format "raw" }}\n'
    )
    return {"HOME": str(tmp_path)}


def test_no_microphone_is_one_clear_message(tmp_path: Path) -> None:
    # sounddevice raises OSError, not ImportError, when the PortAudio library is
    # missing; pytest runs with any exception class, its stubs say ImportError only
    pytest.importorskip("sounddevice", exc_type=OSError)  # type: ignore[arg-type]
    code = textwrap.dedent(
        """
        import sounddevice as sd
        if any(d["max_input_channels"] > 0 for d in sd.query_devices()):
            print("HAS-DEVICE")
        """
    )
    env = {"HOME": str(tmp_path)}  # no .asoundrc: only what the machine really has
    probe = subprocess.run(
        [__import__("sys").executable, "-c", code], capture_output=True, env=env, timeout=60
    )
    if b"HAS-DEVICE" in probe.stdout:
        pytest.skip("this machine has a real capture device")
    res = run_module("octohome.cli.listen", "--input", "mic", "--no-stt", env=env, timeout=30)
    assert res.returncode == 2
    err = res.stderr.decode()
    assert "microphone" in err and "--input FILE.wav" in err
    assert "Traceback" not in err


def test_microphone_capture_through_alsa_file_plugin(tmp_path: Path) -> None:
    """The real sounddevice/PortAudio path, fed by ALSA's file plugin instead of a sound card."""
    # sounddevice raises OSError, not ImportError, when the PortAudio library is
    # missing; pytest runs with any exception class, its stubs say ImportError only
    pytest.importorskip("sounddevice", exc_type=OSError)  # type: ignore[arg-type]
    samples = (np.sin(np.arange(24000) / 7.0) * 8000).astype("<i2")
    raw = tmp_path / "mic.raw"
    raw.write_bytes(samples.tobytes())
    env = _alsa_home(tmp_path, raw)
    code = textwrap.dedent(
        """
        import sys, numpy as np
        from octohome.hear.sources import MicSource
        # The file plugin is not paced: after the file it returns silence as fast
        # as the CPU allows, so the default 30 s queue can fill (and drop the
        # file's blocks, oldest first) before the first read. A real microphone
        # delivers 16,000 samples a second.
        src = MicSource("filemic", queue_seconds=600)
        got = []
        for f in src.frames():
            got.append(f)
            if len(got) * 512 >= 24000 + 8000:
                break
        assert src.dropped == 0, src.dropped
        src.close()
        np.concatenate(got).astype("<i2").tofile(sys.argv[1])
        """
    )
    out = tmp_path / "got.raw"
    import os
    import sys

    full_env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [sys.executable, "-c", code, str(out)], check=True, env=full_env, timeout=60
    )
    got = np.fromfile(out, dtype="<i2")
    assert np.array_equal(got[: len(samples)], samples)


class _PickyCard:
    """Stands in for sounddevice with a sound card that only records at 48 kHz (no such
    card here): the same calls MicSource makes, PortAudio's error text for a refused rate."""

    class PortAudioError(Exception):
        pass

    def __init__(self, samples: np.ndarray) -> None:
        self.samples = samples
        self.opened: list[int] = []

    def query_devices(self, device: object, kind: str) -> dict[str, float]:
        assert kind == "input"
        return {"default_samplerate": 48000.0}

    def RawInputStream(self, *, samplerate: int, callback, **kw: object):
        self.opened.append(samplerate)
        if samplerate != 48000:
            raise self.PortAudioError("Error opening RawInputStream: Invalid sample rate [PaErrorCode -9997]")
        card = self

        class Stream:
            active = True

            def start(self) -> None:
                for i in range(0, len(card.samples), 960):  # 20 ms blocks, as a driver would
                    block = card.samples[i : i + 960].astype("<i2").tobytes()
                    callback(block, len(block) // 2, None, None)
                self.active = False

            def stop(self) -> None: ...

            def close(self) -> None: ...

        return Stream()


def test_microphone_that_refuses_16k_is_resampled(monkeypatch: pytest.MonkeyPatch) -> None:
    from octohome.hear import sources as audio

    t = np.arange(48000) / 48000
    tone = (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)
    card = _PickyCard(tone)
    monkeypatch.setattr(audio, "import_sounddevice", lambda: card)
    src = audio.MicSource("USB mic")
    got = np.concatenate(list(src.frames()))
    src.close()
    assert card.opened == [SAMPLE_RATE, 48000]
    assert abs(len(got) - SAMPLE_RATE) <= FRAME_SAMPLES  # 1 s of audio at 16 kHz
    want = resample(tone.astype(np.float32) / 32768.0, 48000)
    assert _similar(got[1000:8000], (want * 32768).astype(np.int16)[1000:8000]) > 0.99
    spectrum = np.abs(np.fft.rfft(got[:SAMPLE_RATE // 2].astype(np.float64)))
    assert abs(np.argmax(spectrum) * 2 - 440) <= 4  # 0.5 s window: 2 Hz bins
