"""How people shorten device names: shared by the training generator, which teaches
the shortenings, and the parser's answer checks, which read them back."""

from __future__ import annotations

NOT_A_NAME_ALONE = frozenset(
    {"left", "right", "top", "bottom", "upper", "lower", "main", "big", "small", "front",
     "back", "side", "one", "two", "three", "new", "old", "north", "south", "east", "west",
     "inner", "outer", "middle", "centre", "center", "primary", "secondary", "spare",
     "maker", "machine", "unit", "device", "plug", "socket", "outlet", "switch", "sensor"})
"""Words that end names yet name nothing alone ("Reading Light Left", "Coffee Maker")."""

NOT_A_NAME_START = frozenset(
    {"room", "of", "the", "and", "in", "on", "at", "by", "to", "for", "with", "my", "a", "over"})
"""A shortened name never starts with these ("in the kitchen" is no device's name)."""


def names_alone(word: str) -> bool:
    """Whether a name's last word can stand for the device by itself: "Living Room
    Sonos" is "the Sonos", "Garden Fountain" "the fountain", "Master Bedroom AC" "the
    AC"; a number, a plural's "s" or a qualifier left alone ("2", "left") is not."""
    return word.isalpha() and len(word) >= 2 and word not in NOT_A_NAME_ALONE


def singular(word: str) -> str:
    """"lights" -> "light", "switches" -> "switch" (group words are plain English plurals)."""
    if word.endswith(("ches", "shes", "xes")):
        return word[:-2]
    return word[:-1] if word.endswith("s") else word
