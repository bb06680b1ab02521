"""`make deploy` and `make teardown`: the plain `aws cloudformation` commands an
operator would type, in the right order, with the checks in between.

deploy:   foundations (only if missing) -> upload Lambda zips -> preflight ->
          the profile stack (through the app bucket when the template is too big
          to pass inline).
teardown: the profile stack -> wait -> residue report. Foundations only when
          asked twice (FOUNDATIONS=delete and CONFIRM=<foundations stack name>);
          its resources are retained even then, and the report lists them.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from .functions import built_zip, code_key_parameters, packager
from .render import DEPLOY_BODY_LIMIT

ROOT = Path(__file__).resolve().parent.parent


def parameters_path(profile: str) -> Path:
    """The parameters file the operator edits for a profile."""
    return ROOT / "deploy" / f"{profile}.parameters"


class DeployError(Exception):
    """One sentence for the operator."""


@dataclass(frozen=True)
class Names:
    prefix: str
    profile: str

    @property
    def foundations(self) -> str:
        return f"{self.prefix}-foundations"

    @property
    def stack(self) -> str:
        return f"{self.prefix}-{self.profile}"


def deploy_command(template: Path, stack: str, region: str | None, overrides: dict[str, str], capabilities: bool, s3_bucket: str | None) -> list[str]:
    command = ["aws", "cloudformation", "deploy", "--template-file", str(template), "--stack-name", stack, "--no-fail-on-empty-changeset"]
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
    from botocore.exceptions import ClientError

    try:
        status = session.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
    except ClientError:
        return False
    return status != "DELETE_COMPLETE"


def app_bucket(session: Any, foundations: str) -> str:
    bucket = packager().export_value(session.client("cloudformation"), f"{foundations}-AppBucketName")
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


def deploy(session: Any, names: Names, build: Path, parameters: dict[str, str], say: Callable[[str], None], runner: Callable[[Sequence[str], Callable[[str], None]], None] = run_command) -> int:
    import json

    from . import preflight

    package = packager()

    region = session.region_name
    if stack_exists(session, names.foundations):
        say(f"foundations stack {names.foundations} exists; not touching it")
    else:
        runner(deploy_command(build / "foundations.json", names.foundations, region, {}, False, None), say)
    bucket = app_bucket(session, names.foundations)

    template_path = build / f"{names.profile}.json"
    template = json.loads(template_path.read_text())
    overrides = {"FoundationsStackName": names.foundations} if "FoundationsStackName" in template.get("Parameters", {}) else {}
    overrides.update(parameters)
    for parameter, folder in code_key_parameters(template).items():
        archive = built_zip(ROOT, folder)
        if not archive.exists():
            raise DeployError(f"{archive} is missing; run make lambdas.")
        try:
            key, uploaded = package.upload(archive, names.foundations, region)
        except package.PackageError as error:
            raise DeployError(str(error)) from None
        say(f"{'uploaded' if uploaded else 'already in the bucket'}: {folder} -> s3://{bucket}/{key}")
        overrides[parameter] = key

    if preflight.run(session, names.profile, names.stack, names.foundations, template, overrides, say) != 0:
        raise DeployError("preflight failed; fix the lines marked FAIL and deploy again.")
    too_big = template_path.stat().st_size > DEPLOY_BODY_LIMIT
    runner(deploy_command(template_path, names.stack, region, overrides, True, bucket if too_big else None), say)
    if names.profile == "lite":
        say(f"next: make provision STACK={names.stack}")
    return 0


def teardown(session: Any, names: Names, delete_foundations: bool, project: str, say: Callable[[str], None], runner: Callable[[Sequence[str], Callable[[str], None]], None] = run_command) -> int:
    from . import residue

    region = ["--region", session.region_name] if session.region_name else []
    runner(["aws", "cloudformation", "delete-stack", "--stack-name", names.stack, *region], say)
    runner(["aws", "cloudformation", "wait", "stack-delete-complete", "--stack-name", names.stack, *region], say)
    if delete_foundations:
        say(f"deleting the foundations stack {names.foundations}: its resources are retained (DeletionPolicy Retain) and listed below as kept")
        runner(["aws", "cloudformation", "delete-stack", "--stack-name", names.foundations, *region], say)
        runner(["aws", "cloudformation", "wait", "stack-delete-complete", "--stack-name", names.foundations, *region], say)
    return residue.report(residue.Residue(session, project, names.profile, names.stack), False, say)


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from .config import ConfigError, load_config
    from .preflight import read_parameters_file

    parser = argparse.ArgumentParser(prog="python -m templates_py.deploy")
    parser.add_argument("action", choices=("deploy", "teardown"))
    parser.add_argument("--profile", choices=("lite", "full", "cloudfront"), required=True)
    parser.add_argument("--prefix", default="streamlines", help="stack names are <prefix>-foundations and <prefix>-<profile>")
    parser.add_argument("--region")
    parser.add_argument("--build", type=Path, default=ROOT / "build")
    parser.add_argument("--parameters", type=Path, help="default deploy/<profile>.parameters")
    parser.add_argument("--foundations", default="", help="teardown: 'delete' to delete the foundations stack too (needs --confirm)")
    parser.add_argument("--confirm", default="", help="teardown: the foundations stack's name, to confirm --foundations delete")
    args = parser.parse_args(argv)
    names = Names(args.prefix, args.profile)
    say = lambda line: print(line, flush=True)  # noqa: E731
    try:
        session = boto3.session.Session(region_name=args.region)
        if args.action == "deploy":
            path = args.parameters or parameters_path(args.profile)
            return deploy(session, names, args.build, read_parameters_file(path) if path.exists() else {}, say)
        if args.foundations and args.foundations != "delete":
            raise DeployError("FOUNDATIONS takes only the value 'delete'.")
        if args.foundations == "delete" and args.confirm != names.foundations:
            raise DeployError(f"deleting foundations needs CONFIRM={names.foundations} as well; nothing was deleted.")
        return teardown(session, names, args.foundations == "delete", load_config(None).project, say)
    except (DeployError, ConfigError, ValueError) as error:
        print(f"streamlines: error: {error}", file=sys.stderr)
        return 2 if isinstance(error, (ConfigError, ValueError)) else 1
    except (BotoCoreError, ClientError) as error:
        print(f"streamlines: error: {str(error).splitlines()[0]}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
