"""Custom::InfluxTokens provider: speaks the CloudFormation custom resource
protocol (through AWS's crhelper, which also answers FAILED just before the
Lambda would time out), reads the InfluxDB operator token from Secrets Manager,
invokes the in-VPC token agent, and stores the read and write tokens in their
secrets as {"token", "authorizationID"}.

Runs outside the VPC, so neither profile needs a NAT gateway or endpoints for
it. Delete leaves tokens, secrets and data alone. Nothing secret goes into the
response's Data or the logs.

Resource properties: AgentFunctionArn, InfluxUrl, Org, Bucket,
AdminTokenSecretArn, ReadTokenSecretArn, WriteTokenSecretArn.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import boto3
from botocore.config import Config
from crhelper import CfnResource

logger = logging.getLogger(__name__)
helper = CfnResource(json_logging=False, log_level="INFO", boto_level="ERROR", sleep_on_delete=0)

REQUIRED = ("AgentFunctionArn", "InfluxUrl", "Org", "Bucket", "AdminTokenSecretArn", "ReadTokenSecretArn", "WriteTokenSecretArn")
# Time kept back from the agent's deadline to write the secrets and answer.
RESERVE_SECONDS = 20
MIN_AGENT_SECONDS = 5


class ProviderError(Exception):
    """A one-line reason for a FAILED answer; never holds a token."""


def physical_id(properties: dict) -> str:
    return f"influx-tokens/{properties['Org']}/{properties['Bucket']}"


def _secret_json(secrets: Any, arn: str) -> Any:
    try:
        return json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])
    except ValueError:
        return None


def ensure(properties: dict, secrets: Any, lambdas: Any, remaining_ms: int) -> tuple[str, dict]:
    missing = [name for name in REQUIRED if not properties.get(name)]
    if missing:
        raise ProviderError(f"missing resource properties: {', '.join(missing)}")
    admin_token = secrets.get_secret_value(SecretId=properties["AdminTokenSecretArn"])["SecretString"]
    arns = {"read": properties["ReadTokenSecretArn"], "write": properties["WriteTokenSecretArn"]}
    stored = {kind: _secret_json(secrets, arn) for kind, arn in arns.items()}
    deadline = remaining_ms / 1000 - RESERVE_SECONDS
    if deadline < MIN_AGENT_SECONDS:
        raise ProviderError("not enough time left in this invocation to reach InfluxDB")
    payload = {
        "influxUrl": properties["InfluxUrl"],
        "adminToken": admin_token,
        "org": properties["Org"],
        "bucket": properties["Bucket"],
        "description": f"streamlines {properties['Org']}/{properties['Bucket']}",
        "deadlineSeconds": int(deadline),
        "stored": stored,
    }
    response = lambdas.invoke(FunctionName=properties["AgentFunctionArn"], InvocationType="RequestResponse", Payload=json.dumps(payload).encode())
    answer = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError"):
        message = answer.get("errorMessage", "unknown error") if isinstance(answer, dict) else "unknown error"
        raise ProviderError(f"the token agent failed: {message}".splitlines()[0])
    if not isinstance(answer, dict) or not answer.get("ok"):
        raise ProviderError(str((answer or {}).get("error", "the token agent gave no answer")).splitlines()[0])
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
    # No retry of the invoke: a second agent run could create a second pair of tokens.
    lambdas = boto3.client("lambda", config=Config(read_timeout=remaining / 1000, retries={"total_max_attempts": 1}))
    physical, data = ensure(event["ResourceProperties"], secrets, lambdas, remaining)
    helper.Data.update(data)
    return physical


@helper.delete
def delete(event: dict, context: Any) -> None:
    # Tokens stay valid and secrets keep them: the data on EFS outlives this stack.
    logger.info(json.dumps({"event": "delete", "kept": event.get("PhysicalResourceId")}))


def handler(event: dict, context: Any) -> None:
    helper(event, context)
