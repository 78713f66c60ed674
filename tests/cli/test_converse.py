"""``octohome converse``: a conversation from text and WAV files, without a microphone."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from octohome.cli import build_parser, converse, main
from tests.mqtt_broker import Broker, Subscriber
from tests.speech_fixtures import needs_espeak, silence, speak
from tests.stub_parser import stub_factory


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for key in list(os.environ):
        if key.startswith("OCTOHOME_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no ./config.toml: the defaults
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    yield
    # run_cli points structlog at this test's (captured, then closed) stderr
    import structlog

    structlog.reset_defaults()


def _run(*argv: str, config: Path | None = None) -> int:
    args = build_parser(["converse"]).parse_args(
        [*(["--config", str(config)] if config else []), "converse", *argv])
    return converse.run_cli(args, parser_factory=stub_factory)


def _json_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_help_is_registered(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ex:
        main(["converse", "--help"])
    assert ex.value.code == 0
    out = capsys.readouterr().out
    assert "--reply-dir" in out and "+N" in out and "--mqtt" in out


def test_a_text_conversation(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc = _run("turn on the light", "the kitchen", "turn it off", "and the bedroom too",
              "undo", "+10", "turn it off", "unlock the front door", "--json",
              "--reply", "chime", "--reply-dir", str(tmp_path / "replies"))
    assert rc == 0
    steps = _json_lines(capsys.readouterr().out)
    assert [s["turn"] for s in steps] == ["question", "answer", "follow_up:pronoun",
                                          "follow_up:also", "follow_up:undo",
                                          "follow_up:pronoun", "command"]
    assert steps[0]["reply"] == "Which lights? Say the room." and steps[0]["calls"] == []
    assert [(c["function"], c["arguments"]["device"]) for s in steps[1:5]
            for c in s["calls"]] == [("light.turn_on", "kitchen_lights"),
                                     ("light.turn_off", "kitchen_lights"),
                                     ("light.turn_off", "bedroom_light"),
                                     ("light.turn_on", "bedroom_light")]
    assert [s["reply"] for s in steps[1:5]] == ["Kitchen lights on.", "Kitchen lights off.",
                                                "Bedroom light off.", "Bedroom light on."]
    assert steps[5]["calls"] == [] and steps[5]["reply"] == "I don't know what you mean by 'it'."
    assert steps[6]["reply"] == "For safety, I don't unlock the front door by voice."
    files = sorted(p.name for p in (tmp_path / "replies").iterdir())
    assert files == [f"{i:02d}-reply.wav" for i in range(1, 8)]
    assert steps[1]["reply_wav"].endswith("02-reply.wav")


@needs_espeak
def test_wav_files_and_spoken_replies(capsys: pytest.CaptureFixture[str],
                                      tmp_path: Path) -> None:
    pytest.importorskip("piper")
    from octohome.hear.wav import write_wav

    first, second = tmp_path / "on.wav", tmp_path / "off.wav"
    write_wav(first, np.concatenate([silence(0.3), speak("turn on the kitchen lights"),
                                     silence(0.3)]))
    write_wav(second, np.concatenate([silence(0.3), speak("switch it off"), silence(0.3)]))
    rc = _run(str(first), "+1.5", str(second), "--reply-dir", str(tmp_path / "r"))
    assert rc == 0
    out = capsys.readouterr().out
    assert "heard (on.wav): Turn on the kitchen lights." in out
    assert "call: light.turn_on(device=kitchen_lights) [published]" in out
    assert "call: light.turn_off(device=kitchen_lights) [published]" in out
    assert "reply: Kitchen lights off." in out
    from octohome.hear.resample import resample, to_int16
    from octohome.speak.voice import Sound
    from tests.speech_fixtures import shared_transcriber

    reply = Sound.from_wav_bytes((tmp_path / "r" / "01-reply.wav").read_bytes())
    assert reply.seconds > 0.5
    heard = shared_transcriber().transcribe(  # type: ignore[attr-defined]
        to_int16(resample(reply.samples.astype(np.float32) / 32768.0, reply.rate))).text
    assert "kitchen" in heard.lower()


def test_mqtt_sends_the_calls(mqtt_broker: Broker, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[site]\nid = "test"\n[mqtt]\nport = {mqtt_broker.port}\n'
                   '[reply]\nmode = "none"\n')
    sub = Subscriber(mqtt_broker.port, ["zigbee2mqtt/#"])
    try:
        assert _run("turn on the kitchen lights", "turn it off", "--mqtt", config=cfg) == 0
        assert sub.wait_for(lambda: len(sub.received()) == 2, 10)
        assert [(t, json.loads(p)) for t, p, _, _ in sub.received()] == [
            ("zigbee2mqtt/kitchen_lights/set", {"state": "ON"}),
            ("zigbee2mqtt/kitchen_lights/set", {"state": "OFF"})]
    finally:
        sub.close()
    assert "reply: Kitchen lights off." in capsys.readouterr().out


def test_bad_input_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run("missing.wav") == 2
    assert "missing.wav: no such WAV file" in capsys.readouterr().err
    assert _run() == 2
    assert _run("hello", "--room", "sauna") == 2
    assert "not a room" in capsys.readouterr().err


def test_with_the_real_model(capsys: pytest.CaptureFixture[str]) -> None:
    """The shipped model, when it is built for this catalog ('octohome model check')."""
    from octohome.core.catalog import Catalog
    from octohome.core.config import Settings
    from octohome.understand.parser import ModelError, load_parser

    try:
        parser = load_parser(Settings(), Catalog.load())
    except (ModelError, OSError, ValueError) as exc:
        pytest.skip(f"the shipped model does not run on this catalog: {exc}")
    args = build_parser(["converse"]).parse_args(
        ["converse", "turn on the kitchen lights", "turn it off", "turn on the light",
         "the kitchen", "set the kitchen lights to 150 percent", "--json", "--reply", "none"])
    assert converse.run_cli(args, parser_factory=lambda s, c: parser) == 0
    steps = _json_lines(capsys.readouterr().out)
    calls = [[(c["function"], c["arguments"]["device"]) for c in s["calls"]] for s in steps]
    assert calls[:2] == [[("light.turn_on", "kitchen_lights")],
                         [("light.turn_off", "kitchen_lights")]]
    assert steps[2]["turn"] == "question" and calls[2] == []
    assert calls[3] == [("light.turn_on", "kitchen_lights")]
    assert steps[4]["reply"] == "Brightness goes up to 100 percent."
