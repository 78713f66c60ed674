"""Words Whisper wrote that sound like a name of this home, written as that name.

Why (``octohome bench spoken``, bench/spoken-results.md): most spoken commands
the parser gets wrong were misheard, and many misheard words sound like the
home's names: "Put the story light on." (study), "All will light off."
(hallway), "Turn on the disk fan." (desk), "Activate a wave mode." (away).
Whisper's catalog bias prompt does not stop that, and the model, which never saw
"story light", guesses or gives up. Compared as sounds (espeak-ng's phonemes,
:mod:`octohome.core.espeak`), such a span is a short edit away from the name,
while it is far from every other name.

What may change: only spans with a word the home's words and the command words
do not have ("story", "will", "disk"), into a name, room, floor, scene, type word
or value of this catalog, and only when the sounds differ by at most
:data:`MAX_DISTANCE` of their length. A sentence already in the home's words is
left as it is: "dining room" is never made "living room". Digits are never part
of a span. The corrected text is one more hypothesis
(:func:`octohome.hear.heard.understand` parses it with the same bars as
Whisper's own), not a replacement: a wrong correction has to win against the
words Whisper wrote.

Blocking (espeak-ng runs here); thread-safe.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

if TYPE_CHECKING:
    from octohome.core.catalog import Catalog

MAX_DISTANCE = 0.34
"""Phoneme edits allowed, as a fraction of the longer of the two sound strings."""

MAX_SPAN_WORDS = 4
"""A name is matched against spans of up to this many written words."""

_COMMAND_TEXT = """
a about all an and any are at be brighter by can change close closed colour color could
degrees dim dimmer do down every everything for from get go half halfway have here hey
house i in is it it's its just keep let lights lower make me mode more my no not now
of off on open or out percent please put quieter raise set shut so some start stop
switch than that the them then there these this those to too turn up upstairs
downstairs us volume want warmer cooler was we what when where which with would
you your
pause play resume unpause stop lock unlock kill activate brighten louder loud quiet
softer mute run power enable disable bolt secure tell show help
"""
COMMAND_WORDS = frozenset(_COMMAND_TEXT.split())
"""Words of commands that are never corrected (besides the home's own words): verbs,
function words, units. "will" is not among them: "All will light off." is how
Whisper wrote "hallway light off"."""

_STRIP = re.compile(r"[ˈˌːˑ\s.,;:?!-]")
_WORD = re.compile(r"[A-Za-z][A-Za-z']*|\d+(?:[.,]\d+)?%?|\S")


@dataclass(frozen=True)
class Target:
    """A name of this home as written and as sounded."""

    text: str
    sounds: str


def catalog_phrases(catalog: Catalog) -> list[str]:
    """What a span may become: the home's names and aliases (devices, rooms, floors,
    scenes), its group words ("lights", "blinds") and its functions' values
    ("heat", "blue")."""
    out: list[str] = []
    for dev in catalog.devices:
        out += [dev.name, *dev.aliases]
    for room in catalog.rooms:
        out += [room.name, *room.aliases]
    for floor in catalog.floors:
        out += [floor.name, *floor.aliases]
    for scene in catalog.scenes:
        out += [scene.name, *scene.aliases]
    for words in catalog.groups.values():
        out += list(words)
    for fn in catalog.functions.values():
        for arg in fn.args:
            if arg.kind == "enum":
                out += [v.replace("_", " ") for v in arg.values]
    seen: set[str] = set()
    return [p for p in (" ".join(x.lower().split()) for x in out)
            if p and not (p in seen or seen.add(p))]  # type: ignore[func-returns-value]


class SoundAlike:
    """Corrects a transcript toward one catalog's names (see the module docstring)."""

    def __init__(self, phrases: Iterable[str], phonemize: Callable[[str], str] | None = None,
                 *, catalog: Catalog | None = None):
        if phonemize is None:
            from octohome.core.espeak import phonemes

            phonemize = phonemes
        self._phonemize: Callable[[str], str] = phonemize
        self._phrases = list(phrases)
        self.catalog = catalog
        """The catalog the phrases came from (a reload brings another)."""
        self.known = frozenset(w for p in self._phrases for w in re.findall(r"[a-z']+", p)) | (
            COMMAND_WORDS)
        """Words never corrected: the home's own and the command words."""
        self._targets: list[Target] | None = None
        self._target_sounds: list[str] = []
        self.broken: str | None = None
        """Why sounds could not be computed (then ``correct`` always answers None)."""
        self._lock = threading.Lock()
        self._span_sounds = lru_cache(maxsize=4096)(self._sound_of)

    @classmethod
    def for_catalog(cls, catalog: Catalog,
                    phonemize: Callable[[str], str] | None = None) -> SoundAlike:
        return cls(catalog_phrases(catalog), phonemize, catalog=catalog)

    def _sound_of(self, text: str) -> str:
        return _STRIP.sub("", self._phonemize(text))

    @property
    def targets(self) -> list[Target]:
        """The phrases' sounds, computed on first use (a few ms per phrase); none when
        espeak-ng cannot run (``broken`` says why): then nothing is ever corrected."""
        with self._lock:
            if self._targets is None:
                try:
                    self._targets = [Target(p, self._span_sounds(p)) for p in self._phrases]
                    self._target_sounds = [t.sounds for t in self._targets]
                except Exception as exc:  # a missing or broken piper-tts: hearing goes on
                    self.broken = f"{type(exc).__name__}: {exc}"
                    self._targets = []
            return self._targets

    def warm_up(self) -> None:
        """Sound the home's names now, not on the first unsure command."""
        _ = self.targets

    def correct(self, text: str) -> str | None:
        """``text`` with sound-alike spans written as the home's names, or None when
        nothing was changed."""
        if not self.targets:
            return None
        tokens = _WORD.findall(text)
        words = [t.lower() for t in tokens]
        alpha = [bool(re.fullmatch(r"[a-z']+", w)) for w in words]
        found: list[tuple[float, int, int, str]] = []
        for i in range(len(tokens)):
            for j in range(i + 1, min(len(tokens), i + MAX_SPAN_WORDS) + 1):
                if not all(alpha[i:j]):
                    break
                span = words[i:j]
                if all(w in self.known for w in span):
                    continue
                sounds = self._span_sounds(" ".join(span))
                if not sounds:
                    continue
                best = process.extractOne(sounds, self._target_sounds,
                                          scorer=Levenshtein.normalized_distance,
                                          score_cutoff=MAX_DISTANCE)  # the closest, first on ties
                if best is None:
                    continue
                name = self.targets[best[2]].text
                if not _only_drops(span, name.split()):
                    found.append((best[1], i, j, name))
        if not found:
            return None
        taken: list[tuple[int, int, str]] = []
        for _d, i, j, name in sorted(found, key=lambda f: (f[0], f[1] - f[2])):
            if all(j <= a or i >= b for a, b, _n in taken):
                taken.append((i, j, name))
        out = list(tokens)
        for i, j, name in sorted(taken, reverse=True):
            out[i:j] = [name]
        return _join(out)


def _only_drops(span: list[str], name: list[str]) -> bool:
    """Is ``name`` the span's own words with some left out ("learn the kitchen radio"
    -> "kitchen radio")? Dropping words Whisper wrote corrects nothing: the words
    left out were said ("lower", "louder")."""
    rest = iter(span)
    return all(word in rest for word in name)


def _join(tokens: list[str]) -> str:
    text = " ".join(tokens)
    return re.sub(r"\s+([.,;:?!%])", r"\1", text)
