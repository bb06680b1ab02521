"""The `streamlines` command: every operation of the project, one entry point.

    streamlines templates                     render (and, through make, lint) the templates
    streamlines lambdas build|upload          deterministic Lambda zips, content-addressed upload
    streamlines deploy|teardown               the aws cloudformation commands in order, with checks
    streamlines mirror-images                 copy pinned upstream images into the foundations ECR
    streamlines preflight|residue             before a deploy / after a teardown
    streamlines cost                          monthly list-price estimate
    streamlines grafana provision             lite's Grafana: datasource and dashboards

Every command that reads the build configuration or touches AWS takes the same
`--config`, `--region` and (where stacks are named) `--prefix`, through one
`Context` (docs/architecture.md). Errors a user can cause are one line on stderr
and a non-zero exit.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any, Sequence

from templates_py.config import ConfigError
from templates_py.evaluate import parameter_refusals
from templates_py.render import DEPLOY_BODY_LIMIT, PROFILE_CHOICES, OutputError, render, write_all

from . import inputs
from .context import DEFAULT_PREFIX, Context

EXIT_USAGE = 2
STACK_PROFILES = ("lite", "lite-pipeline", "full", "cloudfront")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"streamlines: error: {message}", file=sys.stderr)
    return code


def context(args: argparse.Namespace) -> Context:
    return Context(
        region=getattr(args, "region", None),
        config_path=getattr(args, "config", None),
        prefix=getattr(args, "prefix", DEFAULT_PREFIX),
    )


def _aws_error(error: Exception) -> str:
    return str(error).splitlines()[0]


# --- templates ---------------------------------------------------------------------------


def cmd_templates(args: argparse.Namespace) -> int:
    try:
        bodies = render(args.profile, context(args).config, lint_notes=args.lint_notes)
        written = write_all(bodies, args.out)
    except (ConfigError, OutputError) as error:
        return fail(str(error))
    for path in written:
        size = path.stat().st_size
        note = "" if size <= DEPLOY_BODY_LIMIT else f" (over {DEPLOY_BODY_LIMIT}: deploy with --s3-bucket)"
        print(f"wrote {path} ({size} bytes){note}")
    return 0


def cmd_sam(args: argparse.Namespace) -> int:
    from . import sam

    ctx = context(args)
    try:
        written = sam.write(ctx, args.out, args.app_bucket)
    except (ConfigError, OutputError, ValueError) as error:
        return fail(str(error))
    except OSError as error:
        return fail(f"cannot read {error.filename}: {error.strerror}.")
    for path in written:
        print(f"wrote {path}")
    return 0


def cmd_diagram(args: argparse.Namespace) -> int:
    from . import diagram

    if args.out.exists() and not args.out.is_dir():
        return fail(f"--out {args.out} is a file, not a folder.")
    try:
        written = diagram.write(args.out)
    except OSError as error:
        return fail(f"cannot write the diagrams into {args.out}: {error.strerror}.", 1)
    for path in written:
        print(f"wrote {path}")
    return 0


def _templates(ctx: Context) -> dict[str, dict]:
    return {name.removesuffix(".json"): json.loads(body) for name, body in render("all", ctx.config).items()}


# --- lambdas -----------------------------------------------------------------------------


def cmd_lambdas_build(args: argparse.Namespace) -> int:
    from . import packaging

    ctx = context(args)
    try:
        specs = packaging.lambda_specs(ctx.lambdas)
        chosen = args.name or sorted(specs)
        unknown = sorted(set(chosen) - set(specs))
        if unknown:
            return fail(
                f"no Lambda {unknown[0]} in {ctx.lambdas / packaging.DECLARATIONS}; known: {', '.join(sorted(specs))}."
            )
        for name in chosen:
            target = packaging.build_spec(specs[name], packaging.built_zip(ctx.root, name).parent)
            print(
                f"{target.relative_to(ctx.root) if target.is_relative_to(ctx.root) else target} "
                f"{packaging.content_key(target)}"
            )
    except packaging.PackageError as error:
        return fail(str(error))
    return 0


def cmd_lambdas_upload(args: argparse.Namespace) -> int:
    """Upload every built zip; prints `<folder>=<key>` lines (the code-key parameter values)."""
    from . import packaging

    ctx = context(args)
    foundations = args.foundations_stack or ctx.names("foundations").foundations
    try:
        for name in sorted(packaging.lambda_specs(ctx.lambdas)):
            key, uploaded = packaging.upload(packaging.built_zip(ctx.root, name), foundations, ctx.region)
            print(f"{'uploaded' if uploaded else 'already there'}: {name}", file=sys.stderr)
            print(f"{name}={key}")
    except packaging.PackageError as error:
        return fail(str(error), 1)
    return 0


# --- deploy, teardown, preflight, residue -----------------------------------------------------


def _deploy_values(
    ctx: Context,
    profile: str,
    parameters: Path | None,
    params: list[tuple[str, str]],
    template: dict,
    with_local_keys: bool,
) -> dict[str, str]:
    """Parameters file (default deploy/<profile>.parameters), then --param, then built Lambda keys."""
    from .preflight import local_code_keys, read_parameters_file

    path = parameters or ctx.parameters_path(profile)
    values: dict[str, str] = {}
    if path.exists():
        values.update(read_parameters_file(path))
    elif parameters:
        raise ConfigError(f"parameters file {path} does not exist.")
    if with_local_keys:
        for parameter, key in local_code_keys(ctx.root, profile).items():
            values.setdefault(parameter, key)
    values.update(dict(params))
    unknown = sorted(set(values) - set(template.get("Parameters", {})))
    if unknown:
        raise ConfigError(f"the {profile} template has no parameter {unknown[0]} (from {path} or --param).")
    refused(profile, parameter_refusals(template, values), f"{path} or --param")
    return values


def refused(profile: str, refusals: list[str], where: str) -> None:
    """Refuse what the template itself would refuse, before anything reaches AWS."""
    if len(refusals) == 1:
        raise ConfigError(f"{refusals[0].rstrip('.')} (the {profile} template refuses it; from {where}).")
    if refusals:
        names = ", ".join(refusal.split("=")[0].split(" ")[0] for refusal in refusals)
        raise ConfigError(
            f"the {profile} template refuses {len(refusals)} values (from {where}): {names}; the first: "
            f"{refusals[0].rstrip('.')}."
        )


def cmd_deploy(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from . import deploy

    ctx = context(args)
    say = lambda line: print(line, flush=True)  # noqa: E731
    try:
        template = (
            json.loads((args.build / f"{args.profile}.json").read_text())
            if (args.build / f"{args.profile}.json").exists()
            else _templates(ctx)[args.profile]
        )
        values = _deploy_values(ctx, args.profile, args.parameters, args.param, template, with_local_keys=False)
        return deploy.deploy(
            ctx.session(),
            ctx.names(args.profile),
            args.build,
            values,
            say,
            root=ctx.root,
            grafana_image=ctx.config.grafana_image,
        )
    except (ConfigError, ValueError) as error:
        return fail(str(error))
    except deploy.DeployError as error:
        return fail(str(error), 1)
    except (BotoCoreError, ClientError) as error:
        return fail(_aws_error(error), 1)


def cmd_teardown(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from . import deploy

    ctx = context(args)
    names = ctx.names(args.profile)
    say = lambda line: print(line, flush=True)  # noqa: E731
    if args.foundations and args.foundations != "delete":
        return fail("FOUNDATIONS (--foundations) takes only the value 'delete'.")
    if args.foundations == "delete" and args.confirm != names.foundations:
        return fail(
            f"deleting foundations needs CONFIRM={names.foundations} (--confirm) as well; nothing was deleted.", 1
        )
    try:
        project = ctx.project
        return deploy.teardown(ctx.session(), names, args.foundations == "delete", project, say)
    except ConfigError as error:
        return fail(str(error))
    except deploy.DeployError as error:
        return fail(str(error), 1)
    except (BotoCoreError, ClientError) as error:
        return fail(_aws_error(error), 1)


def cmd_preflight(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from . import preflight

    ctx = context(args)
    try:
        template = _templates(ctx)[args.profile]
        values = _deploy_values(ctx, args.profile, args.parameters, args.param, template, with_local_keys=not args.sam)
    except (ConfigError, ValueError) as error:
        return fail(str(error))
    foundations = args.foundations_stack or values.get("FoundationsStackName") or ctx.names(args.profile).foundations
    values.setdefault("FoundationsStackName", foundations)
    try:
        return preflight.run(ctx.session(), args.profile, args.stack, foundations, template, values, print, args.sam)
    except (BotoCoreError, ClientError) as error:
        return fail(f"cannot check with AWS: {_aws_error(error)}", 1)


def cmd_residue(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from . import residue

    ctx = context(args)
    try:
        project = ctx.project
        return residue.report(residue.Residue(ctx.session(), project, args.profile, args.stack), args.json, print)
    except ConfigError as error:
        return fail(str(error))
    except (BotoCoreError, ClientError) as error:
        return fail(f"cannot list resources: {_aws_error(error)}", 1)


def cmd_mirror_images(args: argparse.Namespace) -> int:
    """Copy the pinned upstream images into the foundations ECR: what `--profile`'s
    stack needs with its parameters, or (no profile) the configuration's InfluxDB
    and Grafana images."""
    from botocore.exceptions import BotoCoreError, ClientError

    from templates_py.config import mirror_tag
    from templates_py.evaluate import parameter_values

    from . import images

    ctx = context(args)
    say = lambda line: print(line, flush=True)  # noqa: E731
    if not args.profile and (args.parameters or args.param):
        return fail(
            "--parameters and --param need --profile (lite or full): without it the configuration's images "
            "are copied and no parameter is read."
        )
    try:
        config = ctx.config
        if args.profile:
            template = _templates(ctx)[args.profile]
            values = parameter_values(
                template,
                _deploy_values(ctx, args.profile, args.parameters, args.param, template, with_local_keys=False),
            )
            wanted = images.mirrors(template, values, images.mirror_sources(template, values, config.grafana_image))
        else:
            wanted = [
                images.Mirror(repository, mirror_tag(source), images.PLATFORMS[size.architecture], source)
                for repository, source, size in (
                    ("influxdb", config.influxdb_image, config.influxdb),
                    ("grafana", config.grafana_image, config.grafana),
                )
            ]
        pushed = images.mirror(
            ctx.session(), args.foundations_stack or ctx.names("foundations").foundations, wanted, say
        )
    except (ConfigError, ValueError) as error:
        return fail(str(error))
    except images.ImageError as error:
        return fail(str(error), 1)
    except (BotoCoreError, ClientError) as error:
        return fail(_aws_error(error), 1)
    say(f"{len(pushed)} image{'s' if len(pushed) != 1 else ''} copied, {len(wanted) - len(pushed)} already there")
    return 0


# --- cost --------------------------------------------------------------------------------------


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    return key, value


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of minutes from 1")
    return int(text)


def _symbol(text: str) -> str:
    # What the connection handler accepts (lambdas/websocket_connection_handler/subscriptions.py).
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9./:_-]{0,31}", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a symbol (1-32 letters, digits and . / : _ -)")
    return text


# A placeholder client address for pricing only: the address does not change the price.
PRICING_CIDR = "198.18.0.1/32"


def _as_deployed(profile: str, values: dict[str, str]) -> tuple[dict[str, str], str]:
    """lite's Grafana ALB exists only with an AllowedCidr, which `make deploy`
    requires when it is public (the default): price it as deployed, and say so."""
    exposure = values.get("GrafanaExposure", "public")
    if profile in ("lite", "lite-pipeline") and exposure == "public" and not values.get("AllowedCidr"):
        return {**values, "AllowedCidr": PRICING_CIDR}, " (GrafanaExposure=public: with its ALB, as deployed)"
    return values, ""


def cmd_cost(args: argparse.Namespace) -> int:
    from . import cost

    try:
        templates = _templates(Context(config_path=args.config))
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
        known = set(templates[args.profile].get("Parameters", {})) | (
            set(templates["lite"]["Parameters"]) if args.profile == "lite-pipeline" else set()
        )
        unknown = sorted(set(values) - known)
        if unknown:
            return fail(f"the {args.profile} template has no parameter {unknown[0]}.")
        for name in ("lite", args.profile) if args.profile == "lite-pipeline" else (args.profile,):
            mine = {k: v for k, v in values.items() if k in templates[name]["Parameters"]}
            refused(args.profile, parameter_refusals(templates[name], mine), "--param")
        priced, note = _as_deployed(args.profile, values)
        report = cost.profile_report(templates, args.profile, priced, prices, assumptions)
        title = f"{args.profile} profile (with foundations)" + "".join(f", {k}={v}" for k, v in sorted(values.items()))
        print(cost.format_report(report, title + note, prices, assumptions))
    except (ConfigError, cost.CostError) as error:
        return fail(str(error))
    return 0


# --- grafana -----------------------------------------------------------------------------------


def cmd_grafana_provision(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError

    from grafana.dashboards import FOLDER
    from grafana.provision import ProvisionError, run

    from .grafana_target import grafana_target

    ctx = context(args)

    def read_target():
        try:
            return grafana_target(ctx.session(), args.stack, args.grafana_url)
        except BotoCoreError as error:
            raise ProvisionError(f"cannot reach AWS: {_aws_error(error)}") from None

    return run(
        read_target, args.dry_run, args.wait, args.dashboards or FOLDER, allow_insecure_http=args.allow_insecure_http
    )


# --- smoke -------------------------------------------------------------------------------------


def cmd_smoke(args: argparse.Namespace) -> int:
    from . import smoke

    ctx = context(args)
    options = smoke.Options(
        symbol=args.symbol,
        recent_minutes=args.recent_minutes,
        stream_minutes=args.stream_minutes,
        grafana_url=args.grafana_url,
        allow_insecure_http=args.allow_insecure_http,
    )
    checks = smoke.run(ctx.session(), args.stack, options)
    print(smoke.report(checks, args.json))
    return 1 if any(check.ok is False for check in checks) else 0


# --- the parser ----------------------------------------------------------------------------------


def _common(config: bool = True, region: bool = True, prefix: bool = False) -> argparse.ArgumentParser:
    """The options every command reads the same way (through Context)."""
    common = argparse.ArgumentParser(add_help=False)
    if config:
        common.add_argument(
            "--config",
            type=inputs.existing_file,
            default=None,
            help="optional TOML build configuration (templates_py/config.py); sets the project tag too",
        )
    if region:
        common.add_argument("--region", type=inputs.region, help="AWS region (default: your AWS configuration)")
    if prefix:
        common.add_argument(
            "--prefix",
            type=inputs.prefix,
            default=DEFAULT_PREFIX,
            help=f"stack names are <prefix>-foundations and <prefix>-<profile> (default {DEFAULT_PREFIX})",
        )
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="streamlines", description="Stream Lines infrastructure: templates and operations.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _rendering_commands(commands)
    _deploying_commands(commands)
    _checking_commands(commands)
    _grafana_commands(commands)
    return parser


def _rendering_commands(commands: Any) -> None:
    """templates, sam, diagram, lambdas: what is built here, before AWS."""
    templates = commands.add_parser(
        "templates", parents=[_common(region=False)], help="render CloudFormation templates into a folder"
    )
    templates.add_argument(
        "--profile", choices=PROFILE_CHOICES, default="all", help="which profile's stacks to render (default: all)"
    )
    templates.add_argument("--out", type=Path, default=Path("build"), help="output folder (default: build/)")
    templates.add_argument(
        "--lint-notes",
        action="store_true",
        help="keep the checkov notes (Metadata.checkov) that deployable templates leave out",
    )
    templates.set_defaults(handler=cmd_templates)

    sam_app = commands.add_parser(
        "sam",
        parents=[_common(prefix=True)],
        help="render the stacks with Lambdas as a SAM application, and samconfig.toml, into <out>/sam/",
    )
    sam_app.add_argument("--out", type=Path, default=Path("build"), help="output folder (default: build/)")
    sam_app.add_argument(
        "--app-bucket",
        type=inputs.bucket_name,
        help="the foundations app bucket (its AppBucketName export) that sam deploy uploads to",
    )
    sam_app.set_defaults(handler=cmd_sam)

    drawing = commands.add_parser(
        "diagram", help="draw each profile's architecture (services, streams, flows, subnets) as SVG"
    )
    drawing.add_argument("--out", type=Path, default=Path("docs"), help="output folder (default: docs/)")
    drawing.set_defaults(handler=cmd_diagram)

    lambdas = commands.add_parser("lambdas", help="build or upload the Lambda zips declared in lambdas/functions.toml")
    lambda_commands = lambdas.add_subparsers(dest="lambdas_command", required=True, parser_class=_Parser)
    build = lambda_commands.add_parser(
        "build", help="build lambdas/<name>/dist/<name>.zip (deterministic: same sources, same bytes)"
    )
    build.add_argument("name", nargs="*", help="Lambda folder names (default: all)")
    build.set_defaults(handler=cmd_lambdas_build)
    upload = lambda_commands.add_parser(
        "upload",
        parents=[_common(config=False, prefix=True)],
        help="upload the built zips to the foundations bucket; prints name=key lines",
    )
    upload.add_argument(
        "--foundations-stack", type=inputs.stack_name, help="foundations stack name (default <prefix>-foundations)"
    )
    upload.set_defaults(handler=cmd_lambdas_upload)


def _deploying_commands(commands: Any) -> None:
    """deploy, teardown, mirror-images, preflight, residue: what changes or reads the account."""
    for name, handler, text in (
        ("deploy", cmd_deploy, "foundations if missing, Lambda upload, preflight, then the profile stack"),
        ("teardown", cmd_teardown, "delete a profile stack, then list what is left"),
    ):
        command = commands.add_parser(name, parents=[_common(prefix=True)], help=text)
        command.add_argument("--profile", choices=STACK_PROFILES, required=True)
        if name == "deploy":
            command.add_argument(
                "--build", type=Path, default=Path("build"), help="folder of the rendered templates (default build/)"
            )
            command.add_argument(
                "--parameters",
                type=inputs.existing_file,
                help="KEY=VALUE parameters file (default deploy/<profile>.parameters)",
            )
            command.add_argument(
                "--param",
                action="append",
                type=_key_value,
                default=[],
                metavar="KEY=VALUE",
                help="a parameter value over the file's",
            )
        else:
            command.add_argument(
                "--foundations", default="", help="'delete' to delete the foundations stack too (needs --confirm)"
            )
            command.add_argument(
                "--confirm", default="", help="the foundations stack's name, to confirm --foundations delete"
            )
        command.set_defaults(handler=handler)

    mirror = commands.add_parser(
        "mirror-images",
        parents=[_common(prefix=True)],
        help="copy the pinned upstream images (InfluxDB, Grafana) into the foundations ECR",
    )
    mirror.add_argument(
        "--profile",
        choices=("lite", "full"),
        help="only what this profile's stack needs with its parameters (default: the configuration's InfluxDB "
        "and Grafana images)",
    )
    mirror.add_argument(
        "--foundations-stack", type=inputs.stack_name, help="foundations stack name (default <prefix>-foundations)"
    )
    mirror.add_argument(
        "--parameters",
        type=inputs.existing_file,
        help="with --profile: KEY=VALUE parameters file (default deploy/<profile>.parameters)",
    )
    mirror.add_argument(
        "--param",
        action="append",
        type=_key_value,
        default=[],
        metavar="KEY=VALUE",
        help="with --profile: a parameter value over the file's",
    )
    mirror.set_defaults(handler=cmd_mirror_images)

    check = commands.add_parser(
        "preflight", parents=[_common(prefix=True)], help="check before a deploy what commonly makes one fail late"
    )
    check.add_argument("--profile", choices=STACK_PROFILES, required=True)
    check.add_argument(
        "--stack", type=inputs.stack_name, required=True, help="name the profile stack has (or will have)"
    )
    check.add_argument(
        "--foundations-stack",
        type=inputs.stack_name,
        help="foundations stack name (default: FoundationsStackName from the parameters, else <prefix>-foundations)",
    )
    check.add_argument(
        "--parameters",
        type=inputs.existing_file,
        help="KEY=VALUE parameters file (default deploy/<profile>.parameters)",
    )
    check.add_argument(
        "--param",
        action="append",
        type=_key_value,
        default=[],
        metavar="KEY=VALUE",
        help="a parameter value over the file's",
    )
    check.add_argument(
        "--sam",
        action="store_true",
        help="the stack is deployed with sam deploy (streamlines sam): it uploads the code, so no code keys",
    )
    check.set_defaults(handler=cmd_preflight)

    leftovers = commands.add_parser(
        "residue", parents=[_common()], help="after a teardown: what of the stack is still there"
    )
    leftovers.add_argument("--profile", choices=STACK_PROFILES, required=True)
    leftovers.add_argument("--stack", type=inputs.stack_name, required=True, help="name of the (deleted) profile stack")
    leftovers.add_argument("--json", action="store_true", help="machine-readable output")
    leftovers.set_defaults(handler=cmd_residue)


def _checking_commands(commands: Any) -> None:
    """cost and smoke: what a deployment costs and whether it works."""
    from .cost import Assumptions

    estimate = commands.add_parser(
        "cost", parents=[_common(region=False)], help="monthly list-price estimate of a profile, line by line"
    )
    estimate.add_argument(
        "--profile",
        choices=("lite", "lite-pipeline", "full"),
        default="lite",
        help="lite-pipeline: lite with its data-pipeline add-on",
    )
    estimate.add_argument(
        "--network-mode", choices=("endpoints", "nat", "public"), help="full only: the NetworkMode parameter"
    )
    estimate.add_argument(
        "--region", type=inputs.region, default="us-east-1", help="price table to use (default us-east-1)"
    )
    estimate.add_argument(
        "--param",
        action="append",
        type=_key_value,
        default=[],
        metavar="KEY=VALUE",
        help="a template parameter value, e.g. GrafanaExposure=none or ActiveHours=scheduled",
    )
    estimate.add_argument("--compare", action="store_true", help="lite and every full network mode side by side")
    for name, description in Assumptions.DESCRIPTIONS.items():
        estimate.add_argument(
            "--" + name.replace("_", "-"), dest=name, type=float, default=None, help=f"assumption: {description}"
        )
    estimate.set_defaults(handler=cmd_cost)

    smoke = commands.add_parser(
        "smoke",
        parents=[_common(config=False)],
        help="after a deploy: check end to end that a lite, lite-pipeline or full stack works",
    )
    smoke.add_argument("--stack", type=inputs.stack_name, required=True, help="name of the deployed stack")
    smoke.add_argument("--json", action="store_true", help="the checks as a JSON list instead of one line each")
    smoke.add_argument(
        "--symbol",
        default="AAPL",
        type=_symbol,
        help="full: the symbol the WebSocket check subscribes to (default AAPL)",
    )
    smoke.add_argument(
        "--recent-minutes",
        type=_positive_int,
        default=15,
        help="InfluxDB must hold points newer than this (default 15)",
    )
    smoke.add_argument(
        "--stream-minutes",
        type=_positive_int,
        default=10,
        help="the upstream stream must have received records within this (default 10)",
    )
    smoke.add_argument(
        "--grafana-url",
        type=inputs.http_url,
        help="lite: Grafana URL to check instead of the stack's GrafanaUrl output (e.g. an ECS Exec port forward)",
    )
    smoke.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help="lite: send the Grafana admin password over plain HTTP to a host other than this machine",
    )
    smoke.set_defaults(handler=cmd_smoke)


def _grafana_commands(commands: Any) -> None:
    """grafana provision: the lite profile's Grafana."""
    grafana = commands.add_parser("grafana", help="configure the lite profile's Grafana")
    grafana_commands = grafana.add_subparsers(dest="grafana_command", required=True, parser_class=_Parser)
    provision = grafana_commands.add_parser(
        "provision",
        parents=[_common(config=False)],
        help="InfluxDB datasource with the read token, folder and dashboards",
    )
    provision.add_argument("--stack", type=inputs.stack_name, required=True, help="name of the deployed lite stack")
    provision.add_argument(
        "--grafana-url",
        type=inputs.http_url,
        help="Grafana URL to use instead of the stack's GrafanaUrl output (e.g. an ECS Exec port forward)",
    )
    provision.add_argument("--dry-run", action="store_true", help="show what would change; make no change")
    provision.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help="send the admin password over plain HTTP to a host other than this machine (refused otherwise)",
    )
    provision.add_argument(
        "--wait", type=inputs.seconds, default=180.0, help="seconds to wait for Grafana's /api/health (default 180)"
    )
    provision.add_argument("--dashboards", type=Path, default=None, help=argparse.SUPPRESS)
    provision.set_defaults(handler=cmd_grafana_provision)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. What no command catches itself still ends in one sentence:
    AWS unreachable or unconfigured (exit 1), a reader that closed the pipe (the
    output it wanted was written; exit 0 as `head` expects), an interrupt (130)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from .aws import StackError

    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (BotoCoreError, ClientError) as error:
        return fail(f"AWS: {_aws_error(error)}", 1)
    except StackError as error:
        return fail(str(error), 1)
    except BrokenPipeError:
        # https://docs.python.org/3/library/signal.html#note-on-sigpipe
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return fail("interrupted; what was running may be half done (check its stack).", 130)


if __name__ == "__main__":
    sys.exit(main())
