"""``octohome run``: the whole assistant, audio -> wake -> VAD -> STT -> model -> MQTT.

One asyncio loop owns the pipeline; everything that blocks runs elsewhere:
audio capture, wake word and VAD in the listener's thread, Whisper and the
functional-token model in worker threads (``asyncio.to_thread``), MQTT in
the link's own threads. Models are loaded once at start and warmed up.

Stages are supervised tasks: when one raises (a microphone unplugged, a
bad frame, a parser bug) it is logged and restarted after an exponential
backoff; the process lives on. The MQTT link reconnects by itself and holds
commands for their time-to-live while the broker is away.

::

    audio   frames -> Listener (wake/VAD) -> SpeechEnd ------\\
    stt     SpeechEnd -> Whisper (thread) -> text -------------> commands queue
    inputs  MQTT say (text) / listen (push-to-talk) / mute -/
    commands text (+ room) -> Dialogue.interpret: Parser.parse (thread)
             -> MqttLink.execute_parsed -> log line -> reply
    speak   reply -> Piper or a chime (thread) -> speaker (thread); the microphone is
            deaf meanwhile; then the answer / follow-up window opens (no wake word)
    heartbeat  liveness -> systemd WATCHDOG=1 and STATUS=

Talking back (``[reply]``, :mod:`octohome.speak`, :mod:`octohome.service.dialogue`):
every utterance gets a reply, on its intent event (``reply``) and, unless
``mode = "none"``, muted or ``--no-audio``, said aloud. While a reply plays (and
``[reply] tail_s`` after) the microphone's frames are replaced by silence, so
octohome never hears itself. After a question ("Which lights? Say the room.",
"Unlock the front door?") and after a spoken command, the listener is opened
without the wake word (as push-to-talk does) for the answer or a follow-up;
speech heard that way after its window has closed is ignored, and a window in
which nobody speaks closes.

Per utterance, exactly one log line ``utterance`` carries the transcript, every
call with its status, the utterance's status and reason, and the milliseconds
per stage, measured from the end of speech (or the arrival of a ``say``) to the
broker's PUBACK (of its last command).

The room the speaker is in is ``[site] room`` (checked against the catalog at
start and at every reload), or a say's own (``{"text": ..., "room": ...}``).

The queues between stages are bounded (a burst or a slow model must not grow
memory for ever) and drop their *oldest* entry when full, reported ``expired``:
the oldest is the one closest to its time-to-live, and the newest is what the
user is waiting for now. An utterance whose time-to-live (``[mqtt]
command_ttl``, from the end of speech or the arrival of the ``say``) has
already passed when its turn comes is reported ``expired`` without running
Whisper or the model on it: its command could only be dropped afterwards.

The watchdog (``WATCHDOG=1``) is fed only while :meth:`Daemon.health` holds:
every stage's supervisor task runs, no model or Whisper run hangs, and the
MQTT link's threads are alive (:meth:`octohome.act.link.MqttLink.alive`).

Signals: SIGTERM/SIGINT stop listening, drain the command queue (each command
still within its TTL is published or reported expired), go offline and exit 0.
The drain is bounded (:meth:`Daemon.stop_timeout_s`) and systemd is told that
bound (``EXTEND_TIMEOUT_USEC=``), so its ``TimeoutStopSec=`` cannot cut it short.
SIGHUP reloads the config file, the catalog and the model; a config that does
not validate, a broken catalog or a model trained for another catalog is
refused with a log line and the running pipeline keeps going.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import structlog

from octohome.service.notify import Notifier

if TYPE_CHECKING:
    from collections.abc import Iterator

    import numpy as np

    from octohome.act.link import InputEvent, MqttLink, Outcome
    from octohome.core.calls import Call, Parsed
    from octohome.core.catalog import Catalog
    from octohome.core.config import Settings
    from octohome.hear.heard import Hearing
    from octohome.hear.listener import Listener
    from octohome.hear.soundalike import SoundAlike
    from octohome.hear.sources import AudioSource
    from octohome.hear.stt import Transcriber, Transcript
    from octohome.service.dialogue import Dialogue, Turn
    from octohome.speak.output import Played
    from octohome.speak.reply import Reply
    from octohome.speak.speaker import Speaker, Spoken

log = structlog.get_logger("octohome.service.daemon")


class ParserLike(Protocol):
    """What the daemon needs of a model: ``octohome.understand.parser.Parser`` or a stand-in."""

    def parse(self, text: str, room: str | None = None) -> Parsed: ...


ParserFactory = Callable[["Settings", "Catalog"], ParserLike]


def load_real_parser(settings: Settings, catalog: Catalog) -> ParserLike:
    """The configured llama.cpp model, loaded and warmed up (raises ModelError)."""
    from octohome.understand.parser import load_parser

    parser = load_parser(settings, catalog)
    parser.warm_up()
    return parser


# -- data ------------------------------------------------------------------------------


@dataclass
class Utterance:
    """Text on its way to the model: heard (after Whisper) or typed (MQTT ``say``)."""

    text: str
    source: str
    """``mic``, ``file`` or ``say``."""

    t_end: float
    """``time.monotonic()`` at the end of speech (or arrival of the ``say``)."""

    stt_ms: float | None = None
    audio_s: float | None = None
    room: str | None = None
    """The room it was said in when the say named one; None: ``[site] room``."""

    t_start: float | None = None
    """``time.monotonic()`` when the speech began (None: a say)."""

    wakeless: bool = False
    """Heard in a window octohome opened after a reply, without the wake word."""


@dataclass
class _Speech:
    """A speech segment on its way to Whisper."""

    audio: np.ndarray
    t_end: float
    kind: str
    t_start: float | None = None
    wakeless: bool = False
    transcript: Transcript | None = None
    """Already transcribed while the end of speech was awaited (hear.endpoint)."""


@dataclass
class ReplyJob:
    """A reply on its way to the speaker."""

    utterance: Utterance
    outcome: Outcome
    turn: Turn
    reply: Reply
    queued: float


@dataclass
class Stage:
    """A supervised task and its restart bookkeeping."""

    name: str
    factory: Callable[[], Awaitable[None]]
    restart_on_return: bool = False
    """Mic audio ends only when the device goes away: restart it then too."""

    may_finish: bool = False
    """Ending is normal (a file input read to its end); any other stage that ends
    is a pipeline that stopped moving (``health``)."""

    task: asyncio.Task[None] | None = None
    failures: int = 0
    restarts: int = 0
    last_error: str | None = None
    done: bool = False


@dataclass
class Stats:
    utterances: int = 0
    published: int = 0
    expired: int = 0
    rejected: int = 0
    refused: int = 0
    not_a_command: int = 0
    stage_restarts: dict[str, int] = field(default_factory=dict)


# -- the daemon ------------------------------------------------------------------------


class Daemon:
    """The running assistant. Build it, ``await run()``; ``request_stop()`` to end."""

    BACKOFF_MIN = 0.5
    BACKOFF_MAX = 30.0
    HEALTHY_AFTER = 60.0
    """A stage that ran this long before failing starts its backoff again from the minimum."""

    STUCK_AFTER = 120.0
    """A command in the model (or speech in Whisper) this long means the pipeline hangs:
    stop feeding the watchdog."""

    COMMANDS_MAX = 1000
    """Utterances waiting for the model: a bound on memory against a flood (a script
    hammering ``say``), about 1 MB of text at most. Latency is bounded by the
    time-to-live instead: whatever waited longer is dropped before the model, at
    no cost, so a burst that the model cannot keep up with shrinks by itself."""

    SPEECH_MAX = 10
    """Speech segments waiting for Whisper. People do not speak faster than Whisper
    hears (0.2-0.6 s per command here); ten waiting means Whisper is stuck or the
    VAD is splitting noise, and old speech is worth less than new."""

    DRAIN_SLACK_S = 30.0
    """At SIGTERM, seconds beyond ``command_ttl`` allowed for draining: every queued
    utterance is past its time-to-live (so dropped at once) by ``command_ttl``
    after the signal, and every command's fate is known by its deadline; what is
    left is the Whisper and model run in progress when that happens."""

    LINK_STOP_S = 2.0
    """``MqttLink.stop``: the worker's last ``offline`` publication and the disconnect."""

    EXIT_MARGIN_S = 5.0
    """Cancelling stages, reporting what the drain left, paho's thread ending
    (its select wakes every second) and the interpreter's exit."""

    def __init__(
        self,
        settings: Settings,
        *,
        config_path: Path | None = None,
        input_spec: str | None = None,
        audio: bool = True,
        exit_at_end: bool = False,
        parser_factory: ParserFactory | None = None,
        transcriber: Transcriber | None = None,
        listener: Listener | None = None,
        link: MqttLink | None = None,
        notifier: Notifier | None = None,
        on_outcome: Callable[[Utterance, Outcome], None] | None = None,
        source_factory: Callable[[str, str | int | None], AudioSource] | None = None,
        speaker: Speaker | None = None,
        on_reply: Callable[[ReplyJob, Spoken | None], None] | None = None,
    ) -> None:
        self.settings = settings
        self.config_path = config_path
        self.input_spec = input_spec if input_spec is not None else settings.audio.input
        self.audio_enabled = audio
        self.exit_at_end = exit_at_end
        self.parser_factory = parser_factory or load_real_parser
        self.transcriber = transcriber
        self.second_transcriber: Transcriber | None = None
        """``[stt] second_model``: asked only about what left the model unsure."""
        self.listener = listener
        self.link = link
        self.notifier = notifier or Notifier()
        self.on_outcome = on_outcome
        self.source_factory = source_factory
        self.speaker = speaker
        """Says replies (None: not said; ``--no-audio`` or ``[reply] mode = "none"``)."""
        self.on_reply = on_reply
        self.dialogue: Dialogue | None = None
        self.catalog: Catalog | None = None
        self.parser: ParserLike | None = None
        self.hearing: Hearing | None = None
        """The parser for heard text: Whisper's hypotheses rescored (hear.heard)."""
        self._soundalike_of: SoundAlike | None = None
        self.stats = Stats()
        self.muted = False
        self.state = "starting"
        self._stop: asyncio.Event | None = None
        self._commands: asyncio.Queue[Utterance] | None = None
        self._speech: asyncio.Queue[_Speech] | None = None
        self._replies: asyncio.Queue[ReplyJob] | None = None
        self._deaf_until = 0.0
        """The microphone hears silence until then (a reply playing, and its tail)."""
        self._arming = False
        self._armed_by_us = False
        self._speech_started: float | None = None
        self._stages: dict[str, Stage] = {}
        self._outcomes: set[asyncio.Task[Any]] = set()
        self._busy_since: float | None = None
        self._stt_since: float | None = None
        self._unhealthy: str | None = None
        self._last_frame = 0.0
        self._source: AudioSource | None = None
        self._draining = False
        self._exit_code = 0

    # -- start -------------------------------------------------------------------------

    def load(self) -> None:
        """Load catalog, models and the MQTT link (blocking; once, before ``run``)."""
        from octohome.act.link import MqttLink
        from octohome.core.catalog import Catalog

        t0 = time.perf_counter()
        self.notifier.status("loading models")
        self.catalog = Catalog.load(self.settings.catalog)
        check_room(self.settings, self.catalog)
        self.parser = self.parser_factory(self.settings, self.catalog)
        model_s = time.perf_counter() - t0
        self._load_dialogue()
        if self.audio_enabled:
            from octohome.hear.listener import Listener

            if self._is_file_input() and self.input_spec != "-" and self.source_factory is None:
                from octohome.hear.wav import read_wav

                read_wav(self.input_spec)  # a missing or broken file stops the start

            if self.transcriber is None:
                from octohome.hear.stt import Transcriber

                self.transcriber = Transcriber(self.settings.stt, self.catalog)
            if self.second_transcriber is None and self.settings.stt.second_model:
                from octohome.hear.stt import Transcriber

                self.second_transcriber = Transcriber(
                    self.settings.stt.model_copy(
                        update={"model": self.settings.stt.second_model}),
                    self.catalog)
            from octohome.hear.endpoint import EarlyEnd
            from octohome.hear.heard import Hearing

            self.hearing = Hearing(lambda: self.parser, lambda: self.settings.site.room,
                                   self._door_rule, self._soundalike)
            fixer = self._soundalike_fixer()
            if fixer is not None:
                fixer.warm_up()  # the names' sounds: ~0.2 s, once
                if fixer.broken:
                    log.warning("sound-alike correction is off", error=fixer.broken)
            if self.listener is None:
                self.listener = Listener(self.settings.audio, transcriber=None,
                                         early=EarlyEnd(self.transcriber, self.hearing.judge))
        if self.link is None:
            self.link = MqttLink.from_settings(self.settings, self.catalog)
        elif self.link.catalog is None:
            self.link.catalog = self.catalog
        log.info(
            "models loaded", seconds=round(time.perf_counter() - t0, 2),
            model_seconds=round(model_s, 2), catalog=str(self.catalog.source),
            devices=len(self.catalog.devices),
            audio=self.input_spec if self.audio_enabled else None,
        )

    def _door_rule(self) -> Callable[[Call], bool] | None:
        """The door calls heard speech never makes on a guess (``hear.heard``), less
        those the dialogue guards anyway ([sensitive]: refused, or asked about first)."""
        from octohome.hear.heard import door_rule

        if self.catalog is None:
            return None
        return door_rule(self.catalog, self.dialogue.is_sensitive if self.dialogue else None)

    def _soundalike_fixer(self) -> SoundAlike | None:
        """Sound-alike correction toward the current catalog's names (``hear.soundalike``),
        built once per catalog (a reload brings new names); None when switched off."""
        from octohome.hear.soundalike import SoundAlike

        catalog = self.catalog
        if catalog is None or not self.settings.stt.soundalike:
            return None
        if self._soundalike_of is None or self._soundalike_of.catalog is not catalog:
            self._soundalike_of = SoundAlike.for_catalog(catalog)
        return self._soundalike_of

    def _soundalike(self) -> Callable[[str], str | None] | None:
        """What ``Hearing`` calls: the current fixer's ``correct``, or None."""
        fixer = self._soundalike_fixer()
        return fixer.correct if fixer is not None else None

    def _load_dialogue(self) -> None:
        """The conversation state and, when replies are said, the speaker (Piper loads
        here, about a second)."""
        from octohome.core.secrets import add_secret
        from octohome.service.dialogue import Dialogue

        assert self.catalog is not None
        pin = self.settings.sensitive.pin
        if pin is not None:
            add_secret(pin.get_secret_value())  # masked in every log line
        self.dialogue = Dialogue(self.catalog, self.settings.reply, self.settings.sensitive)
        if self.speaker is None and self.audio_enabled and self.settings.reply.mode != "none":
            from octohome.speak.speaker import Speaker

            self.speaker = Speaker.from_config(self.settings.reply)

    async def run(self) -> int:
        """Run until stopped (signal, ``request_stop``, or the end of a file input)."""
        loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._commands = asyncio.Queue(self.COMMANDS_MAX)
        self._speech = asyncio.Queue(self.SPEECH_MAX)
        self._replies = asyncio.Queue(self.REPLIES_MAX)
        if self.parser is None:
            await asyncio.to_thread(self.load)
        assert self.link is not None
        self._install_signals(loop)
        self.link.start()
        inputs = self.link.input_queue(loop)
        self._add_stage("commands", self._commands_stage)
        self._add_stage("inputs", lambda: self._inputs_stage(inputs))
        self._add_stage("heartbeat", self._heartbeat_stage)
        if self.speaker is not None:
            self._add_stage("speak", self._speak_stage)
            if self.settings.reply.prepare and self.catalog is not None:
                from octohome.speak.reply import likely_replies

                self.speaker.prepare(likely_replies(self.catalog))
        if self.audio_enabled:
            self._add_stage("stt", self._stt_stage)
            file_input = self._is_file_input()
            self._add_stage("audio", self._audio_stage, restart_on_return=not file_input,
                            may_finish=file_input)
        self.state = "listening" if self.audio_enabled else "ready"
        self.notifier.notify("READY=1", f"STATUS={self._status_text()}")
        log.info("octohome running", site=self.settings.site.id,
                 broker=f"{self.settings.mqtt.host}:{self.settings.mqtt.port}",
                 input=self.input_spec if self.audio_enabled else "mqtt say only",
                 watchdog_s=self.notifier.watchdog_s)
        await self._stop.wait()
        await self._shutdown()
        return self._exit_code

    def request_stop(self, code: int = 0) -> None:
        """Stop gracefully (thread-unsafe: call on the loop, or via call_soon_threadsafe)."""
        self._exit_code = code
        if self._stop is not None:
            self._stop.set()

    def _is_file_input(self) -> bool:
        return self.input_spec not in ("mic",)

    def _install_signals(self, loop: asyncio.AbstractEventLoop) -> None:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGTERM, self._on_term, "SIGTERM")
            loop.add_signal_handler(signal.SIGINT, self._on_term, "SIGINT")
            loop.add_signal_handler(signal.SIGHUP, self._on_hup)

    def _on_term(self, name: str) -> None:
        log.info("stopping", signal=name)
        self.request_stop(0)

    def _on_hup(self) -> None:
        task = asyncio.ensure_future(self.reload())
        self._outcomes.add(task)  # keep a reference until it is done
        task.add_done_callback(self._outcomes.discard)

    # -- supervision -------------------------------------------------------------------

    def _add_stage(self, name: str, factory: Callable[[], Awaitable[None]], *,
                   restart_on_return: bool = False, may_finish: bool = False) -> None:
        stage = Stage(name, factory, restart_on_return, may_finish)
        stage.task = asyncio.create_task(self._supervise(stage), name=f"octohome-{name}")
        self._stages[name] = stage

    async def _supervise(self, stage: Stage) -> None:
        delay = self.BACKOFF_MIN
        while True:
            started = time.monotonic()
            try:
                await stage.factory()
                if not stage.restart_on_return or self._draining:
                    stage.done = True
                    return
                raise RuntimeError(f"{stage.name} ended unexpectedly")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._draining:
                    stage.done = True
                    return
                if time.monotonic() - started > self.HEALTHY_AFTER:
                    delay = self.BACKOFF_MIN
                stage.failures += 1
                stage.last_error = f"{type(exc).__name__}: {exc}"
                self.stats.stage_restarts[stage.name] = stage.failures
                log.error("stage failed, restarting", stage=stage.name, error=stage.last_error,
                          retry_in_s=round(delay, 2), failures=stage.failures,
                          exc_info=not _expected(exc))
                self.notifier.status(f"{stage.name} failed ({stage.last_error}); retrying")
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.BACKOFF_MAX)
                stage.restarts += 1

    # -- stages ------------------------------------------------------------------------

    async def _audio_stage(self) -> None:
        from octohome.hear.listener import ListenTimeout, SpeechEnd, SpeechStart, WakeEvent
        from octohome.hear.sources import open_source

        assert self.listener is not None and self._speech is not None
        source = await asyncio.to_thread(self.source_factory or open_source, self.input_spec,
                                         self.settings.audio.device)
        self._source = source
        self._last_frame = time.monotonic()
        self.listener.segmenter.disarm()
        kind = "file" if self._is_file_input() else "mic"
        log.info("audio open", source=source.description, wake=self.settings.audio.wake)
        try:
            async for ev in self.listener.events(_heartbeat(source, self)):
                if isinstance(ev, SpeechEnd):
                    wakeless, self._armed_by_us = self._armed_by_us, False
                    started, self._speech_started = self._speech_started, None
                    if self.muted:
                        log.info("speech ignored: muted", seconds=round(ev.seconds, 2))
                        continue
                    self._offer(self._speech, _Speech(ev.audio, time.monotonic(), kind,
                                                      started, wakeless, ev.transcript))
                elif isinstance(ev, SpeechStart):
                    self._speech_started = time.monotonic()
                elif isinstance(ev, WakeEvent):
                    # a "ptt" wake right after our trigger is our own window
                    self._armed_by_us = ev.source == "ptt" and self._arming
                    self._arming = False
                    log.info("wake", source=ev.source, t=ev.t,
                             **({"window": True} if self._armed_by_us else {}))
                elif isinstance(ev, ListenTimeout):
                    log.info("listen timeout", t=ev.t)
                    if self._armed_by_us and self.dialogue is not None:
                        self.dialogue.silence()
                        log.info("window closed: nobody spoke")
                    self._armed_by_us = False
        finally:
            self._source = None

    async def _stt_stage(self) -> None:
        assert self._speech is not None and self._commands is not None
        assert self.transcriber is not None and self.link is not None
        transcriber = self.transcriber
        while True:
            item = await self._speech.get()
            audio, t_end, kind = item.audio, item.t_end, item.kind
            try:
                if self._past_ttl(t_end):
                    self._expire_utterance(_speech_utterance(item),
                                           "time-to-live passed before speech-to-text")
                    continue
                self._stt_since = time.monotonic()
                try:
                    tr = item.transcript
                    if tr is None:
                        tr = await asyncio.to_thread(transcriber.transcribe, audio)
                finally:
                    self._stt_since = None
                if self.second_transcriber is not None and tr.text:
                    tr = replace(tr, again=partial(self.second_transcriber.transcribe, audio))
                if self.hearing is not None:
                    self.hearing.heard(tr)
                stt_ms = (time.monotonic() - t_end) * 1000
                if not tr.text:
                    self.stats.utterances += 1
                    log.info("utterance", transcript="", status="no_speech", source=kind,
                             audio_s=round(tr.audio_seconds, 2), ms={"stt": round(stt_ms, 1)})
                    continue
                self._offer(self._commands,
                            Utterance(tr.text, kind, t_end, stt_ms, round(tr.audio_seconds, 2),
                                      t_start=item.t_start, wakeless=item.wakeless))
            finally:
                self._speech.task_done()

    async def _inputs_stage(self, inputs: asyncio.Queue[InputEvent]) -> None:
        assert self._commands is not None and self.link is not None
        while True:
            ev = await inputs.get()
            if self._draining:
                log.info("input ignored: stopping", kind=ev.kind)
                continue
            if ev.kind == "say":
                if self.muted:
                    log.info("say ignored: muted")
                    continue
                self._offer(self._commands, Utterance(ev.value, "say", ev.at, room=ev.room))
            elif ev.kind == "listen":
                if ev.value == "start" and self.listener is not None and not self.muted:
                    self.listener.trigger()
                    log.info("push-to-talk")
            elif ev.kind == "mute":
                self.muted = ev.value == "on"
                log.info("mute", muted=self.muted)
                self.notifier.status(self._status_text())

    async def _commands_stage(self) -> None:
        assert self._commands is not None and self.link is not None
        while True:
            u = await self._commands.get()
            try:
                if self._past_ttl(u.t_end):
                    self._expire_utterance(u, "time-to-live passed before the model ran")
                    continue
                await self._handle(u)
            finally:
                self._busy_since = None
                self._commands.task_done()

    def _past_ttl(self, t_end: float) -> bool:
        """Has the time-to-live of an utterance that ended at ``t_end`` passed?
        Its command would be dropped by the link anyway: the model need not run."""
        return time.monotonic() - t_end > self.settings.mqtt.command_ttl

    def _offer(self, q: asyncio.Queue[Any], item: Any) -> None:
        """Put without waiting: a full queue drops its oldest entry, reported expired.

        The producer (audio frames, MQTT inputs) must never block. The oldest
        entry goes rather than the new one: it is the nearest to its
        time-to-live, and the newest is what the user is waiting for now.
        """
        if q.full():
            old = q.get_nowait()
            q.task_done()
            if isinstance(old, ReplyJob):
                log.warning("reply queue full, oldest reply not said", reply=old.reply.text)
                q.put_nowait(item)
                return
            which = "speech" if q is self._speech else "commands"
            log.warning("queue full, oldest utterance dropped", queue=which,
                        size=q.maxsize)
            u = old if isinstance(old, Utterance) else _speech_utterance(old)
            self._expire_utterance(u, f"{which} queue full")
        q.put_nowait(item)

    def _expire_utterance(self, u: Utterance, reason: str) -> None:
        """Report an utterance expired before the model ran on it: intent event and
        retained state via the link, and its one ``utterance`` log line."""
        from octohome.act.link import Outcome

        assert self.link is not None
        lat = {"stt": u.stt_ms} if u.stt_ms is not None else {}
        future = self.link.report(Outcome("expired", text=u.text or None, reason=reason,
                                          latencies_ms=lat))
        task = asyncio.create_task(self._report(u, future, None))
        self._outcomes.add(task)
        task.add_done_callback(self._outcomes.discard)

    async def _handle(self, u: Utterance) -> None:
        from octohome.core.calls import NOTHING
        from octohome.service.dialogue import Turn
        from octohome.service.handle import handle_turn, replier_for

        assert self.link is not None and self.parser is not None
        assert self.dialogue is not None
        parser, dialogue = self.hearing or self.parser, self.dialogue
        room = u.room or self.settings.site.room
        now = u.t_start if u.t_start is not None else u.t_end
        if u.wakeless and not dialogue.window_open(now):
            log.info("speech ignored: heard without the wake word after the window closed",
                     seconds=u.audio_s)
            return
        self._busy_since = time.monotonic()
        t0 = time.monotonic()
        if self.hearing is not None:
            self.hearing.last = None  # utterances are handled one at a time: see below
        try:
            # transcript event, dialogue + model (in this worker thread), commands,
            # intent event (with the reply)
            turn, shown, future = await asyncio.to_thread(
                handle_turn, self.link, dialogue, parser, u.text, room=room,
                source=u.source, stt_ms=u.stt_ms, created=u.t_end, now=now)
        except Exception as exc:
            # A model bug must not take the stage down for every later command.
            shown = dialogue.shown_text(u.text, now)
            log.exception("model failed on an utterance", transcript=shown, error=str(exc))
            turn = Turn(NOTHING, "command")
            future = self.link.execute_parsed(NOTHING, text=shown, created=u.t_end,
                                              replier=replier_for(turn, dialogue.catalog))
        if shown != u.text:
            from dataclasses import replace

            u = replace(u, text=shown)
        model_ms = (time.monotonic() - t0) * 1000
        task = asyncio.create_task(self._report(u, future, model_ms, turn,
                                                self._understood(u.text)))
        self._outcomes.add(task)
        task.add_done_callback(self._outcomes.discard)

    def _understood(self, transcript: str) -> dict[str, Any]:
        """Log fields that say which words the model acted on when they were not the
        transcript's: another of Whisper's hypotheses, the sound-alike correction, or
        the second recognizer's (``[stt] second_model``). Read from ``Hearing.last``,
        which this utterance's parse set (the commands stage handles one utterance at
        a time and cleared it before)."""
        heard = self.hearing.last if self.hearing is not None else None
        if heard is None or (heard.text == transcript and heard.before is None):
            return {}
        return {"understood": heard.text,
                **({"second_recognizer": True} if heard.before is not None else {})}

    async def _report(self, u: Utterance, future: Any, model_ms: float | None,
                      turn: Turn | None = None, understood: dict[str, Any] | None = None,
                      ) -> None:
        """Wait for an utterance's outcome, log its one ``utterance`` line (``model_ms``
        None: the model never ran on it) and hand its reply to the speaker."""
        outcome: Outcome = await asyncio.wrap_future(future)
        lat = dict(outcome.latencies_ms)
        model_ms = lat.get("model", model_ms)
        ms: dict[str, float] = {}
        if u.stt_ms is not None:
            ms["stt"] = round(u.stt_ms, 1)
        if model_ms is not None:
            ms["model"] = round(model_ms, 1)
        total = _total_ms(lat)
        if total is not None:
            ms["publish"] = round(lat["mqtt"] if "total" in lat else
                                  total - (u.stt_ms or 0.0) - (model_ms or 0.0), 1)
            ms["total"] = round(total, 1)
        else:
            ms["total"] = round((time.monotonic() - u.t_end) * 1000, 1)
        self.stats.utterances += 1
        st = outcome.status
        if st == "published":
            self.stats.published += 1
        elif st == "expired":
            self.stats.expired += 1
        elif st == "rejected":
            self.stats.rejected += 1
        elif st == "refused":
            self.stats.refused += 1
        else:
            self.stats.not_a_command += 1
        log.info(
            "utterance", transcript=u.text, source=u.source,
            calls=[c.event() for c in outcome.calls],
            status=st, reason=outcome.reason, ms=ms,
            **({"room": room} if (room := u.room or self.settings.site.room) else {}),
            **({"audio_s": u.audio_s} if u.audio_s is not None else {}),
            **({"reply": outcome.reply} if outcome.reply is not None else {}),
            **({"turn": turn.kind} if turn is not None and turn.kind != "command" else {}),
            **(understood or {}),
        )
        if self.on_outcome is not None:
            self.on_outcome(u, outcome)
        if turn is not None:
            self._reply(u, outcome, turn)

    # -- replies -----------------------------------------------------------------------

    REPLIES_MAX = 20
    REPLY_STALE_S = 10.0
    """A reply that waited this long for the speaker is not said any more."""

    def _reply(self, u: Utterance, outcome: Outcome, turn: Turn) -> None:
        """Hand the outcome's reply to the speaker, or open the windows at once when
        nothing is said."""
        from octohome.speak.reply import Reply, tone_of

        text = outcome.reply
        if self.speaker is None or self.muted or not text or self._replies is None:
            self._replied(u, turn, time.monotonic())
            return
        tone = "question" if turn.expect is not None else tone_of(outcome.status)
        self._offer(self._replies, ReplyJob(u, outcome, turn, Reply(text, tone),
                                            time.monotonic()))

    async def _speak_stage(self) -> None:
        """Replies -> sound (thread) -> speaker (thread); the microphone deaf meanwhile."""
        assert self._replies is not None and self.speaker is not None
        speaker = self.speaker
        tail = self.settings.reply.tail_s
        while True:
            job = await self._replies.get()
            end = time.monotonic()
            spoken: Spoken | None = None
            try:
                if end - job.queued > self.REPLY_STALE_S:
                    log.warning("reply not said: it waited too long", reply=job.reply.text)
                    continue
                if self.muted:
                    continue
                t0 = time.perf_counter()
                sound = await asyncio.to_thread(speaker.sound, job.reply)
                synth_s = time.perf_counter() - t0
                if sound is None:
                    continue
                self._deaf_until = float("inf")
                played: Played | None = None
                try:
                    played = await asyncio.to_thread(speaker.play, sound)
                finally:
                    end = played.ends if played is not None else time.monotonic()
                    self._deaf_until = end + tail
                from octohome.speak.speaker import Spoken

                spoken = Spoken(job.reply, sound, played, synth_s)
                log.info("reply said", reply=job.reply.text, seconds=round(sound.seconds, 2),
                         synth_ms=round(synth_s * 1000, 1))
            finally:
                self._replies.task_done()
                self._replied(job.utterance, job.turn, end + tail)
                if self.on_reply is not None:
                    self.on_reply(job, spoken)

    def _replied(self, u: Utterance, turn: Turn, at: float) -> None:
        """The reply is over (or was not said): the answer and follow-up windows start,
        and the listener is opened for them without the wake word."""
        if self.dialogue is None:
            return
        self.dialogue.replied(at)
        listener = self.listener
        if listener is None or not self.audio_enabled or listener.mode == "none":
            return  # voice alone: every utterance is heard anyway
        if turn.expect is None and (u.source == "say" or not self.dialogue.window_open(at)):
            return  # nothing to answer, no command to follow up
        loop = asyncio.get_running_loop()
        loop.call_at(loop.time() + max(0.0, at - time.monotonic()), self._open_window)

    def _open_window(self) -> None:
        if self.listener is None or self.muted or self._draining:
            return
        self._arming = True
        self.listener.trigger()

    async def _heartbeat_stage(self) -> None:
        wd = self.notifier.watchdog_s
        interval = min(5.0, wd / 3) if wd else 5.0
        while True:
            healthy, why = self.health()
            if healthy:
                self.notifier.notify("WATCHDOG=1")
                if self._unhealthy is not None:
                    log.info("pipeline healthy again, feeding the watchdog")
            elif why != self._unhealthy:  # once per reason, not every beat
                log.error("pipeline unhealthy, not feeding the watchdog", reason=why)
            self._unhealthy = None if healthy else why
            self.notifier.status(self._status_text() if healthy else f"unhealthy: {why}")
            if self.exit_at_end and not self._draining and self._input_finished():
                await self._drain_inputs()
                await self._drain_replies()
                self.request_stop(0)
            await asyncio.sleep(interval if not self.exit_at_end else 0.05)

    def _input_finished(self) -> bool:
        stage = self._stages.get("audio")
        return stage is None or stage.done

    async def _drain_inputs(self) -> None:
        assert self._speech is not None and self._commands is not None
        await self._speech.join()
        await self._commands.join()

    async def _drain_replies(self) -> None:
        """A file input read to its end: its last replies are said before the exit
        (bounded: a speaker that fails is retried with backoff meanwhile)."""
        if self._replies is None or "speak" not in self._stages:
            return
        pending = [t for t in self._outcomes if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=self.settings.mqtt.command_ttl + 5.0)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._replies.join(), timeout=self.REPLY_STALE_S)

    def _expire_left(self, reason: str) -> None:
        """Report what a timed-out drain left in the queues expired (one line each)."""
        for q in (self._speech, self._commands):
            while q is not None and not q.empty():
                item = q.get_nowait()
                q.task_done()
                self._expire_utterance(
                    item if isinstance(item, Utterance) else _speech_utterance(item), reason)

    def health(self) -> tuple[bool, str]:
        """(healthy, why not): can the pipeline still act on what it hears?

        Called from the event loop, so the loop itself runs. False when a stage's
        supervisor task has ended (it restarts failing stages, so ending means
        nothing restarts them any more), a model or Whisper run hangs, or the MQTT
        link's threads died (commands would be heard and parsed but never sent,
        or sent with no PUBACK ever read). A broker that is away is *not*
        unhealthy: the link rides that out and a restart would not help.
        """
        now = time.monotonic()
        if self._busy_since is not None and now - self._busy_since > self.STUCK_AFTER:
            return False, f"model busy for {now - self._busy_since:.0f} s"
        if self._stt_since is not None and now - self._stt_since > self.STUCK_AFTER:
            return False, f"speech-to-text busy for {now - self._stt_since:.0f} s"
        if not self._draining:  # while draining, stages are stopped on purpose
            for st in self._stages.values():
                if st.task is not None and st.task.done() and not (st.done and st.may_finish):
                    return False, f"stage {st.name} is not running"
        if self.link is not None:
            ok, why = self.link.alive()
            if not ok:
                return False, why
        src = self._source
        if src is not None and not self._is_file_input() and now - self._last_frame > 10.0:
            log.warning("no audio for 10 s, reopening the microphone")
            src.close()  # the audio stage ends and is restarted
        return True, ""

    def _status_text(self) -> str:
        link = self.link
        parts = []
        if self.muted:
            parts.append("muted")
        elif self.audio_enabled:
            wake = self.settings.audio.wake
            parts.append("listening" + (f" for '{wake}'" if wake not in ("none", "ptt") else ""))
        else:
            parts.append("ready (MQTT say only)")
        if link is not None:
            parts.append("broker connected" if link.connected else
                         f"broker unreachable ({link.last_error or 'connecting'})")
        failing = [s.name for s in self._stages.values()
                   if s.task is not None and not s.done and s.failures and s.last_error]
        if failing:
            parts.append("restarted: " + ", ".join(failing))
        parts.append(f"{self.stats.utterances} utterances")
        return "; ".join(parts)

    # -- reload and stop ---------------------------------------------------------------

    async def reload(self) -> bool:
        """SIGHUP: re-read config, catalog and model; keep the old ones on any error."""
        from octohome.core.catalog import Catalog, CatalogError
        from octohome.core.config import ConfigError, load_settings
        from octohome.understand.parser import ModelError

        log.info("reloading", config=str(self.config_path) if self.config_path else None)
        self.notifier.notify("RELOADING=1", f"MONOTONIC_USEC={time.monotonic_ns() // 1000}")
        try:
            settings = await asyncio.to_thread(load_settings, self.config_path)
            catalog = await asyncio.to_thread(Catalog.load, settings.catalog)
            check_room(self.settings, catalog)  # the running site's room (site needs a restart)
            parser = await asyncio.to_thread(self.parser_factory, settings, catalog)
        except (ConfigError, CatalogError, ModelError, OSError, ValueError) as exc:
            log.error("reload refused, keeping the running config and model",
                      error=str(exc))
            self.notifier.notify("READY=1", f"STATUS=reload refused: {exc}"[:500])
            return False
        changed = [k for k in ("site", "mqtt", "audio", "stt", "reply", "sensitive")
                   if getattr(settings, k) != getattr(self.settings, k)]
        self.parser = parser
        self.catalog = catalog
        if self.dialogue is not None:
            self.dialogue.catalog = catalog
            self.dialogue.reset()
        if self.link is not None:
            self.link.catalog = catalog
        from octohome.service import logs

        logs.configure(settings.log.level, settings.log.format,
                       secrets=[_secret(settings)])
        self.settings = self.settings.model_copy(
            update={"catalog": settings.catalog, "model": settings.model, "log": settings.log})
        log.info("reloaded", catalog=str(catalog.source), devices=len(catalog.devices),
                 restart_needed_for=changed or None)
        self.notifier.notify("READY=1", f"STATUS={self._status_text()}")
        return True

    def stop_timeout_s(self) -> float:
        """The longest a stop (SIGTERM -> exit) can take: the drain's bound
        (``command_ttl`` + ``DRAIN_SLACK_S``), the link's stop and a margin.

        Told to systemd at SIGTERM as ``EXTEND_TIMEOUT_USEC``: a fixed
        ``TimeoutStopSec=`` would otherwise SIGKILL a drain that a long
        ``command_ttl`` legitimately makes longer, mid-way, leaving commands
        neither published nor reported.
        """
        return (self.settings.mqtt.command_ttl + self.DRAIN_SLACK_S + self.LINK_STOP_S
                + self.EXIT_MARGIN_S)

    async def _shutdown(self) -> None:
        self._draining = True
        bound = self.stop_timeout_s()
        self.notifier.notify("STOPPING=1", f"EXTEND_TIMEOUT_USEC={int(bound * 1e6)}",
                             "STATUS=stopping: draining the command queue")
        for name in ("audio", "inputs"):
            st = self._stages.get(name)
            if st is not None and st.task is not None:
                st.task.cancel()
        if self._source is not None:
            self._source.close()
        ttl = self.settings.mqtt.command_ttl
        assert self._commands is not None and self._speech is not None
        left = self._commands.qsize()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ttl + self.DRAIN_SLACK_S  # one bound for the whole drain
        try:
            await asyncio.wait_for(self._drain_inputs(), timeout=deadline - loop.time())
            pending = [t for t in self._outcomes if not t.done()]
            if pending:
                await asyncio.wait(pending, timeout=max(0.0, deadline - loop.time()))
        except TimeoutError:
            log.warning("drain timed out", bound_s=round(ttl + self.DRAIN_SLACK_S, 1))
        for st in self._stages.values():
            if st.task is not None:
                st.task.cancel()
        await asyncio.gather(*(s.task for s in self._stages.values() if s.task is not None),
                             return_exceptions=True)
        self._expire_left("assistant stopped")
        pending = [t for t in self._outcomes if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=1.0)
        if self.link is not None:
            await asyncio.to_thread(self.link.stop, self.LINK_STOP_S)
        if self.speaker is not None:
            await asyncio.to_thread(self.speaker.close)
        log.info("stopped", drained=left, utterances=self.stats.utterances,
                 published=self.stats.published, expired=self.stats.expired)


def check_room(settings: Settings, catalog: Catalog) -> None:
    """``[site] room`` must be a room of the catalog: a misspelt one would make every
    "turn on the light" said here ambiguous (nothing done) without saying why."""
    from octohome.core.config import ConfigError

    room = settings.site.room
    if room is not None and catalog.find_room(room) is None:
        names = ", ".join(r.name for r in catalog.rooms)
        raise ConfigError(
            f"site.room: {room!r} is not a room of the catalog in {catalog.source}"
            f" (rooms: {names})")


def _speech_utterance(item: _Speech) -> Utterance:
    """A speech segment not transcribed (yet), as an utterance to report."""
    return Utterance("", item.kind, item.t_end, audio_s=round(len(item.audio) / 16000, 2))


def _heartbeat(source: AudioSource, daemon: Daemon) -> AudioSource:
    """Wrap an audio source so that every frame proves the audio path is alive, and
    is silence while a reply plays (the assistant must not hear itself)."""
    import numpy as np

    from octohome.hear.sources import AudioSource

    class _Heartbeat(AudioSource):
        def __init__(self) -> None:
            self.source = source
            self.description = source.description

        def frames(self) -> Iterator[np.ndarray]:
            for f in self.source.frames():
                now = time.monotonic()
                daemon._last_frame = now
                if now < daemon._deaf_until:
                    f = np.zeros_like(f)
                yield f

        def close(self) -> None:
            self.source.close()

    return _Heartbeat()


def _total_ms(lat: dict[str, float] | Any) -> float | None:
    """End of speech (``created``) -> PUBACK from an outcome's latencies: ``total``
    when the link reports it, else ``mqtt`` (which then counted from ``created``)."""
    if "total" in lat:
        return float(lat["total"])
    if "mqtt" in lat:
        return float(lat["mqtt"])
    return None


def _expected(exc: BaseException) -> bool:
    """Errors with a clear message (no traceback needed in the journal)."""
    from octohome.hear.audio import AudioError
    from octohome.speak.voice import SpeakError

    return isinstance(exc, AudioError | SpeakError | OSError | ConnectionError)


def _secret(settings: Settings) -> str | None:
    pw = settings.mqtt.password
    return pw.get_secret_value() if pw is not None else None
