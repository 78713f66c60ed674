"""``octohome converse``: a conversation from text lines or WAV files, no microphone.

Each item is one utterance: a line of text, or a WAV file (heard by Whisper);
``+N`` between items lets N seconds pass (a pause longer than ``[reply]
follow_up_s`` closes the follow-up window, one longer than ``answer_s`` leaves a
question unanswered). The conversation runs on a simulated clock: a WAV lasts
its length, a reply its sound's, then ``--gap`` seconds pass before the next
item, so windows behave as they would in the room, without the waiting.

For each utterance it prints what was heard, the calls, and the reply; with
``--reply-dir DIR`` every reply is written there as a WAV (``01-reply.wav``, ...).
Calls are only shown (a dry run: each counts as published) unless ``--mqtt``
sends them to the broker in ``[mqtt]``, as ``octohome say`` does.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from octohome.act.link import MqttLink, Outcome
    from octohome.core.catalog import Catalog
    from octohome.core.config import Settings
    from octohome.service.dialogue import Dialogue, Turn
    from octohome.service.handle import TextParser
    from octohome.speak.speaker import Speaker

ParserFactory = Callable[["Settings", "Catalog"], "TextParser"]

_PAUSE = re.compile(r"^\+(\d+(?:\.\d+)?)s?$")
WORD_S = 0.35
"""Seconds a typed line is taken to last per word (the clock runs on while it is said)."""


def add_cli(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Run a conversation without a microphone: each ITEM is a line of text or a WAV\n"
        "file (heard by Whisper), '+N' lets N seconds pass. Prints what was heard, the\n"
        "calls and the reply, in order. Follow-ups ('turn it off', 'and the bedroom\n"
        "too', 'a bit more', 'undo'), questions asked back ('Which lights? Say the\n"
        "room.') and their answers, and sensitive functions behave as with the\n"
        "microphone, on a simulated clock (no waiting).\n\n"
        "  octohome converse 'turn on the light' 'the kitchen' 'turn it off' +10 'undo'\n"
        "  octohome converse cmd.wav +1.5 answer.wav --reply-dir replies/\n\n"
        "Calls are shown, not sent (each counts as published), unless --mqtt."
    )
    parser.add_argument("items", nargs="*", metavar="ITEM",
                        help="a line of text, a .wav file, or +N (N seconds pass)")
    parser.add_argument("--file", "-f", type=Path, default=None,
                        help="read the items from a file, one per line ('-': stdin);"
                             " lines starting with '#' are skipped")
    parser.add_argument("--room", default=None,
                        help="the room the speaker is in (default: [site] room)")
    parser.add_argument("--gap", type=float, default=1.0,
                        help="seconds between a reply's end and the next item (default 1)")
    parser.add_argument("--reply-dir", type=Path, default=None,
                        help="write each reply's sound here as NN-reply.wav")
    parser.add_argument("--reply", choices=["voice", "chime", "none"], default=None,
                        help="how replies sound (default: [reply] mode)")
    parser.add_argument("--mqtt", action="store_true",
                        help="send the calls to the broker in [mqtt] (default: show only)")
    parser.add_argument("--json", action="store_true",
                        help="one JSON object per utterance instead of text")


@dataclass
class Step:
    """One utterance of a conversation, as ``converse`` reports it."""

    t: float
    """Simulated seconds since the conversation began, when the utterance starts."""

    heard: str
    source: str
    turn: Turn
    outcome: Outcome
    reply_wav: Path | None = None
    reply_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        ev = self.outcome.event()
        return {"t": round(self.t, 2), "heard": self.heard, "source": self.source,
                "turn": self.turn.kind, "calls": ev["calls"], "status": ev["status"],
                **({"reason": ev["reason"]} if "reason" in ev else {}),
                "reply": self.outcome.reply,
                "reply_wav": str(self.reply_wav) if self.reply_wav else None,
                **({"expect": self.turn.expect} if self.turn.expect else {})}

    def lines(self) -> list[str]:
        out = [f"[{self.t:6.1f} s] heard ({self.source}): {self.heard}"]
        if self.turn.kind != "command":
            out.append(f"          turn: {self.turn.kind}")
        for c in self.outcome.calls:
            args = ", ".join(f"{k}={v}" for k, v in c.arguments.items())
            out.append(f"          call: {c.function}({args}) [{c.status}]")
        if not self.outcome.calls:
            out.append(f"          no call ({self.outcome.status})")
        reply = self.outcome.reply or ""
        where = f"  -> {self.reply_wav}" if self.reply_wav else ""
        out.append(f"          reply: {reply}{where}")
        return out


def items_of(args: argparse.Namespace) -> list[str]:
    items = list(args.items)
    if args.file is not None:
        text = sys.stdin.read() if str(args.file) == "-" else args.file.read_text()
        items += [line.strip() for line in text.splitlines()
                  if line.strip() and not line.strip().startswith("#")]
    return items


class Conversation:
    """The dialogue, the model, a speaker and (with ``link``) the broker, on a
    simulated clock: what ``octohome converse`` runs, and what its tests drive."""

    def __init__(self, settings: Settings, catalog: Catalog, parser: TextParser,
                 speaker: Speaker | None, *, room: str | None = None, gap: float = 1.0,
                 link: MqttLink | None = None, reply_dir: Path | None = None) -> None:
        from octohome.service.dialogue import Dialogue

        self.settings = settings
        self.catalog = catalog
        self.parser = parser
        self.speaker = speaker
        self.room = room if room is not None else settings.site.room
        self.gap = gap
        self.link = link
        self.reply_dir = reply_dir
        self.dialogue: Dialogue = Dialogue(catalog, settings.reply, settings.sensitive)
        self.t = 0.0
        self.n = 0
        self._transcriber: Any = None

    def run(self, items: Iterable[str]) -> Iterator[Step]:
        for item in items:
            m = _PAUSE.match(item.strip())
            if m:
                self.t += float(m.group(1))
                continue
            yield self.utterance(item)

    def _hear(self, path: Path) -> tuple[str, float]:
        from octohome.hear.wav import read_wav

        audio = read_wav(path)
        if self._transcriber is None:
            from octohome.hear.stt import Transcriber

            self._transcriber = Transcriber(self.settings.stt, self.catalog)
        return self._transcriber.transcribe(audio).text, len(audio) / 16000

    def utterance(self, item: str) -> Step:
        from octohome.service.handle import replier_for
        from octohome.speak.reply import Reply, tone_of

        item = item.strip()
        start = self.t
        if item.lower().endswith(".wav") and Path(item).is_file():
            text, seconds = self._hear(Path(item))
            source = Path(item).name
        else:
            text, seconds, source = item, WORD_S * len(item.split()), "text"
        self.t += seconds
        dialogue = self.dialogue
        shown = dialogue.shown_text(text, start)
        turn = dialogue.interpret(text, self.room, self.parser.parse, start)
        replier = replier_for(turn, self.catalog)
        if self.link is not None:
            outcome = self.link.execute_parsed(
                turn.parsed, text=shown, replier=replier).result(
                    self.settings.mqtt.command_ttl + 5)
        else:
            outcome = _dry_outcome(turn, shown, replier)
        self.n += 1
        step = Step(start, shown, source, turn, outcome)
        reply = outcome.reply
        if reply and self.speaker is not None:
            tone = "question" if turn.expect is not None else tone_of(outcome.status)
            sound = self.speaker.sound(Reply(reply, tone))
            if sound is not None:
                if self.reply_dir is not None:
                    from octohome.speak.output import WavDirSink

                    sink = self.speaker.sink
                    if isinstance(sink, WavDirSink):
                        sink.next_name = f"{self.n:02d}-reply.wav"
                    self.speaker.play(sound)
                    step.reply_wav = self.reply_dir / f"{self.n:02d}-reply.wav"
                step.reply_s = sound.seconds
        self.t += step.reply_s + (self.settings.reply.tail_s if step.reply_s else 0.0)
        dialogue.replied(self.t)
        self.t += self.gap
        return step


def _dry_outcome(turn: Turn, text: str, replier: Callable[[Outcome], str | None]) -> Outcome:
    """The outcome as if every call was published (no broker)."""
    from dataclasses import replace

    from octohome.act.link import CallOutcome, Outcome, overall

    calls = tuple(CallOutcome("published", c.function, dict(c.arguments))
                  for c in turn.parsed.calls if c.function is not None)
    outcome = Outcome(overall(calls, turn.parsed.reason), text=text,
                      reason=turn.parsed.reason, calls=calls)
    return replace(outcome, reply=replier(outcome))


def run_cli(args: argparse.Namespace, parser_factory: ParserFactory | None = None) -> int:
    from octohome.core.catalog import Catalog, CatalogError
    from octohome.core.config import ConfigError, load_settings

    try:
        settings = load_settings(args.config)
        catalog = Catalog.load(settings.catalog)
    except (ConfigError, CatalogError) as exc:
        print(f"octohome converse: {exc}", file=sys.stderr)
        return 2
    items = items_of(args)
    if not items:
        print("octohome converse: nothing to say (give ITEMs or --file)", file=sys.stderr)
        return 2
    for item in items:
        if item.lower().endswith(".wav") and not Path(item).is_file():
            print(f"octohome converse: {item}: no such WAV file", file=sys.stderr)
            return 2
    room = args.room
    if room is not None:
        found = catalog.find_room(room)
        if found is None:
            names = ", ".join(r.name for r in catalog.rooms)
            print(f"octohome converse: --room {room!r} is not a room of the home ({names})",
                  file=sys.stderr)
            return 2
        room = found.id
    from octohome.cli.say import _configure_logging

    _configure_logging(settings)
    if args.reply is not None:
        settings = settings.model_copy(
            update={"reply": settings.reply.model_copy(update={"mode": args.reply})})
    from octohome.speak.output import NullSink, WavDirSink
    from octohome.speak.speaker import Speaker
    from octohome.speak.voice import SpeakError

    sink = WavDirSink(args.reply_dir) if args.reply_dir is not None else NullSink()
    try:
        speaker = (Speaker.from_config(settings.reply, sink=sink)
                   if settings.reply.mode != "none" else None)
    except SpeakError as exc:
        print(f"octohome converse: {exc}", file=sys.stderr)
        return 2
    if parser_factory is None:
        from octohome.understand.parser import load_parser

        parser: TextParser = load_parser(settings, catalog)
    else:
        parser = parser_factory(settings, catalog)
    link = None
    if args.mqtt:
        from octohome.act.link import MqttLink

        base_id = settings.mqtt.client_id or f"octohome-{settings.site.id}"
        link = MqttLink(settings.mqtt, settings.site.id, catalog,
                        client_id=f"{base_id}-converse-{os.getpid()}", announce=False)
        link.start()
    try:
        conv = Conversation(settings, catalog, parser, speaker, room=room, gap=args.gap,
                            link=link, reply_dir=args.reply_dir)
        for step in conv.run(items):
            if args.json:
                print(json.dumps(step.to_json(), ensure_ascii=False), flush=True)
            else:
                print("\n".join(step.lines()), flush=True)
    finally:
        if link is not None:
            link.stop()
        if speaker is not None:
            speaker.close()
    return 0
