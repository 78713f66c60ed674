"""Benchmarks: model, speech to text, MQTT. The runtime never imports them."""
