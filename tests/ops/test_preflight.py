"""`streamlines preflight` against moto: every check passes on a good setup and
fails with its own message on each broken one."""

from __future__ import annotations

import json
import re

import pytest

from streamlines import images, preflight
from streamlines.packaging import code_key_parameters
from templates_py import exports
from templates_py.evaluate import parameter_values

from ..conftest import FOUNDATIONS, KEY, issued_certificate, session
from .recorders import put_image

REGION = "us-east-1"
REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
CIDR = "198.18.7.10/32"
# What a lite stack needs beyond its defaults to pass: where Grafana is used from.
LITE_GOOD = {"AllowedCidr": CIDR}


def code_keys(profile):
    return {p: f"lambdas/{folder}/{KEY}.zip" for p, folder in code_key_parameters(profile).items()}


def check(aws, templates, profile, values, stack="sl-stack"):
    lines = []
    base = LITE_GOOD if profile == "lite" else {}
    code = preflight.run(
        aws,
        profile,
        stack,
        FOUNDATIONS,
        templates[profile],
        {**code_keys(profile), **base, **values},
        lines.append,
    )
    return code, lines


@pytest.fixture
def mirrored(aws, foundations, config):
    """Foundations deployed and `make mirror-images` run: the pinned upstream images are in its ECR."""
    foundations()
    put_image(aws, "grafana", config.grafana_image.rsplit(":", 1)[1])
    put_image(aws, "influxdb", config.influxdb_image.rsplit(":", 1)[1])


def failures(lines):
    return [line for line in lines if line.startswith("FAIL")]


def test_good_lite_setup_passes(aws, templates, mirrored):
    code, lines = check(aws, templates, "lite", {})
    assert code == 0, lines
    assert failures(lines) == [] and lines[-1] == "all checks passed"
    assert {line.split(":")[0] for line in lines[:-1]} == {
        "PASS  foundations stack",
        "PASS  foundations exports",
        "PASS  allowed CIDR",
        "PASS  EFS mount targets",
        "PASS  image grafana",
        "PASS  lambda code influx_token_agent",
        "PASS  lambda code influx_token_provider",
    }


@pytest.fixture
def full_ready(aws, templates, mirrored):
    for repository in ("ingest", "ripples", "backend", "dashboard"):
        put_image(aws, repository, "1.0.0")
    zone = (
        aws.client("route53")
        .create_hosted_zone(Name="example.com", CallerReference="sl")["HostedZone"]["Id"]
        .split("/")[-1]
    )
    return {
        "NetworkMode": "endpoints",
        "IngestImageTag": "1.0.0",
        "RipplesImageTag": "1.0.0",
        "BackendImageTag": "1.0.0",
        "DashboardImageTag": "1.0.0",
        "CertificateArn": issued_certificate(aws, REGION),
        "HostedZoneId": zone,
        "BackendDomainName": "api.example.com",
        "DashboardDomainName": "dashboard.example.com",
    }


def test_good_full_setup_passes(aws, templates, full_ready):
    code, lines = check(aws, templates, "full", full_ready)
    assert code == 0, lines
    passed = [line.split(":")[0].removeprefix("PASS  ") for line in lines if line.startswith("PASS")]
    assert sorted(passed) == sorted(
        [
            "foundations stack",
            "foundations exports",
            "allowed CIDR",
            "EFS mount targets",
            "certificate",
            "hosted zone",
            "API Gateway log role",
            "image influxdb",
            "image ingest",
            "image ripples",
            "image backend",
            "image dashboard",
            *(
                f"lambda code {name}"
                for name in (
                    "influx_token_agent",
                    "influx_token_provider",
                    "results_stream_pusher",
                    "websocket_connection_handler",
                )
            ),
            "market-data credentials",
        ]
    )


def the_failure(code, lines):
    assert code == 1
    (line,) = failures(lines)
    assert lines[-1] == "1 check failed"
    return line


def test_missing_foundations_stack(aws, templates):
    # Nothing else is checked: every other check reads the foundations' exports.
    assert check(aws, templates, "lite", {}) == (
        1,
        [
            "FAIL  foundations stack: sl-foundations does not exist in us-east-1; deploy build/foundations.json "
            "first (make deploy does).",
            "1 check failed",
        ],
    )


def test_a_foundations_stack_that_is_not_usable_stops_the_checks(aws, templates, foundations):
    foundations()

    def failed_update(parsed, **_):
        for stack in parsed.get("Stacks", []):
            stack["StackStatus"] = "UPDATE_ROLLBACK_FAILED"

    aws.events.register("after-call.cloudformation.DescribeStacks", failed_update)
    assert check(aws, templates, "lite", {}) == (
        1,
        ["FAIL  foundations stack: sl-foundations is UPDATE_ROLLBACK_FAILED.", "1 check failed"],
    )


def test_missing_export(aws, templates, foundations):
    foundations(exports.GRAFANA_ACCESS_POINT_ARN)
    assert (
        the_failure(*check(aws, templates, "lite", {}))
        == "FAIL  foundations exports: sl-foundations does not export GrafanaAccessPointArn; update it with the "
        "current build/foundations.json."
    )


def test_every_missing_export_is_named_and_nothing_after_is_checked(aws, templates, foundations):
    foundations(exports.GRAFANA_ACCESS_POINT_ARN, exports.FILE_SYSTEM_ID)
    code, lines = check(aws, templates, "lite", {})
    assert (code, lines[1:]) == (
        1,
        [
            "FAIL  foundations exports: sl-foundations does not export FileSystemId, GrafanaAccessPointArn; update "
            "it with the current build/foundations.json.",
            "1 check failed",
        ],
    )


def test_a_template_without_parameters_has_nothing_to_check_but_its_code(aws, templates, foundations):
    foundations()
    lines = []
    assert (
        preflight.run(
            aws,
            "cloudfront",
            "sl-site",
            FOUNDATIONS,
            {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}},
            {},
            lines.append,
        )
        == 0
    )
    assert lines == ["all checks passed"]


def test_mount_target_in_another_vpc(aws, templates, foundations, mirrored):
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    for zone, cidr in (("a", "10.9.0.0/24"), ("b", "10.9.1.0/24")):
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=f"{REGION}{zone}")["Subnet"]["SubnetId"]
        aws.client("efs").create_mount_target(FileSystemId=foundations.outputs[exports.FILE_SYSTEM_ID], SubnetId=subnet)
    line = the_failure(*check(aws, templates, "lite", {}))
    assert re.fullmatch(
        rf"FAIL  EFS mount targets: file system fs-\w+ has mount targets in another VPC \(fsmt-\w+ in {vpc}, fsmt-\w+ "
        rf"in {vpc}\); delete that stack \(or its mount targets\) first: a file system has mount targets in one VPC "
        r"only\.",
        line,
    )


def test_certificate_in_the_wrong_region(aws, templates, mirrored):
    arn = issued_certificate(aws, "eu-west-1")
    assert (
        the_failure(*check(aws, templates, "lite", {"CertificateArn": arn}))
        == f"FAIL  certificate: {arn} is in eu-west-1, but a lite stack in {REGION} needs a certificate from {REGION}."
    )


def test_cloudfront_certificate_must_be_in_us_east_1(aws, templates, foundations):
    foundations()
    aws_eu = session("eu-west-1")
    arn = issued_certificate(aws_eu, "eu-west-1")
    lines = []
    code = preflight.run(
        aws_eu,
        "cloudfront",
        "sl-site",
        FOUNDATIONS,
        templates["cloudfront"],
        {"CertificateArn": arn, "DomainName": "d.example.com"},
        lines.append,
    )
    assert code == 1
    assert f"FAIL  certificate: {arn} is in eu-west-1, but CloudFront only uses certificates from us-east-1." in lines


def certificate_checks(aws, templates, profile, region, **values):
    """The certificate check alone, from a session in `region` (`aws` itself in us-east-1)."""
    checker = preflight.Preflight(
        aws if region == aws.region_name else session(region),
        profile,
        "sl-stack",
        FOUNDATIONS,
        templates[profile],
        parameter_values(templates[profile], values),
    )
    return [f"{c.status}  {c.name}: {c.detail}" for c in checker.check_certificates()]


def test_a_cloudfront_certificate_from_us_east_1_passes_whatever_the_region(aws, templates):
    arn = issued_certificate(aws, "us-east-1")
    assert certificate_checks(
        aws, templates, "cloudfront", "eu-west-1", CertificateArn=arn, DomainName="www.example.com"
    ) == ["PASS  certificate: example.com is issued in us-east-1; covers www.example.com"]


def test_a_stack_outside_us_east_1_uses_a_certificate_from_its_own_region(aws, templates):
    arn = issued_certificate(aws, "eu-west-1")
    assert certificate_checks(
        aws, templates, "lite", "eu-west-1", CertificateArn=arn, GrafanaDomainName="grafana.example.com"
    ) == ["PASS  certificate: example.com is issued in eu-west-1; covers grafana.example.com"]


def test_a_certificate_without_names_to_check_says_so(aws, templates):
    arn = issued_certificate(aws, "us-east-1")
    assert certificate_checks(aws, templates, "lite", "us-east-1", CertificateArn=arn) == [
        "PASS  certificate: example.com is issued in us-east-1; no domain name is set to hold it to"
    ]


def test_every_name_a_certificate_does_not_cover_is_named(aws, templates):
    arn = issued_certificate(aws, "us-east-1")
    names = {
        "BackendDomainName": "api.example.org",
        "DashboardDomainName": "dashboard.example.com",
        "WebSocketDomainName": "ws.example.net",
    }
    assert certificate_checks(aws, templates, "full", "us-east-1", CertificateArn=arn, **names) == [
        f"FAIL  certificate: {arn} covers *.example.com, example.com but not api.example.org, ws.example.net; "
        "browsers would refuse the name."
    ]


def test_a_certificate_described_without_alternative_names_is_held_to_its_domain_name(aws, templates):
    arn = issued_certificate(aws, "us-east-1", domain="grafana.example.com")
    aws.events.register(
        "after-call.acm.DescribeCertificate",
        lambda parsed, **_: parsed["Certificate"].pop("SubjectAlternativeNames", None),
    )
    assert certificate_checks(
        aws, templates, "lite", "us-east-1", CertificateArn=arn, GrafanaDomainName="x.grafana.example.com"
    )[0].startswith(f"FAIL  certificate: {arn} covers grafana.example.com but not")


def test_an_arn_that_is_not_a_certificate_is_refused(aws, templates):
    arn = "arn:aws:iam::123456789012:server-certificate/grafana"
    assert certificate_checks(aws, templates, "lite", "us-east-1", CertificateArn=arn) == [
        f"FAIL  certificate: {arn} is not an ACM certificate ARN."
    ]


def test_certificate_not_issued(aws, templates, mirrored):
    arn = aws.client("acm").request_certificate(DomainName="grafana.example.com", ValidationMethod="DNS")[
        "CertificateArn"
    ]
    assert (
        the_failure(*check(aws, templates, "lite", {"CertificateArn": arn}))
        == f"FAIL  certificate: {arn} is PENDING_VALIDATION, not ISSUED; finish its validation first."
    )


def test_certificate_that_does_not_exist(aws, templates, mirrored):
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
    assert (
        the_failure(*check(aws, templates, "lite", {"CertificateArn": arn}))
        == f"FAIL  certificate: {arn} does not exist (or is not visible to this account)."
    )


def test_missing_hosted_zone(aws, templates, full_ready):
    assert (
        the_failure(*check(aws, templates, "full", {**full_ready, "HostedZoneId": "Z0NOSUCHZONE"}))
        == "FAIL  hosted zone: hosted zone Z0NOSUCHZONE does not exist."
    )


def test_domain_outside_the_zone(aws, templates, full_ready):
    code, lines = check(aws, templates, "full", {**full_ready, "DashboardDomainName": "dashboard.example.org"})
    # The certificate (example.com, *.example.com) does not cover it either.
    assert code == 1 and [line.split(":")[0] for line in failures(lines)] == ["FAIL  certificate", "FAIL  hosted zone"]
    assert "dashboard.example.org not in zone example.com" in failures(lines)[1]


def test_missing_image_tag(aws, templates, full_ready):
    assert (
        the_failure(*check(aws, templates, "full", {**full_ready, "RipplesImageTag": "2.0.0"}))
        == f"FAIL  image ripples: {REGISTRY}/sl-ripples:2.0.0 does not exist; push it first."
    )


def test_endpoints_mode_needs_the_influxdb_tag_mirrored(aws, templates, full_ready):
    line = the_failure(*check(aws, templates, "full", {**full_ready, "InfluxDbImage": "influxdb:2.7.13"}))
    assert (
        line == f"FAIL  image influxdb: {REGISTRY}/sl-influxdb:2.7.13 is not there yet; run make mirror-images (make "
        "deploy does) to copy it from its upstream registry."
    )


def test_docker_hub_image_is_a_warning(aws, templates, full_ready):
    code, lines = check(
        aws, templates, "full", {**full_ready, "InfluxDbImage": "influxdb:2.7.12", "NetworkMode": "nat"}
    )
    assert code == 0, lines
    (warning,) = [line for line in lines if line.startswith("WARN")]
    assert (
        warning
        == "WARN  image source: InfluxDbTaskDefinition pulls influxdb:2.7.12 from Docker Hub, which limits anonymous "
        "pulls per address (addresses AWS shares): a refused pull rolls the stack back. Use ECR Public or "
        "the foundations mirror."
    )
    code, lines = check(aws, templates, "lite", {"GrafanaImage": "docker.io/grafana/grafana-oss:12.1.1"})
    assert code == 0 and any(
        "pulls docker.io/grafana/grafana-oss:12.1.1 from Docker Hub" in line
        for line in lines
        if line.startswith("WARN")
    )


def test_lite_needs_grafana_mirrored(aws, templates, foundations):
    foundations()
    assert (
        the_failure(*check(aws, templates, "lite", {}))
        == f"FAIL  image grafana: {REGISTRY}/sl-grafana:12.1.1 is not there yet; run make mirror-images (make "
        "deploy does) to copy it from its upstream registry."
    )


@pytest.mark.parametrize("cidr", ["203.0.113.10/32", "192.0.2.0/24", "198.51.100.7/32", "203.0.113.128/25"])
def test_documentation_ranges_are_refused(aws, templates, mirrored, cidr):
    line = the_failure(*check(aws, templates, "lite", {"AllowedCidr": cidr}))
    network = next(
        n
        for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
        if cidr.rsplit(".", 1)[0] == n.rsplit(".", 1)[0]
    )
    assert (
        line
        == f"FAIL  allowed CIDR: AllowedCidr {cidr} is in {network}, a range reserved for documentation (RFC 5737) "
        "that no real client uses; set the address you will reach the ALB from."
    )


def test_an_allowed_cidr_that_is_no_cidr_is_refused(aws, templates, mirrored):
    assert (
        the_failure(*check(aws, templates, "lite", {"AllowedCidr": "10.0.0.300/32"}))
        == "FAIL  allowed CIDR: AllowedCidr '10.0.0.300/32' is not an IPv4 CIDR block."
    )


def test_an_allowed_cidr_with_host_bits_passes_as_ec2_takes_it(aws, templates, mirrored):
    # EC2 masks the host bits of a rule's CidrIp (198.18.7.10/24 admits 198.18.7.0/24).
    code, lines = check(aws, templates, "lite", {"AllowedCidr": "198.18.7.10/24"})
    assert code == 0 and "PASS  allowed CIDR: 198.18.7.10/24" in lines


def test_public_grafana_needs_an_allowed_cidr(aws, templates, mirrored):
    expected = (
        "FAIL  allowed CIDR: AllowedCidr is empty but GrafanaExposure is public; set it to the address "
        "Grafana is used from (such as your office's /32), or GrafanaExposure=none."
    )
    assert the_failure(*check(aws, templates, "lite", {"AllowedCidr": "", "GrafanaExposure": "public"})) == expected
    code, lines = check(aws, templates, "lite", {"AllowedCidr": "", "GrafanaExposure": "none"})
    assert code == 0, lines


def test_access_logs_need_the_account_role(aws, templates, full_ready):
    line = the_failure(*check(aws, templates, "full", {**full_ready, "WebSocketAccessLogs": "enabled"}))
    assert (
        line
        == f"FAIL  API Gateway log role: WebSocketAccessLogs is enabled but {REGION} has no API Gateway CloudWatch "
        "Logs role (account setting); set it once (docs/deploying.md, 'WebSocket access logs') or keep "
        "WebSocketAccessLogs=disabled."
    )
    role = "arn:aws:iam::123456789012:role/apigateway-logs"
    aws.client("apigateway").update_account(
        patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": role}]
    )
    code, lines = check(aws, templates, "full", {**full_ready, "WebSocketAccessLogs": "enabled"})
    assert code == 0 and f"PASS  API Gateway log role: {role}" in lines
    code, lines = check(aws, templates, "full", {**full_ready, "WebSocketAccessLogs": "disabled"})
    assert (
        code == 0
        and "PASS  API Gateway log role: access logs off; the account's role is set: WebSocketAccessLogs=enabled "
        "would work"
        in lines
    )


@pytest.mark.parametrize(
    "names, domain, ok",
    [
        (("example.com", "*.example.com"), "api.example.com", True),
        (("example.com", "*.example.com"), "a.b.example.com", False),
        (("*.example.com",), "example.com", False),
        (("grafana.example.com",), "grafana.example.com", True),
        (("grafana.example.com",), "grafana.example.org", False),
        # DNS names compare without case or a trailing dot, on either side.
        (("*.Example.COM.",), "grafana.example.com", True),
        (("Grafana.Example.com",), "grafana.example.com.", True),
        (("*.example.com",), "grafana.example.com.", True),
    ],
)
def test_certificate_names(names, domain, ok):
    assert any(preflight.covers(pattern, domain) for pattern in names) is ok


def test_certificate_must_cover_the_domain_names(aws, templates, full_ready):
    line = the_failure(*check(aws, templates, "full", {**full_ready, "BackendDomainName": "api.v2.example.com"}))
    assert re.fullmatch(
        r"FAIL  certificate: arn:aws:acm:us-east-1:123456789012:certificate/[0-9a-f-]+ covers \*\.example\.com, "
        r"example\.com but not api\.v2\.example\.com; browsers would refuse the name\.",
        line,
    )


def test_a_suffix_is_not_a_zone(aws, templates, full_ready):
    assert preflight.in_zone("live.example.com", "example.com") and not preflight.in_zone(
        "badexample.com", "example.com"
    )
    code, lines = check(aws, templates, "full", {**full_ready, "DashboardDomainName": "dashboardexample.com"})
    assert code == 1 and "dashboardexample.com not in zone example.com" in failures(lines)[-1]


def test_names_without_a_zone_are_a_warning(aws, templates, full_ready):
    code, lines = check(aws, templates, "full", {**full_ready, "HostedZoneId": ""})
    assert code == 0
    assert (
        "WARN  hosted zone: BackendDomainName, DashboardDomainName set without HostedZoneId: no DNS record is "
        "made; point those names at the stack yourself." in lines
    )


def deployed_profile_stack(aws, desired: int, org: str = "streamlines", bucket: str = "market-data"):
    """The profile stack as a first deploy left it: its parameters and its InfluxDB service."""
    body = {
        "Parameters": {"InfluxDbOrg": {"Type": "String"}, "InfluxDbBucket": {"Type": "String"}},
        "Resources": {
            "Cluster": {"Type": "AWS::ECS::Cluster"},
            "TaskDefinition": {
                "Type": "AWS::ECS::TaskDefinition",
                "Properties": {
                    "Family": "influxdb",
                    "ContainerDefinitions": [{"Name": "influxdb", "Image": "x", "Memory": 512}],
                },
            },
            "InfluxDbService": {
                "Type": "AWS::ECS::Service",
                "Properties": {
                    "Cluster": {"Ref": "Cluster"},
                    "TaskDefinition": {"Ref": "TaskDefinition"},
                    "DesiredCount": desired,
                    "ServiceName": "influxdb",
                },
            },
        },
    }
    parameters = [
        {"ParameterKey": "InfluxDbOrg", "ParameterValue": org},
        {"ParameterKey": "InfluxDbBucket", "ParameterValue": bucket},
    ]
    aws.client("cloudformation").create_stack(
        StackName="sl-stack", TemplateBody=json.dumps(body), Parameters=parameters
    )


def test_an_update_while_influxdb_is_scaled_to_zero_is_refused(aws, templates, mirrored):
    deployed_profile_stack(aws, desired=0)
    line = the_failure(*check(aws, templates, "lite", {}))
    assert re.fullmatch(
        r"FAIL  InfluxDB running: the InfluxDB service of sl-stack is scaled to zero \(active hours\?\); an update "
        r"may need the token issuer to reach it\. "
        r"Deploy during active hours, or scale it to 1 first \(aws ecs update-service --cluster sl-stack-Cluster-\w+ "
        r"--service influxdb --desired-count 1\)\.",
        line,
    ), line


def test_an_update_with_influxdb_running_passes(aws, templates, mirrored):
    deployed_profile_stack(aws, desired=1)
    code, lines = check(aws, templates, "lite", {})
    assert code == 0 and "PASS  InfluxDB setup: org and bucket unchanged; InfluxDB has 0 of 1 tasks running" in lines


@pytest.mark.parametrize("renamed", [{"bucket": "quotes"}, {"org": "acme"}])
def test_renaming_the_org_or_bucket_after_first_boot_is_refused(aws, templates, mirrored, renamed):
    deployed_profile_stack(aws, desired=1, **renamed)
    line = the_failure(*check(aws, templates, "lite", {}))
    name, (_, value) = ("InfluxDbBucket" if "bucket" in renamed else "InfluxDbOrg"), next(iter(renamed.items()))
    here = "market-data" if "bucket" in renamed else "streamlines"
    assert (
        line == f"FAIL  InfluxDB setup: {name} is {value!r} in sl-stack and {here!r} here; InfluxDB created its org "
        f"and bucket at first boot and keeps them, so keep {value!r}."
    )


def test_a_full_stack_is_held_to_its_bucket_too(aws, templates, full_ready):
    deployed_profile_stack(aws, desired=1, bucket="quotes")
    line = the_failure(*check(aws, templates, "full", full_ready))
    assert line.startswith("FAIL  InfluxDB setup: InfluxDbBucket is 'quotes' in sl-stack")


def test_a_running_influxdb_is_counted_from_the_service(aws, templates, mirrored):
    deployed_profile_stack(aws, desired=1)

    def running(parsed, **_):
        for service in parsed.get("services", []):
            service["runningCount"] = 1

    aws.events.register("after-call.ecs.DescribeServices", running)
    code, lines = check(aws, templates, "lite", {})
    assert code == 0 and "PASS  InfluxDB setup: org and bucket unchanged; InfluxDB has 1 of 1 tasks running" in lines


def test_a_stack_answered_without_parameters_has_no_org_to_keep(aws, templates, mirrored):
    # DescribeStacks leaves Parameters out for a stack that has none.
    deployed_profile_stack(aws, desired=1, org="acme")
    aws.events.register(
        "after-call.cloudformation.DescribeStacks",
        lambda parsed, **_: [stack.pop("Parameters", None) for stack in parsed.get("Stacks", [])],
    )
    code, lines = check(aws, templates, "lite", {})
    assert code == 0 and "PASS  InfluxDB setup: org and bucket unchanged; InfluxDB has 0 of 1 tasks running" in lines


def test_missing_lambda_code(aws, templates, mirrored):
    aws.client("s3").delete_object(Bucket="sl-app-bucket", Key=f"lambdas/influx_token_provider/{KEY}.zip")
    assert (
        the_failure(*check(aws, templates, "lite", {}))
        == f"FAIL  lambda code influx_token_provider: s3://sl-app-bucket/lambdas/influx_token_provider/{KEY}.zip "
        "does not exist; run make upload-lambdas STACK=sl-foundations."
    )


def test_placeholder_market_data_credentials(aws, templates, full_ready, foundations):
    aws.client("secretsmanager").put_secret_value(
        SecretId=foundations.outputs[exports.MARKET_DATA_API_SECRET],
        SecretString=json.dumps({"apiKey": "key", "apiSecret": "secret", "topTickersToken": "PLACEHOLDER"}),
    )
    assert re.fullmatch(
        r"FAIL  market-data credentials: secret "
        r"arn:aws:secretsmanager:us-east-1:123456789012:secret:sl-MarketDataApiCredentials-\w+ "
        r"still holds placeholders; ingest needs the real apiKey, apiSecret and topTickersToken \(aws secretsmanager "
        r"put-secret-value\)\.",
        the_failure(*check(aws, templates, "full", full_ready)),
    )


def test_parameters_file_format(tmp_path):
    path = tmp_path / "lite.parameters"
    path.write_text("# comment\nGrafanaExposure=none\n\nCertificateArn=\n")
    assert preflight.read_parameters_file(path) == {"GrafanaExposure": "none", "CertificateArn": ""}
    path.write_text("just words\n")
    with pytest.raises(ValueError, match="lite.parameters:1 is not KEY=VALUE"):
        preflight.read_parameters_file(path)


def test_shipped_parameter_files_name_real_parameters(templates):
    from pathlib import Path

    for profile in ("lite", "full", "cloudfront"):
        values = preflight.read_parameters_file(Path(__file__).parents[2] / "deploy" / f"{profile}.parameters")
        assert set(values) <= set(templates[profile]["Parameters"]), profile


def lite_stack(aws, templates, *skip, profile="lite"):
    """A deployed lite stack as the pipeline add-on sees it: its outputs (but those in `skip`)."""
    outputs = {name: f"value-of-{name}" for name in templates["lite"]["Outputs"] if name not in skip}
    outputs["StackProfile"] = profile
    body = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {k: {"Value": v} for k, v in outputs.items()},
    }
    aws.client("cloudformation").create_stack(StackName="sl-lite", TemplateBody=json.dumps(body))


PIPELINE = {
    "LiteStackName": "sl-lite",
    "TopTickersApi": "https://tickers.example.com",
    "IngestImageTag": "1.0.0",
    "RipplesImageTag": "1.0.0",
}


def test_pipeline_needs_its_lite_stack(aws, templates, mirrored):
    for repository in ("ingest", "ripples"):
        put_image(aws, repository, "1.0.0")
    assert (
        the_failure(*check(aws, templates, "lite-pipeline", PIPELINE))
        == "FAIL  lite stack: sl-lite does not exist in us-east-1; the pipeline add-on runs in a deployed lite "
        "stack (deploy it first, or set LiteStackName)."
    )
    lite_stack(aws, templates, "InfluxDbLoadBalancerSecurityGroupId", "InfluxDbUrl")
    assert (
        the_failure(*check(aws, templates, "lite-pipeline", PIPELINE))
        == "FAIL  lite stack: sl-lite is not a current lite stack (missing InfluxDbLoadBalancerSecurityGroupId, "
        "InfluxDbUrl); update it with the current build/lite.json first."
    )


def test_pipeline_needs_a_lite_stack_not_another_profile(aws, templates, mirrored):
    for repository in ("ingest", "ripples"):
        put_image(aws, repository, "1.0.0")
    lite_stack(aws, templates, profile="full")
    assert (
        the_failure(*check(aws, templates, "lite-pipeline", PIPELINE))
        == "FAIL  lite stack: sl-lite is not a current lite stack (missing StackProfile lite); update it with "
        "the current build/lite.json first."
    )


def test_good_pipeline_setup_passes(aws, templates, mirrored):
    for repository in ("ingest", "ripples"):
        put_image(aws, repository, "1.0.0")
    lite_stack(aws, templates)
    code, lines = check(aws, templates, "lite-pipeline", PIPELINE)
    assert code == 0, lines
    passed = {line.split(":")[0].removeprefix("PASS  ") for line in lines if line.startswith("PASS")}
    assert passed == {
        "foundations stack",
        "foundations exports",
        "lite stack",
        "image ingest",
        "image ripples",
        "market-data credentials",
    }
    imported = set(re.findall(r'"\$\{LiteStackName\}-([A-Za-z0-9]+)"', json.dumps(templates["lite-pipeline"])))
    assert (
        f"PASS  lite stack: sl-lite exports all {len(imported)} values the pipeline imports" in lines
        and len(imported) > 1
    )


def test_a_redeploys_own_mount_targets_are_not_in_another_vpc(aws, templates, mirrored):
    """Updating a deployed stack: its own mount targets are in its own VPC (the VpcId output)."""
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.0.0/24")["Subnet"]["SubnetId"]
    exported = aws.client("cloudformation").list_exports()["Exports"]
    fs_id = next(e["Value"] for e in exported if e["Name"] == f"{FOUNDATIONS}-FileSystemId")
    aws.client("efs").create_mount_target(FileSystemId=fs_id, SubnetId=subnet)
    body = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}, "Outputs": {"VpcId": {"Value": vpc}}}
    aws.client("cloudformation").create_stack(StackName="sl-stack", TemplateBody=json.dumps(body))
    code, lines = check(aws, templates, "lite", {})
    assert code == 0, lines
    assert f"PASS  EFS mount targets: file system {fs_id} has no mount targets outside this stack" in lines


@pytest.mark.parametrize(
    "status, usable",
    [
        ("CREATE_COMPLETE", True),
        ("UPDATE_COMPLETE", True),
        ("UPDATE_ROLLBACK_COMPLETE", True),
        ("IMPORT_COMPLETE", True),
        ("ROLLBACK_COMPLETE", False),
        ("UPDATE_IN_PROGRESS", False),
        ("CREATE_FAILED", False),
    ],
)
def test_which_stack_states_are_usable(status, usable):
    from unittest import mock

    from streamlines.aws import StackError, usable_outputs

    cloudformation = mock.Mock()
    cloudformation.describe_stacks.return_value = {
        "Stacks": [{"StackStatus": status, "Outputs": [{"OutputKey": "A", "OutputValue": "b"}]}]
    }
    if usable:
        assert usable_outputs(cloudformation, "s", "us-east-1") == {"A": "b"}
    else:
        with pytest.raises(StackError, match=f"stack s is {status}"):
            usable_outputs(cloudformation, "s", "us-east-1")


def normalized(lines):
    """The report with what moto makes up (ids, ARNs' random parts) replaced by placeholders."""
    out = []
    for line in lines:
        line = re.sub(r"fs-[0-9a-f]+", "fs-ID", line)
        line = re.sub(r"certificate/[0-9a-f-]{36}", "certificate/ID", line)
        out.append(line)
    return out


# Every line of a good preflight, word for word: a check that passes says what it saw.
GOOD = {
    "lite": [
        "PASS  foundations stack: sl-foundations is CREATE_COMPLETE",
        "PASS  foundations exports: all {lite_imports} exports lite imports are there",
        f"PASS  allowed CIDR: {CIDR}",
        "PASS  EFS mount targets: file system fs-ID has no mount targets outside any VPC",
        f"PASS  image grafana: {REGISTRY}/sl-grafana:12.1.1 (mirror)",
        f"PASS  lambda code influx_token_agent: s3://sl-app-bucket/lambdas/influx_token_agent/{KEY}.zip",
        f"PASS  lambda code influx_token_provider: s3://sl-app-bucket/lambdas/influx_token_provider/{KEY}.zip",
        "all checks passed",
    ],
}


def foundations_imports(template):
    """The foundations exports a template imports, counted from its ImportValue nodes."""
    from ..walk import nodes

    return len(
        {
            node["Fn::ImportValue"]["Fn::Sub"]
            for node in nodes(template)
            if isinstance(node, dict)
            and "Fn::ImportValue" in node
            and "${FoundationsStackName}" in str(node["Fn::ImportValue"])
        }
    )


def test_a_good_lite_preflight_word_for_word(aws, templates, mirrored):
    code, lines = check(aws, templates, "lite", {})
    assert code == 0 and normalized(lines) == [
        line.format(lite_imports=foundations_imports(templates["lite"])) for line in GOOD["lite"]
    ]


def test_a_good_full_preflight_word_for_word(aws, templates, full_ready):
    code, lines = check(aws, templates, "full", full_ready)
    assert code == 0
    got = normalized(lines)
    expected = [
        "PASS  foundations stack: sl-foundations is CREATE_COMPLETE",
        f"PASS  foundations exports: all {foundations_imports(templates['full'])} exports full imports are there",
        "PASS  allowed CIDR: 0.0.0.0/0",
        "PASS  EFS mount targets: file system fs-ID has no mount targets outside any VPC",
        "PASS  certificate: example.com is issued in us-east-1; covers api.example.com, dashboard.example.com",
        f"PASS  hosted zone: {full_ready['HostedZoneId']} (example.com) holds api.example.com, dashboard.example.com",
        "PASS  API Gateway log role: access logs off; the account's role is not set, which is fine with logs off",
        f"PASS  image influxdb: {REGISTRY}/sl-influxdb:2.7.12 (mirror)",
        *(
            f"PASS  image {service}: {REGISTRY}/sl-{service}:1.0.0"
            for service in ("ingest", "ripples", "backend", "dashboard")
        ),
        *(
            f"PASS  lambda code {name}: s3://sl-app-bucket/lambdas/{name}/{KEY}.zip"
            for name in code_key_parameters("full").values()
        ),
        "PASS  market-data credentials: set",
        "all checks passed",
    ]
    assert got == expected


def test_a_parameters_file_reads_key_value_lines(tmp_path):
    path = tmp_path / "lite.parameters"
    path.write_text(
        "# comment\n\nAllowedCidr = 198.18.7.10/32\nGrafanaImage=registry/grafana:12=1\nEmpty=\n", encoding="utf-8"
    )
    assert preflight.read_parameters_file(path) == {
        "AllowedCidr": "198.18.7.10/32",
        "GrafanaImage": "registry/grafana:12=1",
        "Empty": "",
    }
    for bad in ("NoEquals", "1Key=x", "Bad-Key=x"):
        path.write_text(f"# first\n{bad}\n", encoding="utf-8")
        with pytest.raises(ValueError) as refused:
            preflight.read_parameters_file(path)
        assert str(refused.value) == f"{path}:2 is not KEY=VALUE."


def test_local_code_keys_are_the_content_keys_of_the_built_zips(tmp_path, templates):
    from streamlines import packaging

    for folder in ("influx_token_agent", "influx_token_provider"):
        archive = packaging.built_zip(tmp_path, folder)
        archive.parent.mkdir(parents=True)
        archive.write_bytes(folder.encode())
    keys = preflight.local_code_keys(tmp_path, "lite")
    assert keys == {
        parameter: packaging.content_key(packaging.built_zip(tmp_path, folder))
        for parameter, folder in code_key_parameters("lite").items()
    }
    assert preflight.local_code_keys(tmp_path / "nothing", "lite") == {}


@pytest.mark.parametrize(
    "name, zone, inside",
    [
        ("api.example.com.", "example.com.", True),
        ("API.Example.com", "example.COM.", True),
        ("example.com.", "example.com", True),
        ("api.example.org.", "example.com.", False),
    ],
)
def test_names_and_zones_compare_without_their_trailing_dot_or_case(name, zone, inside):
    assert preflight.in_zone(name, zone) is inside


def test_a_repository_name_keeps_its_namespace():
    assert images.repository_of("123456789012.dkr.ecr.us-east-1.amazonaws.com/sl-grafana") == "sl-grafana"
    assert images.repository_of("123456789012.dkr.ecr.us-east-1.amazonaws.com/team/sl/grafana") == "team/sl/grafana"


def test_a_missing_code_key_and_a_missing_zip_each_fail_and_the_others_are_still_checked(aws, templates, mirrored):
    parameters = sorted(code_key_parameters("lite").items())
    assert len(parameters) == 2
    (first, first_folder), (second, second_folder) = parameters
    code, lines = check(aws, templates, "lite", {first: ""})
    assert (
        code == 1
        and f"FAIL  lambda code {first_folder}: no {first}: run make lambdas (or pass the key make upload-lambdas "
        "printed)."
        in lines
    )
    assert any(line.startswith(f"PASS  lambda code {second_folder}: ") for line in lines)
    code, lines = check(aws, templates, "lite", {first: "lambdas/nowhere.zip"})
    assert (
        code == 1
        and f"FAIL  lambda code {first_folder}: s3://sl-app-bucket/lambdas/nowhere.zip does not exist; run make "
        f"upload-lambdas STACK={FOUNDATIONS}."
        in lines
    )
    assert any(line.startswith(f"PASS  lambda code {second_folder}: ") for line in lines)
    # Two failures read in the plural.
    code, lines = check(aws, templates, "lite", {first: "", second: ""})
    assert lines[-1] == "2 checks failed"


def test_every_name_outside_the_zone_is_named(aws, templates, full_ready):
    code, lines = check(
        aws,
        templates,
        "full",
        {**full_ready, "BackendDomainName": "api.example.org", "DashboardDomainName": "dashboard.example.net"},
    )
    assert "FAIL  hosted zone: api.example.org, dashboard.example.net not in zone example.com." in lines


def test_for_sam_the_code_keys_are_not_asked_for_but_the_bucket_sam_uploads_to_is_checked(aws, templates, mirrored):
    """`sam deploy` uploads the code itself (to the app bucket, samconfig's s3_bucket): no code keys."""
    values = {**LITE_GOOD, "FoundationsStackName": FOUNDATIONS}
    lines = []
    code = preflight.run(aws, "lite", "sl-lite", FOUNDATIONS, templates["lite"], values, lines.append, sam=True)
    assert code == 0, lines
    assert "PASS  SAM code bucket: sam deploy uploads the Lambda code to s3://sl-app-bucket/sam/sl-lite" in lines
    assert not [line for line in lines if "lambda code" in line]
    s3 = aws.client("s3")
    for listed in s3.list_objects_v2(Bucket="sl-app-bucket").get("Contents", []):
        s3.delete_object(Bucket="sl-app-bucket", Key=listed["Key"])
    s3.delete_bucket(Bucket="sl-app-bucket")
    lines.clear()
    code = preflight.run(aws, "lite", "sl-lite", FOUNDATIONS, templates["lite"], values, lines.append, sam=True)
    assert code == 1 and "FAIL  SAM code bucket: s3://sl-app-bucket cannot be reached (404)." in lines


def test_without_sam_the_same_values_fail_for_want_of_the_code(aws, templates, mirrored):
    values = {**LITE_GOOD, "FoundationsStackName": FOUNDATIONS}
    lines = []
    code = preflight.run(aws, "lite", "sl-lite", FOUNDATIONS, templates["lite"], values, lines.append)
    assert code == 1 and len([line for line in lines if line.startswith("FAIL  lambda code")]) == 2


def test_the_cli_takes_sam_and_then_wants_no_code_keys(aws, mirrored, capsys, tmp_path):
    from streamlines.cli import main

    empty = tmp_path / "lite.parameters"
    empty.write_text(f"AllowedCidr={CIDR}\n")
    argv = ["preflight", "--profile", "lite", "--stack", "sl-lite", "--prefix", "sl", "--region", REGION]
    assert main([*argv, "--parameters", str(empty), "--sam"]) == 0
    out = capsys.readouterr().out
    assert "PASS  SAM code bucket" in out and out.rstrip().endswith("all checks passed")
