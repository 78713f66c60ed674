"""The shipped demo-home model, loaded once for every test of the understand stage."""

from __future__ import annotations

from pathlib import Path

import pytest

from octohome.core.catalog import Catalog
from octohome.understand.parser import Parser


@pytest.fixture(scope="session")
def model_path() -> Path:
    from octohome.understand.modelfile import SHIPPED_DELTA, install_shipped

    if not SHIPPED_DELTA.exists():
        pytest.skip("no shipped model delta yet")
    return install_shipped(progress=False)


@pytest.fixture(scope="session")
def parser(model_path: Path) -> Parser:
    return Parser(model_path, Catalog.load())
