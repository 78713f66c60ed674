"""The daemon's core step after speech to text: text -> model -> commands -> events.

:func:`handle_text` runs the same stages for a spoken command (after Whisper),
for text arriving on ``octohome/<site>/say`` and for ``octohome say TEXT``, so a
script sees exactly what a voice would have done: the transcript and intent
events, the retained state, and the device commands (one per device call).
"""

from __future__ import annotations

import time
from concurrent.futures import Future
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from octohome.act.link import MqttLink, Outcome, Replier
    from octohome.core.calls import Parsed
    from octohome.core.catalog import Catalog
    from octohome.service.dialogue import Dialogue, Turn


class TextParser(Protocol):
    """What :func:`handle_text` needs from the model: ``octohome.understand.parser.Parser`` fits."""

    def parse(self, text: str, room: str | None = None) -> Parsed: ...


def handle_text(
    link: MqttLink,
    parser: TextParser,
    text: str,
    *,
    room: str | None = None,
    source: str = "say",
    stt_ms: float | None = None,
    created: float | None = None,
    ttl: float | None = None,
) -> Future[Outcome]:
    """The pipeline after speech-to-text: transcript event, model, commands, intent event.

    ``room`` is the room the speaker is in (``[site] room``, or a say's own): a
    device type said without a device or room ("turn on the light") means that
    room's. ``created`` (``time.monotonic()``, e.g. end of speech) starts the
    commands' time-to-live; default now. Only the model's validated calls reach
    ``MqttLink.execute_parsed``; the text itself goes to the transcript/intent events.
    """
    created = time.monotonic() if created is None else created
    link.publish_transcript(text, source)
    t0 = time.perf_counter()
    parsed = parser.parse(text, room=room)
    latencies = {"model": (time.perf_counter() - t0) * 1000}
    if stt_ms is not None:
        latencies = {"stt": stt_ms, **latencies}
    if link.needs_state(parsed.calls):
        # A step computed from the device's last state: a link that has just
        # connected (octohome say) waits for the retained states, within the TTL.
        limit = link.config.command_ttl if ttl is None else ttl
        link.await_states(created + limit - time.monotonic())
    return link.execute_parsed(parsed, text=text, latencies_ms=latencies, created=created,
                               ttl=ttl)


def replier_for(turn: Turn, catalog: Catalog) -> Replier:
    """The reply to a turn's outcome: the turn's own words (a question, "Okay, nothing
    was done."), else the outcome in words (:func:`octohome.speak.reply.reply_text`)."""
    from octohome.speak.reply import reply_text

    def reply(outcome: Outcome) -> str:
        return turn.reply if turn.reply is not None else reply_text(outcome, catalog)

    return reply


def handle_turn(
    link: MqttLink,
    dialogue: Dialogue,
    parser: TextParser,
    text: str,
    *,
    room: str | None = None,
    source: str = "say",
    stt_ms: float | None = None,
    created: float | None = None,
    now: float | None = None,
    ttl: float | None = None,
) -> tuple[Turn, str, Future[Outcome]]:
    """:func:`handle_text` in a conversation: the dialogue decides what the words mean
    (an answer, a follow-up, a sensitive call held for a yes) and what to say back.

    ``now`` is when the utterance began (``time.monotonic()``; default ``created``): the
    answer and follow-up windows are judged at it. Returns the turn, the text as
    shown on events and logs (a PIN said is hidden), and the outcome's future (its
    ``reply`` set).
    """
    created = time.monotonic() if created is None else created
    now = created if now is None else now
    shown = dialogue.shown_text(text, now)
    link.publish_transcript(shown, source)
    t0 = time.perf_counter()
    turn = dialogue.interpret(text, room, parser.parse, now)
    latencies = {"model": (time.perf_counter() - t0) * 1000}
    if stt_ms is not None:
        latencies = {"stt": stt_ms, **latencies}
    if link.needs_state(turn.parsed.calls):
        limit = link.config.command_ttl if ttl is None else ttl
        link.await_states(created + limit - time.monotonic())
    future = link.execute_parsed(turn.parsed, text=shown, latencies_ms=latencies,
                                 created=created, ttl=ttl,
                                 replier=replier_for(turn, dialogue.catalog))
    return turn, shown, future
