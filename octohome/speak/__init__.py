"""Speaking: the assistant's replies, in words (``reply``), as sound (``voice``: Piper or
a chime) and played (``output``: the sound card, WAV files), put together by
``speaker``."""
