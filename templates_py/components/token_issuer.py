"""The InfluxDB token issuer, shared by lite and full: `Custom::InfluxTokens`.

An *agent* Lambda inside the VPC speaks only HTTP to InfluxDB; a *provider*
Lambda outside it speaks the custom resource protocol, reads the operator token,
invokes the agent and stores the read and write tokens in the foundations
secrets. So neither profile needs a NAT gateway or interface endpoints for it,
and the agent, the only part that can reach InfluxDB, has no AWS permissions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from awacs import awslambda as lambda_actions
from troposphere import GetAtt, Template, awslambda
from troposphere.cloudformation import AWSCustomObject

from .. import exports, model
from ..blocks import policies
from ..blocks.functions import python_function
from ..blocks.network import Network, security_group
from ..blocks.parameters import import_value

# Both functions may run this long; the provider answers CloudFormation before it.
TIMEOUT_SECONDS = 600


class InfluxTokens(AWSCustomObject):
    resource_type = "Custom::InfluxTokens"
    props = {
        "ServiceToken": (str, True),
        "ServiceTimeout": (int, False),
        "AgentFunctionArn": (str, True),
        "InfluxUrl": (str, True),
        "Org": (str, True),
        "Bucket": (str, True),
        "AdminTokenSecretArn": (str, True),
        "ReadTokenSecretArn": (str, True),
        "WriteTokenSecretArn": (str, True),
    }


@dataclass
class TokenIssuer:
    tokens: InfluxTokens
    agent_security_group: Any


def influx_token_issuer(
    t: Template,
    network: Network,
    *,
    subnets: Sequence[Any],
    influx_url: Any,
    org: Any,
    bucket: Any,
    log_retention: Any,
    after: Sequence[str],
) -> TokenIssuer:
    """The issuer; `after` are the logical IDs (the InfluxDB service) it must wait for."""
    agent_group = security_group(
        t, "InfluxTokenAgentSecurityGroup", network, "InfluxDB token agent; reaches InfluxDB only, admits nothing"
    )
    agent = python_function(
        t,
        model.TOKEN_AGENT,
        description="Ensures the InfluxDB read and write tokens over HTTP (the token provider invokes it; streamlines "
        "smoke too)",
        environment={},
        statements=[],
        log_retention=log_retention,
        timeout=TIMEOUT_SECONDS,
        memory=128,
        vpc_config=awslambda.VPCConfig(SubnetIds=list(subnets), SecurityGroupIds=[GetAtt(agent_group, "GroupId")]),
    )
    secrets = {
        "admin": import_value(exports.INFLUXDB_ADMIN_TOKEN_SECRET),
        "read": import_value(exports.INFLUXDB_READ_TOKEN_SECRET),
        "write": import_value(exports.INFLUXDB_WRITE_TOKEN_SECRET),
    }
    provider = python_function(
        t,
        model.TOKEN_PROVIDER,
        description="Custom::InfluxTokens: stores InfluxDB read and write tokens in Secrets Manager",
        environment={},
        statements=[
            policies.read_secrets([secrets["admin"]]),
            policies.write_secrets([secrets["read"], secrets["write"]]),
            # GetFunctionConfiguration: wait for an Inactive agent to be Active again.
            policies.allow(
                [lambda_actions.GetFunctionConfiguration, lambda_actions.InvokeFunction],
                [GetAtt(agent.function, "Arn")],
            ),
        ],
        log_retention=log_retention,
        timeout=TIMEOUT_SECONDS,
        memory=128,
    )
    tokens = t.add_resource(
        InfluxTokens(
            "InfluxTokens",
            DependsOn=list(after),
            ServiceToken=GetAtt(provider.function, "Arn"),
            # If the provider never answers, fail after this instead of CloudFormation's hour.
            ServiceTimeout=TIMEOUT_SECONDS + 60,
            AgentFunctionArn=GetAtt(agent.function, "Arn"),
            InfluxUrl=influx_url,
            Org=org,
            Bucket=bucket,
            AdminTokenSecretArn=secrets["admin"],
            ReadTokenSecretArn=secrets["read"],
            WriteTokenSecretArn=secrets["write"],
        )
    )
    return TokenIssuer(tokens, agent_group)
