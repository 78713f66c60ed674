"""bench/whisper_tune.py: the packaged Whisper rebuilt for training, and written back.

A tuned recognizer is only as good as the mapping between CTranslate2's fused tensors
and transformers' named ones: a swapped k and v would still round-trip byte for byte,
so the rebuilt model must also hear what the packaged one hears.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from tests.paths import ROOT, bench_script


@pytest.fixture(scope="module")
def tune() -> ModuleType:
    return bench_script("whisper_tune")


@pytest.fixture(scope="module")
def packaged() -> Path:
    from octohome.hear.stt import resolve_model_path

    return resolve_model_path("tiny.en")


@pytest.mark.parametrize(
    ("said", "written"),
    [
        ("set the porch light to fifty percent", "Set the porch light to 50 percent."),
        ("hey octo  turn on the lights", "Hey octo turn on the lights."),
        ("Please Lock The Front Door", "Please lock the front door."),
        ("can i turn the heating up?", "Can I turn the heating up?"),
    ],
)
def test_a_command_is_taught_as_whisper_writes_it(
    tune: ModuleType, said: str, written: str
) -> None:
    assert tune.whisper_text(said) == written


def test_the_rebuilt_model_writes_back_byte_for_byte(
    tune: ModuleType, packaged: Path, tmp_path: Path
) -> None:
    pytest.importorskip("transformers")
    model = tune.to_transformers(packaged)
    tune.write_decoder(model, packaged, tmp_path)
    assert (tmp_path / "model.bin").read_bytes() == (packaged / "model.bin").read_bytes()
    assert (tmp_path / "tokenizer.json").is_file()


def test_the_rebuilt_model_hears_what_the_packaged_one_hears(
    tune: ModuleType, packaged: Path
) -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    import ctranslate2
    from faster_whisper.audio import decode_audio
    from faster_whisper.feature_extractor import FeatureExtractor

    audio = decode_audio(str(ROOT / "demo" / "lock_front_door.wav"), 16000)
    feats = FeatureExtractor(feature_size=80)(audio)[:, :3000]
    feats = np.pad(feats, ((0, 0), (0, 3000 - feats.shape[1]))).astype(np.float32)[None]
    start = [50257, 50362]  # <|startoftranscript|> <|notimestamps|> of tiny.en
    packaged_ids = ctranslate2.models.Whisper(str(packaged), compute_type="float32").generate(
        ctranslate2.StorageView.from_array(feats), [start], beam_size=1)[0].sequences_ids[0]
    model = tune.to_transformers(packaged)
    ids = list(start)
    with torch.no_grad():
        encoded = model.model.encoder(torch.tensor(feats)).last_hidden_state
        for _ in range(30):
            logits = model(encoder_outputs=(encoded,), decoder_input_ids=torch.tensor([ids])).logits
            token = int(logits[0, -1].argmax())
            if token == 50256:
                break
            ids.append(token)
    assert ids[len(start):] == packaged_ids
