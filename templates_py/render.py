"""Render the stacks of a profile to JSON and write them without leaving half a build behind."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Callable

from troposphere import Template

from . import sam
from .config import BuildConfig
from .stacks import cloudfront, foundations, full, lite, lite_pipeline

# Which stack modules each profile renders, by output file name.
PROFILES: dict[str, dict[str, Callable[[BuildConfig], Template]]] = {
    "lite": {"foundations": foundations.build, "lite": lite.build, "lite-pipeline": lite_pipeline.build},
    "full": {"foundations": foundations.build, "full": full.build, "cloudfront": cloudfront.build},
}
PROFILE_CHOICES = (*PROFILES, "all")

# `aws cloudformation deploy` refuses a template body over this size without --s3-bucket.
DEPLOY_BODY_LIMIT = 51_200
# Stacks too big for that (the whole platform); `make deploy` uploads them through the app bucket.
DEPLOY_THROUGH_S3 = frozenset({"full"})


class OutputError(OSError):
    """The output folder cannot be written; the message is one sentence for the user."""


def stacks_for(profile: str) -> dict[str, Callable[[BuildConfig], Template]]:
    if profile == "all":
        merged: dict[str, Callable[[BuildConfig], Template]] = {}
        for stacks in PROFILES.values():
            merged.update(stacks)
        return merged
    return PROFILES[profile]


def without_lint_notes(template: dict) -> dict:
    """The template without the checkov notes (Metadata.checkov: why a check does
    not apply). They are for the linter, not for CloudFormation, and would cost
    the deployable templates kilobytes of the inline deploy limit."""
    for resource in template.get("Resources", {}).values():
        metadata = resource.get("Metadata")
        if isinstance(metadata, dict) and "checkov" in metadata:
            del metadata["checkov"]
            if not metadata:
                del resource["Metadata"]
    return template


def to_json(template: Template, lint_notes: bool = False) -> str:
    """Deterministic compact JSON (sorted keys, no whitespace): compact keeps the
    templates under the size `aws cloudformation deploy` accepts inline. The
    snapshot tests compare indented renders, so diffs stay readable."""
    body = template.to_dict()
    if not lint_notes:
        body = without_lint_notes(body)
    return json.dumps(body, sort_keys=True, separators=(",", ":")) + "\n"


def render(profile: str, config: BuildConfig, lint_notes: bool = False) -> dict[str, str]:
    """File name -> template body, for every stack of `profile`; nothing is written.
    `lint_notes` keeps the checkov notes (for `make checkov`); deployable bodies have none."""
    return {f"{name}.json": to_json(build(config), lint_notes) for name, build in sorted(stacks_for(profile).items())}


def render_sam(config: BuildConfig, code_uri: str = sam.CODE_URI) -> dict[str, str]:
    """File name -> SAM template body (templates_py/sam.py), for every stack with Lambdas;
    `code_uri` leads from the folder the templates are written to, to lambdas/."""
    builders = stacks_for("all")
    return {
        f"{profile}.json": to_json(sam.to_sam(builders[profile](config), profile, code_uri)) for profile in sam.PROFILES
    }


def write_all(bodies: dict[str, str], out: Path) -> list[Path]:
    """Write every body into `out`, all or nothing: each goes to a temporary file
    first and is renamed into place only once all of them are written."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create output folder {out}: {error.strerror}.") from None
    if not out.is_dir() or not os.access(out, os.W_OK | os.X_OK):
        raise OutputError(f"output folder {out} is not a writable directory.")
    staged: list[tuple[str, Path]] = []
    try:
        for name, body in bodies.items():
            handle, temporary = tempfile.mkstemp(prefix=f".{name}.", dir=out)
            staged.append((name, Path(temporary)))
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(body)
    except OSError as error:
        for _, temporary in staged:
            temporary.unlink(missing_ok=True)
        raise OutputError(f"cannot write to output folder {out}: {error.strerror}.") from None
    written = []
    for name, temporary in staged:
        os.chmod(temporary, 0o644)
        os.replace(temporary, out / name)
        written.append(out / name)
    return written
