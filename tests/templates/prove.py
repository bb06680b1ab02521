"""`make prove-invariants [REV=...]`: run the first-deploy checks over the template
snapshots of an older revision, to show which defects each check catches.

    python -m tests.templates.prove e9fa758

Prints, per check, the branches where it fails on that revision and its first
finding; exits 0 (it reports, it does not judge). The current templates pass
every check (tests/templates/test_first_deploy.py).
"""

from __future__ import annotations

import json
import subprocess
import sys

from .deploy_checks import CHECKS
from .test_lint import BRANCHES

# Where the snapshots lived: the newer path first.
SNAPSHOT_PATHS = ("tests/templates/snapshots/{stack}.json", "tests/snapshots/{stack}.json")
BEFORE_FIRST_DEPLOY_FIXES = "e9fa758"


def snapshot(revision: str, stack: str) -> dict | None:
    for path in SNAPSHOT_PATHS:
        shown = subprocess.run(["git", "show", f"{revision}:{path.format(stack=stack)}"], capture_output=True, text=True)
        if shown.returncode == 0:
            return json.loads(shown.stdout)
    return None


def main(argv: list[str]) -> int:
    revision = argv[0] if argv else BEFORE_FIRST_DEPLOY_FIXES
    print(f"first-deploy checks over the snapshots of {revision}:")
    for name, check in CHECKS.items():
        caught = []
        for stack, branches in BRANCHES.items():
            template = snapshot(revision, stack)
            if template is None:
                continue
            for index, values in enumerate(branches):
                try:
                    found = check(template, values)
                except (KeyError, IndexError, TypeError) as error:  # a template too different to check
                    found = [f"not checkable: {type(error).__name__} {error}"]
                if found:
                    caught.append(f"{stack}-{index}: {len(found)}, e.g. {found[0]}")
        print(f"- {name}: {'FAILS in ' + str(len(caught)) + ' branches' if caught else 'passes'}")
        for line in caught[:3]:
            print(f"    {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
