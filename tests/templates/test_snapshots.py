"""Each rendered template against its stored render.

A changed render fails with a unified diff and leaves `<stack>.actual.json`
next to the snapshot; after reviewing it, `make snapshots` accepts the change.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

import pytest

from templates_py.render import stacks_for

SNAPSHOTS = Path(__file__).parent / "snapshots"


def pretty(body: str) -> str:
    return json.dumps(json.loads(body), indent=2, sort_keys=True) + "\n"


@pytest.mark.parametrize("stack", sorted(stacks_for("all")))
def test_template_matches_snapshot(bodies, stack):
    actual = pretty(bodies[f"{stack}.json"])
    expected_path = SNAPSHOTS / f"{stack}.json"
    actual_path = SNAPSHOTS / f"{stack}.actual.json"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        expected_path.write_text(actual, encoding="utf-8")
        actual_path.unlink(missing_ok=True)
        return
    expected = expected_path.read_text(encoding="utf-8") if expected_path.exists() else ""
    if actual == expected:
        actual_path.unlink(missing_ok=True)
        return
    actual_path.write_text(actual, encoding="utf-8")
    diff = difflib.unified_diff(
        expected.splitlines(), actual.splitlines(), str(expected_path), str(actual_path), lineterm="", n=2
    )
    pytest.fail(f"{stack} differs from its snapshot (make snapshots accepts it):\n" + "\n".join(list(diff)[:80]))
