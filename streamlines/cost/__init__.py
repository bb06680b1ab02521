"""`streamlines cost`: the monthly list-price cost of a rendered profile, line by line.

Prices come from a dated table in streamlines/cost/prices/<region>.toml (with its
sources); quantities from the rendered templates evaluated for the given
parameter values; the usage the templates cannot know (GB stored, GB logged,
LCUs, NAT traffic) from assumptions that are printed with every report and can
be overridden. Every resource type the templates use is either priced here or
listed as free or usage-only: a type the report does not know is an error.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Callable

from templates_py.evaluate import exists, parameter_values, resolve

PRICES = Path(__file__).parent / "prices"
CENT = Decimal("0.01")
WEEK_HOURS = Decimal(168)

# Types that cost nothing by themselves.
FREE = {
    "AWS::ApiGatewayV2::ApiMapping",
    "AWS::ApiGatewayV2::DomainName",
    "AWS::ApiGatewayV2::Integration",
    "AWS::ApiGatewayV2::Route",
    "AWS::ApiGatewayV2::Stage",
    "AWS::CloudFormation::WaitConditionHandle",
    "AWS::CloudFront::OriginAccessControl",
    "AWS::EC2::InternetGateway",
    "AWS::EC2::Route",
    "AWS::EC2::RouteTable",
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::SecurityGroupIngress",
    "AWS::EC2::Subnet",
    "AWS::EC2::SubnetRouteTableAssociation",
    "AWS::EC2::VPC",
    "AWS::EC2::VPCGatewayAttachment",
    "AWS::ECS::Cluster",
    "AWS::ECS::ClusterCapacityProviderAssociations",
    "AWS::ECS::TaskDefinition",
    "AWS::EFS::AccessPoint",
    "AWS::EFS::MountTarget",
    "AWS::ElasticLoadBalancingV2::Listener",
    "AWS::ElasticLoadBalancingV2::ListenerRule",
    "AWS::ElasticLoadBalancingV2::TargetGroup",
    "AWS::IAM::Role",
    "AWS::IAM::RolePolicy",
    "AWS::Lambda::EventSourceMapping",
    "AWS::Lambda::Permission",
    "AWS::Route53::RecordSet",
    "AWS::S3::BucketPolicy",
}
# Types billed by use only (requests, invocations, GB transferred, messages); at
# this platform's volume they are cents, and the report names them instead of guessing.
USAGE_ONLY = {
    "AWS::ApiGatewayV2::Api",
    "AWS::CloudFront::Distribution",
    "AWS::DynamoDB::Table",
    "AWS::Lambda::Function",
    "AWS::S3::Bucket",
    "AWS::SNS::Topic",
    "AWS::SQS::Queue",
    "AWS::Scheduler::Schedule",
    "Custom::InfluxTokens",
}


class CostError(ValueError):
    """One sentence for the user."""


@dataclass(frozen=True)
class Assumptions:
    """What the templates cannot say; each is printed and can be overridden."""

    hours: float = 730.0
    alb_lcus: float = 1.0
    nat_gb: float = 10.0
    endpoint_gb: float = 1.0
    efs_gb: float = 5.0
    ecr_gb_per_repository: float = 1.0
    logs_gb_per_group: float = 0.5
    kinesis_put_millions: float = 2.6
    kinesis_on_demand_gb: float = 1.0
    active_hours: float | None = None
    spot_discount: float | None = None

    DESCRIPTIONS = {
        "hours": "hours in a month",
        "alb_lcus": "average LCUs per ALB (baseline)",
        "nat_gb": "GB a month through the NAT gateway",
        "endpoint_gb": "GB a month through each interface endpoint",
        "efs_gb": "GB stored on EFS",
        "ecr_gb_per_repository": "GB of images per ECR repository",
        "logs_gb_per_group": "GB a month ingested (and kept) per log group",
        "kinesis_put_millions": "million PUT payload units a month per provisioned stream",
        "kinesis_on_demand_gb": "GB a month in and out per on-demand stream",
        "active_hours": "hours a month the services run under active hours (from the schedule when not given)",
        "spot_discount": "Fargate Spot's discount off the Fargate price (from the price table when not given)",
    }


@dataclass(frozen=True)
class Line:
    component: str
    detail: str
    monthly: Decimal


@dataclass
class Report:
    lines: list[Line] = field(default_factory=list)
    usage_only: list[str] = field(default_factory=list)
    active_hours: Decimal | None = None
    # The Spot discount used, when any task runs on Fargate Spot.
    spot_discount: Decimal | None = None

    @property
    def total(self) -> Decimal:
        return sum((line.monthly for line in self.lines), Decimal(0))


def load_prices(region: str) -> dict:
    path = PRICES / f"{region}.toml"
    if not path.exists():
        available = ", ".join(sorted(p.stem for p in PRICES.glob("*.toml")))
        raise CostError(
            f"no price table for region {region}; the repository has {available} (add "
            f"streamlines/cost/prices/{region}.toml)."
        )
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _d(value: Any) -> Decimal:
    return Decimal(str(value))


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def weekly_hours(start: str, stop: str) -> Decimal:
    """Hours a week between two `cron(M H ? * DAYS *)` expressions with the same days."""

    def parse(expression: str) -> tuple[int, int, str]:
        match = re.fullmatch(r"cron\((\d{1,2}) (\d{1,2}) \? \* ([A-Z,\-*]+) \*\)", expression)
        if not match:
            raise CostError(
                f"cannot read {expression!r} as a daily schedule; pass --active-hours with the hours a month instead."
            )
        return int(match.group(1)), int(match.group(2)), match.group(3)

    start_minute, start_hour, days = parse(start)
    stop_minute, stop_hour, stop_days = parse(stop)
    if days != stop_days:
        raise CostError("ActiveHoursStart and ActiveHoursStop run on different days; pass --active-hours instead.")
    day_count = {"*": 7, "MON-FRI": 5, "SAT,SUN": 2, "SAT-SUN": 2}.get(
        days, len(days.split(",")) if "-" not in days else None
    )
    if day_count is None:
        raise CostError(f"cannot count the days in {days!r}; pass --active-hours instead.")
    daily = Decimal(stop_hour * 60 + stop_minute - start_hour * 60 - start_minute) / 60
    if daily <= 0:
        raise CostError(
            "ActiveHoursStop must come after ActiveHoursStart on the same day; pass --active-hours otherwise."
        )
    return daily * day_count


def estimate(
    template: dict, values: dict[str, str], prices: dict, assumptions: Assumptions, report: Report | None = None
) -> Report:
    report = report or Report()
    values = parameter_values(template, values)
    hours = _d(assumptions.hours)
    task_hours = hours
    if values.get("ActiveHours") == "scheduled":
        if assumptions.active_hours is not None:
            task_hours = _d(assumptions.active_hours)
        else:
            task_hours = weekly_hours(values["ActiveHoursStart"], values["ActiveHoursStop"]) * hours / WEEK_HOURS
        report.active_hours = task_hours
    context = _Context(template, values, prices, assumptions, hours, task_hours, report)
    for logical_id, resource in sorted(template["Resources"].items()):
        if not exists(logical_id, template, values):
            continue
        kind = resource["Type"]
        if kind in PRICERS:
            report.lines.extend(
                PRICERS[kind](context, logical_id, resolve(resource.get("Properties", {}), template, values))
            )
        elif kind in USAGE_ONLY:
            report.usage_only.append(f"{logical_id} ({kind})")
        elif kind not in FREE:
            raise CostError(
                f"the cost report does not know {kind} ({logical_id}); price it or list it as free or usage-only "
                "in streamlines/cost/__init__.py."
            )
    return report


@dataclass
class _Context:
    template: dict
    values: dict
    prices: dict
    assumptions: Assumptions
    hours: Decimal
    task_hours: Decimal
    report: Report

    def price(self, group: str, key: str) -> Decimal:
        return _d(self.prices[group][key])

    def spot_discount(self) -> Decimal:
        chosen = self.assumptions.spot_discount
        discount = _d(chosen) if chosen is not None else self.price("fargate_spot", "discount")
        self.report.spot_discount = discount
        return discount


def _service(c: _Context, logical_id: str, properties: dict) -> list[Line]:
    task = c.template["Resources"][properties["TaskDefinition"]["Ref"]]
    definition = resolve(task["Properties"], c.template, c.values)
    architecture = definition["RuntimePlatform"]["CpuArchitecture"].lower()
    vcpu = _d(definition["Cpu"]) / 1024
    gb = _d(definition["Memory"]) / 1024
    count = _d(properties.get("DesiredCount", 1))
    name = logical_id.removesuffix("Service")
    cost = (
        (vcpu * c.price("fargate", f"{architecture}_vcpu_hour") + gb * c.price("fargate", f"{architecture}_gb_hour"))
        * count
        * c.task_hours
    )
    strategy = properties.get("CapacityProviderStrategy") or [{"CapacityProvider": "FARGATE"}]
    spot = strategy[0]["CapacityProvider"] == "FARGATE_SPOT"
    if spot:
        cost = cost * (1 - c.spot_discount())
    capacity = "Fargate Spot" if spot else "Fargate"
    lines = [
        Line(
            f"{capacity} {name}",
            f"{architecture}, {vcpu.normalize()} vCPU, {gb.normalize()} GB x {count} task x "
            f"{c.task_hours.quantize(Decimal('0.1'))} h",
            _money(cost),
        )
    ]
    network = properties["NetworkConfiguration"]["AwsvpcConfiguration"]
    if network.get("AssignPublicIp") == "ENABLED":
        lines.append(
            Line(
                f"Public IPv4 {name} task",
                f"{count} address x {c.task_hours.quantize(Decimal('0.1'))} h",
                _money(count * c.task_hours * c.price("public_ipv4", "hour")),
            )
        )
    return lines


def _load_balancer(c: _Context, logical_id: str, properties: dict) -> list[Line]:
    name = logical_id.removesuffix("LoadBalancer")
    lcus = _d(c.assumptions.alb_lcus)
    lines = [
        Line(f"ALB {name}", f"{c.hours} h", _money(c.hours * c.price("alb", "hour"))),
        Line(f"ALB {name} LCUs", f"{lcus} LCU x {c.hours} h", _money(lcus * c.hours * c.price("alb", "lcu_hour"))),
    ]
    if properties.get("Scheme", "internet-facing") == "internet-facing":
        addresses = len(properties["Subnets"])
        lines.append(
            Line(
                f"Public IPv4 ALB {name}",
                f"{addresses} addresses x {c.hours} h",
                _money(addresses * c.hours * c.price("public_ipv4", "hour")),
            )
        )
    return lines


def _nat(c: _Context, logical_id: str, properties: dict) -> list[Line]:
    gb = _d(c.assumptions.nat_gb)
    return [
        Line("NAT gateway", f"{c.hours} h", _money(c.hours * c.price("nat_gateway", "hour"))),
        Line("NAT gateway data", f"{gb} GB", _money(gb * c.price("nat_gateway", "gb"))),
    ]


def _address(c: _Context, logical_id: str, properties: dict) -> list[Line]:
    return [
        Line(f"Public IPv4 {logical_id}", f"1 address x {c.hours} h", _money(c.hours * c.price("public_ipv4", "hour")))
    ]


def _endpoint(c: _Context, logical_id: str, properties: dict) -> list[Line]:
    if properties.get("VpcEndpointType") != "Interface":
        return []
    azs = len(properties["SubnetIds"])
    gb = _d(c.assumptions.endpoint_gb)
    cost = azs * c.hours * c.price("interface_endpoint", "az_hour") + gb * c.price("interface_endpoint", "gb")
    return [
        Line(
            f"Interface endpoint {logical_id.removesuffix('Endpoint')}",
            f"{azs} AZ x {c.hours} h + {gb} GB",
            _money(cost),
        )
    ]


def _stream(c: _Context, logical_id: str, properties: dict) -> list[Line]:
    mode = properties.get("StreamModeDetails", {}).get("StreamMode", "PROVISIONED")
    if mode == "ON_DEMAND":
        gb = _d(c.assumptions.kinesis_on_demand_gb)
        cost = c.hours * c.price("kinesis", "on_demand_stream_hour") + gb * (
            c.price("kinesis", "on_demand_gb_in") + c.price("kinesis", "on_demand_gb_out")
        )
        return [Line(f"Kinesis {logical_id}", f"on-demand, {c.hours} h + {gb} GB in and out", _money(cost))]
    shards = _d(properties.get("ShardCount", 1))
    puts = _d(c.assumptions.kinesis_put_millions)
    cost = shards * c.hours * c.price("kinesis", "shard_hour") + puts * c.price("kinesis", "put_million")
    return [Line(f"Kinesis {logical_id}", f"{shards} shard x {c.hours} h + {puts} M PUT units", _money(cost))]


def _file_system(c: _Context, logical_id: str, properties: dict) -> list[Line]:
    gb = _d(c.assumptions.efs_gb)
    return [Line("EFS storage", f"{gb} GB", _money(gb * c.price("efs", "gb_month")))]


def _secret(c: _Context, logical_id: str, properties: dict) -> list[Line]:
    return [Line(f"Secret {logical_id}", "1 secret", _money(c.price("secrets_manager", "secret_month")))]


def _log_group(c: _Context, logical_id: str, properties: dict) -> list[Line]:
    gb = _d(c.assumptions.logs_gb_per_group)
    cost = gb * (c.price("cloudwatch_logs", "gb_ingested") + c.price("cloudwatch_logs", "gb_month"))
    return [Line(f"Logs {logical_id.removesuffix('LogGroup')}", f"{gb} GB", _money(cost))]


def _repository(c: _Context, logical_id: str, properties: dict) -> list[Line]:
    gb = _d(c.assumptions.ecr_gb_per_repository)
    return [
        Line(
            f"ECR {logical_id.removeprefix('EcrRepository').lower()}",
            f"{gb} GB",
            _money(gb * c.price("ecr", "gb_month")),
        )
    ]


def _namespace(c: _Context, logical_id: str, properties: dict) -> list[Line]:
    return [Line("Cloud Map namespace", "private hosted zone", _money(c.price("cloud_map", "hosted_zone_month")))]


def _discovery(c: _Context, logical_id: str, properties: dict) -> list[Line]:
    return [Line(f"Cloud Map {logical_id}", "1 registered instance", _money(c.price("cloud_map", "instance_month")))]


def _alarm(c: _Context, logical_id: str, properties: dict) -> list[Line]:
    # Standard-resolution alarms are billed per metric they watch (a metric-math
    # alarm per metric in its expression).
    metrics = (
        1 if "MetricName" in properties else sum(1 for query in properties.get("Metrics", []) if "MetricStat" in query)
    )
    return [
        Line(
            f"Alarm {logical_id}",
            f"{metrics} metric{'s' if metrics != 1 else ''}",
            _money(metrics * c.price("cloudwatch_alarms", "metric_month")),
        )
    ]


PRICERS: dict[str, Callable[[_Context, str, dict], list[Line]]] = {
    "AWS::CloudWatch::Alarm": _alarm,
    "AWS::ECS::Service": _service,
    "AWS::ElasticLoadBalancingV2::LoadBalancer": _load_balancer,
    "AWS::EC2::NatGateway": _nat,
    "AWS::EC2::EIP": _address,
    "AWS::EC2::VPCEndpoint": _endpoint,
    "AWS::Kinesis::Stream": _stream,
    "AWS::EFS::FileSystem": _file_system,
    "AWS::SecretsManager::Secret": _secret,
    "AWS::Logs::LogGroup": _log_group,
    "AWS::ECR::Repository": _repository,
    "AWS::ServiceDiscovery::PrivateDnsNamespace": _namespace,
    "AWS::ServiceDiscovery::Service": _discovery,
}


def profile_report(
    templates: dict[str, dict], profile: str, values: dict[str, str], prices: dict, assumptions: Assumptions
) -> Report:
    """Foundations plus the profile's stack: what running the profile costs
    (`lite-pipeline`: foundations, lite and the pipeline add-on)."""
    report = Report()
    estimate(templates["foundations"], {}, prices, assumptions, report)
    if profile == "lite-pipeline":
        estimate(
            templates["lite"],
            {k: v for k, v in values.items() if k in templates["lite"]["Parameters"]},
            prices,
            assumptions,
            report,
        )
        values = {k: v for k, v in values.items() if k in templates[profile]["Parameters"]}
    estimate(templates[profile], values, prices, assumptions, report)
    return report


# The most hours a month has (31 days).
MONTH_HOURS = 744.0


def assumptions_from(overrides: dict[str, float | None]) -> Assumptions:
    """The default assumptions with `overrides`, each a finite, non-negative number
    that means something: hours within a month, active hours within those, a Spot
    discount as a fraction below 1."""
    known = {f.name for f in fields(Assumptions)}
    given = {k: v for k, v in overrides.items() if k in known and v is not None}
    for name, value in given.items():
        flag = "--" + name.replace("_", "-")
        if not math.isfinite(value) or value < 0:
            raise CostError(f"{flag} must be a finite number from 0, not {value}.")
    assumptions = replace(Assumptions(), **given)
    if not 0 < assumptions.hours <= MONTH_HOURS:
        raise CostError(
            f"--hours must be more than 0 and at most {MONTH_HOURS:g} (a month), not {assumptions.hours:g}."
        )
    if assumptions.active_hours is not None and assumptions.active_hours > assumptions.hours:
        raise CostError(
            f"--active-hours ({assumptions.active_hours:g}) cannot exceed the hours in the month "
            f"({assumptions.hours:g})."
        )
    if assumptions.spot_discount is not None and assumptions.spot_discount >= 1:
        raise CostError(
            f"--spot-discount is a fraction below 1, such as 0.7 for 70 % off, not {assumptions.spot_discount:g}."
        )
    return assumptions


def assumptions_line(assumptions: Assumptions) -> str:
    """The assumptions a report was priced with, on one line."""
    return "assumptions: " + "; ".join(
        f"{Assumptions.DESCRIPTIONS[f.name]} = {getattr(assumptions, f.name)}"
        for f in fields(Assumptions)
        if getattr(assumptions, f.name) is not None
    )


def format_report(report: Report, title: str, prices: dict, assumptions: Assumptions) -> str:
    width = max(len(line.component) for line in report.lines) + 2
    out = [
        title,
        f"list prices: {prices['meta']['region']}, {prices['meta']['date']} "
        f"(streamlines/cost/prices/{prices['meta']['region']}.toml)",
        "",
    ]
    for line in report.lines:
        out.append(f"  {line.component:<{width}} {line.monthly:>9}  {line.detail}")
    out.append(f"  {'total per month (USD)':<{width}} {report.total:>9}")
    out.append("")
    if report.active_hours is not None:
        out.append(
            f"services run {report.active_hours.quantize(Decimal('0.1'))} h a month (active hours) instead of "
            f"{assumptions.hours} h"
        )
    if report.spot_discount is not None:
        out.append(
            f"Fargate Spot priced at {report.spot_discount * 100:.0f}% off the Fargate price: an assumption dated "
            f"{prices['meta']['date']} ({prices['fargate_spot']['source']})"
        )
    out.append(assumptions_line(assumptions))
    out.append(
        "usage-only (billed per request or GB, not included): "
        + ", ".join(sorted({u.split(" (")[1].rstrip(")") for u in report.usage_only}))
    )
    return "\n".join(out)


PUBLIC_GRAFANA = {"GrafanaExposure": "public", "AllowedCidr": "198.18.7.10/32"}
ALL_SPOT = {"Capacity": "FARGATE_SPOT", "InfluxDbCapacity": "FARGATE_SPOT"}
SCENARIOS = [
    ("lite, public Grafana ALB", "lite", PUBLIC_GRAFANA),
    ("lite, public ALB, Grafana on Spot", "lite", {**PUBLIC_GRAFANA, "Capacity": "FARGATE_SPOT"}),
    ("lite, public ALB, all on Spot", "lite", {**PUBLIC_GRAFANA, **ALL_SPOT}),
    ("lite, public ALB, active hours", "lite", {**PUBLIC_GRAFANA, "ActiveHours": "scheduled"}),
    ("lite, no ALB", "lite", {"GrafanaExposure": "none"}),
    ("lite, no ALB, all on Spot", "lite", {"GrafanaExposure": "none", **ALL_SPOT}),
    ("lite, no ALB, active hours", "lite", {"GrafanaExposure": "none", "ActiveHours": "scheduled"}),
    ("lite, public ALB, with the data pipeline", "lite-pipeline", PUBLIC_GRAFANA),
    ("lite, no ALB, with the data pipeline", "lite-pipeline", {"GrafanaExposure": "none"}),
    ("full, endpoints", "full", {"NetworkMode": "endpoints"}),
    ("full, endpoints, ECS Exec on", "full", {"NetworkMode": "endpoints", "EcsExec": "enabled"}),
    ("full, endpoints, Spot", "full", {"NetworkMode": "endpoints", "Capacity": "FARGATE_SPOT"}),
    ("full, nat", "full", {"NetworkMode": "nat"}),
    ("full, public", "full", {"NetworkMode": "public"}),
    ("full, public, Spot", "full", {"NetworkMode": "public", "Capacity": "FARGATE_SPOT"}),
    ("full, public, active hours", "full", {"NetworkMode": "public", "ActiveHours": "scheduled"}),
]


def scenario_rows(
    templates: dict[str, dict], prices: dict, assumptions: Assumptions
) -> list[tuple[str, Decimal, Decimal, Decimal, Decimal]]:
    """(scenario, Fargate, network, other, total) for every scenario of `compare`."""
    rows = []
    for title, profile, values in SCENARIOS:
        report = profile_report(templates, profile, values, prices, assumptions)
        fargate = sum((line.monthly for line in report.lines if line.component.startswith("Fargate")), Decimal(0))
        network = sum(
            (
                line.monthly
                for line in report.lines
                if line.component.startswith(("ALB", "NAT", "Interface", "Public IPv4"))
            ),
            Decimal(0),
        )
        rows.append((title, fargate, network, report.total - fargate - network, report.total))
    return rows


def compare(templates: dict[str, dict], prices: dict, assumptions: Assumptions) -> str:
    rows = scenario_rows(templates, prices, assumptions)
    out = [f"monthly list-price estimates, {prices['meta']['region']}, prices of {prices['meta']['date']} (USD)", ""]
    out.append(f"  {'scenario':<42} {'Fargate':>9} {'network':>9} {'other':>9} {'total':>9}")
    for title, fargate, network, other, total in rows:
        out.append(f"  {title:<42} {fargate:>9} {network:>9} {other:>9} {total:>9}")
    out.append("")
    discount = (
        assumptions.spot_discount if assumptions.spot_discount is not None else prices["fargate_spot"]["discount"]
    )
    out.append(
        f"Spot scenarios price Fargate Spot at {float(discount) * 100:.0f}% off: an assumption dated "
        f"{prices['meta']['date']} "
        f"({prices['fargate_spot']['source']})"
    )
    out.append(
        "network = ALBs and their LCUs, NAT gateway, interface endpoints, public IPv4 addresses; other = Kinesis, "
        "EFS, secrets, logs, ECR, Cloud Map, alarms"
    )
    out.append(assumptions_line(assumptions))
    return "\n".join(out)
