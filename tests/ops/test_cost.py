"""The cost report: hand-computed lines to the cent, and no resource type left unpriced."""

from __future__ import annotations

import copy
import subprocess
import sys
from decimal import Decimal

import pytest

from streamlines import cost

from ..templates.branches import BRANCHES

PRICES = cost.load_prices("us-east-1")


def service(task: str, public: bool) -> dict:
    return {
        "Type": "AWS::ECS::Service",
        "Properties": {
            "TaskDefinition": {"Ref": task},
            "DesiredCount": 1,
            "NetworkConfiguration": {
                "AwsvpcConfiguration": {"Subnets": ["a"], "AssignPublicIp": "ENABLED" if public else "DISABLED"}
            },
        },
    }


def task(cpu: str, memory: str, architecture: str) -> dict:
    return {
        "Type": "AWS::ECS::TaskDefinition",
        "Properties": {"Cpu": cpu, "Memory": memory, "RuntimePlatform": {"CpuArchitecture": architecture}},
    }


SMALL = {
    "Parameters": {"Size": {"Type": "String", "Default": "512"}},
    "Resources": {
        "ArmTask": task({"Ref": "Size"}, "1024", "ARM64"),
        "ArmService": service("ArmTask", public=True),
        "IntelTask": task("256", "512", "X86_64"),
        "IntelService": service("IntelTask", public=False),
        "WebLoadBalancer": {
            "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "Properties": {"Scheme": "internet-facing", "Subnets": ["a", "b"]},
        },
        "NatGateway": {"Type": "AWS::EC2::NatGateway", "Properties": {}},
        "NatGatewayAddress": {"Type": "AWS::EC2::EIP", "Properties": {}},
        "LogsEndpoint": {
            "Type": "AWS::EC2::VPCEndpoint",
            "Properties": {"VpcEndpointType": "Interface", "SubnetIds": ["a", "b"]},
        },
        "S3Endpoint": {"Type": "AWS::EC2::VPCEndpoint", "Properties": {"VpcEndpointType": "Gateway"}},
        "Stream": {"Type": "AWS::Kinesis::Stream", "Properties": {"ShardCount": 1}},
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {}},
    },
}

# Worked by hand from streamlines/cost/prices/us-east-1.toml, 730 hours:
HAND = {
    "Fargate Arm": Decimal("14.42"),  # (0.5 x 0.03238 + 1 x 0.00356) x 730 = 14.4175
    "Public IPv4 Arm task": Decimal("3.65"),  # 730 x 0.005
    "Fargate Intel": Decimal("9.01"),  # (0.25 x 0.04048 + 0.5 x 0.004445) x 730 = 9.010025
    "ALB Web": Decimal("16.43"),  # 730 x 0.0225 = 16.425
    "ALB Web LCUs": Decimal("5.84"),  # 1 x 730 x 0.008
    "Public IPv4 ALB Web": Decimal("7.30"),  # 2 x 730 x 0.005
    "NAT gateway": Decimal("32.85"),  # 730 x 0.045
    "NAT gateway data": Decimal("0.45"),  # 10 GB x 0.045
    "Public IPv4 NatGatewayAddress": Decimal("3.65"),
    "Interface endpoint Logs": Decimal("14.61"),  # 2 x 730 x 0.01 + 1 GB x 0.01
    "Kinesis Stream": Decimal("10.99"),  # 730 x 0.015 + 2.6 x 0.014 = 10.9864
}


def test_small_template_matches_hand_computed_figures():
    report = cost.estimate(SMALL, {}, PRICES, cost.Assumptions())
    assert {line.component: line.monthly for line in report.lines} == HAND
    assert report.total == Decimal("119.20")


def test_parameters_and_assumptions_change_the_figures():
    report = cost.estimate(SMALL, {"Size": "1024"}, PRICES, cost.Assumptions(hours=100, nat_gb=0))
    lines = {line.component: line.monthly for line in report.lines}
    assert lines["Fargate Arm"] == Decimal("3.59")  # (1 x 0.03238 + 1 x 0.00356) x 100 = 3.594
    assert lines["NAT gateway data"] == Decimal("0.00")


def test_an_unknown_resource_type_is_refused():
    template = copy.deepcopy(SMALL)
    template["Resources"]["Cache"] = {"Type": "AWS::ElastiCache::CacheCluster", "Properties": {}}
    with pytest.raises(cost.CostError, match="does not know AWS::ElastiCache::CacheCluster"):
        cost.estimate(template, {}, PRICES, cost.Assumptions())


def test_every_resource_type_in_the_templates_is_priced_or_listed(templates):
    known = set(cost.PRICERS) | cost.FREE | cost.USAGE_ONLY
    used = {resource["Type"] for template in templates.values() for resource in template["Resources"].values()}
    assert used <= known, used - known
    for stack, branches in BRANCHES.items():
        for values in branches:
            cost.estimate(templates[stack], values, PRICES, cost.Assumptions())


def test_default_active_hours_are_new_york_market_hours_with_a_margin():
    assert cost.weekly_hours("cron(0 9 ? * MON-FRI *)", "cron(30 16 ? * MON-FRI *)") == Decimal("37.5")
    with pytest.raises(cost.CostError, match="--active-hours"):
        cost.weekly_hours("cron(0 9 1 * ? *)", "cron(0 17 1 * ? *)")


def test_active_hours_cut_the_task_lines_only(templates):
    always = cost.profile_report(templates, "lite", {"GrafanaExposure": "none"}, PRICES, cost.Assumptions())
    scheduled = cost.profile_report(
        templates, "lite", {"GrafanaExposure": "none", "ActiveHours": "scheduled"}, PRICES, cost.Assumptions()
    )
    factor = Decimal("37.5") * 730 / 168 / 730
    by_name = {line.component: line.monthly for line in scheduled.lines}
    for line in always.lines:
        runs_only_in_active_hours = line.component.startswith("Fargate") or line.component.endswith(" task")
        if runs_only_in_active_hours:
            assert abs(by_name[line.component] - line.monthly * factor) <= Decimal("0.01"), line.component
        else:
            assert by_name[line.component] == line.monthly, line.component
    assert scheduled.total < always.total


def test_network_modes_rank_as_expected(templates):
    totals = {
        mode: cost.profile_report(templates, "full", {"NetworkMode": mode}, PRICES, cost.Assumptions()).total
        for mode in ("endpoints", "nat", "public")
    }
    assert totals["endpoints"] > totals["nat"] > totals["public"]


def test_unknown_region_is_one_line_and_exit_2():
    result = subprocess.run(
        [sys.executable, "-m", "streamlines", "cost", "--region", "mars-north-1"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "mars-north-1" in result.stderr


def test_cli_prints_lines_and_assumptions():
    result = subprocess.run(
        [sys.executable, "-m", "streamlines", "cost", "--profile", "full", "--network-mode", "nat", "--nat-gb", "100"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "NAT gateway data" in result.stdout and "4.50" in result.stdout
    assert "GB a month through the NAT gateway = 100.0" in result.stdout


# Every `streamlines cost --compare` scenario, to the cent, with the price table
# of 2025-06-01 and the default assumptions. A change here is a change in what
# running the platform costs: review it, then update the figure and `make readme`.
GOLDEN = {
    "lite, public Grafana ALB": "86.55",
    "lite, public ALB, Grafana on Spot": "81.50",
    "lite, public ALB, all on Spot": "71.41",
    "lite, public ALB, active hours": "64.07",
    "lite, no ALB": "56.98",
    "lite, no ALB, all on Spot": "41.84",
    "lite, no ALB, active hours": "34.50",
    "lite, public ALB, with the data pipeline": "140.30",
    "lite, no ALB, with the data pipeline": "110.73",
    "full, endpoints": "205.56",
    "full, endpoints, ECS Exec on": "220.17",
    "full, endpoints, Spot": "177.80",
    "full, nat": "151.20",
    "full, public": "132.50",
    "full, public, Spot": "104.74",
    "full, public, active hours": "76.30",
}
# The targets the platform must meet (list prices, 730 h, default parameters),
# set before it had alarms: they hold for everything but the alarms, which are
# priced on their own lines (one alarm metric each) and held to their count.
TARGETS = {
    "full, public": "132",
    "full, endpoints": "205",
    "lite, public ALB, all on Spot": "72",
    "lite, no ALB, all on Spot": "42",
}


def test_every_compare_scenario_has_its_golden_figure(templates):
    rows = {title: total for title, _, _, _, total in cost.scenario_rows(templates, PRICES, cost.Assumptions())}
    assert {title: str(total) for title, total in rows.items()} == GOLDEN
    scenarios = {title: (profile, values) for title, profile, values in cost.SCENARIOS}
    for title, ceiling in TARGETS.items():
        report = cost.profile_report(templates, *scenarios[title], PRICES, cost.Assumptions())
        alarms = [line for line in report.lines if line.component.startswith("Alarm ")]
        assert sum(line.monthly for line in alarms) == Decimal("0.10") * ALARMS[scenarios[title][0]], title
        assert rows[title] - sum(line.monthly for line in alarms) <= Decimal(ceiling), title


# Alarms per profile: one per service, per stream written to, ingest's output
# (it has no health signal of its own), and the results pusher's errors,
# iterator age and failure queue (tests/templates/test_alarms.py).
ALARMS = {"lite": 2, "lite-pipeline": 2 + 5, "full": 11}


def test_each_alarm_is_priced_per_metric_it_watches(templates):
    report = cost.estimate(templates["full"], {}, PRICES, cost.Assumptions())
    lines = {line.component: line for line in report.lines if line.component.startswith("Alarm ")}
    alarms = {
        logical_id for logical_id, r in templates["full"]["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"
    }
    assert set(lines) == {f"Alarm {a}" for a in alarms}
    assert all(line.monthly == Decimal("0.10") and line.detail == "1 metric" for line in lines.values())
    # A metric-math alarm is billed per metric it reads, not per alarm.
    math = {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "Metrics": [{"Id": "a", "MetricStat": {}}, {"Id": "b", "MetricStat": {}}, {"Id": "e", "Expression": "a+b"}]
        },
    }
    report = cost.estimate({"Resources": {"Both": math}}, {}, PRICES, cost.Assumptions())
    assert [(line.detail, line.monthly) for line in report.lines] == [("2 metrics", Decimal("0.20"))]


def test_spot_prices_the_tasks_at_the_dated_discount(templates):
    on_demand = cost.profile_report(templates, "lite", {"GrafanaExposure": "none"}, PRICES, cost.Assumptions())
    spot = cost.profile_report(
        templates,
        "lite",
        {"GrafanaExposure": "none", "Capacity": "FARGATE_SPOT", "InfluxDbCapacity": "FARGATE_SPOT"},
        PRICES,
        cost.Assumptions(),
    )
    before = {
        line.component.removeprefix("Fargate "): line.monthly
        for line in on_demand.lines
        if line.component.startswith("Fargate ")
    }
    after = {
        line.component.removeprefix("Fargate Spot "): line.monthly
        for line in spot.lines
        if line.component.startswith("Fargate Spot ")
    }
    assert set(before) == set(after) == {"InfluxDb", "Grafana"}
    for name in before:
        assert abs(after[name] - before[name] * Decimal("0.3")) <= Decimal("0.01"), name
    assert spot.spot_discount == Decimal("0.7") and on_demand.spot_discount is None
    text = cost.format_report(spot, "lite", PRICES, cost.Assumptions())
    assert "Fargate Spot priced at 70% off the Fargate price: an assumption dated 2025-06-01" in text
    cheaper = cost.profile_report(
        templates,
        "lite",
        {"GrafanaExposure": "none", "Capacity": "FARGATE_SPOT"},
        PRICES,
        cost.Assumptions(spot_discount=0.5),
    )
    grafana = {line.component: line.monthly for line in cheaper.lines}["Fargate Spot Grafana"]
    assert abs(grafana - before["Grafana"] * Decimal("0.5")) <= Decimal("0.01")


# Whole reports, line by line (component, amount, detail), the header, the notes
# and the assumptions: a change in what a line says is a change to review.
# UPDATE_GOLDEN=1 rewrites them.
GOLDEN_REPORTS = {
    "full-endpoints": ("full", {}),
    "lite-pipeline-on-demand-spot-active-hours": (
        "lite-pipeline",
        {"GrafanaExposure": "none", "StreamMode": "ON_DEMAND", "Capacity": "FARGATE_SPOT", "ActiveHours": "scheduled"},
    ),
    "full-public-nat-free": ("full", {"NetworkMode": "public", "InfluxDbCapacity": "FARGATE_SPOT"}),
}


@pytest.mark.parametrize("name", sorted(GOLDEN_REPORTS))
def test_whole_report_matches_its_golden_text(templates, name):
    import os
    from pathlib import Path

    profile, values = GOLDEN_REPORTS[name]
    report = cost.profile_report(templates, profile, values, PRICES, cost.Assumptions())
    text = cost.format_report(report, f"{profile} profile (with foundations)", PRICES, cost.Assumptions()) + "\n"
    golden = Path(__file__).with_name("golden") / f"cost-{name}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "start, stop, hours",
    [
        ("cron(0 9 ? * MON-FRI *)", "cron(30 16 ? * MON-FRI *)", "37.5"),
        ("cron(15 8 ? * * *)", "cron(45 20 ? * * *)", "87.5"),
        ("cron(0 10 ? * SAT,SUN *)", "cron(0 14 ? * SAT,SUN *)", "8"),
        ("cron(0 10 ? * SAT-SUN *)", "cron(30 10 ? * SAT-SUN *)", "1"),
        ("cron(0 9 ? * MON,WED,FRI *)", "cron(0 12 ? * MON,WED,FRI *)", "9"),
    ],
)
def test_weekly_hours_count_the_days_and_the_minutes(start, stop, hours):
    assert cost.weekly_hours(start, stop) == Decimal(hours)


@pytest.mark.parametrize(
    "start, stop, message",
    [
        (
            "cron(0 9 1 * ? *)",
            "cron(0 17 1 * ? *)",
            "cannot read 'cron(0 9 1 * ? *)' as a daily schedule; pass --active-hours with the hours a month instead.",
        ),
        (
            "cron(0 9 ? * MON-FRI *)",
            "cron(0 17 1 * ? *)",
            "cannot read 'cron(0 17 1 * ? *)' as a daily schedule; pass --active-hours with the hours a month instead.",
        ),
        (
            "cron(0 9 ? * MON-FRI *)",
            "cron(0 17 ? * * *)",
            "ActiveHoursStart and ActiveHoursStop run on different days; pass --active-hours instead.",
        ),
        (
            "cron(0 9 ? * MON-WED *)",
            "cron(0 17 ? * MON-WED *)",
            "cannot count the days in 'MON-WED'; pass --active-hours instead.",
        ),
        (
            "cron(0 17 ? * * *)",
            "cron(0 17 ? * * *)",
            "ActiveHoursStop must come after ActiveHoursStart on the same day; pass --active-hours otherwise.",
        ),
    ],
)
def test_weekly_hours_refuse_what_they_cannot_count(start, stop, message):
    with pytest.raises(cost.CostError) as refused:
        cost.weekly_hours(start, stop)
    assert str(refused.value) == message


def test_a_missing_price_table_names_the_ones_there():
    with pytest.raises(cost.CostError) as refused:
        cost.load_prices("eu-west-3")
    assert (
        str(refused.value) == "no price table for region eu-west-3; the repository has us-east-1 (add "
        "streamlines/cost/prices/eu-west-3.toml)."
    )
    assert PRICES["meta"] == {"region": "us-east-1", "date": "2025-06-01"}


def test_scenario_rows_split_each_total_into_its_columns(templates):
    for title, fargate, network, other, total in cost.scenario_rows(templates, PRICES, cost.Assumptions()):
        report = cost.profile_report(
            templates, *next((p, v) for t, p, v in cost.SCENARIOS if t == title), PRICES, cost.Assumptions()
        )
        assert fargate == sum(
            (line.monthly for line in report.lines if line.component.startswith(("Fargate ", "Fargate Spot "))),
            Decimal(0),
        ), title
        assert network == sum(
            (
                line.monthly
                for line in report.lines
                if line.component.startswith(("ALB", "NAT", "Interface", "Public IPv4"))
            ),
            Decimal(0),
        ), title
        assert fargate + network + other == total == report.total, title
        assert fargate > 0 and network > 0 and other > 0, title


def test_defaults_cloudformation_applies_are_priced_as_it_applies_them():
    """A stream without mode or shard count is one provisioned shard; a service without
    DesiredCount (active hours) one task, on Fargate when no capacity strategy is
    given; a load balancer without Scheme is internet-facing; an alarm without a
    metric watches none."""
    template = {
        "Resources": {
            "Task": task("1024", "2048", "ARM64"),
            "Svc": {
                "Type": "AWS::ECS::Service",
                "Properties": {
                    "TaskDefinition": {"Ref": "Task"},
                    "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["a"]}},
                },
            },
            "Two": {
                "Type": "AWS::ECS::Service",
                "Properties": {
                    "TaskDefinition": {"Ref": "Task"},
                    "DesiredCount": 2,
                    "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["a"]}},
                },
            },
            "Stream": {"Type": "AWS::Kinesis::Stream"},
            "WebLoadBalancer": {
                "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
                "Properties": {"Subnets": ["a", "b"]},
            },
            "Nothing": {"Type": "AWS::CloudWatch::Alarm", "Properties": {}},
            "NatGateway": {"Type": "AWS::EC2::NatGateway"},
            "Address": {"Type": "AWS::EC2::EIP"},
        }
    }
    lines = {line.component: line for line in cost.estimate(template, {}, PRICES, cost.Assumptions()).lines}
    one_task = (Decimal(1) * Decimal("0.03238") + Decimal(2) * Decimal("0.00356")) * 730
    assert (
        lines["Fargate Svc"].monthly == one_task.quantize(Decimal("0.01"))
        and lines["Fargate Svc"].detail == "arm64, 1 vCPU, 2 GB x 1 task x 730.0 h"
    )
    assert (
        lines["Fargate Two"].monthly == (2 * one_task).quantize(Decimal("0.01"))
        and lines["Fargate Two"].detail == "arm64, 1 vCPU, 2 GB x 2 task x 730.0 h"
    )
    assert lines["Kinesis Stream"].detail == "1 shard x 730.0 h + 2.6 M PUT units"
    assert lines["Public IPv4 ALB Web"].detail == "2 addresses x 730.0 h"
    assert (lines["Alarm Nothing"].detail, lines["Alarm Nothing"].monthly) == ("0 metrics", Decimal("0.00"))
    assert (lines["NAT gateway"].detail, lines["NAT gateway data"].detail, lines["Public IPv4 Address"].detail) == (
        "730.0 h",
        "10.0 GB",
        "1 address x 730.0 h",
    )


def test_active_hours_given_as_an_assumption_are_used_as_given(templates):
    report = cost.profile_report(
        templates,
        "lite",
        {"ActiveHours": "scheduled", "GrafanaExposure": "none"},
        PRICES,
        cost.Assumptions(active_hours=100.0),
    )
    assert report.active_hours == Decimal("100.0")
    assert all(line.detail.endswith("x 100.0 h") for line in report.lines if line.component.startswith("Fargate"))


def test_compare_and_assumptions_in_process(templates):
    assumptions = cost.assumptions_from({"hours": 720.0, "nat_gb": None})
    assert assumptions == cost.Assumptions(hours=720.0)
    text = cost.compare(templates, PRICES, cost.Assumptions())
    lines = text.splitlines()
    assert lines[0] == "monthly list-price estimates, us-east-1, prices of 2025-06-01 (USD)"
    assert lines[2] == f"  {'scenario':<42} {'Fargate':>9} {'network':>9} {'other':>9} {'total':>9}"
    rows = {title: total for title, *_, total in cost.scenario_rows(templates, PRICES, cost.Assumptions())}
    for title, total in rows.items():
        assert any(line.startswith(f"  {title:<42}") and line.endswith(f"{total:>9}") for line in lines), title
    assert "Spot scenarios price Fargate Spot at 70% off: an assumption dated 2025-06-01" in text
    assert (
        lines[-2]
        == "network = ALBs and their LCUs, NAT gateway, interface endpoints, public IPv4 addresses; other = Kinesis, "
        "EFS, secrets, logs, ECR, Cloud Map, alarms"
    )
    assert lines[-1].startswith("assumptions: hours in a month = 730.0; ")


def test_a_streams_shard_count_is_priced():
    template = {"Resources": {"Stream": {"Type": "AWS::Kinesis::Stream", "Properties": {"ShardCount": 3}}}}
    (line,) = cost.estimate(template, {}, PRICES, cost.Assumptions()).lines
    assert line.detail == "3 shard x 730.0 h + 2.6 M PUT units"
    assert line.monthly == (3 * 730 * Decimal("0.015") + Decimal("2.6") * Decimal("0.014")).quantize(Decimal("0.01"))


def test_compare_lays_out_its_table_and_takes_the_discount_given(templates):
    lines = cost.compare(templates, PRICES, cost.Assumptions(spot_discount=0.5)).splitlines()
    assert lines[1] == "" and lines[len(cost.SCENARIOS) + 3] == ""
    assert lines[len(cost.SCENARIOS) + 4].startswith(
        "Spot scenarios price Fargate Spot at 50% off: an assumption dated 2025-06-01"
    )
