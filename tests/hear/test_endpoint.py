"""Early end of an utterance (hear.endpoint): real Silero VAD on real speech, a fake
Whisper whose speed and answers the test sets."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from octohome.core.config import AudioConfig
from octohome.hear.audio import SAMPLE_RATE
from octohome.hear.endpoint import EarlyEnd
from octohome.hear.listener import Listener, ListenEvent, SpeechEnd, TranscriptEvent
from octohome.hear.stt import Transcript
from octohome.hear.vad import VoiceActivity, speech_bounds
from tests.hear.test_listener import ArraySource
from tests.speech_fixtures import data_wav, shared_vad, silence


class FakeWhisper:
    """Answers ``text`` (or the audio's length when text is None) after ``delay`` s."""

    def __init__(self, text: str | None = "Turn on the kitchen lights.", delay: float = 0.0):
        self.text = text
        self.delay = delay
        self.heard: list[int] = []
        self.lock = threading.Lock()

    def transcribe(self, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Transcript:
        time.sleep(self.delay)
        with self.lock:
            self.heard.append(len(audio))
        return Transcript(self.text or f"{len(audio)} samples", len(audio) / SAMPLE_RATE,
                          self.delay)


@pytest.fixture()
def vad() -> VoiceActivity:
    v = shared_vad()
    assert isinstance(v, VoiceActivity)
    v.reset()
    return v


def command() -> np.ndarray:
    return data_wav("kitchen_lights_on.wav")


def ends(events: list[ListenEvent]) -> list[SpeechEnd]:
    return [e for e in events if isinstance(e, SpeechEnd)]


class PacedSource(ArraySource):
    """Frames a few times faster than real time: fast, but the probe's thread gets its
    turn (a real microphone gives it 32 ms per frame)."""

    def frames(self) -> Iterator[np.ndarray]:
        for f in super().frames():
            time.sleep(0.004)
            yield f


def run(vad: VoiceActivity, audio: np.ndarray, early: EarlyEnd | None) -> list[ListenEvent]:
    listener = Listener(AudioConfig(wake="none"), vad=vad, early=early)
    return list(listener.run(PacedSource(audio)))


def test_a_whole_command_ends_after_the_short_silence(vad: VoiceActivity) -> None:
    audio = np.concatenate([silence(0.5), command(), silence(1.5)])
    normal = ends(run(vad, audio, None))
    vad.reset()
    whisper = FakeWhisper()
    early = EarlyEnd(whisper, lambda tr: True)
    fast = ends(run(vad, audio, early))
    assert len(normal) == len(fast) == 1
    assert normal[0].reason == "silence" and normal[0].transcript is None
    assert fast[0].reason == "early"
    assert fast[0].transcript is not None
    assert fast[0].transcript.text == "Turn on the kitchen lights."
    # end_silence 0.7 s against min_silence 0.3 s
    assert normal[0].t - fast[0].t == pytest.approx(0.4, abs=0.07)
    assert early.early_ends == 1 and whisper.heard  # transcribed in the pause
    # the words are all there: same cut as a normal end, give or take the tail
    assert abs(len(fast[0].audio) - len(normal[0].audio)) <= 0.3 * SAMPLE_RATE


def test_not_a_whole_command_waits_but_is_not_transcribed_twice(vad: VoiceActivity) -> None:
    audio = np.concatenate([silence(0.5), command(), silence(1.5)])
    whisper = FakeWhisper("Set the thermostat to")
    early = EarlyEnd(whisper, lambda tr: False)
    events = run(vad, audio, early)
    (end,) = ends(events)
    assert end.reason == "silence"
    assert end.transcript is not None and end.transcript.text == "Set the thermostat to"
    assert len(whisper.heard) == 1 and early.reused == 1
    # the listener's own transcriber is not asked again
    listener = Listener(AudioConfig(wake="none"), FakeWhisper("other"),  # type: ignore[arg-type]
                        vad=vad, early=EarlyEnd(FakeWhisper("probe"), lambda tr: False))
    vad.reset()
    texts = [e.text for e in listener.run(PacedSource(audio)) if isinstance(e, TranscriptEvent)]
    assert texts == ["probe"]


def test_a_slow_probe_is_waited_for_at_the_normal_end(vad: VoiceActivity) -> None:
    # frames go by faster than real time here, so a 1 s Whisper is still busy when the
    # 0.7 s of silence are over: the end waits for it instead of transcribing again
    audio = np.concatenate([silence(0.5), command(), silence(1.5)])
    whisper = FakeWhisper(delay=1.0)
    early = EarlyEnd(whisper, lambda tr: True)
    (end,) = ends(run(vad, audio, early))
    assert end.transcript is not None and len(whisper.heard) == 1


def test_words_after_a_pause_are_heard_too(vad: VoiceActivity) -> None:
    # a pause shorter than min_silence inside the utterance: the probe taken in it is
    # dropped, the utterance goes on, and the transcript handed on covers all the words
    cmd = command()
    bounds = speech_bounds(cmd, pad=0.0)
    assert bounds is not None
    cmd = cmd[bounds[0] : bounds[1]]
    audio = np.concatenate([silence(0.5), cmd, silence(0.15), cmd, silence(1.5)])
    whisper = FakeWhisper(None)
    early = EarlyEnd(whisper, lambda tr: True)
    (end,) = ends(run(vad, audio, early))
    assert end.reason == "early"
    assert end.transcript is not None
    assert end.seconds > 2 * len(cmd) / SAMPLE_RATE
    assert int(end.transcript.text.split()[0]) >= 2 * len(cmd)
    assert early.probes >= 2


def test_a_failing_judge_or_whisper_costs_only_the_speed(vad: VoiceActivity) -> None:
    audio = np.concatenate([silence(0.5), command(), silence(1.5)])

    def judge(tr: Transcript) -> bool:
        raise RuntimeError("bug")

    (end,) = ends(run(vad, audio, EarlyEnd(FakeWhisper(), judge)))
    assert end.reason == "silence" and end.transcript is not None

    class Broken(FakeWhisper):
        def transcribe(self, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Transcript:
            raise RuntimeError("no model")

    vad.reset()
    (end,) = ends(run(vad, audio, EarlyEnd(Broken(), lambda tr: True)))
    assert end.reason == "silence" and end.transcript is None
