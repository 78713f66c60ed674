"""Wake word: microWakeWord on espeak-ng renderings of the phrase, none on commands."""

from __future__ import annotations

import numpy as np
import pytest

from octohome.hear.sources import frames_of
from octohome.hear.wake import WakeDetector, WakeError, cutoff_for
from tests.speech_fixtures import data_wav, needs_espeak, silence, speak

COMMANDS = (
    "turn on the kitchen lights",
    "set the floor lamp to forty percent",
    "open the garage door",
    "good night scene",
    "alexa",  # another wake word must not wake okay nabu
)


def detections(detector: WakeDetector, audio: np.ndarray) -> list[int]:
    detector.reset()
    padded = np.concatenate([silence(0.5), audio, silence(1.0)])
    return [i for i, f in enumerate(frames_of(padded)) if detector.process(f)]


@pytest.fixture(scope="module")
def okay_nabu() -> WakeDetector:
    return WakeDetector("okay_nabu")


def test_okay_nabu_from_data_wav(okay_nabu: WakeDetector) -> None:
    assert len(detections(okay_nabu, data_wav("okay_nabu.wav"))) == 1


@needs_espeak
@pytest.mark.parametrize("voice", ["en-us", "en-gb"])
@pytest.mark.parametrize("phrase", ["okay nabu", "ok nabu"])
def test_okay_nabu_detected(okay_nabu: WakeDetector, phrase: str, voice: str) -> None:
    assert len(detections(okay_nabu, speak(phrase, voice))) == 1


@needs_espeak
@pytest.mark.parametrize("model,phrase", [("alexa", "alexa"), ("hey_mycroft", "hey mycroft")])
def test_other_builtin_models(model: str, phrase: str) -> None:
    det = WakeDetector(model)
    assert len(detections(det, speak(phrase, "en-gb"))) == 1
    assert detections(det, speak("turn on the kitchen lights")) == []


@needs_espeak
def test_no_detection_on_commands(okay_nabu: WakeDetector) -> None:
    for text in COMMANDS:
        for voice in ("en-us", "en-gb"):
            assert detections(okay_nabu, speak(text, voice)) == [], (text, voice)
            assert okay_nabu.max_probability < okay_nabu.cutoff


def test_no_detection_on_noise_and_silence(okay_nabu: WakeDetector) -> None:
    noise = (np.random.default_rng(3).standard_normal(16000 * 3) * 4000).astype(np.int16)
    assert detections(okay_nabu, noise) == []
    assert detections(okay_nabu, silence(2.0)) == []


def test_refractory_time() -> None:
    phrase = data_wav("okay_nabu.wav")
    twice = np.concatenate([phrase, silence(0.3), phrase])
    assert len(detections(WakeDetector("okay_nabu", refractory=0.8), twice)) == 2
    assert len(detections(WakeDetector("okay_nabu", refractory=3.0), twice)) == 1


def test_sensitivity_mapping() -> None:
    assert cutoff_for(0.5, 0.85) == pytest.approx(0.85)
    assert cutoff_for(0.0, 0.85) == pytest.approx(0.99)
    assert cutoff_for(1.0, 0.85) == pytest.approx(0.425)
    values = [cutoff_for(s / 10, 0.9) for s in range(11)]
    assert values == sorted(values, reverse=True)


def test_unknown_model_is_named() -> None:
    with pytest.raises(WakeError, match="hey_siri"):
        WakeDetector("hey_siri")
