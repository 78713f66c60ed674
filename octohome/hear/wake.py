"""Wake word: microWakeWord models through pymicro-wakeword (bundled tflite runtime).

Bundled models: okay_nabu, hey_jarvis, hey_mycroft, alexa; a path to a
microWakeWord JSON file loads a custom one. Each model ships a tuned
probability cutoff; ``sensitivity`` moves around it (0.5 = the model's own).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from octohome.hear.audio import SAMPLE_RATE

BUILTIN_MODELS = ("okay_nabu", "hey_jarvis", "hey_mycroft", "alexa")


class WakeError(ValueError):
    """Unknown wake word model."""


def cutoff_for(sensitivity: float, model_cutoff: float) -> float:
    """Map sensitivity [0, 1] to a probability cutoff.

    0.5 keeps the cutoff the model was tuned with; 1.0 lowers it to half of
    that (more detections, more false alarms); 0.0 raises it to 0.99.
    Piecewise linear so the model's tuned point stays exactly reachable.
    """
    s = min(1.0, max(0.0, sensitivity))
    if s >= 0.5:
        return model_cutoff - (s - 0.5) * 2 * (model_cutoff / 2)
    return model_cutoff + (0.5 - s) * 2 * (0.99 - model_cutoff)


class WakeDetector:
    """Feeds 16 kHz int16 frames to a microWakeWord model; says when the phrase was heard.

    After a detection, further detections are ignored for ``refractory``
    seconds of audio: the model fires on several consecutive windows of one
    utterance, and the user's command that follows must not re-trigger it.
    """

    def __init__(self, model: str, sensitivity: float = 0.5, refractory: float = 2.0) -> None:
        from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures, Model

        if model in BUILTIN_MODELS:
            self._mww: Any = MicroWakeWord.from_builtin(Model(model))
        elif Path(model).suffix == ".json" and Path(model).is_file():
            self._mww = MicroWakeWord.from_config(Path(model))
        else:
            raise WakeError(
                f"audio.wake = {model!r}: not one of {', '.join(BUILTIN_MODELS)}, 'none', 'ptt'"
                " or a microWakeWord .json file"
            )
        self._features: Any = MicroWakeWordFeatures()
        self.name = model
        self.phrase = str(self._mww.wake_word)
        """The spoken phrase, e.g. "Okay Nabu"."""
        self.model_cutoff = float(self._mww.probability_cutoff)
        self.cutoff = cutoff_for(sensitivity, self.model_cutoff)
        self.refractory_samples = int(refractory * SAMPLE_RATE)
        self._since_detection = self.refractory_samples
        self.last_probability = 0.0
        self.max_probability = 0.0
        """Highest probability seen since the last reset (for tuning sensitivity)."""

    def process(self, frame: np.ndarray) -> bool:
        """Feed one frame; True when the wake word ends in it (outside the refractory time)."""
        self._since_detection += len(frame)
        data = np.asarray(frame, dtype="<i2").tobytes()
        fired = False
        for features in self._features.process_streaming(data):
            prob = self._mww.process_streaming_prob(features)
            if prob is None:
                continue
            self.last_probability = float(prob)
            self.max_probability = max(self.max_probability, self.last_probability)
            if prob > self.cutoff and self._since_detection >= self.refractory_samples:
                fired = True
        if fired:
            self._since_detection = 0
            self._mww._probabilities.clear()  # the sliding window restarts after a hit
        return fired

    def reset(self) -> None:
        """Forget all state (a new, unrelated stream)."""
        self._features.reset()
        self._mww.reset()
        self._since_detection = self.refractory_samples
        self.max_probability = 0.0
