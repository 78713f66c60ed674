"""Training examples in the words Whisper writes: generated commands spoken by espeak-ng
and transcribed by the daemon's own recognizer (issue 13: "train on what the
recognizer writes").

    .venv/bin/python bench/heard_data.py --count 900 --out runs/heard.jsonl
    .venv/bin/octohome train --from models/demo-home.npz --extra-data runs/heard.jsonl

Each example is a generated command (``octohome.training.dataset``: the same generator
``octohome train`` uses, never a benchmark sentence) rendered by one of the spoken
benchmark's espeak-ng tuning voice variants at a random speed and pitch, with white
noise at 5-30 dB on half of them, cut by Silero VAD and transcribed by Whisper (the
configured model, catalog bias, beam 5). The transcript keeps the command's calls
when it still says the same thing in other words; it is dropped when:

- Whisper wrote the command as it was (nothing new to learn);
- a word of the device's name was lost and either a word naming another device or
  room was heard ("the bedroom fan" heard as "the living room fan") or what is left
  of the name fits other devices too ("the desk fan" heard as "this fan");
- fewer than ``--similar`` of its words match (a guess taught on garbage is a wrong
  call waiting to happen: "Turn the space key giraffe.");
- a word that decides the action changed ("on"/"off", "open"/"close", "up"/"down",
  "play"/"pause", ...) or a number changed: "I'm locked the main door." for
  "unlock the main door" must never be taught as an unlock;
- the command is for a door (a lock, a garage door): never taught from a
  mishearing at all.

The held-out espeak-ng voice (en-029) and Piper are never used: they stay judges.
"""

from __future__ import annotations

import argparse
import difflib
import json
import random
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from octohome.core.catalog import Catalog

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

POLARITY = frozenset([
    "on", "off", "open", "close", "closed", "shut", "up", "down", "raise", "lower",
    "play", "pause", "stop", "resume", "start", "lock", "unlock", "locked", "unlocked",
    "brighter", "dimmer", "dim", "warmer", "cooler", "louder", "quieter", "increase",
    "decrease", "more", "less", "not", "don't",
])
"""Words that decide what the command does: a transcript that changed one is dropped."""

DOOR_WORDS = frozenset(["door", "doors", "garage", "gate", "lock", "locks", "unlock"])
"""A command about a door is never taught from a mishearing (groups included)."""


GLUE = frozenset(["the", "my", "a", "an", "in", "on", "of", "over", "by", "and", "to"])
"""Words inside names ("radio in the kitchen") that name nothing by themselves."""


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower().replace("%", " percent"))


def keep(said: str, heard: str, similar: float,
         calls: tuple[tuple[str, dict[str, Any]], ...], catalog: Catalog) -> str | None:
    """Why ``heard`` may not stand for ``said`` with these ``calls`` (None: it may)."""
    from text_to_num import alpha2digit

    from octohome.understand.numbers import spoken_numbers

    a, b = words(said), words(heard)
    if not b:
        return "nothing heard"
    if words(alpha2digit(said, "en")) == words(alpha2digit(heard, "en")):
        return "heard as said"
    if any(w in DOOR_WORDS for w in a):
        return "a door"
    if [w for w in a if w in POLARITY] != [w for w in b if w in POLARITY]:
        return "an action word changed"
    if spoken_numbers(said) != spoken_numbers(heard):
        return "a number changed"
    heard_words = set(b)
    for function, arguments in calls:
        try:
            catalog.validate_call(function, dict(arguments), groups=True)
        except ValueError:
            return "not a valid call (a refusal example)"
        for name, value in arguments.items():
            # a colour, mode or speed said is a word the transcript must still have
            if name != "device" and isinstance(value, str) and not set(
                    words(value.replace("_", " "))) <= heard_words:
                return "a value word was lost"
        device = str(arguments.get("device", ""))
        if device and ":" not in device:
            names = _name_words(catalog, device)
            if not names & heard_words:
                return "every word naming the device was lost"
            if _stems(set(a) & names) - _stems(heard_words):
                # "the bedroom fan" heard as "the living room fan", "the desk fan" as
                # "this fan": taught, either is a wrong device waiting to happen
                if _stems(heard_words - set(a)) & _stems(_home_words(catalog)):
                    return "a word naming another device or room was heard"
                if len(_devices_named(catalog, names & heard_words)) > 1:
                    return "what is left of the name fits other devices too"
    if difflib.SequenceMatcher(None, a, b).ratio() < similar:
        return "too far from what was said"
    return None


def _stems(ws: set[str]) -> set[str]:
    """Words without a plural s: "lights" heard as "light" lost nothing."""
    return {w.removesuffix("s") for w in ws}


def _home_words(catalog: Catalog) -> set[str]:
    """Every word of every device's names and rooms, and of the rooms and floors."""
    out = {w for d in catalog.devices for w in _name_words(catalog, d.id)}
    for place in (*catalog.rooms, *catalog.floors):
        out |= {w for n in (place.name, *place.aliases) for w in words(n)}
    return out - GLUE


def _devices_named(catalog: Catalog, heard: set[str]) -> list[str]:
    """The devices whose name words hold every one of ``heard``."""
    return [d.id for d in catalog.devices if heard <= _name_words(catalog, d.id)]


def _name_words(catalog: Catalog, device_id: str) -> set[str]:
    """The words of a device's names, aliases and room: one must be heard."""
    dev = catalog.device_by_id.get(device_id)
    if dev is None:
        return set()
    names = [dev.name, *dev.aliases, dev.id.replace("_", " ")]
    if dev.room:
        names.append(dev.room.replace("_", " "))
    return {w for n in names for w in words(n)} - GLUE


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=900, help="commands rendered")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--catalog", type=Path, default=ROOT / "devices")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--refilter", type=Path,
                    help="apply the rules again to a file this script wrote, into --out")
    ap.add_argument("--similar", type=float, default=0.7,
                    help="least share of words a transcript keeps (difflib ratio)")
    args = ap.parse_args(argv)

    from tqdm import tqdm

    from octohome.bench.spoken import cut, speak_tuning
    from octohome.core.catalog import Catalog
    from octohome.core.config import load_settings
    from octohome.hear.stt import Transcriber
    from octohome.hear.vad import VoiceActivity
    from octohome.training.dataset import Example, build_dataset

    catalog = Catalog.load(args.catalog)
    if args.refilter:
        rows = [json.loads(line) for line in args.refilter.open() if line.strip()]
        good = [r for r in rows if keep(r["said"], r["text"], args.similar, tuple(
            (c["function"], c["arguments"]) for c in r["calls"]), catalog) is None]
        args.out.write_text("".join(json.dumps(r) + "\n" for r in good))
        print(f"{len(good)} of {len(rows)} kept", file=sys.stderr)
        return 0
    settings = load_settings()
    rng = random.Random(args.seed)
    doors = {d.id for d in catalog.devices
             if d.type == "lock" or (d.type == "cover" and d.kind in (
                 "garage", "garage_door", "door", "gate"))}
    pool = [e for e in build_dataset(catalog, seed=args.seed)
            if e.calls and not e.later
            and not any(a.get("device") in doors or f.startswith("lock.") for f, a in e.calls)]
    chosen = rng.sample(pool, min(args.count, len(pool)))
    transcriber = Transcriber(settings.stt, catalog, n_best=1)
    vad = VoiceActivity()
    kept: list[Example] = []
    why: dict[str, int] = {}
    t0 = time.monotonic()
    with args.out.open("w") as out:
        for i, ex in enumerate(tqdm(chosen, desc="speaking and hearing", unit="cmd")):
            said = " ".join(ex.text.lower().replace(",", " ").split())
            audio = speak_tuning(said, rng, noise_seed=i)
            seg = cut(audio, vad)
            heard = transcriber.transcribe(seg).text.strip() if len(seg) else ""
            reason = keep(said, heard, args.similar, ex.calls, catalog)
            why[reason or "kept"] = why.get(reason or "kept", 0) + 1
            if reason is None:
                made = Example(heard, ex.calls, False, "heard")
                kept.append(made)
                out.write(json.dumps({**made.to_json(), "said": said, "from": ex.category})
                          + "\n")
    print(f"{len(kept)} of {len(chosen)} kept in {time.monotonic() - t0:.0f} s: "
          + ", ".join(f"{k} {v}" for k, v in sorted(why.items(), key=lambda kv: -kv[1])),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
