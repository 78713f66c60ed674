"""Playing replies: the sound card through sounddevice (ALSA's file plugin standing in for
a card, as on the capture side), WAV files, and the speaker's modes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from octohome.core.config import ReplyConfig
from octohome.speak.output import DeviceSink, MemorySink, WavDirSink, resample_linear
from octohome.speak.reply import Reply
from octohome.speak.speaker import Speaker
from octohome.speak.voice import Sound
from tests.paths import ROOT


def _alsa_home(tmp_path: Path, out: Path) -> dict[str, str]:
    """A HOME whose .asoundrc makes ``filespk`` a playback device writing to ``out``."""
    (tmp_path / ".asoundrc").write_text(
        "pcm.nullspk { type null }\n"
        f'pcm.filespk {{ type file; slave.pcm "nullspk"; file "{out}"; format "raw" }}\n'
    )
    return {"HOME": str(tmp_path)}


def test_playback_through_alsa_file_plugin(tmp_path: Path) -> None:
    """The real sounddevice/PortAudio output path writes exactly the reply's samples."""
    pytest.importorskip("sounddevice", exc_type=OSError)  # type: ignore[arg-type]
    out = tmp_path / "speaker.raw"
    samples = (np.sin(np.arange(22050) / 5.0) * 9000).astype("<i2")
    src = tmp_path / "reply.raw"
    src.write_bytes(samples.tobytes())
    code = textwrap.dedent(
        """
        import sys, time, numpy as np
        from octohome.speak.output import DeviceSink
        from octohome.speak.voice import Sound
        x = np.fromfile(sys.argv[1], dtype="<i2")
        starts = []
        played = DeviceSink("filespk").play(Sound(x, 22050), starts.append)
        assert starts and starts[0] == played.first_sample
        # the card is told when the sound ends: its length at least
        assert played.ends - played.first_sample >= len(x) / 22050 - 1e-3
        print("ok")
        """
    )
    env = {**os.environ, **_alsa_home(tmp_path, out), "PYTHONPATH": str(ROOT)}
    res = subprocess.run([sys.executable, "-c", code, str(src)], env=env,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    got = np.fromfile(out, dtype="<i2")
    assert np.array_equal(got[: len(samples)], samples)


class _PickyCard:
    """sounddevice with a card that only plays at 48 kHz (none here)."""

    class PortAudioError(Exception):
        pass

    def __init__(self) -> None:
        self.opened: list[int] = []
        self.written = b""

    def query_devices(self, device: object, kind: str) -> dict[str, float]:
        assert kind == "output"
        return {"default_samplerate": 48000.0}

    def RawOutputStream(self, *, samplerate: int, **kw: Any) -> Any:
        self.opened.append(samplerate)
        if samplerate != 48000:
            raise self.PortAudioError("Error opening RawOutputStream: Invalid sample rate"
                                      " [PaErrorCode -9997]")
        card = self

        class Stream:
            latency = 0.02

            def start(self) -> None: ...

            def write(self, data: bytes) -> None:
                card.written += data

            def stop(self) -> None: ...

            def close(self) -> None: ...

        return Stream()


def test_a_card_that_refuses_the_voice_rate_gets_its_own() -> None:
    card = _PickyCard()
    sink = DeviceSink("USB speaker")
    sink._sd = card
    tone = (np.sin(2 * np.pi * 440 * np.arange(22050) / 22050) * 8000).astype(np.int16)
    sink.play(Sound(tone, 22050))
    sink.play(Sound(tone, 22050))
    assert card.opened == [22050, 48000, 48000]  # asked once, remembered
    got = np.frombuffer(card.written, dtype="<i2")
    assert abs(len(got) - 2 * 48000) <= 4
    spectrum = np.abs(np.fft.rfft(got[:48000].astype(np.float64)))
    assert abs(int(np.argmax(spectrum)) - 440) <= 2


def test_resample_linear_keeps_length_and_pitch() -> None:
    x = (np.sin(2 * np.pi * 300 * np.arange(16000) / 16000) * 8000).astype(np.int16)
    y = resample_linear(x, 16000, 48000)
    assert len(y) == 48000
    assert abs(int(np.argmax(np.abs(np.fft.rfft(y.astype(np.float64))))) - 300) <= 1


def test_no_speaker_is_one_clear_message(tmp_path: Path) -> None:
    pytest.importorskip("sounddevice", exc_type=OSError)  # type: ignore[arg-type]
    code = textwrap.dedent(
        """
        import sounddevice as sd
        if any(d["max_output_channels"] > 0 for d in sd.query_devices()):
            print("HAS-DEVICE"); raise SystemExit
        import numpy as np
        from octohome.speak.output import DeviceSink
        from octohome.speak.voice import Sound, SpeakError
        try:
            DeviceSink().play(Sound(np.zeros(100, dtype=np.int16), 22050))
        except SpeakError as e:
            print("ERR", e)
        """
    )
    env = {**os.environ, "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=60)
    if "HAS-DEVICE" in res.stdout:
        pytest.skip("this machine has a real playback device")
    assert res.stdout.startswith("ERR no speaker found"), res.stdout + res.stderr
    assert 'mode = "none"' in res.stdout


def test_speaker_modes_and_wav_files(tmp_path: Path) -> None:
    sink = WavDirSink(tmp_path / "r")
    chimes = Speaker.from_config(ReplyConfig(mode="chime"), sink=sink)
    spoken = chimes.say(Reply("Kitchen lights on.", "done"))
    assert spoken is not None and spoken.sound.seconds < 0.5
    assert [p.name for p in sink.files] == ["reply-001.wav"]
    assert Sound.from_wav_bytes(sink.files[0].read_bytes()).rate == spoken.sound.rate
    silent = Speaker.from_config(ReplyConfig(mode="none"), sink=MemorySink())
    assert silent.say(Reply("Kitchen lights on.")) is None
    louder = Speaker("chime", MemorySink(), volume=2.0)
    quiet = Speaker("chime", MemorySink(), volume=0.5)
    a, b = louder.sound(Reply("x")), quiet.sound(Reply("x"))
    assert a is not None and b is not None
    assert np.abs(a.samples).max() > 3 * np.abs(b.samples).max()
