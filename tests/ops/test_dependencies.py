"""The virtualenv `make venv` builds: the versions constraints.txt freezes, and
urllib3 left to boto3 (grafana-client's niquests brings urllib3-future, which by
default installs itself over it)."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def pins() -> dict[str, str]:
    found = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            found[re.sub(r"[-_.]+", "-", name).lower()] = version
    return found


def test_import_urllib3_is_urllib3_itself():
    import urllib3

    distribution = importlib.metadata.distribution("urllib3")
    module = Path(urllib3.__file__).resolve()
    files = {Path(distribution.locate_file(f)).resolve() for f in distribution.files or []}
    assert module in files, f"urllib3 is imported from {module}, which the urllib3 distribution did not install"
    assert urllib3.__version__ == distribution.version


def test_niquests_runs_on_its_own_urllib3_future():
    import niquests  # noqa: F401 (importing it is the test: it needs urllib3_future)
    import urllib3_future

    assert urllib3_future.__version__ == importlib.metadata.version("urllib3-future")


def test_the_virtualenv_has_the_frozen_versions():
    frozen = pins()
    assert frozen, "constraints.txt pins nothing"
    installed = {
        re.sub(r"[-_.]+", "-", d.metadata["Name"]).lower(): d.version for d in importlib.metadata.distributions()
    }
    differ = {
        name: (version, installed.get(name)) for name, version in frozen.items() if installed.get(name) != version
    }
    assert differ == {}, "run make venv (or make lock, then review constraints.txt)"


def test_the_dashboard_models_are_the_newest_grafana_publishes():
    assert importlib.metadata.version("grafana-foundation-sdk").endswith("!11.6.0")
