"""Talking back through the real daemon, with real audio on both sides.

The person is espeak-ng, speaking into a paced test microphone (16 kHz frames in
real time); octohome hears with the real VAD and Whisper, answers with the real
Piper voice, and its reply comes back into that microphone as an echo, as in a
room: the daemon must not hear itself. Commands go to a real Mosquitto. The
model is the stand-in of tests/stub_parser.py (the real model: the tests at
the end, when it is there).
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from octohome.act.link import Outcome
from octohome.core.config import AudioConfig, MqttConfig, ReplyConfig, SensitiveConfig, Settings
from octohome.hear.audio import FRAME_SAMPLES, FRAME_SECONDS
from octohome.hear.sources import AudioSource
from octohome.service.daemon import Daemon, ReplyJob, Utterance
from octohome.speak.output import MemorySink
from octohome.speak.speaker import Speaker, Spoken
from octohome.speak.voice import PiperVoice, Sound
from tests.mqtt_broker import Broker, Subscriber, publish_once
from tests.service.test_daemon import Running, _wait
from tests.speech_fixtures import needs_espeak, shared_transcriber, silence, speak
from tests.stub_parser import stub_factory

pytest.importorskip("piper")
pytestmark = needs_espeak


@functools.lru_cache(maxsize=1)
def _voice() -> PiperVoice:
    return PiperVoice(threads=1)


class Person(AudioSource):
    """A microphone in a room: real-time frames of what the person says, silence
    between, and the assistant's replies as they play (an echo, at full level)."""

    def __init__(self) -> None:
        self.description = "test room"
        self._pending = np.zeros(0, dtype=np.int16)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.spoken_at: list[float] = []

    def say(self, text: str) -> None:
        audio = np.concatenate([speak(text), silence(0.2)])
        with self._lock:
            self._pending = np.concatenate([self._pending, audio])
            self.spoken_at.append(time.monotonic())

    def echo(self, sound: Sound, t0: float) -> None:
        from octohome.hear.resample import resample, to_int16

        audio = to_int16(resample(sound.samples.astype(np.float32) / 32768.0, sound.rate))
        with self._lock:
            n = max(len(self._pending), len(audio))
            mix = np.zeros(n, dtype=np.int32)
            mix[: len(self._pending)] += self._pending
            mix[: len(audio)] += audio
            self._pending = np.clip(mix, -32768, 32767).astype(np.int16)

    def quiet(self) -> bool:
        with self._lock:
            return len(self._pending) == 0

    def frames(self) -> Iterator[np.ndarray]:
        nxt = time.monotonic()
        while not self._stop.is_set():
            with self._lock:
                frame = self._pending[:FRAME_SAMPLES]
                self._pending = self._pending[FRAME_SAMPLES:]
            if len(frame) < FRAME_SAMPLES:
                frame = np.concatenate([frame, np.zeros(FRAME_SAMPLES - len(frame),
                                                        dtype=np.int16)])
            nxt += FRAME_SECONDS
            time.sleep(max(0.0, nxt - time.monotonic()))
            yield frame

    def close(self) -> None:
        self._stop.set()


class Room:
    """The daemon with a Person at its microphone, a real Piper voice, a broker."""

    def __init__(self, broker: Broker, *, wake: str = "none", parser_factory: Any = None,
                 **settings: Any) -> None:
        from octohome.hear.listener import Listener
        from octohome.hear.vad import VoiceActivity

        reply = settings.pop("reply", {})
        sensitive = settings.pop("sensitive", {})
        self.settings = Settings(
            site={"id": "test"},  # type: ignore[arg-type]
            mqtt=MqttConfig(port=broker.port, reconnect_min_delay=0.05,
                            reconnect_max_delay=0.5, discovery=False),
            audio=AudioConfig(wake=wake, listen_timeout=4.0),
            reply=ReplyConfig(**{"follow_up_s": 3.0, "answer_s": 5.0, "prepare": False,
                                 **reply}),
            sensitive=SensitiveConfig(**sensitive),
        )
        self.person = Person()
        self.sink = MemorySink(realtime=True, listener=self.person.echo)
        self.outcomes: list[tuple[Utterance, Outcome]] = []
        self.replies: list[tuple[ReplyJob, Spoken | None]] = []
        self.sub = Subscriber(broker.port, ["zigbee2mqtt/#", "home/#", "octohome/test/intent"])
        self.daemon = Daemon(
            self.settings, parser_factory=parser_factory or stub_factory, audio=True,
            input_spec="mic",
            transcriber=shared_transcriber(),  # type: ignore[arg-type]
            listener=Listener(self.settings.audio, transcriber=None, vad=VoiceActivity()),
            source_factory=lambda spec, device: self.person,
            speaker=Speaker("voice", self.sink, _voice()),
            on_outcome=lambda u, o: self.outcomes.append((u, o)),
            on_reply=lambda job, spoken: self.replies.append((job, spoken)),
        )
        self.daemon.load()
        self.run = Running(self.daemon)

    def say(self, text: str, *, replies: int | None = None, timeout: float = 30.0) -> None:
        """The person says ``text``, then waits for the reply to be over (``replies``:
        how many replies there are by then; default one more than now)."""
        want = len(self.replies) + 1 if replies is None else replies
        self.person.say(text)
        assert _wait(lambda: len(self.replies) >= want and self.person.quiet(), timeout), (
            text, self.heard())
        time.sleep(self.settings.reply.tail_s + 0.1)

    def heard(self) -> list[tuple[str, str, str | None]]:
        return [(u.text, o.status, o.reply) for u, o in self.outcomes]

    def device_messages(self) -> list[tuple[str, Any]]:
        return [(t, json.loads(p)) for t, p, _, _ in self.sub.received() if t.endswith("/set")]

    def intents(self) -> list[dict[str, Any]]:
        return [json.loads(p) for _, p, _, _ in self.sub.received("octohome/test/intent")]

    def close(self) -> None:
        try:
            assert self.run.stop() == 0
        finally:
            self.sub.close()


def sounds_like(spoken: Spoken | None, text: str) -> bool:
    """Whisper hears ``text`` in the reply, give or take a word in four, in its best
    hypothesis or one of the others it kept (Piper's voice varies from one synthesis
    to the next, and tiny.en mishears the odd word of a short reply: the question
    below failed one CI-style run of 2 on its first hypothesis, and passed 4 of 4
    runs alone)."""
    import jiwer

    want = " ".join("".join(ch for ch in text.lower() if ch.isalnum() or ch == " ").split())
    heard = said(spoken)
    if not any(got and jiwer.wer(want, got) <= 0.25 for got in heard):
        print(f"wanted {want!r}, heard {heard!r}")
        return False
    return True


def said(spoken: Spoken | None) -> list[str]:
    """What Whisper hears in a reply octohome played: its hypotheses, best first."""
    from octohome.hear.resample import resample, to_int16

    assert spoken is not None
    s = spoken.sound
    audio = to_int16(resample(s.samples.astype(np.float32) / 32768.0, s.rate))
    heard = shared_transcriber().transcribe(audio)  # type: ignore[attr-defined]
    texts = [str(heard.text), *(str(h.text) for h in getattr(heard, "alternatives", ()))]
    return [" ".join("".join(ch for ch in t.lower() if ch.isalnum() or ch == " ").split())
            for t in texts]


def test_a_command_and_its_spoken_reply(mqtt_broker: Broker) -> None:
    room = Room(mqtt_broker)
    try:
        room.say("turn on the kitchen lights")
        assert _wait(lambda: room.device_messages() == [
            ("zigbee2mqtt/kitchen_lights/set", {"state": "ON"})], 10)
        job, spoken = room.replies[0]
        assert job.reply.text == "Kitchen lights on."
        assert sounds_like(spoken, "kitchen lights on")  # the reply's sound is that speech
        assert room.intents()[-1]["reply"] == "Kitchen lights on."
        # the reply came back into the microphone and was not heard: one utterance
        time.sleep(1.0)
        assert len(room.outcomes) == 1, room.heard()
    finally:
        room.close()


def test_an_ambiguous_command_is_asked_back_and_answered(mqtt_broker: Broker) -> None:
    room = Room(mqtt_broker)  # no [site] room: "the light" is any of seven
    try:
        room.say("turn on the light")
        job, spoken = room.replies[-1]
        assert job.reply.text == "Which lights? Say the room." and job.turn.expect == "room"
        assert sounds_like(spoken, "which lights say the room")
        assert room.device_messages() == []
        room.say("in the kitchen please")  # espeak's bare "the kitchen" is "Machation" to Whisper
        assert _wait(lambda: room.device_messages() == [
            ("zigbee2mqtt/kitchen_lights/set", {"state": "ON"})], 10), room.heard()
        assert room.replies[-1][0].reply.text == "Kitchen lights on."
        assert [i["status"] for i in room.intents()] == ["refused", "published"]
    finally:
        room.close()


def test_turn_it_off_within_the_window_and_after_it(mqtt_broker: Broker) -> None:
    room = Room(mqtt_broker)
    try:
        room.say("turn on the kitchen lights")
        room.say("switch it off")
        assert _wait(lambda: len(room.device_messages()) == 2, 10), room.heard()
        assert room.device_messages()[-1] == ("zigbee2mqtt/kitchen_lights/set",
                                              {"state": "OFF"})
        assert room.replies[-1][0].reply.text == "Kitchen lights off."
        time.sleep(room.settings.reply.follow_up_s + 1.0)  # the window closes
        room.say("switch it off")
        assert room.outcomes[-1][1].calls == () and room.outcomes[-1][1].status == "refused"
        assert room.replies[-1][0].reply.text == "I don't know what you mean by 'it'."
        time.sleep(0.5)
        assert len(room.device_messages()) == 2
    finally:
        room.close()


def test_an_unlock_by_voice_is_refused_with_a_spoken_reason(mqtt_broker: Broker) -> None:
    room = Room(mqtt_broker)  # the default [sensitive] config
    try:
        room.say("unlock the front door")
        job, spoken = room.replies[-1]
        assert job.reply.text == "For safety, I don't unlock the front door by voice."
        assert sounds_like(spoken, "for safety i don't unlock the front door by voice")
        assert room.intents()[-1]["status"] == "refused"
        time.sleep(0.5)
        assert room.device_messages() == []
    finally:
        room.close()


def test_a_sensitive_command_without_yes_or_pin_publishes_nothing(mqtt_broker: Broker) -> None:
    room = Room(mqtt_broker, sensitive={"by_voice": "confirm"})
    try:
        room.say("unlock the front door")
        assert room.replies[-1][0].reply.text == "Unlock the front door?"
        room.say("turn on the kitchen lights")  # no yes: the door stays locked
        assert _wait(lambda: len(room.device_messages()) == 1, 10)
        assert room.device_messages() == [("zigbee2mqtt/kitchen_lights/set", {"state": "ON"})]
        room.say("unlock the front door")
        room.say("yes")
        assert _wait(lambda: len(room.device_messages()) == 2, 10), room.heard()
        assert room.device_messages()[-1] == ("zigbee2mqtt/front_door/set",
                                              {"state": "UNLOCK"})
    finally:
        room.close()
    room = Room(mqtt_broker, sensitive={"by_voice": "pin", "pin": "2468"})
    try:
        room.say("open the garage door")
        assert room.replies[-1][0].reply.text == "Say the code to open the garage door."
        room.say("one two three four")
        assert room.replies[-1][0].reply.text == "That code is not right. Nothing was done."
        time.sleep(0.5)
        assert room.device_messages() == []
        # the code said is never on an event nor in a log line
        assert all(i["text"] != "one two three four" for i in room.intents())
        assert room.intents()[-1]["text"] == "****"
    finally:
        room.close()


def test_the_answer_needs_no_wake_word(mqtt_broker: Broker) -> None:
    """Push-to-talk only (nothing is heard unless the listener is opened): a typed
    command's question opens the listener, and the spoken answer is heard."""
    room = Room(mqtt_broker, wake="ptt")
    try:
        room.person.say("turn on the kitchen lights")  # not heard: nobody pressed
        time.sleep(3.0)
        assert room.outcomes == []
        publish_once(mqtt_broker.port, "octohome/test/say", b"turn on the light")
        assert _wait(lambda: len(room.replies) == 1, 20)
        room.say("in the office")
        assert _wait(lambda: room.device_messages() == [
            ("zigbee2mqtt/office_light/set", {"state": "ON"})], 10), room.heard()
        # the reply to a spoken command opens the follow-up window: no wake word either
        room.say("switch it off")
        assert _wait(lambda: len(room.device_messages()) == 2, 10), room.heard()
        assert room.device_messages()[-1] == ("zigbee2mqtt/office_light/set",
                                              {"state": "OFF"})
        # nobody speaks: the window closes, and what is said later is not heard
        time.sleep(room.settings.audio.listen_timeout + 0.5)
        n = len(room.outcomes)
        room.person.say("turn it on")
        time.sleep(4.0)
        assert len(room.outcomes) == n and len(room.device_messages()) == 2, room.heard()
    finally:
        room.close()


# -- with the real model -----------------------------------------------------------------


@pytest.fixture(scope="module")
def real_parser() -> Any:
    """The shipped model, when it is built for this catalog ('octohome model check')."""
    from octohome.core.catalog import Catalog
    from octohome.understand.parser import ModelError, load_parser

    try:
        parser = load_parser(Settings(), Catalog.load())
    except (ModelError, OSError, ValueError) as exc:
        pytest.skip(f"the shipped model does not run on this catalog: {exc}")
    parser.warm_up()
    return parser


def test_real_model_command_question_answer_and_follow_up(mqtt_broker: Broker,
                                                          real_parser: Any) -> None:
    room = Room(mqtt_broker, parser_factory=lambda settings, catalog: real_parser)
    try:
        room.say("turn on the kitchen lights")
        assert _wait(lambda: room.device_messages() == [
            ("zigbee2mqtt/kitchen_lights/set", {"state": "ON"})], 10), room.heard()
        assert sounds_like(room.replies[-1][1], "kitchen lights on")
        room.say("switch it off")
        assert _wait(lambda: len(room.device_messages()) == 2, 10), room.heard()
        assert room.device_messages()[-1] == ("zigbee2mqtt/kitchen_lights/set",
                                              {"state": "OFF"})
        room.say("turn on the light")  # no [site] room: which one?
        assert room.replies[-1][0].turn.expect == "room", room.heard()
        room.say("in the office")
        assert _wait(lambda: room.device_messages()[-1:] == [
            ("zigbee2mqtt/office_light/set", {"state": "ON"})], 10), room.heard()
        room.say("unlock the front door")
        assert room.replies[-1][0].reply.text == \
            "For safety, I don't unlock the front door by voice.", room.heard()
        time.sleep(0.5)
        assert len(room.device_messages()) == 3
    finally:
        room.close()
