"""Speed after the last word: transcribe in the pauses, end a whole command sooner.

Why: the listener ends an utterance after ``audio.end_silence`` (0.7 s) of quiet,
and only then does Whisper start (0.2-0.3 s on two cores) and then the model: a
person waited about a second from the last word to the light. Most of that
second is spent waiting to be sure the person is done, and the words already
say whether they are: "turn on the kitchen lights" is a whole command, "set
the thermostat to" is not.

How, frame by frame (:meth:`EarlyEnd.step`, called by the Listener on its
thread; Whisper and the judge run in one worker thread of their own, so the
frames keep flowing):

1. When the utterance in progress has been quiet for ``probe_after`` (0.1 s: a
   pause between words, or the end), its audio so far goes to Whisper in the
   worker, tagged with the segmenter's ``mark`` (its last voiced frame).
2. When that transcript is back and the mark has not moved (no word since), the
   judge (:func:`octohome.hear.heard.command_judge`: the parse has calls, with a
   wide margin, and the words do not end in "and", "to", ...) says whether it is
   a whole command said surely. If so, once the quiet has lasted ``min_silence``
   (0.3 s) the utterance ends (``SpeechEnd(reason="early")``) with the transcript.
3. Otherwise it ends at ``end_silence`` as before, and its SpeechEnd still carries
   the transcript when no word came after the probe (a probe still running is
   waited for): Whisper does not run twice on the same words.

A word after the pause moves the mark: the probe is dropped (cancelled when it
has not started) and the next pause starts a new one.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import structlog

from octohome.hear.audio import SAMPLE_RATE

if TYPE_CHECKING:
    from octohome.hear.stt import Transcript

ListenEvent = Any
"""A listener event (octohome.hear.listener imports this module, so not the reverse)."""
UtteranceSegmenter = Any

log = structlog.get_logger("octohome.hear.endpoint")

PROBE_AFTER = 0.064
"""Seconds of quiet before the words so far are transcribed (a probe)."""

MIN_SILENCE = 0.3
"""Seconds of quiet after which a whole command ends the utterance (instead of
``audio.end_silence``): people rarely pause that long inside a command."""


class TranscribesAudio(Protocol):
    def transcribe(self, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Transcript: ...


Judge = Callable[["Transcript"], bool]
"""Is this transcript a whole command, said surely? (Runs in the worker thread.)"""


@dataclass(frozen=True)
class Probe:
    """A transcript of an utterance's words up to one mark, and the judge's verdict."""

    mark: tuple[int, int]
    transcript: Transcript
    complete: bool


class EarlyEnd:
    """Transcribes an utterance in its pauses and ends it early when it is complete."""

    def __init__(
        self,
        transcriber: TranscribesAudio,
        judge: Judge | None = None,
        *,
        probe_after: float = PROBE_AFTER,
        min_silence: float = MIN_SILENCE,
        wait_s: float = 5.0,
    ) -> None:
        self.transcriber = transcriber
        self.judge = judge
        """None: never end early, only reuse the transcripts (step 3)."""
        self.probe_after = probe_after
        self.min_silence = min_silence
        self.wait_s = wait_s
        """The longest a normal end waits for the probe of the same words."""
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="octohome-early")
        self._future: Future[Probe] | None = None
        self._mark: tuple[int, int] | None = None
        self._lock = threading.Lock()
        self.probes = 0
        """Transcriptions started."""
        self.early_ends = 0
        """Utterances ended at ``min_silence`` because they were whole commands."""
        self.reused = 0
        """Utterances ended normally whose probe transcript was handed on."""

    def step(
        self, seg: UtteranceSegmenter, events: list[ListenEvent]
    ) -> list[ListenEvent]:
        """After the segmenter took a frame: hand probe transcripts to the SpeechEnds
        it produced, end the utterance early when a probe says so, start a probe."""
        out: list[ListenEvent] = []
        for ev in events:
            # a SpeechEnd (by its fields: the listener imports this module, not the reverse)
            if hasattr(ev, "transcript") and hasattr(ev, "reason") and ev.transcript is None:
                probe = self._result(seg.finished_mark, wait=True)
                if probe is not None:
                    self.reused += 1
                    ev = dataclasses.replace(ev, transcript=probe.transcript)
            out.append(ev)
        if seg.state != "speech":
            return out
        mark = seg.mark
        quiet = seg.silence_seconds
        probe = self._result(mark, wait=False)
        if probe is not None and probe.complete and quiet >= self.min_silence - 1e-9:
            self.early_ends += 1
            self.forget()
            out.extend(seg.finish_early(probe.transcript))
        elif quiet >= self.probe_after - 1e-9 and self._mark != mark:
            self._submit(seg.audio_so_far(), mark)
        return out

    def _submit(self, audio: np.ndarray, mark: tuple[int, int]) -> None:
        with self._lock:
            if self._future is not None:
                self._future.cancel()  # words came after it: not needed unless running
            self._mark = mark
            self.probes += 1
            self._future = self._pool.submit(self._probe, audio, mark)

    def _probe(self, audio: np.ndarray, mark: tuple[int, int]) -> Probe:
        tr = self.transcriber.transcribe(audio)
        complete = False
        if tr.text and self.judge is not None:
            try:
                complete = bool(self.judge(tr))
            except Exception as exc:  # a judge bug must not cost the utterance
                log.warning("early end: the judge failed", error=str(exc))
        return Probe(mark, tr, complete)

    def _result(self, mark: tuple[int, int], *, wait: bool) -> Probe | None:
        with self._lock:
            future, fmark = self._future, self._mark
        if future is None or fmark != mark:
            return None
        if not wait and not future.done():
            return None
        try:
            return future.result(timeout=self.wait_s)
        except (FutureTimeout, CancelledError):
            return None
        except Exception as exc:
            log.warning("early end: transcription failed", error=str(exc))
            return None

    def forget(self) -> None:
        """Drop the probe in hand (an utterance ended, or the input did)."""
        with self._lock:
            if self._future is not None:
                self._future.cancel()
            self._future = None
            self._mark = None

    def close(self) -> None:
        self.forget()
        self._pool.shutdown(wait=False, cancel_futures=True)
