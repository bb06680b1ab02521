"""Where a request to full's one public ALB goes, for each branch: the listener
rules evaluated as the ALB would (host-header rules by priority, then the
listener's default action)."""

from __future__ import annotations

import pytest

from templates_py.evaluate import evaluate

from . import deploy_checks
from .branches import CERTIFICATE, FULL_REQUIRED

API, DASHBOARD = "api.example.com", "dashboard.example.com"


def route(template: dict, values: dict[str, str], port: int, host: str):
    """The target group a request reaches, ("redirect", url) for a redirect, or None when nothing listens."""
    resources = deploy_checks.live(template, values)
    listeners = [
        (lid, listener)
        for lid, listener in resources.items()
        if listener["Type"] == "AWS::ElasticLoadBalancingV2::Listener" and listener["Properties"]["Port"] == port
    ]
    if not listeners:
        return None
    ((listener_id, listener),) = listeners
    rules = sorted(
        (
            r
            for r in resources.values()
            if r["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule"
            and r["Properties"]["ListenerArn"] == {"Ref": listener_id}
        ),
        key=lambda r: r["Properties"]["Priority"],
    )
    action = listener["Properties"]["DefaultActions"][0]
    for rule in rules:
        (condition,) = rule["Properties"]["Conditions"]
        hosts = [evaluate(value, template, values) for value in condition["HostHeaderConfig"]["Values"]]
        if condition["Field"] == "host-header" and host in hosts:
            action = rule["Properties"]["Actions"][0]
            break
    if action["Type"] == "forward":
        return action["TargetGroupArn"]["Ref"]
    redirect = action["RedirectConfig"]
    target_host = host if redirect["Host"] == "#{host}" else evaluate(redirect["Host"], template, values)
    return ("redirect", f"{redirect['Protocol'].lower()}://{target_host}:{redirect['Port']}")


NO_NAMES = FULL_REQUIRED
BACKEND_NAME_ONLY = {**FULL_REQUIRED, "BackendDomainName": API}
HTTPS = {**FULL_REQUIRED, "CertificateArn": CERTIFICATE, "BackendDomainName": API, "DashboardDomainName": DASHBOARD}
ALB = "sl-public-123.us-east-1.elb.amazonaws.com"

CASES = [
    ("no certificate, no names", NO_NAMES, 80, ALB, "DashboardTargetGroup"),
    ("no certificate, no names", NO_NAMES, 8080, ALB, "BackendTargetGroup"),
    ("no certificate, no names", NO_NAMES, 443, ALB, None),
    ("no certificate, backend name", BACKEND_NAME_ONLY, 80, API, "BackendTargetGroup"),
    ("no certificate, backend name", BACKEND_NAME_ONLY, 80, ALB, "DashboardTargetGroup"),
    ("no certificate, backend name", BACKEND_NAME_ONLY, 8080, API, None),
    ("HTTPS", HTTPS, 443, API, "BackendTargetGroup"),
    ("HTTPS", HTTPS, 443, DASHBOARD, "DashboardTargetGroup"),
    ("HTTPS", HTTPS, 443, ALB, "DashboardTargetGroup"),
    ("HTTPS", HTTPS, 80, API, ("redirect", f"https://{API}:443")),
    ("HTTPS", HTTPS, 80, DASHBOARD, ("redirect", f"https://{DASHBOARD}:443")),
    ("HTTPS", HTTPS, 80, ALB, ("redirect", f"https://{DASHBOARD}:443")),
    ("HTTPS", HTTPS, 8080, API, None),
]


@pytest.mark.parametrize("branch, values, port, host, expected", CASES, ids=[f"{c[0]}:{c[2]}:{c[3]}" for c in CASES])
def test_requests_reach_the_right_service(templates, branch, values, port, host, expected):
    for mode in ("endpoints", "nat", "public"):
        assert route(templates["full"], {**values, "NetworkMode": mode}, port, host) == expected


@pytest.mark.parametrize("values", [NO_NAMES, BACKEND_NAME_ONLY, HTTPS], ids=["no names", "backend name", "https"])
def test_one_internet_facing_alb_serves_both(templates, values):
    resources = deploy_checks.live(templates["full"], values)
    balancers = [
        lid
        for lid, r in resources.items()
        if r["Type"] == "AWS::ElasticLoadBalancingV2::LoadBalancer" and r["Properties"]["Scheme"] == "internet-facing"
    ]
    assert balancers == ["PublicLoadBalancer"]


def test_urls_follow_the_routing(templates):
    full = templates["full"]

    def outputs(values):
        return {
            name: deploy_checks.resolve(o["Value"], full, values, parameters=True)
            for name, o in full["Outputs"].items()
            if name in ("BackendUrl", "DashboardUrl")
        }

    assert outputs(HTTPS) == {
        "BackendUrl": {"Fn::Sub": ["https://${Domain}", {"Domain": API}]},
        "DashboardUrl": {"Fn::Sub": ["https://${Domain}", {"Domain": DASHBOARD}]},
    }
    plain = outputs(NO_NAMES)
    assert plain["BackendUrl"] == {
        "Fn::Sub": ["http://${Dns}:8080", {"Dns": {"Fn::GetAtt": ["PublicLoadBalancer", "DNSName"]}}]
    }
    assert plain["DashboardUrl"] == {
        "Fn::Sub": ["http://${Dns}", {"Dns": {"Fn::GetAtt": ["PublicLoadBalancer", "DNSName"]}}]
    }
    assert outputs(BACKEND_NAME_ONLY)["BackendUrl"] == {"Fn::Sub": ["http://${Domain}", {"Domain": API}]}


def test_both_aliases_point_at_the_one_alb(templates):
    values = {**HTTPS, "HostedZoneId": "Z0123456789ABCDEFGHIJ"}
    resources = deploy_checks.live(templates["full"], values)
    for name in ("BackendAliasRecord", "DashboardAliasRecord"):
        assert resources[name]["Properties"]["AliasTarget"]["DNSName"] == {
            "Fn::GetAtt": ["PublicLoadBalancer", "DNSName"]
        }
