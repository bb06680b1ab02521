"""Custom::InfluxTokens end to end: CloudFormation's request -> provider (crhelper)
-> Secrets Manager and Lambda invoke (moto) -> token agent -> InfluxDB double,
and the answer PUT to a local HTTPS endpoint standing in for the pre-signed URL."""

from __future__ import annotations

import json
import ssl
import time
import uuid
from pathlib import Path

import boto3
import pytest
from pytest_httpserver import HTTPServer

STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/streamlines-lite/8b7f0a50-cd6b-11ef-9a3e-0affd5a1f3c1"
PLACEHOLDER = json.dumps({"authorizationID": "", "token": "PLACEHOLDER"}, sort_keys=True)


@pytest.fixture(scope="session")
def tls(tmp_path_factory):
    import trustme

    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_context)
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return server_context, str(ca_file)


@pytest.fixture
def cloudformation(tls, monkeypatch):
    """The pre-signed response URL: records each PUT body, as CloudFormation would receive it."""
    server_context, ca_file = tls
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    server = HTTPServer(host="localhost", port=0, ssl_context=server_context)
    server.start()
    answers = []

    def receive(request):
        from werkzeug import Response

        answers.append(
            {
                "body": json.loads(request.get_data()),
                "at": time.monotonic(),
                "content_type": request.headers.get("Content-Type"),
            }
        )
        return Response("", status=200)

    server.expect_request("/cloudformation-response", method="PUT").respond_with_handler(receive)
    server.answers = answers
    yield server
    server.stop()


class Context:
    """What the Lambda runtime passes: the remaining-time clock crhelper and the provider use."""

    def __init__(self, budget_seconds: float):
        self.end = time.monotonic() + budget_seconds
        self.aws_request_id = str(uuid.uuid4())
        self.function_name = "influx-token-provider"
        self.log_group_name = "/aws/lambda/influx-token-provider"
        self.log_stream_name = "2026/11/29/[$LATEST]abc"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.end - time.monotonic()) * 1000))


@pytest.fixture
def aws_side(aws, influx, monkeypatch, tmp_path):
    """Secrets as foundations creates them, and the agent deployed as a Lambda function
    whose invocations moto hands to the agent's handler in this process."""
    import token_agent
    from moto.awslambda.models import LambdaFunction

    from streamlines import packaging as package

    def run_in_process(self, event=None):
        try:
            result = token_agent.handler(json.loads(event) if isinstance(event, str) else event, None)
            return json.dumps(result), False, ""
        except Exception as error:  # as the Lambda runtime reports an unhandled error
            return json.dumps({"errorMessage": str(error), "errorType": type(error).__name__}), True, ""

    monkeypatch.setattr(LambdaFunction, "_invoke_lambda", run_in_process)
    secrets = boto3.client("secretsmanager")
    arns = {
        "admin": secrets.create_secret(Name="admin-token", SecretString=influx.operator_token)["ARN"],
        "read": secrets.create_secret(Name="read-token", SecretString=PLACEHOLDER)["ARN"],
        "write": secrets.create_secret(Name="write-token", SecretString=PLACEHOLDER)["ARN"],
    }
    role = boto3.client("iam").create_role(RoleName="agent", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    agent = Path(__file__).resolve().parents[2] / "influx_token_agent"
    archive = package.build_zip("influx_token_agent", [agent / "token_agent.py", agent / "influx_tokens.py"], tmp_path)
    function = boto3.client("lambda").create_function(
        FunctionName="influx-token-agent",
        Runtime="python3.12",
        Role=role,
        Handler="token_agent.handler",
        Code={"ZipFile": archive.read_bytes()},
    )
    return {"secrets": secrets, "arns": arns, "agent": function["FunctionArn"]}


@pytest.fixture
def request_cfn(aws_side, influx, cloudformation):
    import token_provider

    def send(
        request_type: str,
        budget: float = 60,
        bucket: str = "market-data",
        physical: str | None = None,
        old: dict | None = None,
    ):
        event = {
            "RequestType": request_type,
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:influx-token-provider",
            "ResponseURL": cloudformation.url_for("/cloudformation-response"),
            "StackId": STACK_ID,
            "RequestId": str(uuid.uuid4()),
            "LogicalResourceId": "InfluxTokens",
            "ResourceType": "Custom::InfluxTokens",
            "ResourceProperties": {
                "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:influx-token-provider",
                "AgentFunctionArn": aws_side["agent"],
                "InfluxUrl": influx.url,
                "Org": "streamlines",
                "Bucket": bucket,
                "AdminTokenSecretArn": aws_side["arns"]["admin"],
                "ReadTokenSecretArn": aws_side["arns"]["read"],
                "WriteTokenSecretArn": aws_side["arns"]["write"],
            },
        }
        if request_type != "Create":
            event["PhysicalResourceId"] = physical or "influx-tokens/streamlines/market-data"
        if request_type == "Update":
            event["OldResourceProperties"] = {**event["ResourceProperties"], **(old or {})}
        started = time.monotonic()
        token_provider.handler(event, Context(budget))
        assert len(cloudformation.answers) >= 1
        answer = cloudformation.answers[-1]
        answer["elapsed"] = answer["at"] - started
        return answer["body"]

    return send


def secret(aws_side, kind):
    return json.loads(aws_side["secrets"].get_secret_value(SecretId=aws_side["arns"][kind])["SecretString"])


def versions(aws_side):
    return {
        kind: aws_side["secrets"].describe_secret(SecretId=aws_side["arns"][kind])["VersionIdsToStages"]
        for kind in ("read", "write")
    }


def test_create_on_an_empty_server_stores_both_tokens(request_cfn, aws_side, influx, cloudformation):
    answer = request_cfn("Create")
    assert [r for r in influx.requests if r[0] != "GET"] == [("POST", "/api/v2/authorizations")] * 2
    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert answer["PhysicalResourceId"] == "influx-tokens/streamlines/market-data"
    by_id = {a["id"]: a for a in influx.created()}
    for kind in ("read", "write"):
        stored = secret(aws_side, kind)
        assert by_id[stored["authorizationID"]]["token"] == stored["token"]
        assert by_id[stored["authorizationID"]]["permissions"][0]["action"] == kind
        assert answer["Data"][f"{kind.capitalize()}AuthorizationId"] == stored["authorizationID"]
    tokens = {a["token"] for a in influx.created()}
    assert not any(token in json.dumps(answer) for token in tokens)


def test_create_when_valid_tokens_exist_changes_nothing(request_cfn, aws_side, influx):
    request_cfn("Create")
    before, created = versions(aws_side), len(influx.created())
    influx.requests.clear()
    answer = request_cfn("Create")
    assert answer["Status"] == "SUCCESS"
    assert versions(aws_side) == before and len(influx.created()) == created
    assert ("POST", "/api/v2/authorizations") not in influx.requests


def test_update_with_the_same_properties_changes_nothing(request_cfn, aws_side, influx, cloudformation):
    request_cfn("Create")
    before, created = versions(aws_side), len(influx.created())
    influx.requests.clear()
    answer = request_cfn("Update")
    assert answer["Status"] == "SUCCESS" and answer["PhysicalResourceId"] == "influx-tokens/streamlines/market-data"
    assert versions(aws_side) == before and len(influx.created()) == created
    assert [r for r in influx.requests if r[0] != "GET"] == []
    assert len(influx.requests) == 6


def test_delete_leaves_tokens_secrets_and_data_alone(request_cfn, aws_side, influx):
    request_cfn("Create")
    stored, created = {k: secret(aws_side, k) for k in ("read", "write")}, len(influx.created())
    influx.requests.clear()
    answer = request_cfn("Delete")
    assert answer["Status"] == "SUCCESS"
    assert influx.requests == [] and len(influx.created()) == created
    assert {k: secret(aws_side, k) for k in ("read", "write")} == stored


def test_never_healthy_fails_with_a_reason_before_the_timeout(
    request_cfn, aws_side, influx, cloudformation, monkeypatch
):
    import token_provider

    influx.healthy = False
    # A short deadline keeps the test (and each mutant run of it) quick.
    monkeypatch.setattr(token_provider, "MIN_AGENT_SECONDS", 1)
    budget = token_provider.RESERVE_SECONDS + 2
    answer = request_cfn("Create", budget=budget)
    assert answer["Status"] == "FAILED"
    assert "did not become healthy" in answer["Reason"] and "\n" not in answer["Reason"]
    assert cloudformation.answers[-1]["elapsed"] < budget - 1
    assert secret(aws_side, "read")["token"] == "PLACEHOLDER"


def test_revoked_token_is_reissued_and_stored(request_cfn, aws_side, influx):
    request_cfn("Create")
    old = secret(aws_side, "read")
    influx.revoke(old["authorizationID"])
    answer = request_cfn("Update")
    assert answer["Status"] == "SUCCESS"
    new = secret(aws_side, "read")
    assert new["token"] != old["token"] and influx.authorizations[new["authorizationID"]]["status"] == "active"


def test_missing_bucket_fails_naming_it(request_cfn, aws_side):
    answer = request_cfn("Create", bucket="no-such-bucket")
    assert answer["Status"] == "FAILED"
    assert answer["Reason"] == "InfluxDB bucket 'no-such-bucket' does not exist in organization 'streamlines'"
    assert secret(aws_side, "write")["token"] == "PLACEHOLDER"


def test_too_little_time_fails_at_once(request_cfn):
    answer = request_cfn("Create", budget=10)
    assert answer["Status"] == "FAILED" and "not enough time" in answer["Reason"]


def test_update_that_renames_the_bucket_is_refused_without_touching_influxdb(
    request_cfn, aws_side, influx, cloudformation
):
    import token_provider

    request_cfn("Create")
    influx.requests.clear()
    event_bucket = "quotes"
    answer = request_cfn("Update", bucket=event_bucket, old={"Bucket": "market-data"})
    assert answer["Status"] == "FAILED"
    assert (
        answer["Reason"]
        == "InfluxDB created bucket 'market-data' at first boot and keeps it; bucket 'quotes' does not exist "
        "there. Keep 'market-data' (InfluxDbBucket parameter)"
    )
    assert influx.requests == []
    assert token_provider.refuse_renames({"Org": "a", "Bucket": "b"}, {"Org": "a", "Bucket": "b"}) is None


def test_unchanged_update_keeps_the_tokens_when_influxdb_is_scaled_to_zero(
    request_cfn, aws_side, influx, cloudformation, monkeypatch
):
    """Active hours: InfluxDB is down while the stack updates (a new service token, say)."""
    import token_provider

    request_cfn("Create")
    stored, before = {k: secret(aws_side, k) for k in ("read", "write")}, versions(aws_side)
    influx.healthy = False
    monkeypatch.setattr(token_provider, "QUICK_CHECK_SECONDS", 1)
    answer = request_cfn("Update", budget=120)
    assert answer["Status"] == "SUCCESS", answer.get("Reason")
    assert answer["Data"] == {
        f"{k.capitalize()}AuthorizationId": stored[k]["authorizationID"] for k in ("read", "write")
    }
    assert versions(aws_side) == before
    assert cloudformation.answers[-1]["elapsed"] < 30


def test_update_needs_influxdb_when_no_real_token_is_stored(request_cfn, aws_side, influx, monkeypatch):
    import token_provider

    influx.healthy = False
    monkeypatch.setattr(token_provider, "QUICK_CHECK_SECONDS", 1)
    monkeypatch.setattr(token_provider, "MIN_AGENT_SECONDS", 1)
    answer = request_cfn("Update", budget=token_provider.RESERVE_SECONDS + 2)
    assert answer["Status"] == "FAILED" and "did not become healthy" in answer["Reason"]


class FakeClock:
    """time.monotonic and time.sleep for the provider's waits: sleeping moves the clock."""

    def __init__(self):
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def stubbed_lambda():
    """A Lambda client whose answers are stubbed, each checked against the Lambda API model."""
    from botocore.stub import Stubber

    client = boto3.client("lambda", region_name="us-east-1")
    return client, Stubber(client)


AGENT = "arn:aws:lambda:us-east-1:123456789012:function:influx-token-agent"


def test_an_inactive_agent_is_waited_for_then_invoked(monkeypatch):
    import io

    import token_provider
    from botocore.response import StreamingBody

    client, stub = stubbed_lambda()
    clock = FakeClock()
    stub.add_response(
        "get_function_configuration", {"State": "Inactive", "LastUpdateStatus": "Successful"}, {"FunctionName": AGENT}
    )
    stub.add_response(
        "get_function_configuration", {"State": "Pending", "LastUpdateStatus": "Successful"}, {"FunctionName": AGENT}
    )
    stub.add_response(
        "get_function_configuration", {"State": "Active", "LastUpdateStatus": "Successful"}, {"FunctionName": AGENT}
    )
    with stub:
        token_provider.wait_until_active(client, AGENT, 60, clock.sleep, clock)
    assert clock.slept == [2.0, 4.0]

    body = b'{"ok": true}'
    stub.add_client_error("invoke", "ResourceNotReadyException", http_status_code=502)
    stub.add_response(
        "get_function_configuration", {"State": "Active", "LastUpdateStatus": "Successful"}, {"FunctionName": AGENT}
    )
    stub.add_client_error("invoke", "TooManyRequestsException", http_status_code=429)
    stub.add_response("invoke", {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(body), len(body))})
    clock.slept.clear()
    with stub:
        assert token_provider.invoke_agent(client, AGENT, {"x": 1}, 60, clock.sleep, clock) == {"ok": True}
    assert clock.slept == [2.0, 4.0]
    stub.assert_no_pending_responses()


def test_an_agent_that_may_have_run_is_not_invoked_twice():
    import token_provider

    client, stub = stubbed_lambda()
    clock = FakeClock()
    stub.add_client_error("invoke", "AccessDeniedException", http_status_code=403)
    with (
        stub,
        pytest.raises(token_provider.ProviderError, match="cannot invoke the token agent: AccessDeniedException"),
    ):
        token_provider.invoke_agent(client, AGENT, {}, 60, clock.sleep, clock)
    assert clock.slept == []


def test_retries_stop_within_the_budget():
    import token_provider

    client, stub = stubbed_lambda()
    clock = FakeClock()
    for _ in range(4):
        stub.add_client_error("invoke", "ServiceException", http_status_code=500)
    with stub, pytest.raises(token_provider.ProviderError, match="ServiceException"):
        token_provider.invoke_agent(client, AGENT, {}, 10, clock.sleep, clock)
    assert clock.slept == [2.0, 4.0] and clock.now <= 10


def test_a_failed_agent_function_is_reported():
    import token_provider

    client, stub = stubbed_lambda()
    stub.add_response(
        "get_function_configuration",
        {"State": "Failed", "StateReasonCode": "SubnetOutOfIPAddresses"},
        {"FunctionName": AGENT},
    )
    with stub, pytest.raises(token_provider.ProviderError, match="Failed \\(SubnetOutOfIPAddresses\\)"):
        token_provider.wait_until_active(client, AGENT, 60, FakeClock().sleep, FakeClock())


def test_the_sam_local_events_run_through_the_handler_in_order(aws_side, influx, cloudformation, event):
    """events/ holds CloudFormation's requests for `sam local invoke -e`; run here with this
    deployment's ARNs, InfluxDB and response URL in place of the examples: create, update, delete."""
    import token_provider

    names = sorted(path.name for path in (Path(__file__).parents[1] / "events").glob("*.json"))
    assert names == ["create.json", "delete.json", "update.json"]
    here = {
        "AgentFunctionArn": aws_side["agent"],
        "InfluxUrl": influx.url,
        **{f"{kind.capitalize()}TokenSecretArn": arn for kind, arn in aws_side["arns"].items()},
    }
    answers = []
    for name in ("create.json", "update.json", "delete.json"):
        request = event("influx_token_provider", name)
        assert request["RequestType"] == name.removesuffix(".json").capitalize()
        request["ResponseURL"] = cloudformation.url_for("/cloudformation-response")
        for key in ("ResourceProperties", "OldResourceProperties"):
            if key in request:
                assert set(here) <= set(request[key]), f"{name}: {key} lacks {set(here) - set(request[key])}"
                request[key].update(here)
        token_provider.handler(request, Context(60))
        answers.append(cloudformation.answers[-1]["body"])
    assert [answer["Status"] for answer in answers] == ["SUCCESS"] * 3, [a.get("Reason") for a in answers]
    assert {answer["PhysicalResourceId"] for answer in answers} == {"influx-tokens/streamlines/market-data"}
    assert len(influx.created()) == 2
    assert all(secret(aws_side, kind)["token"] != "PLACEHOLDER" for kind in ("read", "write"))
