"""Sound-alike corrections toward the home's names (hear.soundalike), with the real
espeak-ng that Piper bundles, and how ``understand`` tries them."""

from __future__ import annotations

import pytest

from octohome.core.calls import Call, Parsed
from octohome.core.catalog import Catalog
from octohome.hear.heard import understand
from octohome.hear.soundalike import SoundAlike, catalog_phrases
from octohome.hear.stt import Hypothesis, Transcript
from tests.hear.test_heard import FakeParser, transcript


@pytest.fixture(scope="module")
def demo() -> SoundAlike:
    return SoundAlike.for_catalog(Catalog.load())


@pytest.mark.parametrize(
    ("heard", "fixed"),
    [
        # how Whisper wrote espeak-ng speech in the spoken benchmark
        ("Put the story light on.", "Put the study light on."),
        ("Lights in the sturdy off and the desk fan off", "Lights in the study off and the desk fan off"),
        ("Turn on the disk fan.", "Turn on the desk fan."),
        ("Activate a wave mode.", "Activate away mode."),
        ("Set the sunny light to orange.", "Set the study light to orange."),
        ("Lind the lights on the brown floor to 30 percent.",
         "Lind the lights on the ground floor to 30 percent."),
    ],
)
def test_misheard_names_are_written_as_the_home_s(demo: SoundAlike, heard: str, fixed: str) -> None:
    assert demo.correct(heard) == fixed


@pytest.mark.parametrize(
    "text",
    [
        "Turn on the living room light.",  # the home's words: never bent into other names
        "Set the office light to 45 percent.",  # digits are never part of a span
        "Learn the kitchen radio by 15.",  # "kitchen radio" would only drop words
        "What is the weather like tomorrow?",  # far from every name
    ],
)
def test_words_that_are_not_close_to_a_name_stay(demo: SoundAlike, text: str) -> None:
    assert demo.correct(text) is None


def test_phrases_are_the_home_s_names_values_and_group_words() -> None:
    phrases = catalog_phrases(Catalog.load())
    assert {"study", "desk fan", "movie night", "lights", "blue", "heat"} <= set(phrases)
    assert len(phrases) == len(set(phrases))


STUDY_ON = Call("light.turn_on", {"device": "office_light"})


def unsure(*texts: str) -> Transcript:
    """A transcript Whisper was not sure of (mean token log-probability -0.6)."""
    alts = tuple(Hypothesis(t, -0.6 - 0.1 * i) for i, t in enumerate(texts))
    return Transcript(texts[0], 2.0, 0.2, alternatives=alts)


def test_understand_tries_the_correction_when_the_first_parse_is_unsure() -> None:
    p = FakeParser({"put the study light on": Parsed((STUDY_ON,), margin=8.0)})
    fix = {"Put the story light on.": "Put the study light on."}.get
    heard = understand(unsure("Put the story light on.", "Put this story light on."), p,
                       soundalike=fix)
    assert heard.parsed.calls == (STUDY_ON,) and heard.corrected and heard.rank == 0
    assert p.runs == ["Put the story light on.", "Put the study light on."]


def test_a_sure_first_parse_is_not_corrected() -> None:
    p = FakeParser({"put the story light on": Parsed((STUDY_ON,), margin=8.0)})
    called: list[str] = []

    def fix(text: str) -> str | None:
        called.append(text)
        return None

    heard = understand(unsure("Put the story light on."), p, soundalike=fix)
    assert heard.parsed.calls == (STUDY_ON,) and not heard.corrected and called == []


def test_words_whisper_was_sure_of_are_not_corrected() -> None:
    # "bathroom" said in a home without one: no call, not the bedroom light
    bedroom = Call("light.turn_on", {"device": "bedroom_light"})
    p = FakeParser({"turn on the bedroom light": Parsed((bedroom,), margin=9.0)})
    heard = understand(transcript("Turn on the bathroom light."), p,
                       soundalike=lambda _t: "Turn on the bedroom light.")
    assert heard.parsed.calls == () and p.runs == ["Turn on the bathroom light."]


def test_a_correction_must_clear_the_same_bar_as_a_hypothesis() -> None:
    # the held parse made no call: a correction that is not sure does not stand in
    p = FakeParser({"put the study light on": Parsed((STUDY_ON,), margin=1.0)})
    heard = understand(unsure("Put the story light on."), p,
                       soundalike=lambda _t: "Put the study light on.")
    assert heard.parsed.calls == () and not heard.corrected


def test_without_espeak_nothing_is_corrected() -> None:
    def broken(_text: str) -> str:
        raise RuntimeError("no espeak-ng here")

    fixer = SoundAlike(["study light"], broken)
    assert fixer.correct("Put the story light on.") is None
    assert fixer.broken == "RuntimeError: no espeak-ng here"
