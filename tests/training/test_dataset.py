"""Generated training data: deterministic, varied, valid, with enough non-commands."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from octohome.core.calls import FunctionTable, args_text, candidate_args
from octohome.core.catalog import Catalog
from octohome.training.dataset import Generator, build_dataset, say_number, spoken_int


@pytest.fixture(scope="module")
def demo() -> Catalog:
    return Catalog.load()


@pytest.fixture(scope="module")
def data(demo: Catalog) -> list:
    return build_dataset(demo, seed=0)


def test_deterministic(demo: Catalog, data: list) -> None:
    again = build_dataset(demo, seed=0)
    assert [e.to_json() for e in again] == [e.to_json() for e in data]
    assert [e.text for e in build_dataset(demo, seed=1)] != [e.text for e in data]


def test_at_least_200_positives_per_function_and_15_percent_negatives(
    demo: Catalog, data: list
) -> None:
    counts = Counter(f for e in data for f, _ in e.calls)
    for fn in demo.function_names:
        assert counts[fn] >= 200, fn
    assert sum(1 for e in data if not e.calls) / len(data) >= 0.15


def test_every_rule_of_v2_has_examples(data: list) -> None:
    """Groups, the speaker's room, several commands, refusals: each its own category."""
    counts = Counter(e.category for e in data)
    for category, at_least in [("single", 4000), ("group", 500), ("here", 300),
                               ("several", 500), ("out_of_range", 100), ("zero", 30),
                               ("later", 150), ("negated", 80), ("none", 1000)]:
        assert counts[category] >= at_least, (category, counts)
    targets = {a["device"].split(":")[0] for e in data for _, a in e.calls
               if ":" in str(a.get("device", ""))}
    assert {"home", "here", "upstairs", "downstairs", "living_room", "office"} <= targets
    assert any(len(e.calls) == 3 for e in data)
    assert all(e.later for e in data if e.category == "later")


def test_every_call_is_valid_except_the_deliberately_out_of_range(
    demo: Catalog, data: list
) -> None:
    """Out-of-range values are written as said, so the model learns to copy them and the
    runtime can refuse them; everything else is a valid call (groups unexpanded)."""
    for ex in data:
        for function, arguments in ex.calls:
            if ex.category == "out_of_range":
                with pytest.raises(ValueError, match="outside"):
                    demo.validate_call(function, arguments, groups=True)
            else:
                assert demo.validate_call(function, arguments, groups=True) == arguments


def test_texts_are_unique_and_every_device_is_named(demo: Catalog, data: list) -> None:
    texts = [e.text.lower() for e in data]
    assert len(set(texts)) == len(texts)
    devices = Counter(a.get("device") for e in data for _, a in e.calls)
    for dev in demo.devices:
        assert devices[dev.id] >= 20, dev.id


def test_phrasing_variety(data: list) -> None:
    texts = " ".join(e.text.lower() for e in data)
    for needle in ["percent", "%", "twenty", "please", "and a half", "halfway", "turn of "]:
        assert needle in texts, needle


def test_the_plain_set_form_outnumbers_its_refusals(demo: Catalog, data: list) -> None:
    """"set the bedroom blinds to 40 percent": drawn as one template of fifteen, the plain
    form had fewer positives than refusals in the same words ("set the blinds to 21
    degrees", a room the home lacks) and the model answered it with no call."""
    import re

    plain = re.compile(r"\bset (the |my |a )?(bedroom|living room) (blinds|shades|curtains)"
                       r" to \S+( percent|%)", re.I)
    hits = [e for e in data if plain.search(e.text)]
    positives = sum(1 for e in hits if any(f == "cover.set_position" for f, _ in e.calls))
    assert positives >= 15 and positives > 3 * (len(hits) - positives), hits


@pytest.mark.parametrize(
    ("n", "words"),
    [(0, "zero"), (7, "seven"), (19, "nineteen"), (40, "forty"), (100, "one hundred")],
)
def test_spoken_int(n: int, words: str) -> None:
    assert spoken_int(n) == words


def test_say_number_half() -> None:
    import random

    rng = random.Random(3)
    seen = {say_number(19.5, rng) for _ in range(50)}
    assert "19.5" in seen and "nineteen and a half" in seen


@pytest.mark.parametrize(
    ("function", "arguments", "text"),
    [
        (
            "light.set_brightness",
            {"device": "living_room_lamp", "brightness": 30},
            "('living_room_lamp', 30)",
        ),
        (
            "climate.set_temperature",
            {"device": "thermostat", "temperature": 19.5},
            "('thermostat', 19.5)",
        ),
        ("scene.activate", {"scene": "away"}, "('away')"),
        ("lock.lock", {"device": "front_door"}, "('front_door')"),
    ],
)
def test_args_text(demo: Catalog, function: str, arguments: dict, text: str) -> None:
    assert args_text(demo, function, arguments) == text


def test_candidates_cover_ranges(demo: Catalog) -> None:
    temps = candidate_args(demo, "climate.set_temperature")
    assert len(temps) == 51 * (1 + 11)
    assert ("('thermostat', 5)", {"device": "thermostat", "temperature": 5}) in temps
    assert len(candidate_args(demo, "light.set_brightness", groups=False)) == 7 * 100
    # 7 lights plus one light group per scope: home, here, 2 floors, 7 rooms
    assert len(candidate_args(demo, "light.set_brightness")) == (7 + 11) * 100


def test_function_table_styles(demo: Catalog) -> None:
    own = FunctionTable.for_catalog(demo)
    octo = FunctionTable.for_catalog(demo, "octopus")
    assert own.token_ids == octo.token_ids == tuple(range(6, 29))
    assert own.later_id == 31 and own.max_calls == 4
    assert octo.later_id == -1 and octo.max_calls == 4
    assert octo.tokens[0] == "<nexa_0>" and octo.prompt_prefix.startswith("Below is the query")
    assert FunctionTable.from_json(own.to_json()) == own


@pytest.mark.parametrize(
    ("n", "words"),
    [(0, "zero"), (7, "seven"), (40, "forty"), (21, "twenty one"), (100, "one hundred"),
     (150, "one hundred and fifty"), (254, "two hundred and fifty four"),
     (1000, "one thousand")],
)
def test_spoken_int_any_size(n: int, words: str) -> None:
    """num2words says every whole number (the hand-written table stopped at 100)."""
    import random

    class NoHyphen(random.Random):
        def random(self) -> float:
            return 0.5  # the space variant, and "one hundred" rather than "a hundred"

    assert spoken_int(n, NoHyphen()) == words
    assert spoken_int(n).replace("-", " ") == words


LARGE_HOME = Path(__file__).parents[2] / "bench" / "homes" / "large"


@pytest.fixture(scope="module")
def large_home() -> Generator:
    """The 62-device home of bench/homes, as an import from Home Assistant writes it."""
    return Generator(Catalog.load(LARGE_HOME))


def test_an_imported_home_gives_valid_data() -> None:
    """Names that start with their room ("Office Ceiling" in the Office) and rooms with
    aliases take the derivations the demo home never reaches."""
    home = Catalog.load(LARGE_HOME)
    data = build_dataset(home, seed=0)
    for ex in data:
        for function, arguments in ex.calls:
            if ex.category != "out_of_range":
                assert home.validate_call(function, arguments, groups=True) == arguments
    assert any("shelf lights in the" in ex.text.lower() for ex in data)


@pytest.mark.parametrize(
    ("device", "short"),
    [
        ("garden_patio_lights", "patio lights"),
        ("living_room_sonos", "sonos"),
        ("garden_fountain", "fountain"),
        ("master_bedroom_ac", "ac"),
        ("kitchen_island_pendants", "pendants"),
        ("living_room_tv", "living room telly"),  # a word's synonym (phrasings.toml)
        ("living_room_tv", "television"),
        ("master_bedroom_ac", "master bedroom air con"),
    ],
)
def test_a_shortening_one_device_has_names_it(
        large_home: Generator, device: str, short: str) -> None:
    assert short in large_home.phrases[device]


@pytest.mark.parametrize("short", ["bedside lamp", "ceiling"])
def test_a_shortening_two_devices_share_names_neither(large_home: Generator, short: str) -> None:
    assert short in large_home.ambiguous
    assert not any(short in names for names in large_home.phrases.values())


@pytest.mark.parametrize("word", ["left", "right", "lamp", "lights", "door"])
def test_a_qualifier_or_type_word_alone_is_no_name(large_home: Generator, word: str) -> None:
    assert word not in large_home.ambiguous
    assert not any(word in names for names in large_home.phrases.values())


def test_extra_examples_are_read_and_checked(demo: Catalog, tmp_path: Path) -> None:
    from octohome.training.dataset import read_examples

    good = tmp_path / "heard.jsonl"
    good.write_text(
        '{"text": "Turn the living room lamp of.", "calls": [{"function": "light.turn_off",'
        ' "arguments": {"device": "living_room_lamp"}}], "category": "heard"}\n\n'
        '{"text": "What a lovely day.", "calls": []}\n')
    examples = read_examples(good, demo)
    assert [(e.text, e.function, e.category) for e in examples] == [
        ("Turn the living room lamp of.", "light.turn_off", "heard"),
        ("What a lovely day.", None, "extra")]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(good.read_text() + '{"text": "dim it", "calls": [{"function":'
                   ' "light.set_brightness", "arguments": {"device": "living_room_lamp",'
                   ' "brightness": 250}}]}\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:4: not a training example: .*brightness"):
        read_examples(bad, demo)


def test_a_phrase_without_a_class_word_has_one_label() -> None:
    """"louder" or "pause the music in the kitchen" name no class of player: labelled
    with a class picked at random, the same words taught a coin toss (and "here:speaker"
    is no call in a room whose only player is a receiver)."""
    home = Catalog.load(LARGE_HOME)
    data = build_dataset(home, seed=0)
    bare = [ex for ex in data if ex.category == "single"
            and ex.function in ("media.step_volume", "media.play", "media.pause")
            and re.fullmatch(r"(?i)\W*(louder|quieter|pause the music( in the \w+)?)\W*", ex.text)]
    assert bare
    for ex in bare:
        assert ex.arguments["device"].endswith(":media"), ex
