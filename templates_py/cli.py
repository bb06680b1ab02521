"""The `streamlines` command: render templates (and, later, operate the stacks)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from .config import ConfigError, load_config
from .render import DEPLOY_BODY_LIMIT, PROFILE_CHOICES, OutputError, render, write_all

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"streamlines: error: {message}", file=sys.stderr)
    return code


def cmd_templates(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
        bodies = render(args.profile, config)
        written = write_all(bodies, args.out)
    except (ConfigError, OutputError) as error:
        return fail(str(error))
    for path in written:
        size = path.stat().st_size
        note = "" if size <= DEPLOY_BODY_LIMIT else f" (over {DEPLOY_BODY_LIMIT}: deploy with --s3-bucket)"
        print(f"wrote {path} ({size} bytes){note}")
    return 0


def cmd_grafana_provision(args: argparse.Namespace) -> int:
    from grafana.provision import run

    from grafana.dashboards import FOLDER

    return run(args.stack, args.region, args.grafana_url, args.dry_run, args.wait, args.dashboards or FOLDER)


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    return key, value


def cmd_cost(args: argparse.Namespace) -> int:
    import json

    from . import cost

    try:
        config = load_config(args.config)
        templates = {name.removesuffix(".json"): json.loads(body) for name, body in render("all", config).items()}
        prices = cost.load_prices(args.region)
        assumptions = cost.assumptions_from({name: getattr(args, name, None) for name in cost.Assumptions.DESCRIPTIONS})
        if args.compare:
            print(cost.compare(templates, prices, assumptions))
            return 0
        values = dict(args.param)
        if args.network_mode:
            if args.profile != "full":
                return fail("--network-mode applies to the full profile only.")
            values["NetworkMode"] = args.network_mode
        unknown = sorted(set(values) - set(templates[args.profile].get("Parameters", {})))
        if unknown:
            return fail(f"the {args.profile} template has no parameter {unknown[0]}.")
        report = cost.profile_report(templates, args.profile, values, prices, assumptions)
        title = f"{args.profile} profile (with foundations)" + "".join(f", {k}={v}" for k, v in sorted(values.items()))
        print(cost.format_report(report, title, prices, assumptions))
    except (ConfigError, cost.CostError) as error:
        return fail(str(error))
    return 0


def _profile_template(profile: str, config_path: Path | None) -> dict:
    import json

    return json.loads(render("all", load_config(config_path))[f"{profile}.json"])


def _deploy_values(args: argparse.Namespace, template: dict) -> dict[str, str]:
    """Parameters file (default deploy/<profile>.parameters), then --param, then built Lambda keys."""
    from .deploy import ROOT, parameters_path
    from .preflight import local_code_keys, read_parameters_file

    path = args.parameters or parameters_path(args.profile)
    values: dict[str, str] = {}
    if path.exists():
        values.update(read_parameters_file(path))
    elif args.parameters:
        raise ConfigError(f"parameters file {path} does not exist.")
    for parameter, key in local_code_keys(ROOT, template).items():
        values.setdefault(parameter, key)
    values.update(dict(args.param))
    unknown = sorted(set(values) - set(template.get("Parameters", {})))
    if unknown:
        raise ConfigError(f"the {args.profile} template has no parameter {unknown[0]} (from {path} or --param).")
    return values


def cmd_preflight(args: argparse.Namespace) -> int:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from . import preflight

    try:
        template = _profile_template(args.profile, args.config)
        values = _deploy_values(args, template)
    except (ConfigError, ValueError) as error:
        return fail(str(error))
    foundations = args.foundations_stack or values.get("FoundationsStackName") or "streamlines-foundations"
    values.setdefault("FoundationsStackName", foundations)
    try:
        session = boto3.session.Session(region_name=args.region)
        return preflight.run(session, args.profile, args.stack, foundations, template, values, print)
    except (BotoCoreError, ClientError) as error:
        return fail(f"cannot check with AWS: {str(error).splitlines()[0]}", 1)


def cmd_residue(args: argparse.Namespace) -> int:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from . import residue

    try:
        project = load_config(args.config).project
        session = boto3.session.Session(region_name=args.region)
        return residue.report(residue.Residue(session, project, args.profile, args.stack), args.json, print)
    except ConfigError as error:
        return fail(str(error))
    except (BotoCoreError, ClientError) as error:
        return fail(f"cannot list resources: {str(error).splitlines()[0]}", 1)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="streamlines", description="Stream Lines infrastructure: templates and operations.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    templates = commands.add_parser("templates", help="render CloudFormation templates into a folder")
    templates.add_argument("--profile", choices=PROFILE_CHOICES, default="all", help="which profile's stacks to render (default: all)")
    templates.add_argument("--out", type=Path, default=Path("build"), help="output folder (default: build/)")
    templates.add_argument("--config", type=Path, default=None, help="optional TOML build configuration (see templates_py/config.py)")
    templates.set_defaults(handler=cmd_templates)

    grafana = commands.add_parser("grafana", help="configure the lite profile's Grafana")
    grafana_commands = grafana.add_subparsers(dest="grafana_command", required=True, parser_class=_Parser)
    provision = grafana_commands.add_parser("provision", help="InfluxDB datasource with the read token, folder and dashboards")
    provision.add_argument("--stack", required=True, help="name of the deployed lite stack")
    provision.add_argument("--region", help="AWS region of the stack (default: your AWS configuration)")
    provision.add_argument("--grafana-url", help="Grafana URL to use instead of the stack's GrafanaUrl output (e.g. an ECS Exec port forward)")
    provision.add_argument("--dry-run", action="store_true", help="show what would change; make no change")
    provision.add_argument("--wait", type=float, default=180.0, help="seconds to wait for Grafana's /api/health (default 180)")
    provision.add_argument("--dashboards", type=Path, default=None, help=argparse.SUPPRESS)
    provision.set_defaults(handler=cmd_grafana_provision)

    from .cost import Assumptions

    estimate = commands.add_parser("cost", help="monthly list-price estimate of a profile, line by line")
    estimate.add_argument("--profile", choices=("lite", "full"), default="lite")
    estimate.add_argument("--network-mode", choices=("endpoints", "nat", "public"), help="full only: the NetworkMode parameter")
    estimate.add_argument("--region", default="us-east-1", help="price table to use (default us-east-1)")
    estimate.add_argument("--param", action="append", type=_key_value, default=[], metavar="KEY=VALUE", help="a template parameter value, e.g. GrafanaExposure=none or ActiveHours=scheduled")
    estimate.add_argument("--compare", action="store_true", help="lite and every full network mode side by side")
    estimate.add_argument("--config", type=Path, default=None, help="optional TOML build configuration")
    for name, description in Assumptions.DESCRIPTIONS.items():
        estimate.add_argument("--" + name.replace("_", "-"), dest=name, type=float, default=None, help=f"assumption: {description}")
    estimate.set_defaults(handler=cmd_cost)

    check = commands.add_parser("preflight", help="check before a deploy what commonly makes one fail late")
    check.add_argument("--profile", choices=("lite", "full", "cloudfront"), required=True)
    check.add_argument("--stack", required=True, help="name the profile stack has (or will have)")
    check.add_argument("--foundations-stack", help="foundations stack name (default: FoundationsStackName from the parameters, else streamlines-foundations)")
    check.add_argument("--region", help="AWS region (default: your AWS configuration)")
    check.add_argument("--parameters", type=Path, help="KEY=VALUE parameters file (default deploy/<profile>.parameters)")
    check.add_argument("--param", action="append", type=_key_value, default=[], metavar="KEY=VALUE", help="a parameter value over the file's")
    check.add_argument("--config", type=Path, default=None, help="optional TOML build configuration")
    check.set_defaults(handler=cmd_preflight)

    leftovers = commands.add_parser("residue", help="after a teardown: what of the stack is still there")
    leftovers.add_argument("--profile", choices=("lite", "full", "cloudfront"), required=True)
    leftovers.add_argument("--stack", required=True, help="name of the (deleted) profile stack")
    leftovers.add_argument("--region", help="AWS region (default: your AWS configuration)")
    leftovers.add_argument("--json", action="store_true", help="machine-readable output")
    leftovers.add_argument("--config", type=Path, default=None, help="optional TOML build configuration (for the project tag)")
    leftovers.set_defaults(handler=cmd_residue)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
