from __future__ import annotations

import json

import boto3
import botocore.loaders
import botocore.session
import pytest

from streamlines.packaging import code_key_parameters
from templates_py import exports
from templates_py.config import BuildConfig
from templates_py.render import render
from templates_py.stacks.foundations import SECRETS


@pytest.fixture(scope="session")
def config() -> BuildConfig:
    return BuildConfig().validated()


@pytest.fixture(scope="session")
def bodies(config) -> dict[str, str]:
    """File name -> rendered body, for every template of every profile."""
    return render("all", config)


@pytest.fixture(scope="session")
def annotated_bodies(config) -> dict[str, str]:
    """The same renders with their checkov notes, as `make checkov` lints them."""
    return render("all", config, lint_notes=True)


@pytest.fixture(scope="session")
def annotated(annotated_bodies) -> dict[str, dict]:
    return {name.removesuffix(".json"): json.loads(body) for name, body in annotated_bodies.items()}


@pytest.fixture(scope="session")
def templates(bodies) -> dict[str, dict]:
    """Stack name -> parsed template."""
    return {name.removesuffix(".json"): json.loads(body) for name, body in bodies.items()}


REGION = "us-east-1"
FOUNDATIONS = "sl-foundations"
KEY = "0" * 64


# botocore reads and parses each service's JSON model once per session, and every
# test makes its own: one loader for all of them saves most of a second a test
# (and, under `make mutants`, a mutant: mutmut forks each from the process that
# already ran the suite once).
LOADER = botocore.loaders.create_loader()


def session(region: str = REGION) -> boto3.session.Session:
    core = botocore.session.get_session()
    core.register_component("data_loader", LOADER)
    return boto3.session.Session(botocore_session=core, region_name=region)


@pytest.fixture
def aws(monkeypatch):
    from moto import mock_aws

    # No test starts an instance from one of moto's stock AMIs, and loading them takes
    # a quarter of a second for each region's EC2 a test touches.
    environment = {
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": REGION,
        "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
    }
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        yield session()


def issued_certificate(session, region: str, domain: str = "example.com") -> str:
    import trustme

    ca = trustme.CA()
    leaf = ca.issue_cert(domain, "*." + domain)
    return session.client("acm", region_name=region).import_certificate(
        Certificate=leaf.cert_chain_pems[0].bytes(),
        PrivateKey=leaf.private_key_pem.bytes(),
        CertificateChain=ca.cert_pem.bytes(),
    )["CertificateArn"]


@pytest.fixture
def foundations(aws, templates):
    """What `aws cloudformation deploy` of foundations leaves: the resources and the exports."""
    s3, ecr, efs, secrets = (aws.client(name) for name in ("s3", "ecr", "efs", "secretsmanager"))
    s3.create_bucket(Bucket="sl-app-bucket")
    outputs = {exports.APP_BUCKET_NAME: "sl-app-bucket", exports.APP_BUCKET_ARN: "arn:aws:s3:::sl-app-bucket"}
    for repository in exports.repositories():
        created = ecr.create_repository(repositoryName=f"sl-{repository}")["repository"]
        outputs[exports.repository_uri(repository)] = created["repositoryUri"]
        outputs[exports.repository_arn(repository)] = created["repositoryArn"]
    file_system = efs.create_file_system(CreationToken="sl")
    outputs[exports.FILE_SYSTEM_ID] = file_system["FileSystemId"]
    outputs[exports.FILE_SYSTEM_ARN] = file_system["FileSystemArn"]
    for name in ("INFLUXDB_ACCESS_POINT", "GRAFANA_ACCESS_POINT"):
        outputs[getattr(exports, name + "_ID")] = "fsap-0123456789abcdef0"
        outputs[getattr(exports, name + "_ARN")] = (
            "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0123456789abcdef0"
        )
    outputs[exports.CONNECTIONS_TABLE_NAME] = "sl-connections"
    outputs[exports.CONNECTIONS_TABLE_ARN] = "arn:aws:dynamodb:us-east-1:123456789012:table/sl-connections"
    for logical_id, (export, _, kind) in SECRETS.items():
        value = {
            "placeholder": json.dumps({"authorizationID": "", "token": "PLACEHOLDER"}),
            "credentials": json.dumps({"apiKey": "key", "apiSecret": "secret", "topTickersToken": "token"}),
        }.get(kind, "generated")
        outputs[export] = secrets.create_secret(Name=f"sl-{logical_id}", SecretString=value)["ARN"]
    for folder in sorted({folder for profile in templates for folder in code_key_parameters(profile).values()}):
        s3.put_object(Bucket="sl-app-bucket", Key=f"lambdas/{folder}/{KEY}.zip", Body=b"zip")

    def deploy(*skip: str):
        """Deploy it, without the exports named in `skip` (an older foundations)."""
        body = {
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {
                k: {"Value": v, "Export": {"Name": f"{FOUNDATIONS}-{k}"}} for k, v in outputs.items() if k not in skip
            },
        }
        aws.client("cloudformation").create_stack(StackName=FOUNDATIONS, TemplateBody=json.dumps(body))

    deploy.outputs = outputs
    return deploy


@pytest.fixture
def grafana(httpserver, request):
    """Grafana's double (tests/doubles/grafana.py) on a local port, admin password
    doubles.grafana.PASSWORD. Its datasource health check passes with a token of the
    test module's GRAFANA_TOKENS. Answering outside Grafana's API description fails the test."""
    from tests.doubles.grafana import PASSWORD, GrafanaDouble

    double = GrafanaDouble(PASSWORD, valid_tokens=set(getattr(request.module, "GRAFANA_TOKENS", ())))
    double.url = double.install(httpserver)
    yield double
    assert double.violations == [], "the Grafana double answered outside Grafana's API description"
