"""The daemon's core step after speech to text: text -> model -> command -> events.

:func:`handle_text` runs the same stages for a spoken command (after Whisper),
for text arriving on ``octohome/<site>/say`` and for ``octohome say TEXT``, so a
script sees exactly what a voice would have done: the transcript and intent
events, the retained state, and the device command.
"""

from __future__ import annotations

import time
from concurrent.futures import Future
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from octohome.act.link import MqttLink, Outcome
    from octohome.core.calls import Call


class TextParser(Protocol):
    """What :func:`handle_text` needs from the model: ``octohome.understand.parser.Parser`` fits."""

    def parse(self, text: str) -> Call: ...


def handle_text(
    link: MqttLink,
    parser: TextParser,
    text: str,
    *,
    source: str = "say",
    stt_ms: float | None = None,
    created: float | None = None,
    ttl: float | None = None,
) -> Future[Outcome]:
    """The pipeline after speech-to-text: transcript event, model, command, intent event.

    ``created`` (``time.monotonic()``, e.g. end of speech) starts the command's
    time-to-live; default now. Only the model's validated call reaches
    ``MqttLink.execute``; the text itself goes to the transcript/intent events.
    """
    created = time.monotonic() if created is None else created
    link.publish_transcript(text, source)
    t0 = time.perf_counter()
    call = parser.parse(text)
    latencies = {"model": (time.perf_counter() - t0) * 1000}
    if stt_ms is not None:
        latencies = {"stt": stt_ms, **latencies}
    return link.execute(call, text=text, latencies_ms=latencies, created=created, ttl=ttl)
