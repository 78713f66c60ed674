"""Where the repository and ../shared are, for tests at any depth."""

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
"""The repository root."""

SHARED = ROOT.parent / "shared"
"""``../shared`` beside the checkout: the demo-home contract and sample commands."""


def bench_script(name: str) -> ModuleType:
    """``bench/NAME.py`` loaded as a module: bench scripts are files, not a package."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
