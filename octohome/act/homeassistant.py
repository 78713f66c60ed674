"""Home Assistant's WebSocket API: service calls out (nothing late), entity states in.

Devices mapped with ``style = "homeassistant_api"`` are commanded through Home
Assistant itself (``call_service`` over ``<url>/api/websocket``, authenticated
with a long-lived access token), so anything Home Assistant controls (Hue,
Z-Wave, Wi-Fi plugs, ...) can be, not only MQTT entities. The MQTT link hands
each such command here (:meth:`HomeAssistantLink.call`) and gets its fate back.

The rules are the MQTT link's: every call has exactly one fate, known by its
deadline (``command_ttl`` after the end of speech):

* ``published``: Home Assistant answered the call with ``success`` by then;
* ``expired`` otherwise, with the reason: never connected in time (Home
  Assistant away, or the token refused: the reason says which), Home Assistant
  answered with an error (its code and message), no answer by the deadline, or
  the connection dropped after the call went out. A call that went out is
  **never sent again**: the answer comes on the connection that carried it, so
  once that is gone nobody can tell whether Home Assistant carried it out, and
  a relative change (``brightness_step_pct``) sent twice would be applied twice.
  A call that has not gone out waits (bounded queue) for a connection and is
  dropped at its deadline, so that Home Assistant coming back never replays a
  stale command.

The connection is kept by one asyncio task on a thread of its own (the link's
callers are threads: the MQTT worker and the daemon's executor), reconnecting
with a doubling delay (``reconnect_min_delay`` .. ``reconnect_max_delay``). A
refused token (``auth_invalid``) is logged as a clear error once (and then
retried at the longest delay: retrying fast would only fill Home Assistant's
log with failed logins, and the token may be fixed and the config reloaded).

The token is a secret: it is registered for masking when the config is read
(:class:`octohome.core.config.HomeAssistantConfig`), it is only ever written
into the ``auth`` message, no message is logged, and the WebSocket library's
own frame logging (debug level, which would show that message) is cut off.

Entity states: the entities whose steps are computed from their state
(``media.step_volume``, ``climate.step_temperature``) are followed: on every
connection the link subscribes to ``state_changed`` events and then reads
``get_states`` once, keeping each followed entity's state in the shared
:class:`octohome.act.state.DeviceStates`. States survive a reconnect (a step
while Home Assistant is away starts from the last state known and expires
unsent, like any other call).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import ssl
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import structlog

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

    from octohome.act.mapping import ServiceCall
    from octohome.act.state import DeviceStates
    from octohome.core.config import HomeAssistantConfig

log = structlog.get_logger("octohome.act.homeassistant")

_WS_LOG = logging.getLogger("octohome.act.homeassistant.websocket")
"""The WebSocket library's logger for our connections. Its debug lines quote every
frame, the ``auth`` message with the token among them: never below INFO."""
_WS_LOG.setLevel(logging.INFO)

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
"""``get_states`` of a large home is several megabytes; the library's default is 1 MiB."""
STARTING_POLL_S = 0.5
"""How often a connection asks a starting Home Assistant whether it is running."""


@dataclass(frozen=True)
class ServiceResult:
    """The fate of one service call (see the module docstring)."""

    status: Literal["published", "expired"]
    reason: str | None = None
    sent_at: float | None = None
    """``time.monotonic()`` when it went out on the connection (None: never)."""

    acked_at: float | None = None
    """When Home Assistant's successful answer arrived (published only)."""


@dataclass(eq=False)
class _Call:
    service: ServiceCall
    deadline: float
    future: Future[ServiceResult]
    sent_at: float | None = None
    timer: asyncio.TimerHandle | None = None
    done: bool = False


@dataclass(eq=False)
class _Session:
    """One authenticated connection: its ids, its outgoing queue, its waiters."""

    ws: ClientConnection
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    outbox: asyncio.Queue[tuple[dict[str, Any], _Call | None]] = field(
        default_factory=asyncio.Queue)
    calls: dict[int, _Call] = field(default_factory=dict)
    """Sent and not answered yet."""
    requests: dict[int, asyncio.Future[Any]] = field(default_factory=dict)
    """The link's own commands (subscribe, get_states) waiting for their result."""
    subscription: int | None = None


class _AuthInvalid(Exception):
    """Home Assistant refused the access token."""


class HomeAssistantLink:
    """The assistant's connection to Home Assistant. Start it once; it reconnects by itself."""

    QUEUE_SIZE = 100
    """Calls kept while Home Assistant is away; the oldest go first when full."""

    def __init__(self, config: HomeAssistantConfig, states: DeviceStates | None = None) -> None:
        if not config.configured or config.token is None:
            raise ValueError("[homeassistant] url and token must be set")
        self.config = config
        self.url = config.websocket_url
        self.states = states
        self.last_error: str | None = None
        """Why the last connection attempt failed (None once connected)."""

        self._token = config.token
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._main_task: asyncio.Task[None] | None = None
        self._session: _Session | None = None
        self._pending: deque[_Call] = deque()
        self._follow: frozenset[str] = frozenset()
        self._connected_evt = threading.Event()
        self._states_evt = threading.Event()
        self._stopping = False
        self._broken: str | None = None
        self._auth_logged: str | None = None
        self._starting_logged: str | None = None

    # -- lifecycle (any thread) ------------------------------------------------------

    def start(self) -> None:
        """Connect in the background (retrying with backoff)."""
        if self._thread is not None:
            return
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,),
                                        name="octohome-homeassistant", daemon=True)
        self._thread.start()
        ready.wait(5.0)
        log.info("home assistant connecting", url=self.url)

    def stop(self, timeout: float = 2.0) -> None:
        """Report every call not answered yet ``expired`` and close the connection."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        self._stopping = True
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._shutdown)
        thread.join(timeout)
        self._thread = None

    def alive(self) -> tuple[bool, str]:
        """(ok, why not): does the link's own machinery run (not: is Home Assistant up)?"""
        if self._thread is None:
            return False, "home assistant link not started"
        if self._broken is not None:
            return False, f"home assistant link broken: {self._broken}"
        if not self._thread.is_alive():
            return False, "home assistant link thread died"
        return True, ""

    @property
    def connected(self) -> bool:
        return self._connected_evt.is_set()

    def wait_connected(self, timeout: float | None = None) -> bool:
        return self._connected_evt.wait(timeout)

    def follow(self, entity_ids: Iterable[str]) -> None:
        """Keep these entities' states in ``states`` (a new catalog: a new set)."""
        new = frozenset(entity_ids)
        if new == self._follow:
            return
        added = bool(new - self._follow)
        self._follow = new
        if added:
            self._states_evt.clear()
            loop = self._loop
            if loop is not None:
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(self._refresh_states)

    def wait_states(self, timeout: float) -> bool:
        """Wait until the followed entities' states were read once (at once after that)."""
        if not self._follow:
            return True
        return self._states_evt.wait(max(0.0, timeout))

    def call(self, service: ServiceCall, deadline: float) -> Future[ServiceResult]:
        """Send one service call; the future gets its one fate by ``deadline``
        (``time.monotonic()``), or at once when the link is not running."""
        future: Future[ServiceResult] = Future()
        c = _Call(service, deadline, future)
        loop = self._loop
        if loop is None or self._stopping or loop.is_closed():
            future.set_result(ServiceResult("expired", "home assistant link not running"))
            return future
        try:
            loop.call_soon_threadsafe(self._submit, c)
        except RuntimeError:  # the loop closed in between
            future.set_result(ServiceResult("expired", "home assistant link not running"))
        return future

    # -- the loop thread -------------------------------------------------------------

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        ready.set()
        try:
            self._main_task = loop.create_task(self._main())
            loop.run_until_complete(self._main_task)
        except asyncio.CancelledError:
            pass
        except Exception as exc:
            self._broken = f"{type(exc).__name__}: {exc}"
            log.exception("home assistant link failed")
        finally:
            self._connected_evt.clear()
            for c in [*self._pending]:
                self._finish(c, "expired", "home assistant link stopped")
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def _shutdown(self) -> None:
        for c in [*self._pending]:
            self._finish(c, "expired", "assistant stopped")
        self._pending.clear()
        if self._session is not None:
            for c in [*self._session.calls.values()]:
                self._finish(c, "expired", "assistant stopped before Home Assistant answered"
                             " (it may have been carried out)")
        if self._main_task is not None:
            self._main_task.cancel()

    async def _main(self) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidStatus, WebSocketException

        cfg = self.config
        delay = cfg.reconnect_min_delay
        ssl_ctx: ssl.SSLContext | None = None
        if self.url.startswith("wss://"):
            ssl_ctx = ssl.create_default_context(
                cafile=str(cfg.ca_certs) if cfg.ca_certs is not None else None)
        while not self._stopping:
            try:
                async with connect(
                    self.url, open_timeout=cfg.connect_timeout, close_timeout=1.0,
                    max_size=MAX_MESSAGE_BYTES, ssl=ssl_ctx, logger=_WS_LOG,
                    ping_interval=20.0, ping_timeout=20.0,
                    user_agent_header="octohome",
                ) as ws:
                    await asyncio.wait_for(self._authenticate(ws), cfg.connect_timeout)
                    delay = cfg.reconnect_min_delay
                    session = _Session(ws)
                    await self._wait_running(session)
                    await self._serve(session)
                    if not self._stopping:
                        log.warning("home assistant connection lost, reconnecting")
            except _AuthInvalid as exc:
                self.last_error = (
                    f"Home Assistant refused the access token (auth_invalid: {exc});"
                    " check [homeassistant] token")
                if self._auth_logged != self.last_error:
                    log.error("home assistant refused the token", url=self.url,
                              message=str(exc), hint="check [homeassistant] token")
                    self._auth_logged = self.last_error
                delay = cfg.reconnect_max_delay
            except InvalidStatus as exc:
                status = exc.response.status_code
                self.last_error = f"{self.url} answered HTTP {status}, not a WebSocket"
                log.warning("home assistant connect failed, retrying", url=self.url,
                            error=self.last_error)
            except (OSError, TimeoutError, WebSocketException, ValueError) as exc:
                self.last_error = f"cannot connect to {self.url}: {type(exc).__name__}: {exc}"
                log.warning("home assistant connect failed, retrying", url=self.url,
                            error=f"{type(exc).__name__}: {exc}")
            finally:
                self._lost()
            if self._stopping:
                return
            await asyncio.sleep(delay)  # a stop cancels it
            delay = min(delay * 2, cfg.reconnect_max_delay)

    async def _authenticate(self, ws: ClientConnection) -> None:
        hello = json.loads(await ws.recv())
        if hello.get("type") != "auth_required":
            raise ValueError(f"not Home Assistant's greeting: {str(hello.get('type'))[:40]}")
        await ws.send(json.dumps({"type": "auth",
                                  "access_token": self._token.get_secret_value()}))
        answer = json.loads(await ws.recv())
        kind = answer.get("type")
        if kind == "auth_invalid":
            raise _AuthInvalid(str(answer.get("message", ""))[:200])
        if kind != "auth_ok":
            raise ValueError(f"unexpected answer to auth: {str(kind)[:40]}")
        self._auth_logged = None
        log.info("home assistant connected", url=self.url,
                 version=answer.get("ha_version"), queued=len(self._pending))

    async def _wait_running(self, session: _Session) -> None:
        """Hold the calls until Home Assistant has finished starting.

        Home Assistant answers on its WebSocket API while it is still starting, and
        a service call for an entity whose integration has not loaded yet is
        answered with success and does nothing: a call that waited through a
        restart would be reported as carried out and be lost. So a new connection
        asks ``get_config`` until its ``state`` is ``RUNNING`` before it sends.
        """
        ws = session.ws
        while True:
            mid = next(session.ids)
            await ws.send(json.dumps({"id": mid, "type": "get_config"}))
            while True:
                answer = json.loads(await ws.recv())
                if isinstance(answer, dict) and answer.get("id") == mid:
                    break
            state = (answer.get("result") or {}).get("state")
            if not answer.get("success") or state in (None, "RUNNING"):
                return  # an older Home Assistant without the state: nothing to wait for
            if state != self._starting_logged:
                log.info("home assistant is starting, calls wait", state=state,
                         queued=len(self._pending))
                self._starting_logged = state
            self.last_error = f"Home Assistant at {self.url} is starting ({state})"
            await asyncio.sleep(STARTING_POLL_S)

    async def _serve(self, session: _Session) -> None:
        """One authenticated connection: send what waits, read until it closes."""
        self._starting_logged = None
        self._session = session
        self.last_error = None
        writer = asyncio.get_running_loop().create_task(self._write(session))
        try:
            self._connected_evt.set()
            if self._follow:
                self._refresh_states()
            while self._pending:
                self._send(session, self._pending.popleft())
            async for raw in session.ws:
                self._dispatch(session, raw)
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer

    async def _write(self, session: _Session) -> None:
        """The one writer of a connection: calls go out in the order they were made."""
        while True:
            message, c = await session.outbox.get()
            if c is not None:
                if c.done:  # expired while waiting behind others
                    continue
                c.sent_at = time.monotonic()
                session.calls[message["id"]] = c
            await session.ws.send(json.dumps(message, separators=(",", ":")))

    def _lost(self) -> None:
        """The connection is gone: calls it carried can never be answered."""
        self._connected_evt.clear()
        session, self._session = self._session, None
        if session is None:
            return
        for fut in session.requests.values():
            fut.cancel()
        for c in [*session.calls.values()]:
            self._finish(c, "expired", (
                "sent, but the connection to Home Assistant dropped before it answered"
                " (it may have been carried out); not resent"))
        # Calls still in the outbox never went out: they wait for the next connection.
        while not session.outbox.empty():
            _, unsent = session.outbox.get_nowait()
            if unsent is not None and not unsent.done:
                self._pending.append(unsent)

    def _submit(self, c: _Call) -> None:
        loop = asyncio.get_running_loop()
        if self._stopping:
            self._finish(c, "expired", "assistant stopped")
            return
        if time.monotonic() > c.deadline:
            self._finish(c, "expired", "time-to-live passed before sending")
            return
        c.timer = loop.call_at(c.deadline, self._expire, c)
        if self._session is not None:
            self._send(self._session, c)
            return
        self._pending.append(c)
        while len(self._pending) > self.QUEUE_SIZE:
            self._finish(self._pending.popleft(), "expired", "queue full")

    def _send(self, session: _Session, c: _Call) -> None:
        if c.done:
            return
        message = {"id": next(session.ids), **c.service.message()}
        session.outbox.put_nowait((message, c))

    def _expire(self, c: _Call) -> None:
        if c.done:
            return
        if c.sent_at is not None:
            reason = ("sent, but Home Assistant did not answer within its time-to-live"
                      " (it may have been carried out); never resent")
        elif self.last_error is not None and self._session is None:
            reason = f"not sent: {self.last_error}"
        elif self._session is None:
            reason = "Home Assistant unreachable for the whole time-to-live"
        else:
            reason = "not sent within its time-to-live"
        self._finish(c, "expired", reason)

    def _finish(self, c: _Call, status: Literal["published", "expired"],
                reason: str | None = None, acked_at: float | None = None) -> None:
        if c.done:
            return
        c.done = True
        if c.timer is not None:
            c.timer.cancel()
        with contextlib.suppress(ValueError):
            self._pending.remove(c)
        session = self._session
        if session is not None:
            for mid in [m for m, x in session.calls.items() if x is c]:
                del session.calls[mid]
        if not c.future.done():
            c.future.set_result(ServiceResult(status, reason, c.sent_at, acked_at))

    # -- incoming --------------------------------------------------------------------

    def _dispatch(self, session: _Session, raw: str | bytes) -> None:
        try:
            msg = json.loads(raw)
        except ValueError:
            log.warning("home assistant sent something that is not JSON", size=len(raw))
            return
        for one in msg if isinstance(msg, list) else [msg]:
            if isinstance(one, dict):
                self._message(session, one)

    def _message(self, session: _Session, msg: dict[str, Any]) -> None:
        kind, mid = msg.get("type"), msg.get("id")
        if kind == "result" and isinstance(mid, int):
            if mid in session.requests:
                fut = session.requests.pop(mid)
                if not fut.done():
                    if msg.get("success"):
                        fut.set_result(msg.get("result"))
                    else:
                        fut.set_exception(RuntimeError(_error_text(msg)))
                return
            c = session.calls.pop(mid, None)
            if c is None or c.done:
                return  # answered after its deadline: it was reported expired already
            now = time.monotonic()
            if now > c.deadline:
                self._finish(c, "expired", "Home Assistant answered after the time-to-live")
            elif msg.get("success"):
                self._finish(c, "published", acked_at=now)
            else:
                error = _error_text(msg)
                log.warning("home assistant refused a service call", call=str(c.service),
                            error=error)
                self._finish(c, "expired", f"Home Assistant refused {c.service.domain}."
                             f"{c.service.service}: {error}")
        elif kind == "event" and mid == session.subscription:
            data = (msg.get("event") or {}).get("data") or {}
            self._state(data.get("new_state"))

    def _state(self, st: Any) -> None:
        if self.states is None or not isinstance(st, dict):
            return
        entity_id = st.get("entity_id")
        if entity_id not in self._follow:
            return
        attributes = st.get("attributes")
        self.states.set_entity(str(entity_id), str(st.get("state")),
                               attributes if isinstance(attributes, dict) else {})

    # -- the link's own commands -----------------------------------------------------

    def _request(self, session: _Session, type_: str,
                 **fields: Any) -> tuple[int, asyncio.Future[Any]]:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        mid = next(session.ids)
        session.requests[mid] = fut
        session.outbox.put_nowait(({"id": mid, "type": type_, **fields}, None))
        return mid, fut

    def _refresh_states(self) -> None:
        """Subscribe to state changes (once per connection), then read every state."""
        session = self._session
        if session is None or not self._follow:
            return
        asyncio.get_running_loop().create_task(self._read_states(session))

    async def _read_states(self, session: _Session) -> None:
        try:
            if session.subscription is None:
                # Events may follow the result at once: known by id before it comes.
                session.subscription, fut = self._request(
                    session, "subscribe_events", event_type="state_changed")
                await fut
            _, states = self._request(session, "get_states")
            for st in await states or []:
                self._state(st)
            self._states_evt.set()
        except asyncio.CancelledError:
            pass
        except RuntimeError as exc:
            log.warning("home assistant states not read", error=str(exc))


def _error_text(msg: dict[str, Any]) -> str:
    error = msg.get("error") or {}
    if not isinstance(error, dict):
        return str(error)[:200]
    return f"{error.get('code', 'error')}: {str(error.get('message', ''))[:200]}"
