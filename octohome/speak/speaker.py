"""The speaking stage: a reply -> its sound (Piper or a chime) -> an output.

:class:`Speaker` is what the daemon and ``octohome converse`` use. Its two steps
block (synthesis on the CPU, playback on the card) and are meant for worker
threads; the daemon runs them with ``asyncio.to_thread`` in a supervised stage.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from octohome.speak.output import AudioSink, Played
from octohome.speak.reply import Reply
from octohome.speak.voice import Sound, Voice, chime

if TYPE_CHECKING:
    from octohome.core.config import ReplyConfig


@dataclass(frozen=True)
class Spoken:
    """One reply played: its sound, when, and how long synthesis took."""

    reply: Reply
    sound: Sound
    played: Played
    synth_s: float


class Speaker:
    """Says replies: as speech (``voice``), a chime, or not at all (``mode``)."""

    def __init__(self, mode: Literal["voice", "chime", "none"], sink: AudioSink,
                 voice: Voice | None = None, volume: float = 1.0) -> None:
        if mode == "voice" and voice is None:
            raise ValueError("mode 'voice' needs a voice")
        self.mode = mode
        self.sink = sink
        self.voice = voice
        self.volume = volume

    @classmethod
    def from_config(cls, config: ReplyConfig, sink: AudioSink | None = None,
                    voice: Voice | None = None) -> Speaker:
        """The configured speaker; loads Piper for mode "voice" (about a second)."""
        from octohome.speak.voice import PiperVoice, default_cache_dir

        if sink is None:
            from octohome.speak.output import DeviceSink, NullSink

            sink = DeviceSink(config.device) if config.mode != "none" else NullSink()
        if config.mode == "voice" and voice is None:
            voice = PiperVoice(threads=config.threads,
                               cache_dir=default_cache_dir() if config.cache else None)
        return cls(config.mode, sink, voice, config.volume)

    def sound(self, reply: Reply) -> Sound | None:
        """The reply's sound (blocking: Piper runs here), or None in mode "none"."""
        if self.mode == "none" or not reply.text:
            return None
        if self.mode == "chime" or self.voice is None:
            return chime(reply.tone).scaled(self.volume)
        return self.voice.synthesize(reply.text).scaled(self.volume)

    def play(self, sound: Sound, on_start: Callable[[float], None] | None = None) -> Played:
        """Play a sound (blocking until handed over)."""
        return self.sink.play(sound, on_start)

    def say(self, reply: Reply, on_start: Callable[[float], None] | None = None
            ) -> Spoken | None:
        """Sound, then play (blocking)."""
        t0 = time.perf_counter()
        sound = self.sound(reply)
        if sound is None:
            return None
        synth = time.perf_counter() - t0
        return Spoken(reply, sound, self.play(sound, on_start), synth)

    def prepare(self, texts: Iterable[str]) -> None:
        """Have these replies ready (background synthesis; a voice that caches only)."""
        prepare = getattr(self.voice, "prepare", None)
        if self.mode == "voice" and prepare is not None:
            prepare(texts)

    def close(self) -> None:
        close = getattr(self.voice, "close", None)
        if close is not None:
            close()
        self.sink.close()
