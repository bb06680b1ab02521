"""`streamlines deploy` and `streamlines teardown` (`make deploy`, `make teardown`): the plain `aws cloudformation`
commands an
operator would type, in the right order, with the checks in between.

deploy:   foundations (only if missing) -> upload Lambda zips -> copy the
          pinned upstream images the stack runs from the foundations ECR (only
          those not there yet) -> preflight -> the profile stack (through the app
          bucket when the template is too big to pass inline).
teardown: the profile stack -> wait -> residue report. Foundations only when
          asked twice (FOUNDATIONS=delete and CONFIRM=<foundations stack name>);
          its resources are retained even then, and the report lists them.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path
from typing import Any, Callable, Sequence

from templates_py import exports
from templates_py.render import DEPLOY_BODY_LIMIT

from . import events, images, packaging
from .aws import export_value, read_stack
from .context import Names
from .packaging import built_zip, code_key_parameters


class DeployError(Exception):
    """One sentence for the operator."""


def deploy_command(
    template: Path, stack: str, region: str | None, overrides: dict[str, str], capabilities: bool, s3_bucket: str | None
) -> list[str]:
    command = [
        "aws",
        "cloudformation",
        "deploy",
        "--template-file",
        str(template),
        "--stack-name",
        stack,
        "--no-fail-on-empty-changeset",
    ]
    if region:
        command += ["--region", region]
    if capabilities:
        command += ["--capabilities", "CAPABILITY_IAM"]
    if s3_bucket:
        command += ["--s3-bucket", s3_bucket, "--s3-prefix", "templates"]
    if overrides:
        command += ["--parameter-overrides", *(f"{key}={value}" for key, value in overrides.items())]
    return command


def stack_exists(session: Any, name: str) -> bool:
    return read_stack(session.client("cloudformation"), name) is not None


def app_bucket(session: Any, foundations: str) -> str:
    bucket = export_value(session.client("cloudformation"), f"{foundations}-{exports.APP_BUCKET_NAME}")
    if bucket is None:
        raise DeployError(f"foundations stack {foundations} exports no AppBucketName.")
    return bucket


def run_command(command: Sequence[str], say: Callable[[str], None]) -> None:
    import shutil

    if shutil.which(command[0]) is None:
        raise DeployError(f"`{command[0]}` is not on PATH; make deploy and make teardown run the AWS CLI (version 2).")
    say("$ " + shlex.join(command))
    result = subprocess.run(list(command))
    if result.returncode != 0:
        raise DeployError(f"`{' '.join(command[:3])}` failed with exit code {result.returncode}; see its output above.")


def deploy(
    session: Any,
    names: Names,
    build: Path,
    parameters: dict[str, str],
    say: Callable[[str], None],
    runner: Callable[[Sequence[str], Callable[[str], None]], None] | None = None,
    *,
    root: Path,
    grafana_image: str,
    docker: images.Runner | None = None,
) -> int:
    """Deploy `names.profile` from the templates in `build` and the zips under `root`/lambdas;
    `grafana_image` is the upstream image lite's Grafana mirror is copied from."""
    import json

    from templates_py.evaluate import parameter_values

    from . import preflight

    runner = runner or run_command

    region = session.region_name
    if stack_exists(session, names.foundations):
        say(f"foundations stack {names.foundations} exists; not touching it")
    else:
        with events.watching(session.client("cloudformation"), names.foundations, say):
            runner(deploy_command(build / "foundations.json", names.foundations, region, {}, False, None), say)
    bucket = app_bucket(session, names.foundations)

    template_path = build / f"{names.profile}.json"
    template = json.loads(template_path.read_text())
    # The cloudfront stack is the one that does not read foundations.
    declared = template["Parameters"]
    overrides = {"FoundationsStackName": names.foundations} if "FoundationsStackName" in declared else {}
    if "LiteStackName" in declared:
        overrides["LiteStackName"] = f"{names.prefix}-lite"
    overrides.update(parameters)
    for parameter, folder in code_key_parameters(names.profile).items():
        archive = built_zip(root, folder)
        if not archive.exists():
            raise DeployError(f"{archive} is missing; run make lambdas.")
        try:
            key, uploaded = packaging.upload(archive, names.foundations, region)
        except packaging.PackageError as error:
            raise DeployError(str(error)) from None
        say(f"{'uploaded' if uploaded else 'already in the bucket'}: {folder} -> s3://{bucket}/{key}")
        overrides[parameter] = key

    values = parameter_values(template, overrides)
    wanted = images.mirrors(template, values, images.mirror_sources(template, values, grafana_image))
    try:
        images.mirror(session, names.foundations, wanted, say, docker)
    except images.ImageError as error:
        raise DeployError(str(error)) from None

    if preflight.run(session, names.profile, names.stack, names.foundations, template, overrides, say) != 0:
        raise DeployError("preflight failed; fix the lines marked FAIL and deploy again.")
    too_big = template_path.stat().st_size > DEPLOY_BODY_LIMIT
    with events.watching(session.client("cloudformation"), names.stack, say):
        runner(deploy_command(template_path, names.stack, region, overrides, True, bucket if too_big else None), say)
    if names.profile == "lite":
        say(f"next: make provision STACK={names.stack}, then make smoke STACK={names.stack}")
    else:
        say(f"next: make smoke STACK={names.stack}")
    return 0


def teardown(
    session: Any,
    names: Names,
    delete_foundations: bool,
    project: str,
    say: Callable[[str], None],
    runner: Callable[[Sequence[str], Callable[[str], None]], None] | None = None,
) -> int:
    """Delete the profile stack (and foundations when asked), then report what is left, by `project` tag."""
    runner = runner or run_command
    from . import residue

    if not stack_exists(session, names.stack):
        # A typo in the prefix or the profile must not read as a clean teardown.
        raise DeployError(
            f"stack {names.stack} does not exist in {session.region_name or 'this region'}; nothing was deleted "
            f"(check --prefix and --profile; `streamlines residue --profile {names.profile} --stack {names.stack}` "
            "lists what a deleted stack left)."
        )
    region = ["--region", session.region_name] if session.region_name else []
    runner(["aws", "cloudformation", "delete-stack", "--stack-name", names.stack, *region], say)
    runner(["aws", "cloudformation", "wait", "stack-delete-complete", "--stack-name", names.stack, *region], say)
    if delete_foundations:
        say(
            f"deleting the foundations stack {names.foundations}: its resources are retained (DeletionPolicy Retain) "
            "and listed below as kept"
        )
        runner(["aws", "cloudformation", "delete-stack", "--stack-name", names.foundations, *region], say)
        runner(
            ["aws", "cloudformation", "wait", "stack-delete-complete", "--stack-name", names.foundations, *region], say
        )
    return residue.report(residue.Residue(session, project, names.profile, names.stack), False, say)
