"""One context for every command that touches AWS or the project's files: the
stack prefix, the region, the build configuration (and so the project tag) and
the project folder, read the same way by every command (docs/architecture.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from templates_py.config import BuildConfig, load_config

DEFAULT_PREFIX = "streamlines"
MARKER = Path("lambdas") / "functions.toml"


def project_root(start: Path | None = None) -> Path:
    """The project checkout: the nearest folder at or above `start` (the working
    folder) that holds lambdas/functions.toml, else the one this package sits in."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / MARKER).is_file():
            return folder
    return Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Names:
    """Stack names: `<prefix>-foundations` and `<prefix>-<profile>`."""

    prefix: str
    profile: str

    @property
    def foundations(self) -> str:
        return f"{self.prefix}-foundations"

    @property
    def stack(self) -> str:
        return f"{self.prefix}-{self.profile}"


@dataclass(frozen=True)
class Context:
    region: str | None = None
    config_path: Path | None = None
    prefix: str = DEFAULT_PREFIX
    root: Path = field(default_factory=project_root)

    @cached_property
    def config(self) -> BuildConfig:
        """The validated build configuration (ConfigError with one sentence when it is wrong)."""
        return load_config(self.config_path)

    @property
    def project(self) -> str:
        """The Project tag every resource carries, from the configuration."""
        return self.config.project

    def names(self, profile: str) -> Names:
        return Names(self.prefix, profile)

    def session(self) -> Any:
        import boto3

        return boto3.session.Session(region_name=self.region)

    def parameters_path(self, profile: str) -> Path:
        """The parameters file the operator edits for a profile."""
        return self.root / "deploy" / f"{profile}.parameters"

    @property
    def lambdas(self) -> Path:
        return self.root / "lambdas"
