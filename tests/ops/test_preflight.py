"""`streamlines preflight` against moto: every check passes on a good setup and
fails with its own message on each broken one."""

from __future__ import annotations

import json

import boto3
import pytest

from streamlines import preflight
from templates_py import exports
from streamlines.packaging import code_key_parameters

from ..conftest import FOUNDATIONS, KEY, issued_certificate

REGION = "us-east-1"


def code_keys(template):
    return {p: f"lambdas/{folder}/{KEY}.zip" for p, folder in code_key_parameters(template).items()}


def check(aws, templates, profile, values, stack="sl-stack"):
    lines = []
    code = preflight.run(aws, profile, stack, FOUNDATIONS, templates[profile], {**code_keys(templates[profile]), **values}, lines.append)
    return code, lines


def failures(lines):
    return [line for line in lines if line.startswith("FAIL")]


def test_good_lite_setup_passes(aws, templates, foundations):
    foundations()
    code, lines = check(aws, templates, "lite", {"AllowedCidr": "203.0.113.10/32"})
    assert code == 0, lines
    assert failures(lines) == [] and lines[-1] == "all checks passed"
    assert {line.split(":")[0] for line in lines[:-1]} >= {"PASS  foundations stack", "PASS  foundations exports", "PASS  EFS mount targets", "PASS  lambda code influx_token_agent"}


@pytest.fixture
def full_ready(aws, templates, foundations):
    foundations()
    ecr = aws.client("ecr")
    for repository in ("ingest", "ripples", "backend", "dashboard", "influxdb"):
        ecr.put_image(repositoryName=f"sl-{repository}", imageManifest=json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json", "config": {"digest": "sha256:" + "1" * 64}, "layers": []}), imageManifestMediaType="application/vnd.docker.distribution.manifest.v2+json", imageTag="1.0.0")
    zone = aws.client("route53").create_hosted_zone(Name="example.com", CallerReference="sl")["HostedZone"]["Id"].split("/")[-1]
    return {
        "NetworkMode": "endpoints",
        "IngestImageTag": "1.0.0",
        "RipplesImageTag": "1.0.0",
        "BackendImageTag": "1.0.0",
        "DashboardImageTag": "1.0.0",
        "InfluxDbImage": f"{foundations.outputs['EcrRepositoryInfluxdbUri']}:1.0.0",
        "CertificateArn": issued_certificate(aws, REGION),
        "HostedZoneId": zone,
        "DashboardDomainName": "dashboard.example.com",
    }


def test_good_full_setup_passes(aws, templates, full_ready):
    code, lines = check(aws, templates, "full", full_ready)
    assert code == 0, lines
    assert len([line for line in lines if line.startswith("PASS")]) == 15


def the_failure(code, lines):
    assert code == 1
    (line,) = failures(lines)
    assert lines[-1] == "1 check failed"
    return line


def test_missing_foundations_stack(aws, templates):
    code, lines = check(aws, templates, "lite", {})
    assert code == 1 and "sl-foundations does not exist" in failures(lines)[0]


def test_missing_export(aws, templates, foundations):
    foundations(skip=exports.GRAFANA_ACCESS_POINT_ARN)
    assert "does not export GrafanaAccessPointArn" in the_failure(*check(aws, templates, "lite", {}))


def test_mount_target_in_another_vpc(aws, templates, foundations):
    foundations()
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.0.0/24")["Subnet"]["SubnetId"]
    aws.client("efs").create_mount_target(FileSystemId=foundations.outputs[exports.FILE_SYSTEM_ID], SubnetId=subnet)
    line = the_failure(*check(aws, templates, "lite", {}))
    assert "mount targets in another VPC" in line and vpc in line


def test_certificate_in_the_wrong_region(aws, templates, foundations):
    foundations()
    arn = issued_certificate(aws, "eu-west-1")
    assert f"is in eu-west-1, but a lite stack in {REGION} needs a certificate from {REGION}" in the_failure(*check(aws, templates, "lite", {"CertificateArn": arn}))


def test_cloudfront_certificate_must_be_in_us_east_1(aws, templates, foundations):
    foundations()
    aws_eu = boto3.session.Session(region_name="eu-west-1")
    arn = issued_certificate(aws_eu, "eu-west-1")
    lines = []
    code = preflight.run(aws_eu, "cloudfront", "sl-site", FOUNDATIONS, templates["cloudfront"], {"CertificateArn": arn, "DomainName": "d.example.com"}, lines.append)
    assert code == 1
    assert any("CloudFront only uses certificates from us-east-1" in line for line in failures(lines))


def test_certificate_not_issued(aws, templates, foundations):
    foundations()
    arn = aws.client("acm").request_certificate(DomainName="grafana.example.com", ValidationMethod="DNS")["CertificateArn"]
    assert "PENDING_VALIDATION, not ISSUED" in the_failure(*check(aws, templates, "lite", {"CertificateArn": arn}))


def test_certificate_that_does_not_exist(aws, templates, foundations):
    foundations()
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
    assert "does not exist" in the_failure(*check(aws, templates, "lite", {"CertificateArn": arn}))


def test_missing_hosted_zone(aws, templates, full_ready):
    assert "hosted zone Z0NOSUCHZONE does not exist" in the_failure(*check(aws, templates, "full", {**full_ready, "HostedZoneId": "Z0NOSUCHZONE"}))


def test_domain_outside_the_zone(aws, templates, full_ready):
    assert "dashboard.example.org not in zone example.com" in the_failure(*check(aws, templates, "full", {**full_ready, "DashboardDomainName": "dashboard.example.org"}))


def test_missing_image_tag(aws, templates, full_ready):
    assert "sl-ripples:2.0.0 does not exist; push it first" in the_failure(*check(aws, templates, "full", {**full_ready, "RipplesImageTag": "2.0.0"}))


def test_docker_hub_image_in_endpoints_mode(aws, templates, full_ready):
    line = the_failure(*check(aws, templates, "full", {**full_ready, "InfluxDbImage": "influxdb:2.7.12"}))
    assert "endpoints mode can only pull from ECR" in line
    code, lines = check(aws, templates, "full", {**full_ready, "InfluxDbImage": "influxdb:2.7.12", "NetworkMode": "nat"})
    assert code == 0, lines


def test_missing_lambda_code(aws, templates, foundations):
    foundations()
    aws.client("s3").delete_object(Bucket="sl-app-bucket", Key=f"lambdas/influx_token_provider/{KEY}.zip")
    assert "influx_token_provider" in the_failure(*check(aws, templates, "lite", {}))


def test_placeholder_market_data_credentials(aws, templates, full_ready, foundations):
    aws.client("secretsmanager").put_secret_value(SecretId=foundations.outputs[exports.MARKET_DATA_API_SECRET], SecretString=json.dumps({"apiKey": "PLACEHOLDER", "apiSecret": "PLACEHOLDER"}))
    assert "still holds placeholders" in the_failure(*check(aws, templates, "full", full_ready))


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
