"""Hearing: audio sources, wake word, voice activity, speech to text, the listener."""
