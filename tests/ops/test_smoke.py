"""`streamlines smoke` against moto (CloudFormation, ECS, ELBv2, Secrets Manager,
Lambda, CloudWatch), the InfluxDB and Grafana doubles and the API Gateway
WebSocket double, with the real token agent and connection handler behind them.

The stacks in moto carry the logical ids and outputs of the rendered templates
(a test below holds smoke to them). Each healthy setup passes every check; each
broken one fails its own check with its own sentence, and only that one.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from pytest_httpserver import HTTPServer

from grafana.provision import Target
from grafana.provision import run as provision_grafana
from streamlines import smoke
from streamlines.cli import main

from ..doubles.grafana import PASSWORD
from ..doubles.influxdb import InfluxDouble
from ..doubles.lambda_paths import add_lambda_paths

add_lambda_paths()

CLUSTER = "sl-cluster"


def moto_template(template: dict, profile: str, outputs: dict[str, str]) -> dict:
    """The rendered template's services, target groups, agent, streams and event
    source mappings, under their own logical ids, as moto can create them."""
    resources: dict = {
        "MotoVpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.20.0.0/16"}},
        "MotoRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ]
                }
            },
        },
        "MotoTaskDefinition": {
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {"Family": "sl", "ContainerDefinitions": [{"Name": "app", "Image": "app:1", "Memory": 512}]},
        },
    }
    for logical_id, resource in template["Resources"].items():
        kind = resource["Type"]
        if kind == "AWS::ECS::Service":
            resources[logical_id] = {
                "Type": kind,
                "Properties": {
                    "Cluster": CLUSTER,
                    "TaskDefinition": {"Ref": "MotoTaskDefinition"},
                    "DesiredCount": 1,
                    "ServiceName": f"{profile}-{logical_id}",
                },
            }
        elif kind == "AWS::ElasticLoadBalancingV2::TargetGroup":
            resources[logical_id] = {
                "Type": kind,
                "Properties": {"Port": 80, "Protocol": "HTTP", "TargetType": "ip", "VpcId": {"Ref": "MotoVpc"}},
            }
        elif kind == "AWS::Lambda::Function":
            resources[logical_id] = {
                "Type": kind,
                "Properties": {
                    "Runtime": "python3.12",
                    "Handler": "x.handler",
                    "Role": {"Fn::GetAtt": ["MotoRole", "Arn"]},
                    "Code": {"ZipFile": "def handler(e, c): return e"},
                },
            }
        elif kind == "AWS::Kinesis::Stream":
            resources[logical_id] = {"Type": kind, "Properties": {"ShardCount": 1}}
        elif kind == "AWS::Lambda::EventSourceMapping":
            properties = resource["Properties"]
            resources[logical_id] = {
                "Type": kind,
                "Properties": {
                    "EventSourceArn": properties["EventSourceArn"],
                    "FunctionName": properties["FunctionName"],
                    "StartingPosition": "LATEST",
                },
            }
    body = {"Resources": resources, "Outputs": {key: {"Value": value} for key, value in outputs.items()}}
    body["Outputs"]["StackProfile"] = {"Value": profile}
    for name in ("UpstreamStream",):
        if name in resources:
            body["Outputs"][name + "Name"] = {"Value": {"Ref": name}}
    return body


class World:
    """A deployed foundations and lite (or full) stack, and the servers behind them."""

    def __init__(self, session, templates, influx, grafana, monkeypatch):
        self.session, self.templates, self.influx, self.grafana, self.monkeypatch = (
            session,
            templates,
            influx,
            grafana,
            monkeypatch,
        )
        self.cloudformation = session.client("cloudformation")
        self.secrets = session.client("secretsmanager")
        self.invocations: list[tuple[str, dict]] = []
        self.now = datetime.now(timezone.utc)
        import token_agent

        issued = token_agent.handler(
            {
                "influxUrl": influx.url,
                "adminToken": influx.operator_token,
                "org": "streamlines",
                "bucket": "market-data",
                "deadlineSeconds": 10,
            },
            None,
        )
        self.tokens = {
            kind: {k: v for k, v in value.items() if k != "created"} for kind, value in issued["tokens"].items()
        }
        self.arns = {
            "InfluxDbReadTokenSecretArn": self.secrets.create_secret(
                Name="sl-read", SecretString=json.dumps(self.tokens["read"])
            )["ARN"],
            "InfluxDbWriteTokenSecretArn": self.secrets.create_secret(
                Name="sl-write", SecretString=json.dumps(self.tokens["write"])
            )["ARN"],
            "GrafanaAdminPasswordSecretArn": self.secrets.create_secret(Name="sl-grafana", SecretString=PASSWORD)[
                "ARN"
            ],
        }
        self.cloudformation.create_stack(
            StackName="sl-foundations",
            TemplateBody=json.dumps(
                {
                    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
                    "Outputs": {k: {"Value": v} for k, v in self.arns.items()},
                }
            ),
        )
        session.client("ecs").create_cluster(clusterName=CLUSTER)
        self.websocket = None

    def deploy(self, profile: str, name: str, running: int = 1, register: bool = True, **outputs: str) -> None:
        self.monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", str(running))
        base = {
            "FoundationsStack": "sl-foundations",
            "InfluxDbUrl": self.influx.url,
            "InfluxDbOrg": "streamlines",
            "InfluxDbBucket": "market-data",
        }
        if profile == "lite-pipeline":
            base = {"FoundationsStack": "sl-foundations", "LiteStack": "sl-lite"}
        body = moto_template(self.templates[profile], profile, {**base, **outputs})
        self.cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(body), Capabilities=["CAPABILITY_IAM"])
        if register:
            elbv2 = self.session.client("elbv2")
            for resource in self.cloudformation.list_stack_resources(StackName=name)["StackResourceSummaries"]:
                if resource["ResourceType"] == "AWS::ElasticLoadBalancingV2::TargetGroup":
                    elbv2.register_targets(
                        TargetGroupArn=resource["PhysicalResourceId"], Targets=[{"Id": "10.20.1.10", "Port": 80}]
                    )

    def physical(self, stack: str, logical_id: str) -> str:
        return self.cloudformation.describe_stack_resource(StackName=stack, LogicalResourceId=logical_id)[
            "StackResourceDetail"
        ]["PhysicalResourceId"]

    def invoke(self, function: str, payload: dict) -> dict:
        """The agent's Lambda invocation, run in process against the InfluxDB double."""
        import token_agent

        stacks = [
            summary["StackName"]
            for summary in self.cloudformation.list_stacks()["StackSummaries"]
            if summary["StackName"] in ("sl-lite", "sl-full")
        ]
        assert function in {self.physical(stack, smoke.AGENT) for stack in stacks}, (
            "smoke must invoke the stack's own token agent"
        )
        assert "adminToken" not in payload, "the operator token must not leave Secrets Manager and the agent"
        self.invocations.append((function, payload))
        return json.loads(json.dumps(token_agent.handler(payload, None)))

    def records(self, stream_output_stack: str, count: int) -> None:
        stream = next(
            o["OutputValue"]
            for o in self.cloudformation.describe_stacks(StackName=stream_output_stack)["Stacks"][0]["Outputs"]
            if o["OutputKey"] == "UpstreamStreamName"
        )
        self.session.client("cloudwatch").put_metric_data(
            Namespace="AWS/Kinesis",
            MetricData=[
                {
                    "MetricName": "IncomingRecords",
                    "Dimensions": [{"Name": "StreamName", "Value": stream}],
                    "Value": count,
                    "Timestamp": self.now - timedelta(minutes=2),
                }
            ],
        )

    def smoke(self, stack: str, **options) -> list[smoke.Check]:
        return smoke.run(self.session, stack, smoke.Options(**options), invoke=self.invoke, now=lambda: self.now)

    def provision_grafana(self) -> None:
        target = Target(
            self.grafana.url,
            "http://influxdb.internal:8086",
            "streamlines",
            "market-data",
            self.tokens["read"]["token"],
            PASSWORD,
        )
        assert provision_grafana(lambda: target, False, 2.0) == 0


@pytest.fixture
def influx():
    server = HTTPServer()
    server.start()
    double = InfluxDouble()
    double.url = double.install(server)
    yield double
    server.clear()
    server.stop()
    assert double.violations == []


@pytest.fixture
def world(aws, templates, influx, grafana, monkeypatch):
    made = World(aws, templates, influx, grafana, monkeypatch)
    grafana.valid_tokens.add(made.tokens["read"]["token"])
    # moto does not report LastProcessingResult; AWS does for a stream mapping.
    aws.events.register(
        "after-call.lambda.GetEventSourceMapping", lambda parsed, **_: parsed.setdefault("LastProcessingResult", "OK")
    )
    return made


def failures(checks):
    return {check.name: check.detail for check in checks if check.ok is False}


def names(checks):
    return [check.name for check in checks]


# --- lite ---------------------------------------------------------------------------------


@pytest.fixture
def lite(world):
    world.deploy("lite", "sl-lite", GrafanaUrl=world.grafana.url)
    world.provision_grafana()
    return world


def test_a_healthy_lite_stack_passes_every_check(lite, capsys):
    checks = lite.smoke("sl-lite")
    assert failures(checks) == {}
    assert names(checks) == [
        "stack",
        "service lite-GrafanaService",
        "service lite-InfluxDbService",
        *sorted(
            f"targets {logical_id}"
            for logical_id, r in lite.templates["lite"]["Resources"].items()
            if r["Type"] == "AWS::ElasticLoadBalancingV2::TargetGroup"
        ),
        "read token",
        "write token",
        "token round trip",
        "grafana health",
        "grafana datasource",
        "grafana dashboards",
    ]
    assert all(check.ok for check in checks)
    assert {check.detail for check in checks if check.name.endswith(" token")} == {"the secret holds an issued token"}
    assert {check.detail for check in checks if check.name.startswith("targets ")} == {"1 of 1 healthy"}
    assert (
        checks[names(checks).index("token round trip")].detail
        == "the write token wrote a scratch point, the read token read it back, and it was deleted"
    )
    # The round trip went through the agent with the two tokens, and left nothing behind.
    ((_, payload),) = lite.invocations
    assert payload["action"] == "round_trip" and payload["writeToken"] == lite.tokens["write"]["token"]
    assert lite.influx.points == []
    # The command: one line per check, exit 0, no token anywhere in the output.
    # (the agent is invoked in the session of the command's region)
    lite.monkeypatch.setattr(
        smoke, "_lambda_invoke", lambda session: session.region_name == "us-east-1" and lite.invoke
    )
    assert main(["smoke", "--stack", "sl-lite", "--region", "us-east-1"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "PASS  stack: CREATE_COMPLETE"
    assert out.splitlines()[-1] == f"{len(checks)} checks, 0 failed"
    assert all(token["token"] not in out for token in lite.tokens.values())


def test_json_output_lists_every_check_with_its_status(lite, capsys):
    lite.monkeypatch.setattr(smoke, "_lambda_invoke", lambda session: lite.invoke)
    lite.influx.revoke(lite.tokens["write"]["authorizationID"])
    assert main(["smoke", "--stack", "sl-lite", "--json"]) == 1
    answer = json.loads(capsys.readouterr().out)
    assert {entry["check"]: entry["status"] for entry in answer}["token round trip"] == "fail"
    assert {entry["status"] for entry in answer} == {"pass", "fail"}


def test_a_service_below_its_desired_count_fails_its_check(world):
    world.deploy("lite", "sl-lite", running=0, GrafanaUrl=world.grafana.url)
    world.provision_grafana()
    found = failures(world.smoke("sl-lite"))
    assert found["service lite-InfluxDbService"] == "0 of 1 tasks running (see the service's events and its log group)."
    assert found["service lite-GrafanaService"] == "0 of 1 tasks running (see the service's events and its log group)."


def test_an_unhealthy_target_fails_its_check(world):
    world.deploy("lite", "sl-lite", register=False, GrafanaUrl=world.grafana.url)
    world.provision_grafana()
    ec2 = world.session.client("ec2")
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    world.session.client("elbv2").register_targets(
        TargetGroupArn=world.physical("sl-lite", "InfluxDbTargetGroup"), Targets=[{"Id": instance, "Port": 8086}]
    )
    ec2.stop_instances(InstanceIds=[instance])
    found = failures(world.smoke("sl-lite"))
    assert found["targets InfluxDbTargetGroup"] == f"0 of 1 healthy: {instance} unused (Target.InvalidState)"
    assert found["targets GrafanaTargetGroup"] == "no registered target: its service runs no task behind it."
    assert set(found) == {"targets InfluxDbTargetGroup", "targets GrafanaTargetGroup"}


def test_a_placeholder_token_fails_and_skips_the_round_trip(lite):
    lite.secrets.put_secret_value(
        SecretId=lite.arns["InfluxDbWriteTokenSecretArn"],
        SecretString=json.dumps({"authorizationID": "", "token": "PLACEHOLDER"}),
    )
    checks = lite.smoke("sl-lite")
    assert failures(checks) == {
        "write token": "the secret holds the placeholder, not an issued token: the token issuer has not run (see "
        "the InfluxTokens resource and the provider's log group)."
    }
    assert "token round trip" not in names(checks) and lite.invocations == []


def test_a_revoked_token_fails_the_round_trip(lite):
    lite.influx.revoke(lite.tokens["read"]["authorizationID"])
    found = failures(lite.smoke("sl-lite"))
    assert found == {
        "token round trip": "InfluxDB refused the read token while reading the point back (HTTP 401): it was "
        "revoked or is not the issued one."
    }


def test_a_failing_datasource_fails_the_grafana_check(lite):
    lite.grafana.valid_tokens.clear()
    found = failures(lite.smoke("sl-lite"))
    assert set(found) == {"grafana datasource"}
    assert found["grafana datasource"].startswith("the InfluxDB datasource's health check: FAILED")


def test_an_unprovisioned_grafana_names_the_command_that_fixes_it(world):
    world.deploy("lite", "sl-lite", GrafanaUrl=world.grafana.url)
    found = failures(world.smoke("sl-lite"))
    assert found == {
        "grafana datasource": "Grafana has no 'Stream Lines InfluxDB' datasource: run streamlines grafana provision.",
        "grafana dashboards": found["grafana dashboards"],
    }
    assert found["grafana dashboards"].startswith("missing from the 'Stream Lines' folder: ") and found[
        "grafana dashboards"
    ].endswith("(run streamlines grafana provision)")


def test_grafana_without_an_alb_is_not_checked_but_says_how(world):
    world.deploy("lite", "sl-lite")
    checks = world.smoke("sl-lite")
    (grafana,) = [check for check in checks if check.name.startswith("grafana")]
    assert grafana.ok is None and "--grafana-url http://localhost:3000" in grafana.detail
    assert failures(checks) == {}


def test_plain_http_to_a_remote_grafana_sends_no_password(world):
    world.deploy("lite", "sl-lite", GrafanaUrl="http://sl-lite-grafana-1.us-east-1.elb.amazonaws.com")
    (grafana,) = [check for check in world.smoke("sl-lite") if check.name.startswith("grafana")]
    assert grafana.ok is None and "--allow-insecure-http" in grafana.detail
    # Nothing was sent to any Grafana: the local double saw no request either.
    assert world.grafana.requests == []


def test_allow_insecure_http_sends_the_checks_to_a_remote_plain_http_grafana(world, monkeypatch):
    remote = "http://sl-lite-grafana-1.us-east-1.elb.amazonaws.com"
    world.deploy("lite", "sl-lite", GrafanaUrl=remote)
    asked = []
    monkeypatch.setattr(
        "grafana.provision.verify",
        lambda url, password, dashboards: asked.append((url, password)) or [smoke.Check("grafana health", True, "ok")],
    )
    (grafana,) = [
        check for check in world.smoke("sl-lite", allow_insecure_http=True) if check.name.startswith("grafana")
    ]
    assert grafana == smoke.Check("grafana health", True, "ok")
    assert asked == [(remote, PASSWORD)]
    # A --grafana-url with a trailing slash names the same Grafana (and reads so in the report).
    world.smoke("sl-lite", allow_insecure_http=True, grafana_url=remote + "/")
    assert asked[-1] == (remote, PASSWORD)


def test_a_stack_that_is_not_there_is_one_failed_check(world):
    assert [(c.name, c.ok, c.detail) for c in world.smoke("sl-nothing")] == [
        ("stack", False, "stack sl-nothing not found.")
    ]


@pytest.mark.parametrize(
    "status, reason, ok, said",
    [
        ("CREATE_COMPLETE", "", True, "CREATE_COMPLETE"),
        ("UPDATE_COMPLETE", "", True, "UPDATE_COMPLETE"),
        (
            "UPDATE_ROLLBACK_COMPLETE",
            "Resource update cancelled",
            False,
            "UPDATE_ROLLBACK_COMPLETE: the last update failed and was rolled back (see the stack events).",
        ),
        (
            "UPDATE_IN_PROGRESS",
            "User Initiated",
            False,
            "UPDATE_IN_PROGRESS: User Initiated (a working stack is CREATE_COMPLETE or UPDATE_COMPLETE).",
        ),
        ("ROLLBACK_COMPLETE", "", False, "ROLLBACK_COMPLETE (a working stack is CREATE_COMPLETE or UPDATE_COMPLETE)."),
    ],
)
def test_the_stack_check_passes_only_a_complete_stack(status, reason, ok, said):
    assert smoke._stack_status(type("S", (), {"status": status, "reason": reason})()) == smoke.Check("stack", ok, said)


class CloudFormation:
    """DescribeStacks and ListStackResources as AWS answers them, for one stack (or an error)."""

    def __init__(self, stack=None, resources=(), error=None):
        self.stack, self.resources, self.error = stack, list(resources), error

    def describe_stacks(self, StackName):
        if self.error:
            raise self.error
        return {"Stacks": [{"StackName": StackName, **self.stack}]}

    def get_paginator(self, operation):
        assert operation == "list_stack_resources"
        return type("P", (), {"paginate": lambda _, StackName: [{"StackResourceSummaries": self.resources}]})()


def client_error(code, message=None, operation="DescribeStacks"):
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, **({"Message": message} if message else {})}}, operation)


def test_a_stack_that_cannot_be_read_says_why():
    refused = client_error(
        "AccessDenied",
        "User: arn:aws:iam::123456789012:user/ops is not authorized to perform: cloudformation:DescribeStacks",
    )
    with pytest.raises(LookupError) as raised:
        smoke._Stack(CloudFormation(error=refused), "sl-lite")
    assert (
        str(raised.value)
        == "cannot read stack sl-lite: User: arn:aws:iam::123456789012:user/ops is not authorized to perform: "
        "cloudformation:DescribeStacks"
    )
    # Without a message, botocore's own sentence.
    bare = client_error("Throttling")
    with pytest.raises(LookupError) as raised:
        smoke._Stack(CloudFormation(error=bare), "sl-lite")
    assert str(raised.value) == f"cannot read stack sl-lite: {bare}" and "(Throttling)" in str(bare)


def test_aws_out_of_reach_is_one_failed_check():
    from botocore.exceptions import EndpointConnectionError

    unreachable = CloudFormation(
        error=EndpointConnectionError(endpoint_url="https://cloudformation.us-east-1.amazonaws.com/")
    )
    session = type("Session", (), {"client": lambda self, name: unreachable})()
    checks = smoke.run(
        session, "sl-lite", smoke.Options(), invoke=lambda function, payload: pytest.fail("nothing to invoke")
    )
    assert checks == [
        smoke.Check(
            "stack",
            False,
            "cannot reach AWS: Could not connect to the endpoint URL: "
            '"https://cloudformation.us-east-1.amazonaws.com/"',
        )
    ]


def test_a_failed_stack_without_outputs_reports_its_reason_and_no_profile():
    stack = CloudFormation(
        {
            "StackStatus": "ROLLBACK_COMPLETE",
            "StackStatusReason": "The following resource(s) failed to create: [InfluxDbService].",
        }
    )
    session = type("Session", (), {"client": lambda self, name: stack})()
    assert smoke.run(session, "sl-lite", smoke.Options(), invoke=lambda function, payload: {}) == [
        smoke.Check(
            "stack",
            False,
            "ROLLBACK_COMPLETE: The following resource(s) failed to create: [InfluxDbService]. (a working stack "
            "is CREATE_COMPLETE or UPDATE_COMPLETE).",
        ),
        smoke.Check(
            "profile",
            False,
            "stack sl-lite is not a Stream Lines lite, lite-pipeline or full stack (StackProfile output: none).",
        ),
    ]


def test_a_failed_stack_without_a_reason_says_only_its_status():
    stack = smoke._Stack(CloudFormation({"StackStatus": "ROLLBACK_COMPLETE"}), "sl-lite")
    assert smoke._stack_status(stack) == smoke.Check(
        "stack", False, "ROLLBACK_COMPLETE (a working stack is CREATE_COMPLETE or UPDATE_COMPLETE)."
    )


def test_resources_without_a_physical_id_are_read_as_none_there():
    summaries = [
        {"LogicalResourceId": smoke.AGENT, "ResourceType": "AWS::Lambda::Function", "ResourceStatus": "CREATE_FAILED"},
        {
            "LogicalResourceId": "Topic",
            "ResourceType": "AWS::SNS::Topic",
            "PhysicalResourceId": "arn:aws:sns:us-east-1:123456789012:t",
            "ResourceStatus": "CREATE_COMPLETE",
        },
    ]
    stack = smoke._Stack(CloudFormation({"StackStatus": "CREATE_COMPLETE"}, summaries), "sl-lite")
    assert stack.resources == {
        smoke.AGENT: ("AWS::Lambda::Function", ""),
        "Topic": ("AWS::SNS::Topic", "arn:aws:sns:us-east-1:123456789012:t"),
    }
    assert stack.of_type("AWS::SNS::Topic") == [("Topic", "arn:aws:sns:us-east-1:123456789012:t")]


def test_services_are_described_ten_at_a_time_per_cluster():
    class Ecs:
        def __init__(self):
            self.calls = []

        def describe_services(self, cluster, services):
            if len(services) > 10:  # as AWS: "services" takes at most 10 names
                raise client_error("InvalidParameterException", "Services cannot be more than 10.")
            self.calls.append((cluster, len(services)))
            return {
                "services": [
                    {"serviceName": arn.rsplit("/", 1)[-1], "desiredCount": 1, "runningCount": 1, "deployments": []}
                    for arn in services
                ]
            }

    arns = [f"arn:aws:ecs:us-east-1:123456789012:service/c{1 + n // 11}/s{n}" for n in range(22)]
    stack = type("S", (), {"of_type": lambda self, kind: [(f"S{n}", arn) for n, arn in enumerate(arns)]})()
    ecs = Ecs()
    checks = smoke._services(ecs, stack)
    assert len(checks) == 22 and all(check.ok for check in checks)
    assert ecs.calls == [("c1", 10), ("c1", 1), ("c2", 10), ("c2", 1)]


# --- lite with the pipeline -----------------------------------------------------------------


@pytest.fixture
def pipeline(lite):
    lite.deploy("lite-pipeline", "sl-lite-pipeline")
    lite.records("sl-lite-pipeline", 1200)
    lite.influx.add_point("market-data", "ripples_window", 90)
    return lite


def test_a_healthy_pipeline_passes_every_check(pipeline):
    checks = pipeline.smoke("sl-lite-pipeline")
    assert failures(checks) == {}
    assert [c.name for c in checks if c.name.startswith(("service", "upstream", "recent"))] == [
        "service lite-pipeline-IngestService",
        "service lite-pipeline-RipplesService",
        "upstream records",
        "recent data",
    ]
    assert [payload["action"] for _, payload in pipeline.invocations] == ["round_trip", "recent_points"]
    # The add-on has no agent of its own: lite's answers.
    assert {function for function, _ in pipeline.invocations} == {pipeline.physical("sl-lite", smoke.AGENT)}


def test_without_a_clock_given_the_window_ends_now_in_utc(pipeline, monkeypatch):
    import time

    # A machine whose local time is not UTC: the metric window must still end now.
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        checks = smoke.run(pipeline.session, "sl-lite-pipeline", smoke.Options(), invoke=pipeline.invoke)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert checks[names(checks).index("upstream records")].ok is True


def test_no_recent_data_fails_its_check(lite):
    lite.deploy("lite-pipeline", "sl-lite-pipeline")
    lite.records("sl-lite-pipeline", 1200)
    lite.influx.add_point("market-data", "ripples_window", 20 * 60)
    found = failures(lite.smoke("sl-lite-pipeline"))
    assert found == {
        "recent data": "no point newer than 15 minutes in bucket market-data: is ripples running and writing "
        "(its log group)?"
    }


def test_a_quiet_stream_fails_its_check(lite):
    lite.deploy("lite-pipeline", "sl-lite-pipeline")
    lite.influx.add_point("market-data", "ripples_window", 60)
    found = failures(lite.smoke("sl-lite-pipeline", stream_minutes=5))
    assert list(found) == ["upstream records"]
    assert (
        found["upstream records"].startswith("no record reached sl-lite-pipeline-UpstreamStream-")
        and "in the last 5 minutes: is ingest running" in found["upstream records"]
    )


# --- full ------------------------------------------------------------------------------------


@pytest.fixture
def full(world):
    from ..doubles import apigateway
    from ..doubles.websocket_api import WebSocketApiDouble

    world.websocket = WebSocketApiDouble(apigateway.connections_table())
    url = world.websocket.start()
    world.deploy("full", "sl-full", WebSocketUrl=url)
    world.records("sl-full", 500)
    world.influx.add_point("market-data", "ripples_window", 30)
    yield world
    world.websocket.stop()


@pytest.mark.parametrize(
    "operation, check", [("GetMetricStatistics", "upstream records"), ("GetEventSourceMapping", "results pusher")]
)
def test_a_refused_full_stack_lookup_fails_only_its_own_check(full, monkeypatch, operation, check):
    monkeypatch.setattr(
        "botocore.client.BaseClient._make_api_call",
        refused(operation, f"User is not authorized to perform: {operation}"),
    )
    assert failures(full.smoke("sl-full")) == {
        check: f"AWS refused a request: User is not authorized to perform: {operation}"
    }


def test_a_refused_recent_points_probe_fails_only_recent_data(full):
    def invoke(function, payload):
        if payload["action"] == "recent_points":
            raise client_error("TooManyRequestsException", "Rate exceeded", "Invoke")
        return full.invoke(function, payload)

    checks = smoke.run(full.session, "sl-full", smoke.Options(), invoke=invoke, now=lambda: full.now)
    assert failures(checks) == {"recent data": "AWS refused a request: Rate exceeded"}


def test_a_full_stack_without_its_websocket_url_says_which_output_is_missing(world):
    world.deploy("full", "sl-full")
    world.records("sl-full", 500)
    world.influx.add_point("market-data", "ripples_window", 30)
    assert failures(world.smoke("sl-full")) == {"websocket": "stack sl-full has no WebSocketUrl output."}


def test_a_healthy_full_stack_passes_every_check(full):
    checks = full.smoke("sl-full")
    assert failures(checks) == {}
    by_name = {c.name: c for c in checks}
    assert by_name["websocket"].detail == "subscribed to AAPL and got the confirmation"
    assert by_name["event source ResultsPusherEventSource"].ok is True
    assert sum(1 for c in checks if c.name.startswith("service ")) == sum(
        1 for r in full.templates["full"]["Resources"].values() if r["Type"] == "AWS::ECS::Service"
    )
    # The handler saw the subscription as API Gateway routes it, and the connection went away.
    assert [route for route, _ in full.websocket.wait_for_disconnects()] == ["$connect", "$default", "$disconnect"]


def test_a_websocket_that_answers_nothing_fails_its_check(full):
    full.websocket.silent = True
    found = failures(full.smoke("sl-full", websocket_seconds=0.5))
    assert list(found) == ["websocket"]
    assert found["websocket"].endswith(
        "accepted the connection but answered nothing to a subscription within 0.5 s: see the ConnectionHandler log "
        "group."
    )


def test_a_refused_subscription_is_reported_with_the_handlers_answer(full):
    found = failures(full.smoke("sl-full", symbol="A" * 33))
    assert "'error'" in found["websocket"] and "is not a valid symbol" in found["websocket"]


def test_a_disabled_event_source_fails_its_check(full):
    uuid = full.physical("sl-full", "ResultsPusherEventSource")
    full.session.client("lambda").update_event_source_mapping(UUID=uuid, Enabled=False)
    found = failures(full.smoke("sl-full"))
    assert list(found) == ["event source ResultsPusherEventSource"]
    assert found["event source ResultsPusherEventSource"].startswith("the mapping is Disabled, not Enabled")


# --- smoke and the templates agree ----------------------------------------------------------


def test_smoke_reads_what_the_templates_provide(templates):
    outputs = {name: set(template.get("Outputs", {})) for name, template in templates.items()}
    for profile in ("lite", "full"):
        assert smoke.AGENT in templates[profile]["Resources"]
        assert {"StackProfile", "FoundationsStack", "InfluxDbUrl", "InfluxDbOrg", "InfluxDbBucket"} <= outputs[profile]
    assert {"StackProfile", "LiteStack", "UpstreamStreamName"} <= outputs["lite-pipeline"]
    assert {"UpstreamStreamName", "WebSocketUrl"} <= outputs["full"]
    assert "GrafanaUrl" in outputs["lite"]
    assert {"InfluxDbReadTokenSecretArn", "InfluxDbWriteTokenSecretArn", "GrafanaAdminPasswordSecretArn"} <= outputs[
        "foundations"
    ]
    for profile in smoke.PROFILES:
        assert templates[profile]["Outputs"]["StackProfile"]["Value"] == profile
    assert "ResultsPusherEventSource" in templates["full"]["Resources"]


def test_the_dashboard_decoding_reads_what_the_handler_sends():
    import wire

    message = {"message": "You are connected to live feed for symbols: AAPL, BTC/USD"}
    assert smoke.decode(wire.encode(message)) == message
    assert smoke.decode(wire.encode(message).decode()) == message


# --- the pieces, one by one -------------------------------------------------------------------


def service(desired=1, running=1, rollout="COMPLETED", reason="done"):
    return {
        "serviceName": "svc",
        "desiredCount": desired,
        "runningCount": running,
        "deployments": [
            {"status": "ACTIVE", "rolloutState": "FAILED"},
            {"status": "PRIMARY", "rolloutState": rollout, "rolloutStateReason": reason},
        ],
    }


@pytest.mark.parametrize(
    "given, ok, reason",
    [
        (service(), True, "1 of 1 tasks running, latest deployment completed"),
        (service(desired=2, running=2), True, "2 of 2 tasks running, latest deployment completed"),
        (
            service(desired=0, running=0),
            False,
            "desired count is 0: it is scaled to zero (outside its active hours?), so nothing it serves works now.",
        ),
        (service(desired=2, running=1), False, "1 of 2 tasks running (see the service's events and its log group)."),
        (
            service(rollout="IN_PROGRESS", reason="ECS deployment ecs-svc/1 in progress."),
            False,
            "1 of 1 tasks running, but its latest deployment is IN_PROGRESS: ECS deployment ecs-svc/1 in progress.",
        ),
        (
            {**service(rollout="FAILED"), "deployments": [{"status": "PRIMARY", "rolloutState": "FAILED"}]},
            False,
            "1 of 1 tasks running, but its latest deployment is FAILED: no reason given",
        ),
        (
            {"serviceName": "svc", "desiredCount": 1, "runningCount": 1},
            True,
            "1 of 1 tasks running, latest deployment completed",
        ),
    ],
)
def test_a_service_passes_only_at_its_desired_count_with_its_deployment_done(given, ok, reason):
    assert smoke._service(given) == smoke.Check("service svc", ok, reason)


def test_the_report_counts_failures_and_skips_are_not_failures():
    checks = [
        smoke.Check("a", True, "fine"),
        smoke.Check("b", False, "broken."),
        smoke.Check("c", None, "not from here."),
    ]
    assert smoke.report(checks, False).splitlines() == [
        "PASS  a: fine",
        "FAIL  b: broken.",
        "SKIP  c: not from here.",
        "3 checks, 1 failed",
    ]
    # Indented, for a person reading it too.
    assert smoke.report(checks, True).splitlines()[1] == "  {"
    assert json.loads(smoke.report(checks, True)) == [
        {"check": "a", "status": "pass", "reason": "fine"},
        {"check": "b", "status": "fail", "reason": "broken."},
        {"check": "c", "status": "skip", "reason": "not from here."},
    ]


class Connection:
    """websockets' ClientConnection as smoke uses it: a context manager that closes on exit."""

    def __init__(self, answer=None, error=None):
        self.answer, self.error, self.sent, self.closed = answer, error, [], False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, text):
        self.sent.append(text)

    def recv(self, timeout):
        if self.error:
            raise self.error
        return self.answer

    def close(self):
        self.closed = True


def test_the_websocket_check_reads_what_comes_back():
    import wire

    options = smoke.Options(symbol="BTC/USD")
    good = Connection(wire.encode({"message": "You are connected to live feed for symbols: BTC/USD"}).decode())
    assert smoke._websocket(lambda url: good, "wss://x", options) == smoke.Check(
        "websocket", True, "subscribed to BTC/USD and got the confirmation"
    )
    assert good.sent == ['{"subscribeTo": ["BTC/USD"]}'] and good.closed
    garbled = Connection("not base64 at all!")
    assert smoke._websocket(lambda url: garbled, "wss://x", options) == smoke.Check(
        "websocket", False, "the answer is not what the dashboard decodes (base64 of zlib-deflated JSON)."
    )
    closed = Connection(error=ConnectionError("going away"))
    assert smoke._websocket(lambda url: closed, "wss://x", options) == smoke.Check(
        "websocket", False, "wss://x closed the connection after the subscription: going away"
    )
    assert closed.closed

    def refuse(url):
        raise OSError("connection refused")

    assert smoke._websocket(refuse, "wss://x", options) == smoke.Check(
        "websocket", False, "could not connect to wss://x: connection refused"
    )


def test_an_event_source_with_a_failed_last_result_fails():
    class Lambda:
        def get_event_source_mapping(self, UUID):
            return {"State": "Enabled", "LastProcessingResult": "PROBLEM: Function call failed"}

    stack = type("S", (), {"of_type": lambda self, kind: [("Pusher", "u-1")]})()
    assert smoke._event_sources(Lambda(), stack) == [
        smoke.Check(
            "event source Pusher",
            False,
            "last result: PROBLEM: Function call failed (see the results pusher's log group).",
        )
    ]


def test_a_failing_agent_invocation_is_its_error_message(aws):
    import io

    class Lambda:
        def invoke(self, FunctionName, Payload):
            assert json.loads(Payload)["action"] == "round_trip"
            return {
                "FunctionError": "Unhandled",
                "Payload": io.BytesIO(b'{"errorMessage": "Task timed out after 25.00 seconds"}'),
            }

    session = type("Session", (), {"client": lambda self, name: Lambda()})()
    invoke = smoke._lambda_invoke(session)
    assert invoke("agent", {"action": "round_trip"}) == {
        "ok": False,
        "error": "the token agent failed: Task timed out after 25.00 seconds",
    }
    check = smoke._round_trip(
        invoke, "agent", {"influxUrl": "u", "org": "o", "bucket": "b"}, {"read": "r", "write": "w"}
    )
    assert check == smoke.Check("token round trip", False, "the token agent failed: Task timed out after 25.00 seconds")


@pytest.mark.parametrize("secret", ['{"authorizationID": "a"}', '{"token": ""}', "not json", '["token"]'])
def test_a_token_secret_without_a_token_fails_its_check(secret):
    class Secrets:
        def get_secret_value(self, SecretId):
            return {"SecretString": secret if SecretId == "r" else json.dumps({"token": "t", "authorizationID": "a"})}

    foundations = type("F", (), {"outputs": {"InfluxDbReadTokenSecretArn": "r", "InfluxDbWriteTokenSecretArn": "w"}})()
    tokens = {}
    (read, write) = smoke._tokens(Secrets(), foundations, tokens)
    assert [(read.name, read.ok), (write.name, write.ok)] == [
        ("read token", False),
        ("write token", True),
    ] and tokens == {"write": "t"}
    assert read.detail.startswith("the secret holds the placeholder, not an issued token")


def test_a_stack_without_the_token_agent_says_so():
    with pytest.raises(LookupError) as raised:
        smoke._round_trip(
            lambda function, payload: pytest.fail("nothing to invoke"), "", {}, {"read": "r", "write": "w"}
        )
    assert smoke._aws_message(raised.value) == "the stack has no token agent function (InfluxTokenAgentFunction)."


def test_a_stack_that_is_not_a_stream_lines_stack_is_named(world):
    world.cloudformation.create_stack(
        StackName="other",
        TemplateBody=json.dumps(
            {"Resources": {"T": {"Type": "AWS::SNS::Topic"}}, "Outputs": {"StackProfile": {"Value": "something"}}}
        ),
    )
    checks = world.smoke("other")
    assert [(c.name, c.ok, c.detail) for c in checks] == [
        ("stack", True, "CREATE_COMPLETE"),
        (
            "profile",
            False,
            "stack other is not a Stream Lines lite, lite-pipeline or full stack (StackProfile output: something).",
        ),
    ]


def test_a_pipeline_without_its_lite_stack_says_which_output_is_missing(world):
    world.cloudformation.create_stack(
        StackName="pipe",
        TemplateBody=json.dumps(
            {"Resources": {"T": {"Type": "AWS::SNS::Topic"}}, "Outputs": {"StackProfile": {"Value": "lite-pipeline"}}}
        ),
    )
    checks = world.smoke("pipe")
    assert (checks[-1].name, checks[-1].ok, checks[-1].detail) == (
        "stacks",
        False,
        "stack pipe has no LiteStack output.",
    )


def test_aws_refusals_and_other_errors_read_as_one_sentence():
    from botocore.exceptions import ClientError

    assert (
        smoke._aws_message(
            ClientError(
                {"Error": {"Code": "AccessDenied", "Message": "not allowed to DescribeServices"}}, "DescribeServices"
            )
        )
        == "AWS refused a request: not allowed to DescribeServices"
    )
    assert (
        smoke._aws_message(ClientError({"Error": {"Code": "Throttling"}}, "DescribeServices"))
        == "AWS refused a request: Throttling"
    )
    assert smoke._aws_message(LookupError("stack x has no y output.")) == "stack x has no y output."


def refused(operation, message, about=None):
    import botocore.client

    original = botocore.client.BaseClient._make_api_call

    def refuse(self, name, params):
        if name == operation and (about is None or about in json.dumps(params)):
            raise client_error("AccessDeniedException", message, name)
        return original(self, name, params)

    return refuse


@pytest.mark.parametrize(
    "operation, about, check",
    [
        ("DescribeServices", None, "services"),
        ("DescribeTargetHealth", None, "targets"),
        ("GetSecretValue", "sl-read", "tokens"),  # the round trip needs both tokens: it is not tried
        ("GetSecretValue", "sl-grafana", "grafana"),
    ],
)
def test_a_refused_lookup_fails_only_its_own_check(lite, monkeypatch, operation, about, check):
    monkeypatch.setattr(
        "botocore.client.BaseClient._make_api_call",
        refused(operation, f"User is not authorized to perform: {operation}", about),
    )
    checks = lite.smoke("sl-lite")
    assert failures(checks) == {check: f"AWS refused a request: User is not authorized to perform: {operation}"}
    assert ("token round trip" in names(checks)) is (check != "tokens")


def test_a_refused_agent_invocation_fails_the_round_trip(lite):
    def invoke(function, payload):
        raise client_error("AccessDeniedException", "not authorized to perform: lambda:InvokeFunction", "Invoke")

    checks = smoke.run(lite.session, "sl-lite", smoke.Options(), invoke=invoke, now=lambda: lite.now)
    assert failures(checks) == {
        "token round trip": "AWS refused a request: not authorized to perform: lambda:InvokeFunction"
    }


def test_a_lite_stack_without_the_token_agent_fails_the_round_trip_without_invoking(lite, monkeypatch):
    monkeypatch.setattr(smoke, "AGENT", "TokenAgentThatIsNotThere")
    checks = lite.smoke("sl-lite")
    assert failures(checks) == {"token round trip": "the stack has no token agent function (TokenAgentThatIsNotThere)."}
    assert lite.invocations == []


def test_targets_partly_healthy_list_the_others_with_their_reasons():
    class Elb:
        def describe_target_health(self, TargetGroupArn):
            return {
                "TargetHealthDescriptions": [
                    {"Target": {"Id": "10.0.0.1"}, "TargetHealth": {"State": "healthy"}},
                    {
                        "Target": {"Id": "10.0.0.2"},
                        "TargetHealth": {"State": "unhealthy", "Reason": "Target.ResponseCodeMismatch"},
                    },
                    {"Target": {"Id": "10.0.0.3"}, "TargetHealth": {"State": "initial"}},
                ]
            }

    stack = type("S", (), {"of_type": lambda self, kind: [("WebTargetGroup", "arn:tg")]})()
    assert smoke._targets(Elb(), stack) == [
        smoke.Check(
            "targets WebTargetGroup",
            False,
            "1 of 3 healthy: 10.0.0.2 unhealthy (Target.ResponseCodeMismatch), 10.0.0.3 initial",
        )
    ]


def test_records_are_summed_over_the_window_and_the_window_is_asked_for():
    asked = {}

    class CloudWatch:
        def get_metric_statistics(self, **kwargs):
            asked.update(kwargs)
            return {"Datapoints": [{"Sum": 3.0}, {"Sum": 4.0}]}

    now = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)
    assert smoke._stream_records(CloudWatch(), "up", 10, now) == smoke.Check(
        "upstream records", True, "7 records reached up in the last 10 minutes"
    )
    assert asked == {
        "Namespace": "AWS/Kinesis",
        "MetricName": "IncomingRecords",
        "Dimensions": [{"Name": "StreamName", "Value": "up"}],
        "StartTime": now - timedelta(minutes=10),
        "EndTime": now,
        "Period": 60,
        "Statistics": ["Sum"],
    }


def test_a_failing_recent_points_probe_is_its_error():
    check = smoke._recent_points(
        lambda function, payload: {"ok": False, "error": "InfluxDB refused the read token."},
        "agent",
        {"bucket": "b"},
        "r",
        15,
    )
    assert check == smoke.Check("recent data", False, "InfluxDB refused the read token.")
    check = smoke._recent_points(lambda function, payload: "nonsense", "agent", {"bucket": "b"}, "r", 15)
    assert check == smoke.Check("recent data", False, "the token agent answered 'nonsense'")
    with pytest.raises(LookupError):
        smoke._recent_points(lambda function, payload: {}, "", {"bucket": "b"}, "r", 15)


def test_an_aws_error_without_its_error_part_is_still_a_sentence():
    from botocore.exceptions import ClientError

    error = ClientError({"ResponseMetadata": {"HTTPStatusCode": 500}}, "DescribeStacks")
    assert smoke._aws_message(error) == f"AWS refused a request: {error}"


def test_the_agent_is_invoked_by_name_through_lambda():
    import io

    calls = []

    class Lambda:
        def invoke(self, FunctionName, Payload):
            calls.append((FunctionName, json.loads(Payload)))
            return {"Payload": io.BytesIO(b"")}

    class Session:
        def client(self, name):
            assert name == "lambda"
            return Lambda()

    assert smoke._lambda_invoke(Session())("agent-fn", {"action": "recent_points"}) is None
    assert calls == [("agent-fn", {"action": "recent_points"})]

    class Failing(Lambda):
        def invoke(self, FunctionName, Payload):
            return {"FunctionError": "Unhandled", "Payload": io.BytesIO(b'["boom"]')}

    class FailingSession(Session):
        def client(self, name):
            return Failing()

    assert smoke._lambda_invoke(FailingSession())("agent-fn", {}) == {
        "ok": False,
        "error": "the token agent failed: ['boom']",
    }


def test_recent_points_are_asked_for_the_window_and_reported():
    asked = []

    def invoke(function, payload):
        asked.append(payload)
        return {"ok": True, "series": 2, "latest": "2026-11-29T10:00:00Z"}

    check = smoke._recent_points(invoke, "agent", {"influxUrl": "u", "org": "o", "bucket": "b"}, "r", 7)
    assert check == smoke.Check(
        "recent data", True, "points newer than 7 minutes in bucket b (latest 2026-11-29T10:00:00Z)"
    )
    assert asked == [
        {
            "action": "recent_points",
            "influxUrl": "u",
            "org": "o",
            "bucket": "b",
            "readToken": "r",
            "minutes": 7,
            "deadlineSeconds": smoke.AGENT_SECONDS,
        }
    ]
    check = smoke._recent_points(lambda f, p: {"ok": False}, "agent", {"bucket": "b"}, "r", 7)
    assert check == smoke.Check("recent data", False, "the token agent gave no reason.")
    check = smoke._round_trip(lambda f, p: {"ok": False}, "agent", {}, {"read": "r", "write": "w"})
    assert check == smoke.Check("token round trip", False, "the token agent gave no reason.")


def test_no_datapoints_is_no_records():
    class CloudWatch:
        def get_metric_statistics(self, **kwargs):
            return {}

    check = smoke._stream_records(CloudWatch(), "up", 10, datetime(2026, 11, 29, tzinfo=timezone.utc))
    assert check.ok is False and check.detail.startswith("no record reached up in the last 10 minutes")


def test_the_websocket_client_has_bounded_waits(monkeypatch):
    import websockets.sync.client

    seen = {}
    monkeypatch.setattr(
        websockets.sync.client, "connect", lambda url, **kwargs: seen.update(url=url, **kwargs) or "connection"
    )
    assert smoke._websocket_connect("wss://x") == "connection"
    assert seen == {"url": "wss://x", "open_timeout": 10, "close_timeout": 5}


@pytest.mark.parametrize(
    "mapping, ok, reason",
    [
        (
            {"State": "Enabled", "LastProcessingResult": "No records processed"},
            True,
            "enabled, last result: No records processed",
        ),
        ({"State": "Enabled", "LastProcessingResult": "OK"}, True, "enabled, last result: OK"),
        ({"State": "Enabled"}, False, "last result: none reported (see the results pusher's log group)."),
        (
            {"State": "Disabling", "LastProcessingResult": "OK"},
            False,
            "the mapping is Disabling, not Enabled: nothing reaches the results pusher.",
        ),
    ],
)
def test_each_event_source_state_reads_as_it_should(mapping, ok, reason):
    class Lambda:
        def get_event_source_mapping(self, UUID):
            assert UUID == "u-1"
            return mapping

    stack = type("S", (), {"of_type": lambda self, kind: [("Pusher", "u-1")]})()
    assert smoke._event_sources(Lambda(), stack) == [smoke.Check("event source Pusher", ok, reason)]
