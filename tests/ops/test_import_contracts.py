"""The direction of imports (docs/architecture.md) is enforced by import-linter's
contracts in pyproject.toml; `make test` runs them, and this shows that a
deliberate violation fails them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=tree, env=env, capture_output=True, text=True)


@pytest.fixture
def tree(tmp_path):
    """A copy of the three packages and pyproject.toml, to break on purpose."""
    for package in ("templates_py", "streamlines", "grafana"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_contracts_hold(tree):
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    "module, line, broken",
    [
        ("templates_py/blocks/tags.py", "import boto3", "templates_py generates templates only"),
        ("templates_py/stacks/lite.py", "import streamlines.aws", "templates_py generates templates only"),
        ("grafana/provision.py", "import streamlines.context", "grafana talks to Grafana only"),
        ("grafana/dashboards.py", "import botocore", "grafana talks to Grafana only"),
        ("templates_py/blocks/network.py", "import templates_py.components.influxdb", "template layers"),
        ("streamlines/smoke.py", "import templates_py.stacks.full", "operations read the generator through its model"),
        (
            "streamlines/residue.py",
            "import templates_py.blocks.tags",
            "operations read the generator through its model",
        ),
    ],
)
def test_a_deliberate_violation_fails(tree, module, line, broken):
    path = tree / module
    path.write_text(path.read_text() + f"\n{line}  # a deliberate violation\n")
    result = lint_imports(tree)
    assert result.returncode == 1
    assert f"{broken}" in result.stdout and "BROKEN" in result.stdout.split(broken, 1)[1].splitlines()[0]
