"""`streamlines smoke --stack NAME`: does a deployed stack work, end to end?

One check per line, pass or fail with its reason; the command exits non-zero on
any failure. What it checks, by profile:

- every profile: the stack's status; each ECS service runs its desired count and
  its latest deployment completed; each target group's targets are healthy; the
  token secrets hold issued tokens, and those tokens work (the in-VPC token
  agent writes a scratch point with the write token, reads it back with the read
  token and deletes it; the operator token stays in Secrets Manager);
- lite: Grafana's /api/health, its InfluxDB datasource's health check and the
  shipped dashboards (when Grafana is reachable from here);
- lite-pipeline and full: the upstream stream received records lately, and
  InfluxDB holds points newer than the window (through the agent);
- full: a WebSocket client subscribes to a symbol and gets the confirmation,
  decoded as the dashboard decodes it; the results pusher's event source mapping
  is enabled and its last result OK.

No token is printed or logged: the tokens go from Secrets Manager to the agent
in the Lambda invocation only.
"""

from __future__ import annotations

import base64
import contextlib
import json
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from templates_py import exports, model

from .aws import StackError, read_stack
from .checks import Check, failed

PLACEHOLDER = "PLACEHOLDER"
COMPLETE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"}
AGENT = model.TOKEN_AGENT.function_id
AGENT_SECONDS = 25
PROFILES = ("lite", "lite-pipeline", "full")


@dataclass
class Options:
    symbol: str = "AAPL"
    recent_minutes: int = 15
    stream_minutes: int = 10
    websocket_seconds: float = 10.0
    grafana_url: str | None = None
    allow_insecure_http: bool = False


# invoke(function name, payload) -> the function's answer (a dict)
Invoke = Callable[[str, dict], dict]
# connect(url) -> a context manager giving a connection with send(text) and recv(timeout)
Connect = Callable[[str], Any]


# DescribeServices answers at most 10 services a call.
DESCRIBE_SERVICES_AT_MOST = 10


class _Stack:
    """One deployed stack: status, outputs and resources by logical id."""

    def __init__(self, cloudformation: Any, name: str):
        try:
            described = read_stack(cloudformation, name)
        except StackError as error:
            raise LookupError(str(error)) from None
        if described is None:
            raise LookupError(f"stack {name} not found.")
        self.name = name
        self.status = described.status
        self.reason = described.reason
        self.outputs = described.outputs
        self.resources: dict[str, tuple[str, str]] = {}
        for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=name):
            for resource in page["StackResourceSummaries"]:
                self.resources[resource["LogicalResourceId"]] = (
                    resource["ResourceType"],
                    resource.get("PhysicalResourceId", ""),
                )

    def of_type(self, kind: str) -> list[tuple[str, str]]:
        return sorted(
            (logical_id, physical) for logical_id, (found, physical) in self.resources.items() if found == kind
        )


def run(
    session: Any,
    stack_name: str,
    options: Options,
    invoke: Invoke | None = None,
    connect: Connect | None = None,
    now: Callable[[], datetime] | None = None,
) -> list[Check]:
    """Every check of `stack_name`, in order; a stack that cannot be read is one failed check."""
    from botocore.exceptions import BotoCoreError, ClientError

    now = now or (lambda: datetime.now(timezone.utc))
    invoke = invoke or _lambda_invoke(session)
    cloudformation = session.client("cloudformation")
    try:
        stack = _Stack(cloudformation, stack_name)
    except LookupError as error:
        return [Check("stack", False, str(error))]
    except BotoCoreError as error:
        return [Check("stack", False, f"cannot reach AWS: {error}")]
    checks = [_stack_status(stack)]
    profile = stack.outputs.get("StackProfile")
    if profile not in PROFILES:
        return [
            *checks,
            Check(
                "profile",
                False,
                f"stack {stack_name} is not a Stream Lines lite, lite-pipeline or full stack (StackProfile output: "
                f"{profile or 'none'}).",
            ),
        ]

    def guarded(name: str, step: Callable[[], list[Check]]) -> None:
        try:
            checks.extend(step())
        except (ClientError, BotoCoreError, LookupError) as error:
            checks.append(Check(name, False, _aws_message(error)))

    guarded("services", lambda: _services(session.client("ecs"), stack))
    guarded("targets", lambda: _targets(session.client("elbv2"), stack))
    # The lite pipeline add-on uses lite's InfluxDB, agent and secrets.
    try:
        home = _Stack(cloudformation, _output(stack, "LiteStack")) if profile == "lite-pipeline" else stack
        foundations = _Stack(cloudformation, _output(home, "FoundationsStack"))
    except (LookupError, ClientError, BotoCoreError) as error:
        return [*checks, Check("stacks", False, _aws_message(error))]
    secrets = session.client("secretsmanager")
    tokens: dict[str, str] = {}
    guarded("tokens", lambda: _tokens(secrets, foundations, tokens))
    agent = home.resources[AGENT][1] if AGENT in home.resources else ""
    influx = {
        "influxUrl": home.outputs.get(exports.LITE_INFLUXDB_URL),
        "org": home.outputs.get(exports.LITE_INFLUXDB_ORG),
        "bucket": home.outputs.get(exports.LITE_INFLUXDB_BUCKET),
    }
    if len(tokens) == 2:
        guarded("token round trip", lambda: [_round_trip(invoke, agent, influx, tokens)])
    if profile == "lite":
        guarded("grafana", lambda: _grafana(secrets, stack, foundations, options))
    if profile in ("lite-pipeline", "full"):
        guarded(
            "upstream records",
            lambda: [
                _stream_records(
                    session.client("cloudwatch"), _output(stack, "UpstreamStreamName"), options.stream_minutes, now()
                )
            ],
        )
        if "read" in tokens:
            guarded(
                "recent data", lambda: [_recent_points(invoke, agent, influx, tokens["read"], options.recent_minutes)]
            )
    if profile == "full":
        guarded(
            "websocket", lambda: [_websocket(connect or _websocket_connect, _output(stack, "WebSocketUrl"), options)]
        )
        guarded("results pusher", lambda: _event_sources(session.client("lambda"), stack))
    return checks


def _output(stack: _Stack, key: str) -> str:
    if not stack.outputs.get(key):
        raise LookupError(f"stack {stack.name} has no {key} output.")
    return stack.outputs[key]


def _aws_message(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return (
            "AWS refused a request: "
            f"{response.get('Error', {}).get('Message') or response.get('Error', {}).get('Code', error)}"
        )
    return str(error)


def _stack_status(stack: _Stack) -> Check:
    if stack.status in COMPLETE:
        return Check("stack", True, stack.status)
    if stack.status == "UPDATE_ROLLBACK_COMPLETE":
        return Check(
            "stack",
            False,
            "UPDATE_ROLLBACK_COMPLETE: the last update failed and was rolled back (see the stack events).",
        )
    return Check(
        "stack",
        False,
        f"{stack.status}{': ' + stack.reason if stack.reason else ''} (a working stack is CREATE_COMPLETE or "
        "UPDATE_COMPLETE).",
    )


def _services(ecs: Any, stack: _Stack) -> list[Check]:
    by_cluster: dict[str, list[str]] = {}
    for _, arn in stack.of_type("AWS::ECS::Service"):
        # arn:aws:ecs:<region>:<account>:service/<cluster>/<service>
        by_cluster.setdefault(arn.split("/")[-2], []).append(arn)
    checks = []
    for cluster, arns in sorted(by_cluster.items()):
        for start in range(0, len(arns), DESCRIBE_SERVICES_AT_MOST):
            for service in ecs.describe_services(
                cluster=cluster, services=arns[start : start + DESCRIBE_SERVICES_AT_MOST]
            )["services"]:
                checks.append(_service(service))
    return checks


def _service(service: dict) -> Check:
    # DescribeServices always answers both counts.
    name, desired, running = service["serviceName"], service["desiredCount"], service["runningCount"]
    what = f"service {name}"
    if desired == 0:
        return Check(
            what,
            False,
            "desired count is 0: it is scaled to zero (outside its active hours?), so nothing it serves works now.",
        )
    if running < desired:
        return Check(what, False, f"{running} of {desired} tasks running (see the service's events and its log group).")
    primary = next((d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"), {})
    state = primary.get("rolloutState", "COMPLETED")
    if state != "COMPLETED":
        return Check(
            what,
            False,
            f"{running} of {desired} tasks running, but its latest deployment is {state}: "
            f"{primary.get('rolloutStateReason', 'no reason given')}",
        )
    return Check(what, True, f"{running} of {desired} tasks running, latest deployment completed")


def _targets(elbv2: Any, stack: _Stack) -> list[Check]:
    checks = []
    for logical_id, arn in stack.of_type("AWS::ElasticLoadBalancingV2::TargetGroup"):
        health = elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
        states = [(h["Target"]["Id"], h["TargetHealth"]["State"], h["TargetHealth"].get("Reason")) for h in health]
        healthy = [s for s in states if s[1] == "healthy"]
        what = f"targets {logical_id}"
        if not states:
            checks.append(Check(what, False, "no registered target: its service runs no task behind it."))
        elif len(healthy) < len(states):
            others = ", ".join(
                f"{target} {state}{' (' + reason + ')' if reason else ''}"
                for target, state, reason in states
                if state != "healthy"
            )
            checks.append(Check(what, False, f"{len(healthy)} of {len(states)} healthy: {others}"))
        else:
            checks.append(Check(what, True, f"{len(healthy)} of {len(states)} healthy"))
    return checks


def _tokens(secrets: Any, foundations: _Stack, tokens: dict[str, str]) -> list[Check]:
    checks = []
    for kind, output in (("read", exports.INFLUXDB_READ_TOKEN_SECRET), ("write", exports.INFLUXDB_WRITE_TOKEN_SECRET)):
        raw = secrets.get_secret_value(SecretId=foundations.outputs[output])["SecretString"]
        try:
            token = json.loads(raw).get("token")
        except (ValueError, AttributeError):  # not JSON, or not an object
            token = None
        if not token or token == PLACEHOLDER:
            checks.append(
                Check(
                    f"{kind} token",
                    False,
                    "the secret holds the placeholder, not an issued token: the token issuer has not run (see "
                    "the InfluxTokens resource and the provider's log group).",
                )
            )
            continue
        tokens[kind] = token
        checks.append(Check(f"{kind} token", True, "the secret holds an issued token"))
    return checks


def _lambda_invoke(session: Any) -> Invoke:
    def invoke(function: str, payload: dict) -> dict:
        answer = session.client("lambda").invoke(FunctionName=function, Payload=json.dumps(payload).encode())
        body = json.loads(answer["Payload"].read() or b"null")
        if answer.get("FunctionError"):
            message = body.get("errorMessage") if isinstance(body, dict) else body
            return {"ok": False, "error": f"the token agent failed: {message}"}
        return body

    return invoke


def _ask_agent(invoke: Invoke, agent: str, payload: dict) -> dict:
    if not agent:
        raise LookupError(f"the stack has no token agent function ({AGENT}).")
    answer = invoke(agent, {**payload, "deadlineSeconds": AGENT_SECONDS})
    # Without "ok": true, the callers read an answer as a failure.
    return answer if isinstance(answer, dict) else {"error": f"the token agent answered {answer!r}"}


def _round_trip(invoke: Invoke, agent: str, influx: dict, tokens: dict[str, str]) -> Check:
    answer = _ask_agent(
        invoke, agent, {"action": "round_trip", **influx, "readToken": tokens["read"], "writeToken": tokens["write"]}
    )
    if not answer.get("ok"):
        return Check("token round trip", False, answer.get("error", "the token agent gave no reason."))
    return Check(
        "token round trip",
        True,
        "the write token wrote a scratch point, the read token read it back, and it was deleted",
    )


def _recent_points(invoke: Invoke, agent: str, influx: dict, read_token: str, minutes: int) -> Check:
    answer = _ask_agent(
        invoke, agent, {"action": "recent_points", **influx, "readToken": read_token, "minutes": minutes}
    )
    if not answer.get("ok"):
        return Check("recent data", False, answer.get("error", "the token agent gave no reason."))
    if not answer.get("series"):
        return Check(
            "recent data",
            False,
            f"no point newer than {minutes} minutes in bucket {influx['bucket']}: is ripples running and writing "
            "(its log group)?",
        )
    return Check(
        "recent data",
        True,
        f"points newer than {minutes} minutes in bucket {influx['bucket']} (latest {answer.get('latest')})",
    )


def _stream_records(cloudwatch: Any, stream: str, minutes: int, now: datetime) -> Check:
    answer = cloudwatch.get_metric_statistics(
        Namespace="AWS/Kinesis",
        MetricName="IncomingRecords",
        Dimensions=[{"Name": "StreamName", "Value": stream}],
        StartTime=now - timedelta(minutes=minutes),
        EndTime=now,
        Period=60,
        Statistics=["Sum"],
    )
    records = int(sum(point["Sum"] for point in answer.get("Datapoints", [])))
    if records == 0:
        return Check(
            "upstream records",
            False,
            f"no record reached {stream} in the last {minutes} minutes: is ingest running (its log group)? The "
            "market-data feed is quiet outside market hours.",
        )
    return Check("upstream records", True, f"{records} records reached {stream} in the last {minutes} minutes")


def _grafana(secrets: Any, stack: _Stack, foundations: _Stack, options: Options) -> list[Check]:
    from grafana.provision import ProvisionError, load_dashboards, refuse_plain_http, verify

    url = (options.grafana_url or stack.outputs.get("GrafanaUrl") or "").rstrip("/")
    if not url:
        return [
            Check(
                "grafana",
                None,
                f"stack {stack.name} has no public Grafana (GrafanaExposure none): start an ECS Exec port forward "
                "and pass --grafana-url http://localhost:3000.",
            )
        ]
    try:
        refuse_plain_http(url, options.allow_insecure_http)
    except ProvisionError:
        return [
            Check(
                "grafana",
                None,
                f"{url} is plain HTTP and the checks need the admin password: give Grafana a certificate, use "
                "an ECS Exec port forward (--grafana-url http://localhost:3000), or pass --allow-insecure-http.",
            )
        ]
    password = secrets.get_secret_value(SecretId=foundations.outputs["GrafanaAdminPasswordSecretArn"])["SecretString"]
    return verify(url, password, load_dashboards())


def decode(data: bytes | str) -> Any:
    """A WebSocket message as the dashboard decodes it: base64, then zlib, then JSON
    (`pako.inflate(atob(data), {to: "string"})`, see lambdas/shared/wire.py)."""
    return json.loads(zlib.decompress(base64.b64decode(data)).decode("utf-8"))


def _websocket_connect(url: str) -> Any:
    from websockets.sync.client import connect

    return connect(url, open_timeout=10, close_timeout=5)


def _websocket(connect: Connect, url: str, options: Options) -> Check:
    # websockets 17.1 wants its connection as a context manager (connect() alone is deprecated).
    with contextlib.ExitStack() as opened:
        try:
            connection = opened.enter_context(connect(url))
        except Exception as error:  # refused, DNS, TLS, handshake status
            return Check("websocket", False, f"could not connect to {url}: {error}")
        connection.send(json.dumps({"subscribeTo": [options.symbol]}))
        try:
            message = connection.recv(timeout=options.websocket_seconds)
        except TimeoutError:
            return Check(
                "websocket",
                False,
                f"{url} accepted the connection but answered nothing to a subscription within "
                f"{options.websocket_seconds:g} "
                "s: see the ConnectionHandler log group.",
            )
        except Exception as error:  # closed by the server
            return Check("websocket", False, f"{url} closed the connection after the subscription: {error}")
    try:
        answer = decode(message)
    except (ValueError, zlib.error, UnicodeDecodeError):
        return Check("websocket", False, "the answer is not what the dashboard decodes (base64 of zlib-deflated JSON).")
    expected = "You are connected to live feed for symbols: " + options.symbol
    if not isinstance(answer, dict) or answer.get("message") != expected:
        return Check(
            "websocket", False, f"the subscription to {options.symbol} was answered {answer!r}, not its confirmation."
        )
    return Check("websocket", True, f"subscribed to {options.symbol} and got the confirmation")


def _event_sources(lambda_client: Any, stack: _Stack) -> list[Check]:
    checks = []
    for logical_id, uuid in stack.of_type("AWS::Lambda::EventSourceMapping"):
        mapping = lambda_client.get_event_source_mapping(UUID=uuid)
        state, result = mapping.get("State"), mapping.get("LastProcessingResult") or "none reported"
        what = f"event source {logical_id}"
        if state != "Enabled":
            checks.append(
                Check(what, False, f"the mapping is {state}, not Enabled: nothing reaches the results pusher.")
            )
        elif result not in ("OK", "No records processed"):
            checks.append(Check(what, False, f"last result: {result} (see the results pusher's log group)."))
        else:
            checks.append(Check(what, True, f"enabled, last result: {result}"))
    return checks


def report(checks: list[Check], as_json: bool) -> str:
    if as_json:
        return json.dumps([{"check": c.name, "status": c.status.lower(), "reason": c.detail} for c in checks], indent=2)
    return "\n".join([*(c.line() for c in checks), f"{len(checks)} checks, {failed(checks)} failed"])
