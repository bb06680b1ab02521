"""Import paths of the Lambda modules, for tests and benchmarks.

The zips are flat (lambdas/functions.toml), so handlers import their modules by
plain name (`import wire`); tests import them the same way. The folders come
from the same declaration the zips are built from, and a packaging test checks
that no two declared modules share a name.
"""

from __future__ import annotations

import sys
from pathlib import Path

from streamlines.packaging import lambda_specs

LAMBDAS = Path(__file__).resolve().parents[2] / "lambdas"


def source_folders() -> list[Path]:
    """Every folder that holds a declared Lambda source, sorted."""
    return sorted({source.parent for spec in lambda_specs(LAMBDAS).values() for source in spec.sources})


def add_lambda_paths() -> None:
    """Append (not prepend): a module of the same name earlier on sys.path wins,
    which is how `make mutants` substitutes mutated copies."""
    for folder in source_folders():
        if str(folder) not in sys.path:
            sys.path.append(str(folder))
