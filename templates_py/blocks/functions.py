"""The Python Lambda building block: function, role, log group and the parameter
that names its code object in the foundations bucket.

Code is uploaded by `streamlines lambdas upload` (`make upload-lambdas`) under `lambdas/<folder>/<sha256>.zip`;
the key is a parameter, so a new build is a new key and CloudFormation updates
the function only when the code really changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from awacs import ec2
from awacs.aws import Statement
from troposphere import GetAtt, Ref, Template, awslambda, logs

from .. import exports
from ..model import LambdaFunction
from . import policies
from .parameters import LOG_KEY_REASON, add_parameter, deleted_with_stack, import_value, skip_checkov

RUNTIME = "python3.12"
ARCHITECTURE = "arm64"

CHECKOV_REASONS = {
    # The stream consumer has an on-failure destination; API Gateway and CloudFormation invoke synchronously.
    "CKV_AWS_116": "Stream failures go to an on-failure queue; other callers invoke synchronously.",
    "CKV_AWS_173": "The environment holds names and URLs only, never secrets.",
    # One invocation per shard, API Gateway throttling, one custom resource at a time;
    # reserving concurrency would take from the account pool.
    "CKV_AWS_115": "Concurrency is bounded by the caller; reserving it takes from the account pool.",
}


@dataclass
class Function:
    function: awslambda.Function
    role: Any
    log_group: logs.LogGroup


def python_function(
    t: Template,
    spec: LambdaFunction,
    *,
    description: str,
    environment: dict[str, Any],
    statements: Sequence[Statement],
    log_retention: Any,
    timeout: int = 30,
    memory: int = 256,
    vpc_config: awslambda.VPCConfig | None = None,
    condition: str | None = None,
) -> Function:
    name, folder = spec.name, spec.folder
    code_key = add_parameter(
        t,
        spec.code_key_parameter,
        description=f"S3 key of the {folder} zip in the foundations bucket (make upload-lambdas prints it).",
        AllowedPattern=r"^lambdas/" + folder + r"/[0-9a-f]{64}\.zip$",
        ConstraintDescription=f"lambdas/{folder}/<sha256>.zip",
    )
    log_group = t.add_resource(deleted_with_stack(logs.LogGroup(f"{name}LogGroup", RetentionInDays=log_retention)))
    skip_checkov(log_group, CKV_AWS_158=LOG_KEY_REASON)
    all_statements = [policies.write_logs([policies.log_group_arn(log_group)]), *statements]
    if vpc_config is not None:
        # ENI management for a function in a VPC; these EC2 actions have no resource-level scope.
        all_statements.append(
            policies.allow(
                [
                    ec2.CreateNetworkInterface,
                    ec2.DescribeNetworkInterfaces,
                    ec2.DeleteNetworkInterface,
                    ec2.AssignPrivateIpAddresses,
                    ec2.UnassignPrivateIpAddresses,
                ],
                ["*"],
            )
        )
    role = t.add_resource(policies.role(f"{name}Role", "lambda.amazonaws.com", all_statements, f"{folder}-function"))
    if vpc_config is not None:
        skip_checkov(
            role,
            CKV_AWS_111="The network-interface actions of AWSLambdaVPCAccessExecutionRole; they take no resource "
            "scope.",
        )
    properties: dict[str, Any] = dict(
        Description=description,
        Runtime=RUNTIME,
        Architectures=[ARCHITECTURE],
        Handler=spec.handler,
        Code=awslambda.Code(S3Bucket=import_value(exports.APP_BUCKET_NAME), S3Key=Ref(code_key)),
        Role=GetAtt(role, "Arn"),
        Timeout=timeout,
        MemorySize=memory,
        Environment=awslambda.Environment(Variables=dict(sorted(environment.items()))),
        LoggingConfig=awslambda.LoggingConfig(LogGroup=Ref(log_group)),
    )
    if vpc_config is not None:
        properties["VpcConfig"] = vpc_config
    function = awslambda.Function(f"{name}Function", **properties)
    if condition:
        for resource in (log_group, role, function):
            resource.Condition = condition
    t.add_resource(function)
    reasons = dict(CHECKOV_REASONS)
    if vpc_config is None:
        reasons["CKV_AWS_117"] = "Speaks only to AWS APIs: outside a VPC it needs no NAT or endpoints."
    skip_checkov(function, **reasons)
    return Function(function, role, log_group)
