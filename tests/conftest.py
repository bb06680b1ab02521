from __future__ import annotations

import json

import pytest

from templates_py.config import BuildConfig
from templates_py.render import render


@pytest.fixture(scope="session")
def config() -> BuildConfig:
    return BuildConfig().validated()


@pytest.fixture(scope="session")
def bodies(config) -> dict[str, str]:
    """File name -> rendered body, for every template of every profile."""
    return render("all", config)


@pytest.fixture(scope="session")
def templates(bodies) -> dict[str, dict]:
    """Stack name -> parsed template."""
    return {name.removesuffix(".json"): json.loads(body) for name, body in bodies.items()}
