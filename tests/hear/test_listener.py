"""Listening: wake word / push-to-talk / voice alone -> utterance -> transcript events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from octohome.bench.stt import normalize, word_errors
from octohome.core.config import AudioConfig
from octohome.hear.audio import SAMPLE_RATE
from octohome.hear.listener import (
    Listener,
    ListenEvent,
    ListenTimeout,
    SpeechEnd,
    SpeechStart,
    TranscriptEvent,
    UtteranceSegmenter,
    WakeEvent,
)
from octohome.hear.sources import AudioSource, frames_of
from octohome.hear.stt import Transcriber
from octohome.hear.vad import VoiceActivity, speech_bounds
from octohome.hear.wav import write_wav
from tests.speech_fixtures import (
    data_wav,
    run_module,
    shared_transcriber,
    shared_vad,
    silence,
)


class ArraySource(AudioSource):
    """Frames from an array; ``on_frame`` lets a test act mid-stream (push-to-talk)."""

    def __init__(self, audio: np.ndarray, on_frame: dict[int, object] | None = None) -> None:
        self.audio = audio
        self.on_frame = on_frame or {}

    def frames(self) -> Iterator[np.ndarray]:
        for i, f in enumerate(frames_of(self.audio)):
            action = self.on_frame.get(i)
            if callable(action):
                action()
            yield f


@pytest.fixture()
def vad() -> VoiceActivity:
    v = shared_vad()
    assert isinstance(v, VoiceActivity)
    v.reset()
    return v


def kinds(events: list[ListenEvent]) -> list[str]:
    return [type(e).__name__ for e in events]


def command() -> np.ndarray:
    return data_wav("kitchen_lights_on.wav")


def test_speech_bounds(vad: VoiceActivity) -> None:
    audio = np.concatenate([silence(1.0), command(), silence(1.0)])
    bounds = speech_bounds(audio, vad=vad)
    assert bounds is not None
    start, end = bounds
    assert 0.5 * SAMPLE_RATE < start < 1.0 * SAMPLE_RATE
    assert end < len(audio) - 0.5 * SAMPLE_RATE
    assert speech_bounds(silence(2.0), vad=vad) is None


def test_segmenter_voice_alone(vad: VoiceActivity) -> None:
    seg = UtteranceSegmenter(AudioConfig(wake="none"), vad)
    audio = np.concatenate([silence(0.5), command(), silence(1.5)])
    events = [e for f in frames_of(audio) for e in seg.process(f, always_armed=True)]
    assert kinds(events) == ["SpeechStart", "SpeechEnd"]
    end = events[1]
    assert isinstance(end, SpeechEnd) and end.reason == "silence"
    # the command (espeak pads it a little) + pre-roll + short tail, not the 0.7 s end silence
    assert 0.8 * len(command()) / SAMPLE_RATE < end.seconds < len(command()) / SAMPLE_RATE + 0.9
    assert 0.3 < events[0].t < 0.8


def test_segmenter_max_length_and_end_of_input(vad: VoiceActivity) -> None:
    seg = UtteranceSegmenter(AudioConfig(wake="none", max_utterance=1.0), vad)
    events = [e for f in frames_of(command()) for e in seg.process(f, always_armed=True)]
    events += seg.flush()
    ends = [e for e in events if isinstance(e, SpeechEnd)]
    assert ends[0].reason == "max_length" and abs(ends[0].seconds - 1.0) < 0.1
    seg2 = UtteranceSegmenter(AudioConfig(wake="none"), vad)
    events2 = [e for f in frames_of(command()[:16000]) for e in seg2.process(f, True)]
    events2 += seg2.flush()
    assert isinstance(events2[-1], SpeechEnd) and events2[-1].reason == "end_of_input"


def test_noise_and_silence_make_no_utterance(vad: VoiceActivity) -> None:
    seg = UtteranceSegmenter(AudioConfig(wake="none"), vad)
    noise = (np.random.default_rng(5).standard_normal(16000 * 3) * 2000).astype(np.int16)
    audio = np.concatenate([silence(1.0), noise])
    events = [e for f in frames_of(audio) for e in seg.process(f, True)] + seg.flush()
    assert not any(isinstance(e, SpeechEnd) for e in events)


def _listener(vad: VoiceActivity, transcribe: bool = False, **cfg: object) -> Listener:
    tr = shared_transcriber() if transcribe else None
    assert tr is None or isinstance(tr, Transcriber)
    return Listener(AudioConfig(**cfg), tr, vad=vad)  # type: ignore[arg-type]


def test_wake_then_command_then_transcript(vad: VoiceActivity) -> None:
    audio = np.concatenate(
        [silence(0.5), data_wav("okay_nabu.wav"), silence(0.4), command(), silence(1.5)]
    )
    events = list(_listener(vad, transcribe=True).run(ArraySource(audio)))
    assert kinds(events) == [
        "WakeEvent", "SpeechStart", "SpeechEnd", "TranscriptEvent",
    ]
    wake, start, end, text = events
    assert isinstance(wake, WakeEvent) and wake.source == "okay_nabu"
    assert wake.t < start.t < end.t
    assert isinstance(text, TranscriptEvent)
    assert word_errors(normalize("turn on the kitchen lights"), normalize(text.text)) == 0


def test_command_without_wake_word_is_ignored(vad: VoiceActivity) -> None:
    audio = np.concatenate([silence(0.5), command(), silence(1.5)])
    assert list(_listener(vad).run(ArraySource(audio))) == []


def test_wake_then_silence_times_out(vad: VoiceActivity) -> None:
    audio = np.concatenate([silence(0.3), data_wav("okay_nabu.wav"), silence(3.0)])
    events = list(_listener(vad, listen_timeout=2.0).run(ArraySource(audio)))
    assert kinds(events) == ["WakeEvent", "ListenTimeout"]
    assert isinstance(events[1], ListenTimeout)
    assert events[1].t - events[0].t == pytest.approx(2.0, abs=0.1)


def test_push_to_talk(vad: VoiceActivity) -> None:
    listener = _listener(vad, wake="ptt")
    audio = np.concatenate([silence(1.0), command(), silence(1.5)])
    events = list(listener.run(ArraySource(audio, {10: listener.trigger})))
    assert kinds(events) == ["WakeEvent", "SpeechStart", "SpeechEnd"]
    assert isinstance(events[0], WakeEvent) and events[0].source == "ptt"
    # without the trigger, ptt mode hears nothing
    assert list(_listener(vad, wake="ptt").run(ArraySource(audio))) == []


def test_async_events(vad: VoiceActivity) -> None:
    audio = np.concatenate([silence(0.5), command(), silence(1.5)])
    listener = _listener(vad, wake="none")

    async def collect() -> list[ListenEvent]:
        return [ev async for ev in listener.events(ArraySource(audio))]

    events = asyncio.run(collect())
    assert kinds(events) == ["SpeechStart", "SpeechEnd"]
    assert isinstance(events[0], SpeechStart)


def test_listen_cli_on_wav_and_stdin(tmp_path: Path) -> None:
    audio = np.concatenate(
        [silence(0.5), data_wav("okay_nabu.wav"), silence(0.4), command(), silence(1.5)]
    )
    path = tmp_path / "session.wav"
    write_wav(path, audio)
    res = run_module("octohome.cli.listen", "--input", str(path), "--json")
    assert res.returncode == 0, res.stderr
    events = [json.loads(line) for line in res.stdout.decode().splitlines()]
    assert [e["event"] for e in events] == ["wake", "speech_start", "speech_end", "transcript"]
    assert "kitchen" in events[-1]["text"].lower()

    res = run_module(
        "octohome.cli.listen", "--input", "-", "--wake", "none", "--no-stt",
        stdin=audio.astype("<i2").tobytes(),
    )
    assert res.returncode == 0, res.stderr
    out = res.stdout.decode()
    assert "speech start" in out and "speech end" in out


def test_listen_cli_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "x.wav"
    bad.write_text("hello")
    res = run_module("octohome.cli.listen", "--input", str(bad), "--no-stt")
    assert res.returncode == 2 and b"not a WAV file" in res.stderr
    res = run_module("octohome.cli.listen", "--input", str(bad), "--wake", "hey_siri")
    assert res.returncode == 2 and b"Traceback" not in res.stderr
