"""Where the repository and ../shared are, for tests at any depth."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
"""The repository root."""

SHARED = ROOT.parent / "shared"
"""``../shared`` beside the checkout: the demo-home contract and sample commands."""
