"""Training (the train extra): data generation, fine-tuning, evaluation.

The runtime never imports it (checked by the import contracts in pyproject.toml)."""
