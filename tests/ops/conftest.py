"""Fixtures the operations tests share."""

from __future__ import annotations

import pytest

from templates_py.render import write_all


@pytest.fixture
def build(tmp_path, bodies):
    write_all(bodies, tmp_path / "build")
    return tmp_path / "build"


@pytest.fixture
def zips(monkeypatch, tmp_path):
    """Built Lambda zips in a scratch tree (make lambdas' output), uploaded through moto."""
    root = tmp_path / "tree"
    for folder in (
        "websocket_connection_handler",
        "results_stream_pusher",
        "influx_token_agent",
        "influx_token_provider",
    ):
        dist = root / "lambdas" / folder / "dist"
        dist.mkdir(parents=True)
        (dist / f"{folder}.zip").write_bytes(f"zip of {folder}".encode())
    return root
