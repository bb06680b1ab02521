"""`make prove-invariants [REV=...]`: run the first-deploy checks over the template
snapshots of an older revision, to show which defects each check catches.

    python -m tests.templates.prove            # the revision before the round-2 fixes
    python -m tests.templates.prove e9fa758    # the one before the first round

Prints, per check, the branches where it fails on that revision and its first
finding; exits 0 (it reports, it does not judge). The current templates pass
every check (tests/templates/test_first_deploy.py).
"""

from __future__ import annotations

import json
import subprocess
import sys

from .branches import BRANCHES
from .deploy_checks import CHECKS, image_shape_branches, images_pullable_by_their_role

# Where the snapshots lived: the newer path first.
SNAPSHOT_PATHS = ("tests/templates/snapshots/{stack}.json", "tests/snapshots/{stack}.json")
BEFORE_FIRST_DEPLOY_FIXES = "e9fa758"
# The last revision before the second review's fixes (issue 21).
BEFORE_ROUND_2_FIXES = "ef6bf58"


def snapshot(revision: str, stack: str) -> dict | None:
    for path in SNAPSHOT_PATHS:
        shown = subprocess.run(
            ["git", "show", f"{revision}:{path.format(stack=stack)}"], capture_output=True, text=True
        )
        if shown.returncode == 0:
            return json.loads(shown.stdout)
    return None


def main(argv: list[str]) -> int:
    revision = argv[0] if argv else BEFORE_ROUND_2_FIXES
    print(f"first-deploy checks over the snapshots of {revision}:")
    for name, check in CHECKS.items():
        caught, shape_failures, plain, variants = [], 0, 0, 0
        for stack, branches in BRANCHES.items():
            template = snapshot(revision, stack)
            if template is None:
                continue
            # The image check also runs each branch again with every image shape that
            # revision's patterns accept (numbered after the plain branches).
            shapes = image_shape_branches(template, branches) if check is images_pullable_by_their_role else []
            plain, variants = plain + len(branches), variants + len(shapes)
            for index, values in enumerate(branches + shapes):
                try:
                    found = check(template, values)
                except (KeyError, IndexError, TypeError) as error:  # a template too different to check
                    found = [f"not checkable: {type(error).__name__} {error}"]
                if found:
                    caught.append(f"{stack}-{index}: {len(found)}, e.g. {found[0]}")
                    shape_failures += index >= len(branches)
        failed = len(caught) - shape_failures
        verdict = f"FAILS in {failed} of {plain} branches" if caught else "passes"
        if variants:
            verdict += f" and {shape_failures} of {variants} image-shape variants"
        print(f"- {name}: {verdict}")
        for line in caught[:3]:
            print(f"    {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
