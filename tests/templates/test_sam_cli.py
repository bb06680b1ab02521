"""SAM CLI itself on the SAM renders, offline: `sam validate --lint` passes and
`sam build` builds every function by the makefile method (no Docker, no matching
Python), into the files of the project's zips. SAM CLI lives in .venv-sam, which
`make test` installs (its pins clash with ours)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from streamlines.packaging import build_spec, lambda_specs
from templates_py import model, sam
from templates_py.render import render_sam, write_all

ROOT = Path(__file__).resolve().parents[2]
SAM = Path(os.environ.get("SAM_CLI", ROOT / ".venv-sam" / "bin" / "sam"))
pytestmark = pytest.mark.sam_cli


@pytest.fixture(scope="module")
def rendered(config) -> Path:
    """The SAM renders two folders below the project, as `make sam` writes them (CodeUri is
    relative to the template)."""
    assert SAM.exists(), f"SAM CLI is not installed at {SAM}; run `make test`, which installs it"
    folder = ROOT / "build" / "sam-test"
    write_all(render_sam(config), folder)
    return folder


def _sam(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "SAM_CLI_TELEMETRY": "0",
        "AWS_DEFAULT_REGION": "us-east-1",
        # The makefile targets run python3 -m streamlines.packaging: this interpreter first.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    return subprocess.run([str(SAM), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("profile", sam.PROFILES)
def test_sam_validate_lint_passes(rendered, profile):
    result = _sam("validate", "--lint", "-t", f"{profile}.json", cwd=rendered)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("profile", sam.PROFILES)
def test_sam_build_builds_every_function_into_its_zips_files(rendered, profile, tmp_path):
    build = tmp_path / "aws-sam"
    result = _sam("build", "-t", f"{profile}.json", "-b", str(build), cwd=rendered)
    assert result.returncode == 0, result.stdout + result.stderr
    for function in model.manifest(profile).functions:
        archive = build_spec(lambda_specs(ROOT / "lambdas")[function.folder], tmp_path / "zips")
        with zipfile.ZipFile(archive) as zipped:
            expected = {name: zipped.read(name) for name in zipped.namelist()}
        built = build / function.function_id
        staged = {p.relative_to(built).as_posix(): p.read_bytes() for p in built.rglob("*") if p.is_file()}
        assert staged == expected, function.function_id
