"""Listening: wake word or push-to-talk -> voice activity -> one utterance -> text.

Three layers, each usable alone:

- ``UtteranceSegmenter``: Silero VAD on frames; cuts one utterance with
  pre-roll, ends it after ``end_silence`` of non-speech or at
  ``max_utterance``.
- ``Listener``: wake word (or ``none``: voice alone, or ``ptt``: only
  ``trigger()``) in front of the segmenter; ``process(frame)`` is pure
  front end, ``run(source)`` adds transcription and is a blocking generator,
  ``events(source)`` is the same as an async generator for the daemon.
- ``octohome listen`` (:mod:`octohome.cli.listen`): prints the events as they happen.

With an :class:`~octohome.hear.endpoint.EarlyEnd` the listener transcribes while
the person may still be speaking (from the first short pause on) and ends the
utterance after a shorter silence when what was heard is already a whole
command; the ``SpeechEnd`` then carries that transcript (see :mod:`octohome.hear.endpoint`).

Times in events are seconds of audio since the stream started, so file
input gives reproducible output.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from octohome.hear.audio import FRAME_SAMPLES, FRAME_SECONDS, SAMPLE_RATE
from octohome.hear.sources import AudioSource

if TYPE_CHECKING:
    from octohome.core.catalog import Catalog
    from octohome.core.config import AudioConfig, Settings
    from octohome.hear.endpoint import EarlyEnd
    from octohome.hear.stt import Transcriber, Transcript
    from octohome.hear.vad import VoiceActivity
    from octohome.hear.wake import WakeDetector


# -- events ----------------------------------------------------------------------


@dataclass(frozen=True)
class WakeEvent:
    """The wake word was heard (or push-to-talk pressed); listening for a command."""

    t: float
    """Seconds of audio since the stream started."""

    source: str
    """Wake model name, or ``ptt`` for an external trigger."""


@dataclass(frozen=True)
class SpeechStart:
    """Voice activity began (time includes no pre-roll)."""

    t: float


@dataclass(frozen=True)
class SpeechEnd:
    """An utterance is complete; ``audio`` holds it with pre-roll, 16 kHz int16."""

    t: float
    audio: np.ndarray = field(repr=False)
    reason: Literal["silence", "max_length", "end_of_input", "early"]
    """Why it ended: enough trailing silence, the length cap, the input ran out, or
    (``early``) a shorter silence after words that already make a whole command."""

    transcript: Transcript | None = field(default=None, repr=False)
    """What Whisper heard, when it was transcribed while the silence was still being
    waited for (an EarlyEnd); None: transcribe ``audio``."""

    @property
    def seconds(self) -> float:
        return len(self.audio) / SAMPLE_RATE


@dataclass(frozen=True)
class ListenTimeout:
    """Woken, but nobody spoke within ``listen_timeout`` (or only a click/cough)."""

    t: float


@dataclass(frozen=True)
class TranscriptEvent:
    """Text of the last utterance."""

    t: float
    """Audio time of the utterance's end."""

    transcript: Transcript
    latency: float
    """Wall seconds from the end of speech being detected to the text."""

    @property
    def text(self) -> str:
        return self.transcript.text


ListenEvent = WakeEvent | SpeechStart | SpeechEnd | ListenTimeout | TranscriptEvent


# -- segmenter -------------------------------------------------------------------


class UtteranceSegmenter:
    """Cuts utterances out of a frame stream with Silero VAD.

    Speech starts after ``START_FRAMES`` consecutive voiced frames (one
    voiced frame is often a click) and ends after ``end_silence`` seconds
    below ``threshold - HYSTERESIS`` (a lower bar for staying in speech
    keeps soft word endings from cutting the utterance).
    """

    START_FRAMES = 2
    HYSTERESIS = 0.15
    TAIL_SECONDS = 0.25
    """Silence kept after the last voiced frame: enough for a soft ending,
    not so much that Whisper's encoder pays for the whole end_silence."""

    def __init__(self, config: AudioConfig, vad: VoiceActivity | None = None) -> None:
        if vad is None:
            from octohome.hear.vad import VoiceActivity

            vad = VoiceActivity()
        self.vad = vad
        self.config = config
        self.threshold = config.vad_threshold
        preroll_frames = max(1, round(config.preroll / FRAME_SECONDS))
        self._preroll: deque[np.ndarray] = deque(maxlen=preroll_frames)
        self._frames: list[np.ndarray] = []
        self._state: Literal["idle", "armed", "speech"] = "idle"
        self._armed_at = 0.0
        self._run = 0
        self._silence = 0
        self._voiced = 0
        self._last_voiced = 0
        self._utterance = 0
        self.finished_mark: tuple[int, int] = (0, 0)
        """``mark`` of the utterance the last finish ended."""
        self.t = 0.0
        """Audio seconds processed so far."""

    @property
    def state(self) -> str:
        return self._state

    @property
    def mark(self) -> tuple[int, int]:
        """(utterance number, frames up to its last voiced frame): it changes when a
        new utterance starts or the current one hears a voiced frame, so a transcript
        taken at one mark still holds while the mark is the same."""
        return (self._utterance, self._last_voiced)

    @property
    def silence_seconds(self) -> float:
        """Quiet since the last voiced frame of the utterance in progress."""
        return self._silence * FRAME_SECONDS if self._state == "speech" else 0.0

    def audio_so_far(self) -> np.ndarray:
        """The utterance in progress, pre-roll included (empty when none)."""
        if self._state != "speech" or not self._frames:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(self._frames)

    def finish_early(self, transcript: Transcript) -> list[ListenEvent]:
        """End the utterance in progress now, with the transcript of its words."""
        if self._state != "speech":
            return []
        events = self._finish("early")
        return [
            SpeechEnd(e.t, e.audio, e.reason, transcript) if isinstance(e, SpeechEnd) else e
            for e in events
        ]

    def arm(self) -> None:
        """Start waiting for speech (after a wake word or push-to-talk)."""
        self._state = "armed"
        self._armed_at = self.t
        self._run = 0
        self._preroll.clear()  # the wake phrase must not become part of the command
        self.vad.reset()

    def disarm(self) -> None:
        self._state = "idle"
        self._frames = []

    def process(self, frame: np.ndarray, always_armed: bool = False) -> list[ListenEvent]:
        """Feed one frame; return the events it completes."""
        self.t += len(frame) / SAMPLE_RATE
        if self._state == "idle" and not always_armed:
            self._preroll.append(frame)
            return []
        prob = self.vad.probability(frame)
        if self._state in ("idle", "armed"):
            return self._wait_for_speech(frame, prob, always_armed)
        return self._in_speech(frame, prob)

    def _wait_for_speech(
        self, frame: np.ndarray, prob: float, always_armed: bool
    ) -> list[ListenEvent]:
        self._preroll.append(frame)
        self._run = self._run + 1 if prob >= self.threshold else 0
        if self._run >= self.START_FRAMES:
            self._state = "speech"
            self._utterance += 1
            self._frames = list(self._preroll)
            self._preroll.clear()
            self._silence = 0
            self._voiced = self._run
            self._last_voiced = len(self._frames)
            return [SpeechStart(round(self.t - self._run * FRAME_SECONDS, 3))]
        if (
            self._state == "armed"
            and not always_armed
            and self.t - self._armed_at >= self.config.listen_timeout
        ):
            self._state = "idle"
            return [ListenTimeout(round(self.t, 3))]
        return []

    def _in_speech(self, frame: np.ndarray, prob: float) -> list[ListenEvent]:
        self._frames.append(frame)
        if prob >= self.threshold - self.HYSTERESIS:
            self._silence = 0
            self._voiced += 1
            self._last_voiced = len(self._frames)
        else:
            self._silence += 1
        if self._silence * FRAME_SECONDS >= self.config.end_silence:
            return self._finish("silence")
        if len(self._frames) * FRAME_SECONDS >= self.config.max_utterance:
            return self._finish("max_length")
        return []

    def _finish(
        self, reason: Literal["silence", "max_length", "end_of_input", "early"]
    ) -> list[ListenEvent]:
        self.finished_mark = self.mark
        keep = self._last_voiced + round(self.TAIL_SECONDS / FRAME_SECONDS)
        frames = self._frames[:keep] if reason != "max_length" else self._frames
        voiced_seconds = self._voiced * FRAME_SECONDS
        self._frames = []
        self._state = "idle"
        self._run = 0
        if voiced_seconds < self.config.min_speech:
            return [ListenTimeout(round(self.t, 3))]
        audio = np.concatenate(frames) if frames else np.zeros(0, dtype=np.int16)
        return [SpeechEnd(round(self.t, 3), audio, reason)]

    def flush(self) -> list[ListenEvent]:
        """End of input: finish an utterance in progress."""
        if self._state == "speech":
            return self._finish("end_of_input")
        return []


# -- listener --------------------------------------------------------------------


class Listener:
    """Wake word / push-to-talk + segmenter (+ transcriber): the daemon's ears.

    ``trigger()`` may be called from any thread (the MQTT side does, for
    push-to-talk); it takes effect at the next frame.
    """

    def __init__(
        self,
        config: AudioConfig,
        transcriber: Transcriber | None = None,
        wake: WakeDetector | None = None,
        vad: VoiceActivity | None = None,
        early: EarlyEnd | None = None,
    ) -> None:
        self.config = config
        self.transcriber = transcriber
        self.early = early
        """Transcribes during pauses and ends a whole command sooner (None: off)."""
        self.mode: Literal["wake", "none", "ptt"] = (
            "none" if config.wake == "none" else "ptt" if config.wake == "ptt" else "wake"
        )
        if self.mode == "wake" and wake is None:
            from octohome.hear.wake import WakeDetector

            wake = WakeDetector(config.wake, config.wake_sensitivity, config.wake_refractory)
        self.wake = wake if self.mode == "wake" else None
        self.segmenter = UtteranceSegmenter(config, vad)
        self._triggered = threading.Event()
        self._stop = threading.Event()

    @classmethod
    def from_settings(
        cls, settings: Settings, catalog: Catalog | None = None, transcribe: bool = True
    ) -> Listener:
        """Build the whole chain from config (loads Whisper once when ``transcribe``)."""
        transcriber = None
        if transcribe:
            from octohome.hear.stt import Transcriber

            if catalog is None and settings.stt.catalog_bias:
                from octohome.core.catalog import Catalog

                catalog = Catalog.load(settings.catalog)
            transcriber = Transcriber(settings.stt, catalog)
        return cls(settings.audio, transcriber)

    def trigger(self) -> None:
        """Push-to-talk: start listening for a command now, whatever the wake mode."""
        self._triggered.set()

    def stop(self) -> None:
        """Make a running ``run``/``events`` return after the current frame."""
        self._stop.set()

    def process(self, frame: np.ndarray) -> list[ListenEvent]:
        """Front end only (no Whisper): feed one frame, get the events it completes."""
        if len(frame) != FRAME_SAMPLES:
            raise ValueError(f"frames must be {FRAME_SAMPLES} samples")
        events: list[ListenEvent] = []
        seg = self.segmenter
        if self._triggered.is_set():
            self._triggered.clear()
            if seg.state != "speech":
                seg.arm()
                events.append(WakeEvent(round(seg.t, 3), "ptt"))
        elif self.wake is not None:
            heard = self.wake.process(frame)
            if heard and seg.state == "idle":
                seg.t += len(frame) / SAMPLE_RATE
                seg.arm()
                events.append(WakeEvent(round(seg.t, 3), self.wake.name))
                return events  # the frame holding the wake word's end is not speech
        events.extend(seg.process(frame, always_armed=self.mode == "none"))
        if self.early is not None:
            events = self.early.step(seg, events)
        return events

    def run(self, source: AudioSource) -> Iterator[ListenEvent]:
        """Blocking: read ``source`` to its end (or ``stop()``), yield events,
        transcribing each utterance when a transcriber was given."""
        self._stop.clear()
        for frame in source.frames():
            for ev in self.process(frame):
                yield from self._with_transcript(ev)
            if self._stop.is_set():
                break
        flushed = self.segmenter.flush()
        if self.early is not None:
            flushed = self.early.step(self.segmenter, flushed)
            self.early.forget()
        for ev in flushed:
            yield from self._with_transcript(ev)

    def _with_transcript(self, ev: ListenEvent) -> Iterator[ListenEvent]:
        yield ev
        if isinstance(ev, SpeechEnd) and ev.transcript is not None:
            yield TranscriptEvent(ev.t, ev.transcript, 0.0)
        elif isinstance(ev, SpeechEnd) and self.transcriber is not None:
            t0 = time.perf_counter()
            tr = self.transcriber.transcribe(ev.audio)
            yield TranscriptEvent(ev.t, tr, time.perf_counter() - t0)

    async def events(self, source: AudioSource) -> AsyncIterator[ListenEvent]:
        """``run`` as an async generator: audio and Whisper work in a worker thread,
        so the event loop (MQTT, timers) never blocks on inference."""
        import asyncio

        loop = asyncio.get_running_loop()
        q: asyncio.Queue[ListenEvent | BaseException | None] = asyncio.Queue()

        def hand(item: ListenEvent | BaseException | None) -> None:
            # the loop may be gone already (the daemon stopped while this thread was
            # finishing an utterance): nobody waits for the item then
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(q.put_nowait, item)

        def worker() -> None:
            try:
                for ev in self.run(source):
                    hand(ev)
            except BaseException as exc:  # handed to the awaiting side
                hand(exc)
            finally:
                hand(None)

        thread = threading.Thread(target=worker, name="octohome-listen", daemon=True)
        thread.start()
        try:
            while True:
                item = await q.get()
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.stop()
            source.close()
