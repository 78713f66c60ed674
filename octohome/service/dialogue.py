"""The conversation: what an utterance means given what was said just before.

One :class:`Dialogue` per assistant. For each utterance (heard or typed) the
service calls :meth:`Dialogue.interpret`, which returns a :class:`Turn`: the calls
to execute (or none, and why), and what to say back when that is not simply the
outcome in words (a question, "Okay, nothing was done.").

- **Asking back.** A command whose group is ambiguous (the model's "Which lights?
  There are 7: say the room", a type said with no room where the speaker's room
  is unknown) is asked back: "Which lights? Say the room." For ``[reply]
  answer_s`` after the question has been said, the answer needs no wake word:
  a room ("the kitchen", "in the office") runs the command again for that room
  (``parse(text, room=ROOM)``), "both"/"all of them" for every such device in the
  home, "never mind" cancels. Anything else is taken as a new command.
- **Follow-ups** (:mod:`octohome.service.followup`): for ``[reply] follow_up_s``
  after a reply, "turn it off", "and the bedroom too", "a bit more", "undo"
  refer to the last command.
- **Sensitive functions** (``[sensitive]``: unlocking, opening the garage door):
  refused by default with the reason said; with ``by_voice = "confirm"`` done only
  after a "yes" to "Unlock the front door?", with ``"pin"`` only after the PIN
  code is said, each within ``[reply] answer_s``. The PIN is compared in constant
  time, never logged and never put on an event (:meth:`Dialogue.shown_text` hides
  the answer); three wrong codes lock the PIN out for five minutes.

Windows are measured on the clock the caller passes (``now``; the daemon's
``time.monotonic()``, ``octohome converse``'s simulated one) and start when the
reply has been said (:meth:`Dialogue.replied`); :meth:`Dialogue.silence` (nobody
spoke when the listener was opened for an answer) closes them.

Thread-safe: the daemon interprets in a worker thread and reports replies on the
event loop.
"""

from __future__ import annotations

import hmac
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from octohome.core.calls import Call, Parsed, expand
from octohome.service import followup
from octohome.service.followup import Context, find_room, words
from octohome.speak.reply import CANCELLED, calls_phrase, is_which_question, question_text

if TYPE_CHECKING:
    from octohome.core.catalog import Catalog
    from octohome.core.config import ReplyConfig, SensitiveConfig

ParseFn = Callable[..., Parsed]
"""``parser.parse(text, room=None) -> Parsed``."""

Expect = Literal["room", "confirm", "pin"]

PIN_MASK = "****"
PIN_TRIES = 3
PIN_LOCKOUT_S = 300.0


@dataclass(frozen=True)
class Turn:
    """What one utterance comes to."""

    parsed: Parsed
    """The calls to execute (or none, and why)."""

    kind: str
    """``command``, ``follow_up:<kind>``, ``answer`` (a room said back), ``confirmed``
    (a yes or the PIN), ``cancelled``, ``question`` (asked back), ``confirm`` and
    ``pin`` (a sensitive call waiting), ``wrong_pin``."""

    reply: str | None = None
    """What to say instead of the outcome in words (a question, an acknowledgement)."""

    expect: Expect | None = None
    """A question was asked: listen for its answer without the wake word."""

    sensitive: tuple[Call, ...] = field(default_factory=tuple)
    """Sensitive calls this turn refused or holds."""


@dataclass
class _Pending:
    kind: Expect
    text: str = ""
    room: str | None = None
    word: str = ""
    calls: tuple[Call, ...] = ()
    until: float | None = None
    """End of the answer window (None: the question is still being said)."""


_CANCEL = {"never mind", "nevermind", "cancel", "forget it", "forget about it", "nothing",
           "no", "none", "stop", "neither", "nope", "no no", "don't", "do not", "not now",
           "no don't", "cancel that", "leave it"}
_ALL = {"both", "all", "everywhere", "everything", "every", "whole", "each"}
_YES = {"yes", "yeah", "yep", "yup", "sure", "confirm", "confirmed", "correct",
        "affirmative", "absolutely", "do it", "go ahead", "please do", "of course"}
_DIGITS = {"zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3",
           "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"}


def spoken_digits(text: str) -> str:
    """The digits said, in order: "1, 2, 3, 4." and "one two three four" -> "1234"."""
    out: list[str] = []
    for tok in re.findall(r"[a-z]+|\d", text.lower()):
        if tok.isdigit():
            out.append(tok)
        elif tok in _DIGITS:
            out.append(_DIGITS[tok])
    return "".join(out)


def is_yes(text: str) -> bool:
    w = words(text)
    line = " ".join(w)
    return bool(w) and (line in _YES or w[0] in {"yes", "yeah", "yep", "yup", "sure"}
                        or line.startswith(("do it", "go ahead")))


def is_cancel(text: str) -> bool:
    line = " ".join(words(text))
    return line in _CANCEL or line.startswith(("never mind", "nevermind", "forget it"))


class Dialogue:
    """The state between utterances: the last command, an open question."""

    def __init__(self, catalog: Catalog, reply: ReplyConfig,
                 sensitive: SensitiveConfig) -> None:
        self.catalog = catalog
        self.config = reply
        self.sensitive_config = sensitive
        self._lock = threading.RLock()
        self._context: Context | None = None
        self._context_until: float | None = None
        self._pending: _Pending | None = None
        self._pin_failures: list[float] = []

    # -- windows -------------------------------------------------------------------------

    def replied(self, at: float) -> None:
        """The reply has been said (at ``at``): the answer and follow-up windows run
        from now."""
        with self._lock:
            if self._pending is not None and self._pending.until is None:
                self._pending.until = at + self.config.answer_s
            if self._context is not None and self._context_until is None:
                self._context_until = at + self.config.follow_up_s

    def silence(self) -> None:
        """Nobody spoke while the listener was open: the windows close."""
        with self._lock:
            self._pending = None
            self._context = None

    def expecting(self, now: float) -> Expect | None:
        """The question waiting for an answer at ``now``, if any."""
        with self._lock:
            p = self._pending
            if p is None or (p.until is not None and now > p.until):
                return None
            return p.kind

    def window_open(self, now: float) -> bool:
        """May an utterance starting at ``now`` come without the wake word?"""
        with self._lock:
            if self.expecting(now) is not None:
                return True
            return self._context is not None and (
                self._context_until is None or now < self._context_until)

    def context(self, now: float) -> Context | None:
        with self._lock:
            if self._context is None:
                return None
            if self._context_until is not None and now >= self._context_until:
                return None
            return self._context

    def reset(self) -> None:
        with self._lock:
            self._context = None
            self._context_until = None
            self._pending = None

    # -- what may be shown ---------------------------------------------------------------

    def shown_text(self, text: str, now: float) -> str:
        """``text`` as it may appear in logs and events: an answer to the PIN question
        is hidden whole, and the PIN's digits wherever else they are said."""
        if self.expecting(now) == "pin":
            return PIN_MASK
        pin = self._pin()
        if pin is not None and pin in spoken_digits(text):
            return re.sub(r"\d|\b(" + "|".join(_DIGITS) + r")\b", "*", text,
                          flags=re.IGNORECASE)
        return text

    def _pin(self) -> str | None:
        pin = self.sensitive_config.pin
        return pin.get_secret_value() if pin is not None else None

    # -- the utterance -------------------------------------------------------------------

    def interpret(self, text: str, room: str | None, parse: ParseFn, now: float) -> Turn:
        """What ``text`` (said at ``now``, in ``room``) comes to, given what came before.

        ``parse`` is the model (``parser.parse``); it runs here, so call this from a
        worker thread.
        """
        with self._lock:
            pending = self._pending
            if pending is not None and pending.until is not None and now > pending.until:
                pending = None
            self._pending = None
            if pending is not None:
                turn = self._answer(pending, text, parse, now)
                if turn is not None:
                    return turn
            context = self.context(now)
            fu = followup.resolve(text, context, self.catalog, parse)
            if fu is not None:
                return self._guard(fu.parsed, f"follow_up:{fu.kind}", room, now)
            parsed = parse(text, room=room)
            word = is_which_question(parsed.reason) if not parsed.calls else None
            if word is not None:
                self._pending = _Pending("room", text=text, room=room, word=word)
                return Turn(parsed, "question", reply=question_text(parsed.reason or ""),
                            expect="room")
            return self._guard(parsed, "command", room, now)

    def _answer(self, pending: _Pending, text: str, parse: ParseFn, now: float
                ) -> Turn | None:
        """The answer to a question; None: not an answer (taken as a new utterance)."""
        if pending.kind == "pin":
            return self._check_pin(pending, text, now)
        if is_cancel(text):
            return Turn(Parsed(), "cancelled", reply=CANCELLED)
        if pending.kind == "confirm":
            if is_yes(text):
                return self._execute(pending.calls, "confirmed", pending.room)
            return None  # anything but a yes leaves the door as it is
        w = words(text)
        room = find_room(self.catalog, w)
        if room is not None:
            parsed = parse(pending.text, room=room.id)
            return self._guard(parsed, "answer", room.id, now)
        if any(t in _ALL for t in w):
            return self._guard(self._everywhere(pending, parse), "answer", None, now)
        return None

    def _everywhere(self, pending: _Pending, parse: ParseFn) -> Parsed:
        """"both", "all of them": the command for every device of the class in the home."""
        kinds = [k for k in dict.fromkeys(d.kind for d in self.catalog.devices)
                 if pending.word in self.catalog.group_words(k)]
        rooms = list(dict.fromkeys(self.catalog.room_of(d).id for d in self.catalog.devices
                                   if d.kind in kinds))
        for room in rooms:
            parsed = parse(pending.text, room=room)
            if not parsed.calls:
                continue
            out: list[Call] = []
            for c in parsed.calls:
                dev = self.catalog.device_by_id.get(str(c.arguments.get("device")))
                if c.function is None or dev is None:
                    continue
                calls, _ = expand(self.catalog, c.function,
                                  {**c.arguments, "device": f"home:{dev.kind}"}, None)
                out.extend(x for x in calls if x not in out)
            return Parsed(tuple(out))
        return Parsed((), f"There are no {pending.word} in the home")

    # -- sensitive functions -------------------------------------------------------------

    def is_sensitive(self, call: Call) -> bool:
        dev = self.catalog.device_by_id.get(str(call.arguments.get("device")))
        for fn, which in self.sensitive_config.rules:
            if call.function != fn:
                continue
            if which is None or (dev is not None and which in (dev.kind, dev.id,
                                                               dev.device_class)):
                return True
        return False

    def _guard(self, parsed: Parsed, kind: str, room: str | None, now: float) -> Turn:
        sensitive = tuple(c for c in parsed.calls if self.is_sensitive(c))
        if not sensitive:
            return self._execute(parsed.calls, kind, room, reason=parsed.reason)
        what = calls_phrase(self.catalog, [(c.function or "", c.arguments) for c in sensitive])
        mode = self.sensitive_config.by_voice
        if mode == "refuse":
            rest = tuple(c for c in parsed.calls if c not in sensitive)
            reason = f"For safety, I don't {what} by voice"
            if parsed.reason:
                reason = f"{parsed.reason}; {reason}"
            return self._execute(rest, kind, room, reason=reason, sensitive=sensitive)
        if mode == "pin" and self._locked_out(now):
            return Turn(Parsed((), "Too many wrong codes: try again in a few minutes"),
                        kind, sensitive=sensitive)
        self._pending = _Pending(mode, calls=parsed.calls, room=room)
        if mode == "confirm":
            question = what[0].upper() + what[1:] + "?"
            return Turn(Parsed((), f"waiting for a yes: {question}"), "confirm",
                        reply=question, expect="confirm", sensitive=sensitive)
        return Turn(Parsed((), f"waiting for the code to {what}"), "pin",
                    reply=f"Say the code to {what}.", expect="pin", sensitive=sensitive)

    def _locked_out(self, now: float) -> bool:
        self._pin_failures = [t for t in self._pin_failures if now - t < PIN_LOCKOUT_S]
        return len(self._pin_failures) >= PIN_TRIES

    def _check_pin(self, pending: _Pending, text: str, now: float) -> Turn:
        pin = self._pin()
        said = spoken_digits(text)
        if (pin is not None and not self._locked_out(now)
                and hmac.compare_digest(said.encode(), pin.encode())):
            self._pin_failures.clear()
            return self._execute(pending.calls, "confirmed", pending.room)
        if is_cancel(text):
            return Turn(Parsed(), "cancelled", reply=CANCELLED)
        self._pin_failures.append(now)
        return Turn(Parsed((), "That code is not right. Nothing was done"), "wrong_pin",
                    sensitive=tuple(c for c in pending.calls if self.is_sensitive(c)))

    def _execute(self, calls: Sequence[Call], kind: str, room: str | None, *,
                 reason: str | None = None, sensitive: tuple[Call, ...] = ()) -> Turn:
        """A turn that executes ``calls``; they become the context of follow-ups."""
        calls = tuple(calls)
        if calls:
            self._context = Context(calls, kind, room)
            self._context_until = None
        return Turn(Parsed(calls, reason), kind, sensitive=sensitive)
