"""The MQTT link: commands out (nothing lost, nothing late), events out, inputs in.

One :class:`MqttLink` per assistant. It wraps a paho-mqtt 2.x client whose own
network thread handles sockets, TLS, keepalive and reconnect-with-backoff, and
adds a *worker thread* that alone decides what is handed to paho and when.

Why a worker of our own: a voice command is only worth executing soon after it
was spoken. paho would happily keep a QoS 1 message across a broker outage and
send it whenever the broker returns, minutes later ("turn off the oven" long
after the user gave up and did it by hand, or unlocked the door hours later).
So commands wait in *our* bounded queue with a deadline (``command_ttl``); at
every reconnect the worker takes back whatever paho had not got acknowledged
(``drop_out_messages``), sends again what is still within its time-to-live and
reports the rest as ``expired``. A single thread owning that bookkeeping needs
no locks and cannot race with itself; paho callbacks only post events to it.

Every command has exactly one fate, and it is known by its deadline: published
(the broker's PUBACK came in time) or ``expired``. That includes a message
already handed to paho and never acknowledged (the broker died after the
PUBLISH left, before its PUBACK, and stays away): at its deadline the worker
reports it ``expired`` *and* removes paho's copy (:meth:`_Client.discard`), so
that paho can never send it after its time-to-live, whenever the broker returns.

A link whose threads died cannot keep that promise, so it says so:
:meth:`MqttLink.alive` is false when paho's network thread or the worker has
died or a callback raised (each callback is guarded: the exception is logged
and the link marked broken instead of silently ending paho's thread). The
daemon stops feeding systemd's watchdog then, and systemd restarts it.

Inputs (``say``, ``listen``, ``mute``) survive a short absence. The link's
session with the broker is persistent (``clean_session`` false), so a broker
restart or a dropped connection does not lose the ``say`` commands published
meanwhile: the broker keeps the subscription (across its own restart, with its
persistence on) and queues them until the link is back. With a clean session,
everything the broker had not yet delivered when it went down, and everything
published before the link's SUBSCRIBE after the reconnect, was dropped by the
broker without a trace. A session is only resumed after an absence shorter than
``command_ttl``; the first connection of a process, and one after a longer
absence, first discard the old session (:meth:`MqttLink._discard_session`), so
says queued for a stopped assistant or during a long outage are never acted on.
A say delivered twice around a broker restart is taken once: the broker's own
redelivery (flagged DUP) of one whose PUBACK it had not processed, and the
sender's resend of one whose PUBACK it never got (QoS 1 is at least once; the
broker forwards that resend as a new message).

Devices mapped with ``style = "homeassistant_api"`` are not commanded over MQTT
but through Home Assistant's WebSocket API (:mod:`octohome.act.homeassistant`,
started when the catalog has such a device and ``[homeassistant]`` is set). Their
calls are commands of the same utterance, with the same deadline and the same
one fate (``published``: Home Assistant answered the service call with success
in time); the worker hands them over and learns their fate as an event.

Everything public is thread-safe: methods post to the worker and return a
``concurrent.futures.Future`` (``asyncio.wrap_future`` makes it awaitable), and
inputs (say / listen / mute) are delivered to callbacks or an asyncio queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import socket
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import paho.mqtt.client as _paho_client
import structlog
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from octohome.act.discovery import Topics, discovery_payload
from octohome.act.homeassistant import HomeAssistantLink, ServiceResult
from octohome.act.mapping import RELATIVE, Message, Refused, plan_messages, state_sources
from octohome.act.state import DeviceStates

if TYPE_CHECKING:
    from octohome.act.mapping import ServiceCall
    from octohome.core.calls import Call, Parsed
    from octohome.core.catalog import Catalog
    from octohome.core.config import HomeAssistantConfig, MqttConfig, Settings

log = structlog.get_logger("octohome.act.link")

paho: Any = _paho_client
"""paho 2 annotates itself, but the installed ``types-paho-mqtt`` (1.x stubs) shadows
that for mypy and rejects every 2.x API; so the module is used untyped here."""

Status = Literal["published", "expired", "rejected", "refused", "not_a_command"]
"""Fate of a call, and of an utterance (the ``status`` fields of intent events):
``published`` (the broker acknowledged it in time; for a Home Assistant service
call: Home Assistant answered it with success in time), ``expired`` (not by its
time-to-live), ``rejected`` (it does not validate or has no mapping: a catalog
problem), ``refused`` (understood and not done, for a reason a person is told:
a value out of range, "later", a step to a device whose state is not known
yet), ``not_a_command``."""


@dataclass(frozen=True)
class CallOutcome:
    """What became of one device call of an utterance."""

    status: Status
    function: str | None = None
    arguments: Mapping[str, Any] = field(default_factory=dict)
    reason: str | None = None
    """Why it was rejected, refused or expired."""

    messages: tuple[Message, ...] = ()
    latencies_ms: Mapping[str, float] = field(default_factory=dict)
    """``queue`` (waiting for the broker), ``mqtt`` (handed over -> PUBACK) and
    ``total`` (``created`` -> PUBACK)."""

    deadline: float | None = None
    """Monotonic time after which the command would not have been sent."""

    sent_at: float | None = None
    """Monotonic time its last message was handed to the connection (None: never);
    never after ``deadline``. ``published`` means acknowledged by the deadline; an
    ``expired`` command with a ``sent_at`` was sent in time but its PUBACK did not
    come by the deadline (the broker died or stalled): it may have arrived, and
    it is never sent again."""

    sent_as: Call | None = None
    """A relative change computed from the device's last state: the absolute call
    that was sent (``light.set_brightness`` 70 for a step of +20 from 50)."""

    def event(self) -> dict[str, Any]:
        out: dict[str, Any] = {"function": self.function, "arguments": dict(self.arguments),
                               "status": self.status}
        if self.reason:
            out["reason"] = self.reason
        if self.sent_as is not None:
            out["sent_as"] = self.sent_as.to_json()
        return out


_SEVERITY: tuple[Status, ...] = ("expired", "rejected", "refused", "not_a_command")

Replier = Callable[["Outcome"], "str | None"]
"""Words an utterance's outcome as the assistant's reply (see ``octohome.speak``)."""


@dataclass(frozen=True)
class Outcome:
    """What became of one utterance: every call's fate (also the body of its intent event)."""

    status: Status
    """``published`` when every call was; else the first of expired, rejected,
    refused that a call met; with no calls, ``refused`` when there is a reason and
    ``not_a_command`` otherwise."""

    text: str | None = None
    """The utterance, for the event only; it never reaches a command topic or payload."""

    reason: str | None = None
    """Why something was not done: the model's refusal, or its calls' reasons."""

    calls: tuple[CallOutcome, ...] = ()
    latencies_ms: Mapping[str, float] = field(default_factory=dict)
    """Per stage: what the caller measured (stt, model), then the slowest call's
    ``queue``, ``mqtt`` and ``total`` (see :class:`CallOutcome`)."""

    reply: str | None = None
    """What the assistant answers, in words (``execute_parsed``'s ``replier``); on the
    intent event as ``reply`` when set."""

    @property
    def function(self) -> str | None:
        """The first call's function (None: no call)."""
        return self.calls[0].function if self.calls else None

    @property
    def arguments(self) -> Mapping[str, Any]:
        """The first call's arguments."""
        return self.calls[0].arguments if self.calls else {}

    @property
    def messages(self) -> tuple[Message, ...]:
        """Every message of every call, in order."""
        return tuple(m for c in self.calls for m in c.messages)

    @property
    def deadline(self) -> float | None:
        deadlines = [c.deadline for c in self.calls if c.deadline is not None]
        return max(deadlines) if deadlines else None

    @property
    def sent_at(self) -> float | None:
        """When the last message of any call was handed to the connection."""
        sent = [c.sent_at for c in self.calls if c.sent_at is not None]
        return max(sent) if sent else None

    def event(self) -> dict[str, Any]:
        """The JSON body of ``octohome/<site>/intent`` (v2: ``calls``, ``reason`` when any)."""
        out: dict[str, Any] = {"text": self.text, "calls": [c.event() for c in self.calls],
                               "status": self.status}
        if self.reason:
            out["reason"] = self.reason
        if self.reply is not None:
            out["reply"] = self.reply
        out["latencies_ms"] = {k: round(v, 3) for k, v in self.latencies_ms.items()}
        out["time"] = _now_iso()
        return out

    def command_text(self) -> str:
        """The calls in a line (Home Assistant's "Last command" sensor)."""
        if not self.calls:
            return "none"
        return "; ".join(
            f"{c.function}({', '.join(f'{k}={v}' for k, v in c.arguments.items())})"
            for c in self.calls)


def overall(calls: Sequence[CallOutcome], reason: str | None) -> Status:
    """The status of an utterance from its calls' (see :attr:`Outcome.status`)."""
    if not calls:
        return "refused" if reason else "not_a_command"
    statuses = {c.status for c in calls}
    return next((s for s in _SEVERITY if s in statuses), "published")


@dataclass(frozen=True)
class InputEvent:
    """A request that arrived over MQTT, for the daemon to act on."""

    kind: Literal["say", "listen", "mute"]
    value: str
    """say: the command text; listen: ``start`` or ``stop``; mute: ``on`` or ``off``."""

    at: float = field(default_factory=time.monotonic, compare=False)
    """``time.monotonic()`` when it arrived: a ``say``'s time-to-live counts from here,
    not from when the daemon got round to it."""

    room: str | None = None
    """say: the room it was said in (JSON ``{"text": ..., "room": ...}``), a room of the
    catalog; None: the site's ``[site] room``."""


def _no_delay(client: Any, userdata: Any, sock: Any) -> None:
    """Disable Nagle: a command is one small packet that must leave now, not
    wait ~40 ms behind the previous event for the broker's delayed ACK."""
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _json(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


_PAHO_INTERNALS = ("_out_messages", "_out_message_mutex", "_thread", "_clean_session")
"""paho attributes the link relies on that are not public API. paho-mqtt is pinned
to one exact version in pyproject.toml for them; :class:`_Client` refuses to start
on a paho that lacks them, and a test checks the installed version is the pinned one."""


class _Client(paho.Client):
    """paho's client, remembering why the last connection attempt failed, and
    able to forget one unacknowledged message.

    paho's ``on_connect_fail`` gets no exception; a refused TCP connection or a
    failed certificate check would otherwise be logged as a bare "failed".
    """

    connect_error: str | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        missing = [a for a in _PAHO_INTERNALS if not hasattr(self, a)]
        if missing:
            from importlib.metadata import version

            raise RuntimeError(
                f"paho-mqtt {version('paho-mqtt')} lacks {', '.join(missing)};"
                " octohome needs the paho-mqtt version pinned in pyproject.toml")
        # No in-flight window in paho: every QoS 1 message is written at once, none
        # waits in paho's "queued" state. Our own queue (bounded, with deadlines) is
        # where commands wait; and discard() below needs no in-flight counter
        # bookkeeping, which paho only consults when this limit is non-zero.
        self.max_inflight_messages_set(0)

    def reconnect(self) -> MQTTErrorCode:
        try:
            return super().reconnect()
        except OSError as exc:
            self.connect_error = f"{type(exc).__name__}: {exc}"
            raise

    def discard(self, mid: int) -> bool:
        """Remove one unacknowledged QoS>0 message from paho's store so that paho
        never sends it again (paho resends its store after every reconnect).

        Returns False when paho no longer holds it: its PUBACK has just been
        handled, or ``on_connect`` took it back; either way an event about it is
        already on its way to the worker.

        paho has no public call for one message: ``drop_out_messages()`` takes
        them all, which would also lose the PUBACKs of messages still within
        their time-to-live (paho ignores a PUBACK for a message it no longer
        holds). So this does what ``drop_out_messages`` does, for one ``mid``,
        under the same lock; with ``max_inflight_messages`` 0 there is no
        in-flight counter to keep right.
        """
        with self._out_message_mutex:
            return self._out_messages.pop(mid, None) is not None

    def network_thread(self) -> threading.Thread | None:
        """paho's network thread (``loop_start``); None once it has ended, since
        paho clears it when ``loop_forever`` returns or raises."""
        thread: threading.Thread | None = self._thread
        return thread


class _Batch:
    """One utterance: its calls' commands, one future and one intent event.

    Every call is a command of its own (its messages, its one fate), all with the
    utterance's deadline; the outcome is known once every call's fate is."""

    def __init__(self, template: Outcome, results: list[CallOutcome | None],
                 future: Future[Outcome], report: bool,
                 replier: Replier | None = None) -> None:
        self.template = template
        self.replier = replier
        self.results = results
        """One per call: known already (rejected, refused) or None until its command ends."""
        self.future = future
        self.report = report
        """Publish an intent event when done (utterances that came through execute)."""
        self.commands: list[_Command] = []

    @property
    def complete(self) -> bool:
        return all(r is not None for r in self.results)

    def outcome(self) -> Outcome:
        calls = tuple(r for r in self.results if r is not None)
        lat = dict(self.template.latencies_ms)
        for key in ("queue", "mqtt", "total"):
            values = [c.latencies_ms[key] for c in calls if key in c.latencies_ms]
            if values:
                lat[key] = max(values)
        reason = self.template.reason or "; ".join(
            dict.fromkeys(c.reason for c in calls if c.reason)) or None
        return _with_reply(_replace(self.template, status=overall(calls, self.template.reason),
                                    reason=reason, calls=calls, latencies_ms=lat),
                           self.replier)


class _Command:
    """A queued device call: its messages (or its Home Assistant service call) share
    one deadline and one fate."""

    def __init__(
        self, messages: Sequence[Message], deadline: float, created: float,
        batch: _Batch, index: int, template: CallOutcome,
        service: ServiceCall | None = None,
    ) -> None:
        self.messages = tuple(messages)
        self.service = service
        """Sent through Home Assistant's WebSocket API instead of MQTT (no messages)."""
        self.deadline = deadline
        self.created = created
        """When the command began (end of speech): the time-to-live counts from here."""
        self.submitted = time.monotonic()
        """When it was handed to the link: the mqtt stage's latency counts from here."""
        self.batch = batch
        self.index = index
        """Its call's place in the batch."""
        self.template = template
        self.acked = 0
        self.first_sent: float | None = None
        self.last_sent: float | None = None
        self.done = False


@dataclass
class _Item:
    """One message of a command, as it moves between our queue and paho."""

    seq: int
    cmd: _Command
    message: Message


class MqttLink:
    """The assistant's connection to the broker. Start it once; it reconnects by itself."""

    WORKER_STUCK_AFTER = 30.0
    """The worker wakes at least every 0.5 s; silent this long, it hangs (``alive``)."""

    SETTLE_S = 1.0
    """A message past its deadline that paho no longer holds has an event (PUBACK or
    reconnect) on its way to the worker; this long without it, it is expired anyway."""

    def __init__(
        self,
        config: MqttConfig,
        site: str,
        catalog: Catalog | None = None,
        *,
        client_id: str | None = None,
        announce: bool = True,
        homeassistant: HomeAssistantConfig | None = None,
    ) -> None:
        self.config = config
        self.homeassistant_config = homeassistant
        """``[homeassistant]``: where devices of style ``homeassistant_api`` are commanded."""
        self.homeassistant: HomeAssistantLink | None = None
        """The Home Assistant link, once a catalog needs it (see :meth:`_plan_homeassistant`)."""
        self._services: set[_Command] = set()
        """Commands handed to the Home Assistant link, their fate not known yet (worker)."""
        self.announce = announce
        """Be *the* assistant of the site: last will, availability, discovery, inputs.
        A one-shot client (``octohome say``) turns it off so that it neither
        marks the site offline when it exits nor steals the daemon's inputs."""

        self.site = site
        self.states = DeviceStates()
        """The last state seen per state topic (relative changes start from it)."""
        self._states_evt = threading.Event()
        self._states_acked_at = 0.0
        self._states_mid: int | None = None
        self.catalog = catalog
        self.topics = Topics(f"octohome/{site}")
        self.client_id = client_id or config.client_id or f"octohome-{site}"
        self.device_id = f"octohome_{site}".replace("-", "_")
        self.last_error: str | None = None
        """Why the last connection attempt failed (None once connected)."""

        self._events: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self._pending: deque[_Item] = deque()
        self._inflight: dict[int, _Item] = {}
        self._held: deque[Message] = deque(maxlen=100)
        self._seq = 0
        self._connected = False
        self._connected_evt = threading.Event()
        self._subscribed_evt = threading.Event()
        self._subscribe_mid: int | None = None
        self._muted = False
        self._state: dict[str, Any] = {"transcript": "", "command": "none", "status": "idle",
                                       "reason": ""}
        self._input_handlers: list[Callable[[InputEvent], None]] = []
        self._worker: threading.Thread | None = None
        self._worker_beat = time.monotonic()
        self._broken: str | None = None
        """Why the link cannot be trusted any more (a paho callback raised)."""
        self._stopping = False
        self._up = False
        """paho's thread: a connection is up (CONNACK accepted, no disconnect since)."""
        self._lost_at: float | None = None
        """paho's thread: when the last connection was lost (None: never connected)."""
        self._recent_says: OrderedDict[bytes, float] = OrderedDict()
        """paho's thread: say payloads taken within ``command_ttl`` (:meth:`_taken_before`)."""
        self._resumed_at: float | None = None
        """paho's thread: when a connection last resumed the session (the broker had kept it)."""
        self._client = self._make_client()
        if config.password is not None:
            # Belt and braces: the log pipeline masks it even if some library quotes it.
            from octohome.core.secrets import add_secret

            add_secret(config.password.get_secret_value())

    @classmethod
    def from_settings(cls, settings: Settings, catalog: Catalog | None = None) -> MqttLink:
        return cls(settings.mqtt, settings.site.id, catalog,
                   homeassistant=settings.homeassistant)

    # -- lifecycle -------------------------------------------------------------------

    def _make_client(self) -> _Client:
        cfg = self.config
        # The assistant's session persists (see the module docstring; _on_pre_connect
        # decides before every connection whether it is resumed or started afresh);
        # a one-shot client (announce off) subscribes to nothing and keeps none.
        client = self._new_client(clean_session=not self.announce)
        if self.announce:
            client.will_set(self.topics.availability, b"offline", qos=1, retain=True)
            client.on_pre_connect = self._guarded("on_pre_connect", self._on_pre_connect)
        # paho declares these as int but only does arithmetic with them: floats work.
        client.reconnect_delay_set(cfg.reconnect_min_delay, cfg.reconnect_max_delay)
        client.on_socket_open = self._guarded("on_socket_open", _no_delay)
        client.on_connect = self._guarded("on_connect", self._on_connect,
                                          self._on_connect_error)
        client.on_connect_fail = self._guarded("on_connect_fail", self._on_connect_fail)
        client.on_disconnect = self._guarded("on_disconnect", self._on_disconnect)
        client.on_publish = self._guarded("on_publish", self._on_publish)
        client.on_message = self._guarded("on_message", self._on_message)
        client.on_subscribe = self._guarded("on_subscribe", self._on_subscribe)
        return client

    def _new_client(self, *, clean_session: bool) -> _Client:
        """A paho client with this link's client id, credentials and TLS settings."""
        cfg = self.config
        client = _Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=paho.MQTTv311,
            clean_session=clean_session,
        )
        if cfg.username is not None:
            password = cfg.password.get_secret_value() if cfg.password is not None else None
            client.username_pw_set(cfg.username, password)
        if cfg.tls or cfg.ca_certs is not None or cfg.certfile is not None:
            client.tls_set(
                ca_certs=str(cfg.ca_certs) if cfg.ca_certs else None,
                certfile=str(cfg.certfile) if cfg.certfile else None,
                keyfile=str(cfg.keyfile) if cfg.keyfile else None,
            )
        return client

    DISCARD_TIMEOUT_S = 1.0
    """The throwaway connection of :meth:`_discard_session`: TCP connect and CONNACK."""

    def _discard_session(self) -> bool:
        """Make the broker drop the session it keeps for our client id (its
        subscriptions and the says queued for it): connect once with a clean
        session, then leave. True when the broker confirmed it (CONNACK).

        MQTT 3.1.1 has no "start afresh but persist from now on": a connection
        with ``clean_session`` set is the only way to discard the old session,
        and the session it opens ends with that connection. So a throwaway
        client does the discarding, and the link then connects with
        ``clean_session`` false to a broker that holds nothing for it.
        Blocking, at most about 2 x ``DISCARD_TIMEOUT_S``.
        """
        c = self._new_client(clean_session=True)
        c.connect_timeout = self.DISCARD_TIMEOUT_S
        accepted = threading.Event()

        def on_connect(client: Any, userdata: Any, flags: Any, reason: Any,
                       properties: Any) -> None:
            if not reason.is_failure:
                accepted.set()

        c.on_connect = on_connect
        c.on_socket_open = _no_delay
        try:
            c.connect(self.config.host, self.config.port, self.config.keepalive)
            end = time.monotonic() + self.DISCARD_TIMEOUT_S
            while not accepted.is_set() and time.monotonic() < end:
                if c.loop(0.05) != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    break
        except (OSError, ValueError) as exc:
            log.debug("mqtt session not discarded", error=f"{type(exc).__name__}: {exc}")
        finally:
            # No loop thread: DISCONNECT is written and the socket closed right here.
            with contextlib.suppress(Exception):
                c.disconnect()
        return accepted.is_set()

    def _on_pre_connect(self, client: Any, userdata: Any) -> None:
        """Before every connection attempt (paho's thread): resume the session
        after an absence shorter than ``command_ttl``; otherwise (the first
        connection of this process, or a longer absence) discard it first, so
        that no say queued at the broker longer than that is delivered. (A say
        that waited at the broker arrives less than ``command_ttl`` after it was
        published; the daemon's time-to-live then counts from its arrival.)"""
        lost = self._lost_at
        if lost is not None and time.monotonic() - lost <= self.config.command_ttl:
            client._clean_session = False
            return
        self._resumed_at = None
        # If the broker cannot be told (it is away), connect with a clean session:
        # nothing stale can come, and the next reconnect persists again.
        client._clean_session = not self._discard_session()

    def _guarded(self, name: str, callback: Callable[..., None],
                 on_error: Callable[[Any], None] | None = None) -> Callable[..., None]:
        """``callback`` for paho, such that an exception in it is logged and marks
        the link broken instead of ending paho's network thread.

        paho re-raises a callback's exception (unless ``suppress_exceptions``),
        which ends ``loop_forever`` and with it the network thread: from then on
        nothing is read or sent and no PUBACK comes, silently. Swallowing the
        error instead would hide a bug that may have left the bookkeeping wrong
        (a command never reported). So the link is marked broken: ``alive()``
        says why, the worker hands no more commands to paho (they expire), the
        daemon stops feeding the watchdog and systemd restarts it.
        """

        def guarded(*args: Any) -> None:
            try:
                callback(*args)
            except Exception as exc:
                why = f"paho callback {name} raised {type(exc).__name__}: {exc}"
                log.exception("mqtt callback failed, link marked broken", callback=name)
                if self._broken is None:
                    self._broken = why
                if on_error is not None:
                    with contextlib.suppress(Exception):
                        on_error(args[0])

        return guarded

    def _on_connect_error(self, client: Any) -> None:
        """``on_connect`` failed, perhaps before taking paho's unacknowledged messages
        back: take them now, or paho would resend them, maybe past their deadline.
        They stay in ``_inflight`` and expire there."""
        client.drop_out_messages()

    def start(self) -> None:
        """Connect in the background (retrying with backoff) and start the worker."""
        if self._worker is not None:
            return
        self._worker = threading.Thread(target=self._run, name="octohome-mqtt", daemon=True)
        self._worker.start()
        log.info(
            "mqtt connecting", host=self.config.host, port=self.config.port,
            client_id=self.client_id, tls=bool(self.config.tls or self.config.ca_certs),
            username=self.config.username,
        )
        self._client.connect_async(self.config.host, self.config.port, self.config.keepalive)
        self._client.loop_start()
        self._plan_homeassistant()

    def stop(self, timeout: float = 2.0) -> None:
        """Report what is still queued as expired, go ``offline``, disconnect."""
        if self._worker is None:
            return
        self._stopping = True
        self._events.put(("stop",))
        self._worker.join(timeout)
        if self.homeassistant is not None:
            self.homeassistant.stop(timeout)
        self._client.disconnect()
        self._client.loop_stop()
        self._worker = None

    def __enter__(self) -> MqttLink:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def connected(self) -> bool:
        return self._connected_evt.is_set()

    def alive(self) -> tuple[bool, str]:
        """(ok, why not): can the link still do its job?

        Not whether the broker is reachable (a broker outage is what the link
        rides out by itself, and restarting the assistant would not help), but
        whether the link's own machinery runs: paho's network thread (reads
        PUBACKs, reconnects), the worker thread (decides what is sent, expires
        commands) and no callback having raised. Thread-safe.
        """
        worker = self._worker
        if worker is None:
            return False, "mqtt link not started"
        if self._broken is not None:
            return False, f"mqtt link broken: {self._broken}"
        if not worker.is_alive():
            return False, "mqtt worker thread died"
        silent = time.monotonic() - self._worker_beat
        if silent > self.WORKER_STUCK_AFTER:
            return False, f"mqtt worker stuck for {silent:.0f} s"
        thread = self._client.network_thread()
        if thread is None or not thread.is_alive():
            return False, "mqtt: paho's network thread died"
        if self.homeassistant is not None:
            return self.homeassistant.alive()
        return True, ""

    @property
    def unacknowledged(self) -> int:
        """Messages handed to paho and not acknowledged yet (approximate, any thread)."""
        return len(self._inflight)

    def wait_connected(self, timeout: float | None = None) -> bool:
        """Wait until connected and (when announcing) subscribed to the inputs."""
        end = None if timeout is None else time.monotonic() + timeout
        if not self._connected_evt.wait(timeout):
            return False
        if not self.announce:
            return True
        left = None if end is None else max(0.0, end - time.monotonic())
        return self._subscribed_evt.wait(left)

    # -- commands --------------------------------------------------------------------

    def publish_command(
        self,
        messages: Sequence[Message],
        *,
        ttl: float | None = None,
        created: float | None = None,
        template: Outcome | None = None,
        report: bool = False,
    ) -> Future[Outcome]:
        """Queue messages as one command; the future says ``published`` or ``expired``.

        ``created`` (``time.monotonic()``) is when the command began, e.g. when
        the user stopped speaking: the time-to-live counts from there.
        """
        return self._submit(template or Outcome("published"), [None],
                            [(0, list(messages), CallOutcome("published"), None)],
                            created=created, ttl=ttl, report=report)

    def execute(
        self,
        call: Call,
        *,
        text: str | None = None,
        latencies_ms: Mapping[str, float] | None = None,
        created: float | None = None,
        ttl: float | None = None,
    ) -> Future[Outcome]:
        """Validate, map, queue and report one call: :meth:`execute_parsed` of it alone."""
        from octohome.core.calls import NOTHING, Parsed

        parsed = NOTHING if call.function is None else Parsed((call,))
        return self.execute_parsed(parsed, text=text, latencies_ms=latencies_ms,
                                   created=created, ttl=ttl)

    def execute_parsed(
        self,
        parsed: Parsed,
        *,
        text: str | None = None,
        latencies_ms: Mapping[str, float] | None = None,
        created: float | None = None,
        ttl: float | None = None,
        replier: Replier | None = None,
    ) -> Future[Outcome]:
        """Validate, map, queue and report every call of an utterance (the daemon's
        main entry point).

        Each call is a command of its own, with the utterance's deadline and its
        own fate (a group said at once is one message per device, each published
        or expired by itself). One intent event carries every call and the reason
        once all are known, and the retained state that Home Assistant shows is
        updated. Never raises for a bad call: that is a ``rejected`` call, and a
        step to a device whose state is not known a ``refused`` one.
        ``replier`` words the outcome once every call's fate is known (the intent
        event's ``reply``).
        """
        lat = dict(latencies_ms or {})
        template = Outcome("published", text=text, reason=parsed.reason, latencies_ms=lat)
        if not parsed.calls:
            status = overall((), parsed.reason)
            return self._report_now(_with_reply(_replace(template, status=status), replier))
        results: list[CallOutcome | None] = []
        commands: list[tuple[int, list[Message], CallOutcome, ServiceCall | None]] = []
        for i, call in enumerate(parsed.calls):
            base = CallOutcome("published", call.function, dict(call.arguments))
            known: CallOutcome | None = None
            if call.function is None:
                known = _replace(base, status="not_a_command", arguments={})
            elif self.catalog is None:
                known = _replace(base, status="rejected", reason="no catalog")
            else:
                try:
                    plan = plan_messages(self.catalog, call, self.states)
                except Refused as exc:
                    log.info("command refused", function=call.function, reason=str(exc))
                    known = _replace(base, status="refused", reason=str(exc))
                except ValueError as exc:
                    log.warning("command rejected", function=call.function, reason=str(exc))
                    known = _replace(base, status="rejected", reason=str(exc))
                else:
                    if plan.service is not None and self.homeassistant is None:
                        why = ("mapped to Home Assistant's API (style homeassistant_api) but"
                               " [homeassistant] url and token are not set"
                               if not self._homeassistant_configured
                               else "the Home Assistant link is not started")
                        log.warning("command rejected", function=call.function, reason=why)
                        known = _replace(base, status="rejected", reason=why)
                    else:
                        commands.append((i, plan.messages, _replace(
                            base, messages=tuple(plan.messages), sent_as=plan.sent_as),
                            plan.service))
            results.append(known)
        return self._submit(template, results, commands, created=created, ttl=ttl,
                            report=True, replier=replier)

    def _submit(
        self, template: Outcome, results: list[CallOutcome | None],
        commands: Sequence[tuple[int, list[Message], CallOutcome, ServiceCall | None]], *,
        created: float | None, ttl: float | None, report: bool,
        replier: Replier | None = None,
    ) -> Future[Outcome]:
        now = time.monotonic()
        created = now if created is None else created
        deadline = created + (self.config.command_ttl if ttl is None else ttl)
        future: Future[Outcome] = Future()
        batch = _Batch(template, results, future, report, replier)
        batch.commands = [_Command(messages, deadline, created, batch, i, tmpl, service)
                          for i, messages, tmpl, service in commands]
        self._events.put(("batch", batch))
        return future

    def _report_now(self, outcome: Outcome) -> Future[Outcome]:
        future: Future[Outcome] = Future()
        self._events.put(("report", outcome, future))
        return future

    def report(self, outcome: Outcome) -> Future[Outcome]:
        """Report an outcome decided before any call existed (e.g. the daemon drops
        an utterance past its time-to-live before the model runs on it): intent
        event and retained state, as ``execute`` would; nothing is published."""
        return self._report_now(outcome)

    # -- device states ---------------------------------------------------------------

    STATE_SETTLE_S = 0.3
    """After the state subscription is acknowledged, how long its retained states
    may take to arrive (the broker sends them right after the SUBACK)."""

    def needs_state(self, calls: Sequence[Call]) -> bool:
        """Does any of these calls read a device's last state (a step without a
        relative command of its own)?"""
        if not self._state_devices or self.catalog is None:
            return False
        return any(c.function in RELATIVE and c.arguments.get("device") in self._state_devices
                   for c in calls)

    def await_states(self, timeout: float) -> bool:
        """Wait until the state topics were subscribed once and their retained states
        had time to arrive (at once for a link connected a while: the daemon's, also
        while the broker is away). A one-shot client (``octohome say``) waits here
        before a step that reads a state. Entities of Home Assistant: until their
        states were read once from Home Assistant."""
        end = time.monotonic() + max(0.0, timeout)
        hass = self.homeassistant
        if (self._state_entities and hass is not None
                and not hass.wait_states(end - time.monotonic())):
            return False
        if not self._state_topics:
            return True
        if not self._states_evt.wait(max(0.0, end - time.monotonic())):
            return False
        left = self._states_acked_at + self.STATE_SETTLE_S - time.monotonic()
        if left > 0:
            time.sleep(min(left, max(0.0, end - time.monotonic())))
        return True

    def _state_plan(self, catalog: Catalog | None) -> None:
        """The state topics (and Home Assistant entities) to follow for a catalog
        (see :mod:`octohome.act.state`)."""
        sources = state_sources(catalog) if catalog is not None else []
        self._state_devices = frozenset(s.device for s in sources)
        self._state_topics = tuple(dict.fromkeys(
            t for s in sources if s.entity_id is None for t in s.topics))
        self._state_topic_set = frozenset(self._state_topics)
        self._state_entities = frozenset(
            s.entity_id for s in sources if s.entity_id is not None)

    @property
    def _homeassistant_configured(self) -> bool:
        cfg = self.homeassistant_config
        return cfg is not None and cfg.configured

    def _plan_homeassistant(self) -> None:
        """Start the Home Assistant link once the link runs and its catalog has a device
        of style ``homeassistant_api`` (and ``[homeassistant]`` is set); tell it which
        entities to follow. Never stopped for a new catalog: a call may be in flight."""
        catalog = self.catalog
        if catalog is None or self._worker is None:
            return
        if self.homeassistant is None:
            needed = any(t is not None and t.style == "homeassistant_api"
                         for t in (*(d.mqtt for d in catalog.devices),
                                   *(s.mqtt for s in catalog.scenes)))
            if not needed:
                return
            if not self._homeassistant_configured:
                log.warning("devices mapped to Home Assistant's API, but [homeassistant]"
                            " url and token are not set: their calls will be rejected")
                return
            assert self.homeassistant_config is not None
            self.homeassistant = HomeAssistantLink(self.homeassistant_config, self.states)
            self.homeassistant.follow(self._state_entities)
            self.homeassistant.start()
            return
        self.homeassistant.follow(self._state_entities)

    @property
    def catalog(self) -> Catalog | None:
        return self._catalog

    @catalog.setter
    def catalog(self, catalog: Catalog | None) -> None:
        """A new catalog (a reload): follow its state topics from now on."""
        old = set(getattr(self, "_state_topics", ()))
        self._catalog = catalog
        self._state_plan(catalog)
        if getattr(self, "_worker", None) is not None:
            self._plan_homeassistant()
        client = getattr(self, "_client", None)
        if client is None or not self._up:
            return
        new = set(self._state_topics)
        if old - new:
            client.unsubscribe(sorted(old - new))
        if new - old:
            client.subscribe([(t, 0) for t in sorted(new - old)])

    # -- events and state ------------------------------------------------------------

    def publish_transcript(self, text: str, source: str = "mic") -> None:
        """Publish what was heard (``octohome/<site>/transcript``) and update the state."""
        self._events.put(("transcript", text, source))

    def set_mute(self, muted: bool) -> None:
        """Mute or unmute from the assistant's side (a hardware button); publishes the state."""
        self._events.put(("mute", muted))

    @property
    def muted(self) -> bool:
        return self._muted

    def publish_discovery(self) -> None:
        """(Re-)announce the assistant to Home Assistant."""
        self._events.put(("discovery",))

    def publish(self, message: Message) -> None:
        """Publish something that is not a command (held, not expired, while offline)."""
        self._events.put(("aux", message))

    # -- inputs ----------------------------------------------------------------------

    def on_input(self, handler: Callable[[InputEvent], None]) -> None:
        """Call ``handler(event)`` for each valid say/listen/mute message.

        It runs on paho's network thread: keep it short (hand over to a queue).
        """
        self._input_handlers.append(handler)

    def input_queue(
        self, loop: asyncio.AbstractEventLoop | None = None, maxsize: int = 1000
    ) -> asyncio.Queue[InputEvent]:
        """An asyncio queue of input events, fed thread-safely (call within the loop).

        A hand-over, not where inputs wait: the consumer (the daemon's inputs stage)
        moves each event on at once. But paho's thread can deliver a burst faster
        than the event loop runs the consumer (a resumed session's backlog after a
        broker restart: every put is scheduled before the consumer's next turn). So
        the bound only guards against a flood, and is as large as the daemon's own
        command queue; at 100 it dropped part of such a burst."""
        loop = loop or asyncio.get_running_loop()
        q: asyncio.Queue[InputEvent] = asyncio.Queue(maxsize)

        def put(ev: InputEvent) -> None:
            try:
                q.put_nowait(ev)
            except asyncio.QueueFull:
                log.warning("input queue full, event dropped", kind=ev.kind)

        def hand_over(ev: InputEvent) -> None:
            loop.call_soon_threadsafe(put, ev)

        self.on_input(hand_over)
        return q

    # -- paho callbacks (network thread) ---------------------------------------------

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any,
                    properties: Any) -> None:
        if reason.is_failure:
            hint = ""
            if str(reason) in ("Not authorized", "Bad user name or password"):
                hint = " (check [mqtt] username and password)"
            self.last_error = f"broker refused the connection: {reason}{hint}"
            log.error("mqtt connection refused", host=self.config.host,
                      port=self.config.port, reason=str(reason), hint=hint.strip(" ()") or None)
            return
        self._up = True
        if getattr(flags, "session_present", False):
            self._resumed_at = time.monotonic()
        # Take back what paho would resend by itself: the worker decides,
        # because some of it may have outlived its time-to-live.
        dropped = [m.mid for m in client.drop_out_messages()]
        if self.announce:
            topics = [(t, 1) for t in (self.topics.say, self.topics.listen, self.topics.mute)]
            if self.config.discovery:
                topics.append((f"{self.config.discovery_prefix}/status", 1))
            self._subscribed_evt.clear()
            self._subscribe_mid = client.subscribe(topics)[1]
        states = self._state_topics
        if states:
            # QoS 0: only the latest state matters, and none is queued while we are away.
            # (States seen before a reconnect are kept: await_states waits only once.)
            self._states_mid = client.subscribe([(t, 0) for t in states])[1]
        self.last_error = None
        self._events.put(("connected", dropped))

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, reasons: Any,
                      properties: Any) -> None:
        if mid == self._subscribe_mid:
            if any(r.is_failure for r in reasons):
                log.error("broker refused the input subscriptions",
                          reasons=[str(r) for r in reasons])
            self._subscribed_evt.set()
        elif mid == self._states_mid:
            if any(r.is_failure for r in reasons):
                log.error("broker refused the device state subscriptions",
                          reasons=[str(r) for r in reasons])
            if not self._states_evt.is_set():
                self._states_acked_at = time.monotonic()
                self._states_evt.set()

    def _on_connect_fail(self, client: Any, userdata: Any) -> None:
        err = getattr(client, "connect_error", None) or "unknown error"
        self.last_error = f"cannot connect to {self.config.host}:{self.config.port}: {err}"
        log.warning("mqtt connect failed, retrying", host=self.config.host,
                    port=self.config.port, error=err)

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any,
                       properties: Any) -> None:
        if self._up:
            self._up = False
            self._lost_at = time.monotonic()
        if not self._stopping:
            log.warning("mqtt disconnected, reconnecting", reason=str(reason))
        self._events.put(("disconnected",))

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason: Any,
                    properties: Any) -> None:
        self._events.put(("puback", mid, time.monotonic()))

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        topic = msg.topic
        if self.config.discovery and topic == f"{self.config.discovery_prefix}/status":
            if msg.payload == b"online":
                log.info("home assistant is online, re-sending discovery")
                self._events.put(("discovery",))
            return
        if topic in self._state_topic_set:
            if not self.states.update(topic, bytes(msg.payload)):
                log.warning("device state ignored: too large or not UTF-8", topic=topic,
                            size=len(msg.payload))
            return
        if topic == self.topics.say and self._taken_before(bytes(msg.payload), bool(msg.dup)):
            log.info("say delivered again after a broker restart, taken already: ignored")
            return
        event = self._parse_input(topic, bytes(msg.payload))
        if event is None:
            return
        if event.kind == "mute":
            self._events.put(("mute", event.value == "on"))
        for handler in list(self._input_handlers):
            try:
                handler(event)
            except Exception:
                log.exception("input handler failed", kind=event.kind)

    def _taken_before(self, payload: bytes, dup: bool) -> bool:
        """Is this say a second delivery of one taken within ``command_ttl``?

        After a broker restart, the resumed session redelivers (flagged DUP) the
        says whose PUBACK the broker had not processed, and a sender whose PUBACK
        was lost resends its say, which the broker forwards as a new message
        (no DUP: the flag is per hop). The link may have taken either already.
        So a say equal to one taken within ``command_ttl`` is ignored when it is
        flagged DUP, or arrives within ``command_ttl`` of a resumed session. The
        price: the same words said twice within the time-to-live right after a
        broker restart count once."""
        now = time.monotonic()
        ttl = self.config.command_ttl
        recent = self._recent_says
        while recent and next(iter(recent.values())) < now - ttl:
            recent.popitem(last=False)
        resumed = self._resumed_at is not None and now - self._resumed_at <= ttl
        if payload in recent and (dup or resumed):
            return True
        recent[payload] = now
        recent.move_to_end(payload)
        return False

    def _parse_input(self, topic: str, payload: bytes) -> InputEvent | None:
        """Validate an input message; anything odd is ignored with a log line."""
        kind = {self.topics.say: "say", self.topics.listen: "listen",
                self.topics.mute: "mute"}.get(topic)
        if kind is None:
            return None
        if len(payload) > self.config.max_input_bytes:
            log.warning("input ignored: too large", topic=topic, size=len(payload),
                        limit=self.config.max_input_bytes)
            return None
        try:
            text = payload.decode("utf-8").strip()
        except UnicodeDecodeError:
            log.warning("input ignored: not UTF-8", topic=topic, size=len(payload))
            return None
        if kind == "say":
            room: str | None = None
            if text.startswith("{"):
                said = self._say_json(topic, text)
                if said is None:
                    return None
                text, room = said
            if not text or any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in text):
                log.warning("input ignored: empty or control characters", topic=topic,
                            size=len(payload))
                return None
            return InputEvent("say", text, room=room)
        word = text.lower()
        if kind == "mute":
            if word in ("on", "true", "1", "mute", "muted"):
                return InputEvent("mute", "on")
            if word in ("off", "false", "0", "unmute", "unmuted"):
                return InputEvent("mute", "off")
        elif word in ("", "press", "start", "on"):
            return InputEvent("listen", "start")
        elif word in ("stop", "off"):
            return InputEvent("listen", "stop")
        log.warning("input ignored: unknown value", topic=topic, value=text[:40])
        return None

    def _say_json(self, topic: str, text: str) -> tuple[str, str | None] | None:
        """``{"text": ..., "room": ...}`` -> (text, room id); None (logged) when it is
        not that: a say is never acted on half understood, nor in a room the home lacks."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            log.warning("input ignored: not valid JSON", topic=topic, error=str(exc))
            return None
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            log.warning("input ignored: JSON without a text string", topic=topic,
                        keys=sorted(data)[:10] if isinstance(data, dict) else None)
            return None
        unknown = sorted(set(data) - {"text", "room"})
        if unknown:
            log.warning("input ignored: unknown JSON keys", topic=topic, keys=unknown[:10])
            return None
        room = data.get("room")
        if room is None:
            return data["text"].strip(), None
        if not isinstance(room, str) or not room.strip():
            log.warning("input ignored: room is not a room name", topic=topic)
            return None
        if self.catalog is not None:
            found = self.catalog.find_room(room.strip())
            if found is None:
                log.warning("input ignored: not a room of the home", topic=topic,
                            room=room[:40], rooms=[r.name for r in self.catalog.rooms])
                return None
            room = found.id
        return data["text"].strip(), room.strip()

    # -- worker ----------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._worker_beat = time.monotonic()
            timeout = self._next_timeout()
            try:
                event = self._events.get(timeout=timeout)
            except queue.Empty:
                event = None
            try:
                if event is not None and event[0] == "stop":
                    self._shutdown()
                    return
                if event is not None:
                    self._handle(event)
                self._expire(time.monotonic())
            except Exception:
                log.exception("mqtt worker error")

    def _next_timeout(self) -> float:
        """Wake at the next deadline (queued or in flight), at least every 0.5 s."""
        deadlines = [item.cmd.deadline for item in self._pending]
        deadlines += [item.cmd.deadline for item in self._inflight.values()
                      if not item.cmd.done]
        if not deadlines:
            return 0.5
        return min(0.5, max(0.001, min(deadlines) - time.monotonic()))

    def _handle(self, event: tuple[Any, ...]) -> None:
        kind = event[0]
        if kind == "batch":
            self._enqueue_batch(event[1])
        elif kind == "puback":
            self._acked(event[1], event[2])
        elif kind == "service":
            self._service_done(event[1], event[2])
        elif kind == "connected":
            self._reconnected(event[1])
        elif kind == "disconnected":
            self._connected = False
            self._connected_evt.clear()
        elif kind == "report":
            self._report(event[1])
            event[2].set_result(event[1])
        elif kind == "transcript":
            text, source = event[1], event[2]
            self._send_aux(Message(self.topics.transcript,
                                   _json({"text": text, "source": source, "time": _now_iso()}),
                                   qos=0))
            self._state["transcript"] = text[:250]
            self._send_state()
        elif kind == "mute":
            self._muted = bool(event[1])
            self._send_aux(Message(self.topics.mute_state, b"ON" if self._muted else b"OFF",
                                   qos=1, retain=True))
        elif kind == "discovery":
            if self.config.discovery and self.announce:
                self._send_aux(self.discovery_message())
        elif kind == "aux":
            self._send_aux(event[1])

    def _enqueue_batch(self, batch: _Batch) -> None:
        if not batch.commands:
            self._settle(batch)
            return
        for cmd in batch.commands:
            self._enqueue(cmd)

    def _enqueue(self, cmd: _Command) -> None:
        if cmd.service is not None:
            self._call_service(cmd, cmd.service)
            return
        if not cmd.messages:
            self._finish(cmd, "published")
            return
        for message in cmd.messages:
            self._seq += 1
            self._pending.append(_Item(self._seq, cmd, message))
        while len(self._pending) > self.config.queue_size:
            oldest = self._pending[0].cmd
            self._finish(oldest, "expired", reason="queue full")
            self._pending = deque(i for i in self._pending if i.cmd is not oldest)
        self._flush()

    def _flush(self) -> None:
        if not self.alive()[0]:
            # A broken link sends nothing more: what waits expires at its deadline.
            return
        while self._pending and self._connected:
            item = self._pending.popleft()
            cmd = item.cmd
            if cmd.done:
                continue
            now = time.monotonic()
            if now > cmd.deadline:
                reason = "time-to-live passed before sending"
                if cmd.first_sent is not None:
                    # QoS 1 cannot tell whether the broker got it before the link broke.
                    reason = ("sent but not acknowledged before the connection dropped;"
                              " not resent past its time-to-live (it may have arrived)")
                self._finish(cmd, "expired", reason=reason)
                continue
            if not self._client.is_connected():
                # Connection lost (or re-opening, CONNACK not yet in) and its
                # event not processed yet: anything sent now could go out twice.
                self._pending.appendleft(item)
                self._connected = False
                return
            m = item.message
            info = self._client.publish(m.topic, m.payload, qos=m.qos, retain=m.retain)
            cmd.first_sent = cmd.first_sent or now
            cmd.last_sent = now
            if info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN and m.qos == 0:
                # QoS 0 is not kept by paho; keep it ourselves until the next connect.
                self._pending.appendleft(item)
                self._connected = False
                return
            # QoS 1/2 stays in paho's store even without connection; the next
            # on_connect hands it back through drop_out_messages.
            self._inflight[info.mid] = item

    def _call_service(self, cmd: _Command, service: ServiceCall) -> None:
        """Hand a service call to the Home Assistant link; its fate comes back as an
        event (the link keeps the deadline; :meth:`_expire` is the backstop)."""
        hass = self.homeassistant
        if hass is None:
            self._finish(cmd, "expired", reason="the Home Assistant link is not running")
            return
        self._services.add(cmd)

        def done(future: Future[ServiceResult]) -> None:
            self._events.put(("service", cmd, future.result()))

        hass.call(service, cmd.deadline).add_done_callback(done)

    def _service_done(self, cmd: _Command, result: ServiceResult) -> None:
        self._services.discard(cmd)
        if cmd.done:
            return
        cmd.first_sent = cmd.last_sent = result.sent_at
        self._finish(cmd, result.status, reason=result.reason, acked_at=result.acked_at)

    def _acked(self, mid: int, when: float) -> None:
        item = self._inflight.pop(mid, None)
        if item is None:
            return
        cmd = item.cmd
        cmd.acked += 1
        if cmd.acked == len(cmd.messages) and not cmd.done:
            self._finish(cmd, "published", acked_at=when)

    def _reconnected(self, dropped: list[int]) -> None:
        back = [self._inflight.pop(mid) for mid in dropped if mid in self._inflight]
        if back:
            self._pending.extendleft(reversed(back))
            self._pending = deque(sorted(self._pending, key=lambda i: i.seq))
        self._connected = True
        self._connected_evt.set()
        log.info("mqtt connected", host=self.config.host, port=self.config.port,
                 queued=len(self._pending), resent=len(back))
        if self.announce:
            self._client.publish(self.topics.availability, b"online", qos=1, retain=True)
        self._flush()
        if self.announce:
            self._send_aux(Message(self.topics.mute_state, b"ON" if self._muted else b"OFF",
                                   qos=1, retain=True))
            if self.config.discovery:
                self._send_aux(self.discovery_message())
        while self._held and self._connected:
            m = self._held.popleft()
            self._client.publish(m.topic, m.payload, qos=m.qos, retain=m.retain)

    def _expire(self, now: float) -> None:
        """Report every command past its deadline ``expired``: those still in our
        queue, and those handed to paho but not acknowledged (paho's copy is
        removed, so that it is never sent after the deadline)."""
        for cmd in [c for c in self._services if now > c.deadline + self.SETTLE_S]:
            # The Home Assistant link settles every call by its deadline; no word
            # from it this long after means it is stuck: still one fate.
            self._services.discard(cmd)
            if not cmd.done:
                self._finish(cmd, "expired", reason="the Home Assistant link did not report"
                             " its fate (it may have been carried out)")
        freed = False
        for mid, item in list(self._inflight.items()):
            cmd = item.cmd
            if now <= cmd.deadline or mid not in self._inflight:
                continue
            # discard() False: paho has just handled its PUBACK, or on_connect took
            # it back; that event is queued for us and settles it (published, or
            # expired by _flush). SETTLE_S is the backstop for "exactly one fate".
            if self._client.discard(mid) or now > cmd.deadline + self.SETTLE_S:
                del self._inflight[mid]
                if not cmd.done:
                    self._finish(cmd, "expired", reason=(
                        "sent but not acknowledged within its time-to-live; never resent"
                        " (it may have arrived)"))
                freed = True
        if not self._pending:
            return
        if freed:
            self._flush()
        broken = self.alive()
        reason = (f"not sent: {broken[1]}" if not broken[0]
                  else "broker unreachable for the whole time-to-live" if not self._connected
                  else "not sent within its time-to-live: the broker acknowledged too slowly")
        for item in list(self._pending):
            if not item.cmd.done and now > item.cmd.deadline:
                self._finish(item.cmd, "expired", reason=reason)
        if any(i.cmd.done for i in self._pending):
            self._pending = deque(i for i in self._pending if not i.cmd.done)

    def _finish(self, cmd: _Command, status: Status, *, reason: str | None = None,
                acked_at: float | None = None) -> None:
        cmd.done = True
        if status == "expired":
            # Its other messages (a command may have several) must not go out later.
            for mid, item in list(self._inflight.items()):
                if item.cmd is cmd:
                    self._client.discard(mid)
                    del self._inflight[mid]
        lat: dict[str, float] = {}
        if cmd.first_sent is not None:
            lat["queue"] = (cmd.first_sent - cmd.submitted) * 1000
        if acked_at is not None:
            lat["mqtt"] = (acked_at - cmd.submitted) * 1000
            lat["total"] = (acked_at - cmd.created) * 1000
        outcome = _replace(
            cmd.template, status=status, reason=reason, latencies_ms=lat,
            deadline=cmd.deadline, sent_at=cmd.last_sent,
        )
        if status == "expired":
            log.warning("command expired, not executed", function=outcome.function,
                        arguments=dict(outcome.arguments), reason=reason,
                        waited_s=round(time.monotonic() - cmd.created, 3))
        batch = cmd.batch
        batch.results[cmd.index] = outcome
        if batch.complete:
            self._settle(batch)

    def _settle(self, batch: _Batch) -> None:
        """Every call of an utterance has its fate: one outcome, one intent event."""
        outcome = batch.outcome()
        if batch.report:
            self._report(outcome)
        if not batch.future.done():
            batch.future.set_result(outcome)

    def _report(self, outcome: Outcome) -> None:
        self._send_aux(Message(self.topics.intent, _json(outcome.event()), qos=0))
        self._state.update(command=outcome.command_text()[:250], status=outcome.status,
                           reason=(outcome.reason or "")[:250])
        self._send_state()

    def _send_state(self) -> None:
        self._send_aux(Message(self.topics.state, _json(self._state), qos=1, retain=True))

    def _send_aux(self, m: Message) -> None:
        if self._connected:
            self._client.publish(m.topic, m.payload, qos=m.qos, retain=m.retain)
        else:
            self._held.append(m)

    def _shutdown(self) -> None:
        for cmd in list(self._services):
            if not cmd.done:
                self._finish(cmd, "expired", reason=(
                    "assistant stopped before Home Assistant answered (it may have been"
                    " carried out)"))
        self._services.clear()
        for item in list(self._pending):
            if not item.cmd.done:
                self._finish(item.cmd, "expired", reason="assistant stopped")
        self._pending.clear()
        for item in list(self._inflight.values()):
            if not item.cmd.done:
                self._finish(item.cmd, "expired", reason=(
                    "assistant stopped before the broker acknowledged it (it may have"
                    " arrived)"))
        self._inflight.clear()
        if self._connected and self.announce:
            info = self._client.publish(self.topics.availability, b"offline", qos=1,
                                        retain=True)
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(1.0)

    # -- Home Assistant discovery ----------------------------------------------------

    def discovery_message(self) -> Message:
        """Device-based discovery (``<prefix>/device/<id>/config``), retained."""
        prefix = self.config.discovery_prefix
        return Message(f"{prefix}/device/{self.device_id}/config",
                       _json(discovery_payload(self.device_id, self.site, self.topics)),
                       qos=1, retain=True)


_O = TypeVar("_O", Outcome, CallOutcome)


def _with_reply(outcome: Outcome, replier: Replier | None) -> Outcome:
    """The outcome with its reply; a replier that raises costs the reply, never the
    outcome (it runs on the link's worker thread)."""
    if replier is None:
        return outcome
    try:
        reply = replier(outcome)
    except Exception as exc:
        log.exception("reply failed", error=str(exc))
        return outcome
    return _replace(outcome, reply=reply)


def _replace(outcome: _O, **changes: Any) -> _O:
    from dataclasses import replace

    return replace(outcome, **changes)
