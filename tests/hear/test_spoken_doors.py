"""No door moves on a misheard word: espeak-ng says "unlock the back door", Whisper
tiny.en hears "Lock the back door." or "And lock the back door.", and the real model
would lock it; the spoken path (hear.heard, as the daemon uses it) makes no call."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from octohome.bench.stt import add_noise, render
from octohome.core.calls import Call, Parsed
from octohome.core.catalog import Catalog
from octohome.core.config import Settings
from octohome.hear.heard import DOUBT_REASON, Hearing, door_rule, understand
from octohome.hear.stt import Hypothesis, Transcriber, Transcript
from octohome.hear.vad import VoiceActivity, speech_bounds
from tests.speech_fixtures import needs_espeak, shared_transcriber, shared_vad

UNLOCK_BACK = Call("lock.unlock", {"device": "back_door"})


@pytest.fixture(scope="module")
def real_parser() -> Any:
    """The shipped model, when it is built for this catalog ('octohome model check')."""
    from octohome.understand.parser import ModelError, load_parser

    try:
        parser = load_parser(Settings(), Catalog.load())
    except (ModelError, OSError, ValueError) as exc:
        pytest.skip(f"the shipped model does not run on this catalog: {exc}")
    parser.warm_up()
    return parser


def heard(audio: np.ndarray) -> Transcript:
    tr = shared_transcriber()
    vad = shared_vad()
    assert isinstance(tr, Transcriber) and isinstance(vad, VoiceActivity)
    bounds = speech_bounds(audio, vad=vad)
    assert bounds is not None
    return tr.transcribe(audio[bounds[0] : bounds[1]])


def door_calls(parsed: Parsed) -> list[Call]:
    return [c for c in parsed.calls if (c.function or "").startswith("lock.")]


@needs_espeak
def test_a_misheard_unlock_locks_nothing(real_parser: Any) -> None:
    sensitive = door_rule(Catalog.load())
    # the spoken benchmark's en-gb voice: tiny.en hears "Lock the back door." clean
    # and "And lock the back door." at 10 dB SNR
    clean = render("unlock the back door", "en-gb", 160, 45)
    confused = 0
    for audio in (clean, add_noise(clean, 10.0, seed=25), render("unlock the back door")):
        tr = heard(audio)
        top = real_parser.parse(tr.text)
        if any(c.function == "lock.lock" for c in top.calls):
            confused += 1  # the first hypothesis alone would lock the door
        got = understand(tr, real_parser, sensitive=sensitive).parsed
        assert all(c == UNLOCK_BACK for c in door_calls(got)), (tr.text, got)
    assert confused, "no rendering was misheard as 'lock': the test proves nothing"


@pytest.mark.parametrize("text", [
    "And lock the back door.", "I'm locked the main door.", "A lock in the back door.",
    "and lock the front door",
])
def test_how_whisper_writes_a_missed_unlock_is_no_call(real_parser: Any, text: str) -> None:
    alone = real_parser.parse(text)
    locks = any(c.function == "lock.lock" for c in alone.calls)  # the model alone locks?
    tr = Transcript(text, 2.0, 0.2, alternatives=(Hypothesis(text, -0.2),))
    got = understand(tr, real_parser, sensitive=door_rule(Catalog.load())).parsed
    # no door call either way; the reason is the doubt when the model alone would lock
    # (the shipped model locks on three of these; "I'm locked the main door." it refuses)
    assert got.calls == () and (got.reason == DOUBT_REASON or not locks)
    # the same through Hearing, as the daemon parses what it heard
    hearing = Hearing(lambda: real_parser, sensitive=lambda: door_rule(Catalog.load()))
    hearing.heard(tr)
    assert hearing.parse(text).calls == ()
    # while a lock said plainly still locks
    plain = Transcript("Lock the back door.", 2.0, 0.2)
    assert understand(plain, real_parser, sensitive=door_rule(Catalog.load())).parsed.calls \
        == (Call("lock.lock", {"device": "back_door"}),)
