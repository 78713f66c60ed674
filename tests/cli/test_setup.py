"""The README's commands: ./setup.sh's test action fails when pytest ran no tests."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.paths import ROOT


@pytest.mark.skipif(not (ROOT / ".venv" / ".octohome-installed").exists(),
                    reason="needs a .venv made by ./setup.sh")
def test_no_tests_ran_is_a_failure() -> None:
    out = subprocess.run(
        ["bash", "setup.sh", "test", "-k", "this_matches_no_test_at_all"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("PYTEST")},
    )
    assert out.returncode == 1, out.stdout[-2000:] + out.stderr[-2000:]
    assert "pytest ran no tests" in out.stderr


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert "./setup.sh test" in ci
    readme = (ROOT / "README.md").read_text()
    first, second = [line.strip() for line in readme.split("```sh\n")[1:3]]
    assert first.startswith("./setup.sh") and second.startswith("./setup.sh test")
