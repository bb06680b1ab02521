"""Custom::InfluxTokens provider: speaks the CloudFormation custom resource
protocol (through AWS's crhelper, which also answers FAILED just before the
Lambda would time out), reads the InfluxDB operator token from Secrets Manager,
invokes the in-VPC token agent, and stores the read and write tokens in their
secrets as {"token", "authorizationID"}.

Runs outside the VPC, so neither profile needs a NAT gateway or endpoints for
it. Delete leaves tokens, secrets and data alone. Nothing secret goes into the
response's Data or the logs.

Robustness, because a failed answer here fails (or strands) a whole stack:
- A VPC Lambda idle for weeks goes Inactive and its first invoke fails with
  ResourceNotReadyException: the provider waits for the agent to be Active and
  retries, within its time, the invoke errors that mean the agent never ran
  (so no second pair of tokens can come of it).
- An Update that keeps org, bucket and secrets does not need InfluxDB: with
  active hours InfluxDB may be scaled to zero, and polling it until the deadline
  would fail the update and then its rollback (UPDATE_ROLLBACK_FAILED). The
  stored tokens are checked when InfluxDB answers within a short wait, and kept
  as they are when it does not.
- InfluxDB creates its org and bucket at first boot only: an Update that
  renames either is refused at once with the reason.

Resource properties: AgentFunctionArn, InfluxUrl, Org, Bucket,
AdminTokenSecretArn, ReadTokenSecretArn, WriteTokenSecretArn.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Callable

import boto3
from botocore.config import Config
from crhelper import CfnResource

logger = logging.getLogger(__name__)
helper = CfnResource(json_logging=False, log_level="INFO", boto_level="ERROR", sleep_on_delete=0)

REQUIRED = (
    "AgentFunctionArn",
    "InfluxUrl",
    "Org",
    "Bucket",
    "AdminTokenSecretArn",
    "ReadTokenSecretArn",
    "WriteTokenSecretArn",
)
# Properties whose change means other tokens or another InfluxDB setup.
IDENTITY = ("Org", "Bucket", "AdminTokenSecretArn", "ReadTokenSecretArn", "WriteTokenSecretArn")
# Time kept back from the agent's deadline to write the secrets and answer.
RESERVE_SECONDS = 20
MIN_AGENT_SECONDS = 5
# How long an unchanged Update waits for InfluxDB before keeping the stored tokens.
QUICK_CHECK_SECONDS = 30
# Invoke errors that mean the agent never ran: safe to retry.
# https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html#API_Invoke_Errors
NEVER_RAN = frozenset(
    {
        "ResourceNotReadyException",
        "ResourceConflictException",
        "TooManyRequestsException",
        "ServiceException",
        "EC2ThrottledException",
        "EC2UnexpectedException",
    }
)
RETRY_DELAYS = (2.0, 4.0, 8.0, 15.0, 15.0, 15.0, 15.0, 15.0)


class ProviderError(Exception):
    """A one-line reason for a FAILED answer; never holds a token."""


def physical_id(properties: dict) -> str:
    return f"influx-tokens/{properties['Org']}/{properties['Bucket']}"


def _secret_json(secrets: Any, arn: str) -> Any:
    try:
        return json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])
    except ValueError:
        return None


def _is_token(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and bool(value.get("token"))
        and value.get("token") != "PLACEHOLDER"
        and bool(value.get("authorizationID"))
    )


def refuse_renames(properties: dict, old: dict | None) -> None:
    """InfluxDB's setup ran once with the first org and bucket; a new name would make
    the agent look for an org or bucket that does not exist."""
    if not old:
        return
    for name in ("Org", "Bucket"):
        if old.get(name) and old.get(name) != properties.get(name):
            raise ProviderError(
                f"InfluxDB created {name.lower()} {old[name]!r} at first boot and keeps it; {name.lower()} "
                f"{properties.get(name)!r} "
                f"does not exist there. Keep {old[name]!r} (InfluxDb{name} parameter)"
            )


def unchanged(properties: dict, old: dict | None) -> bool:
    return bool(old) and all(old.get(name) == properties.get(name) for name in IDENTITY)


def wait_until_active(
    lambdas: Any,
    function: str,
    budget: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Wait, within `budget` seconds, for the agent to be Active and not mid-update
    (an Inactive function is reactivated by the first invoke, then by this wait)."""
    end = clock() + budget
    delays = iter(RETRY_DELAYS)
    while True:
        configuration = lambdas.get_function_configuration(FunctionName=function)
        state, update = configuration.get("State", "Active"), configuration.get("LastUpdateStatus", "Successful")
        if state == "Active" and update != "InProgress":
            return
        if state == "Failed" or update == "Failed":
            reason = configuration.get("StateReasonCode") or configuration.get("LastUpdateStatusReasonCode")
            raise ProviderError(f"the token agent function is {state} ({reason or 'no reason given'})")
        delay = next(delays, RETRY_DELAYS[-1])
        if clock() + delay > end:
            raise ProviderError(
                f"the token agent function stayed {state} (last update {update}) until this invocation ran out of time"
            )
        sleep(delay)


def invoke_agent(
    lambdas: Any,
    function: str,
    payload: dict,
    budget: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Any:
    """Invoke the agent, retrying (within `budget`) only errors that mean it never ran."""
    from botocore.exceptions import ClientError

    end = clock() + budget
    delays = iter(RETRY_DELAYS)
    while True:
        try:
            response = lambdas.invoke(
                FunctionName=function, InvocationType="RequestResponse", Payload=json.dumps(payload).encode()
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            delay = next(delays, RETRY_DELAYS[-1])
            if code not in NEVER_RAN or clock() + delay > end:
                raise ProviderError(f"cannot invoke the token agent: {code or error}") from None
            logger.info(json.dumps({"event": "agent_not_ready", "code": code, "retry_in": delay}))
            sleep(delay)
            if code == "ResourceNotReadyException":
                wait_until_active(lambdas, function, max(0.0, end - clock()), sleep, clock)
            continue
        answer = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            message = answer.get("errorMessage", "unknown error") if isinstance(answer, dict) else "unknown error"
            raise ProviderError(f"the token agent failed: {message}".splitlines()[0])
        return answer


def ensure(
    properties: dict,
    secrets: Any,
    lambdas: Any,
    remaining_ms: int,
    old: dict | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[str, dict]:
    missing = [name for name in REQUIRED if not properties.get(name)]
    if missing:
        raise ProviderError(f"missing resource properties: {', '.join(missing)}")
    refuse_renames(properties, old)
    admin_token = secrets.get_secret_value(SecretId=properties["AdminTokenSecretArn"])["SecretString"]
    arns = {"read": properties["ReadTokenSecretArn"], "write": properties["WriteTokenSecretArn"]}
    stored = {kind: _secret_json(secrets, arn) for kind, arn in arns.items()}
    started = clock()
    budget = remaining_ms / 1000 - RESERVE_SECONDS
    if budget < MIN_AGENT_SECONDS:
        raise ProviderError("not enough time left in this invocation to reach InfluxDB")
    # An Update that keeps every identity property, with real tokens stored, need
    # not reach InfluxDB: check quickly, keep what is stored if it does not answer.
    optional = unchanged(properties, old) and all(_is_token(stored[kind]) for kind in arns)
    agent = properties["AgentFunctionArn"]
    wait_until_active(lambdas, agent, budget, sleep, clock)
    left = budget - (clock() - started)
    if left < MIN_AGENT_SECONDS:
        raise ProviderError("not enough time left in this invocation to reach InfluxDB")
    payload = {
        "influxUrl": properties["InfluxUrl"],
        "adminToken": admin_token,
        "org": properties["Org"],
        "bucket": properties["Bucket"],
        "description": f"streamlines {properties['Org']}/{properties['Bucket']}",
        "deadlineSeconds": int(min(left, QUICK_CHECK_SECONDS) if optional else left),
        "stored": stored,
    }
    answer = invoke_agent(lambdas, agent, payload, left, sleep, clock)
    if not isinstance(answer, dict) or not answer.get("ok"):
        reason = str((answer or {}).get("error", "the token agent gave no answer")).splitlines()[0]
        if optional:
            logger.info(
                json.dumps(
                    {
                        "event": "tokens_kept",
                        "why": "unchanged update; InfluxDB did not answer in time",
                        "agent": reason,
                    }
                )
            )
            return physical_id(properties), {
                f"{kind.capitalize()}AuthorizationId": stored[kind]["authorizationID"] for kind in arns
            }
        raise ProviderError(reason)
    data: dict[str, str] = {}
    for kind, arn in arns.items():
        token = answer["tokens"][kind]
        value = {"authorizationID": token["authorizationID"], "token": token["token"]}
        if value != stored[kind]:
            secrets.put_secret_value(SecretId=arn, SecretString=json.dumps(value, sort_keys=True))
        data[f"{kind.capitalize()}AuthorizationId"] = token["authorizationID"]
    created = sorted(kind for kind in arns if answer["tokens"][kind]["created"])
    logger.info(json.dumps({"event": "tokens_stored", "created": created, "influxRequests": answer.get("requests")}))
    return physical_id(properties), data


@helper.create
@helper.update
def create_or_update(event: dict, context: Any) -> str:
    secrets = boto3.client("secretsmanager")
    remaining = context.get_remaining_time_in_millis()
    # No SDK retry of the invoke: a second agent run could create a second pair of
    # tokens. invoke_agent retries only the errors that mean the agent never ran.
    lambdas = boto3.client("lambda", config=Config(read_timeout=remaining / 1000, retries={"total_max_attempts": 1}))
    old = event.get("OldResourceProperties") if event.get("RequestType") == "Update" else None
    physical, data = ensure(event["ResourceProperties"], secrets, lambdas, remaining, old)
    helper.Data.update(data)
    return physical


@helper.delete
def delete(event: dict, context: Any) -> None:
    # Tokens stay valid and secrets keep them: the data on EFS outlives this stack.
    logger.info(json.dumps({"event": "delete", "kept": event.get("PhysicalResourceId")}))


def handler(event: dict, context: Any) -> None:
    helper(event, context)
