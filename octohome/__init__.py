"""octohome: an offline voice assistant for the smart home.

Microphone -> wake word / voice activity -> faster-whisper -> a functional-token
model (Octopus v2 method) run by llama.cpp -> validated command over MQTT.
"""

__version__ = "0.1.0"
