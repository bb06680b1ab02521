"""IAM statements as small pure awacs builders, each scoped to the ARNs it is given.

No builder emits a `*` action. A `*` resource appears only where AWS defines no
resource for the action (ecr:GetAuthorizationToken, ssmmessages channels) and
says so in a comment.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from awacs import ecr, elasticfilesystem, logs, secretsmanager, ssmmessages
from awacs.aws import (
    Action,
    Allow,
    Bool,
    Condition,
    Deny,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
)
from troposphere import Join, Sub, encode_to_dict
from troposphere.iam import Policy, Role

POLICY_VERSION = "2012-10-17"


def allow(actions: Sequence[Action], resources: Iterable[Any], condition: Condition | None = None) -> Statement:
    statement = Statement(Effect=Allow, Action=list(actions), Resource=list(resources))
    if condition is not None:
        statement.Condition = condition
    return statement


def document(*statements: Statement) -> PolicyDocument:
    return PolicyDocument(Version=POLICY_VERSION, Statement=list(statements))


def assume_role_document(service: str) -> PolicyDocument:
    """Trust policy for one AWS service principal, limited to this account."""
    return document(
        Statement(
            Effect=Allow,
            Principal=Principal("Service", [service]),
            Action=[Action("sts", "AssumeRole")],
            Condition=Condition(StringEquals({"aws:SourceAccount": Sub("${AWS::AccountId}")})),
        )
    )


def role(logical_id: str, service: str, statements: Sequence[Statement], policy_name: str) -> Role:
    """A role for `service` with one inline policy; no inline policy when there is nothing to grant."""
    policies = [Policy(PolicyName=policy_name, PolicyDocument=document(*statements))] if statements else []
    return Role(logical_id, AssumeRolePolicyDocument=assume_role_document(service), Policies=policies)


def log_group_arn(log_group: Any) -> Any:
    """ARN of a log group's streams, from a `Ref` to the log group."""
    return Sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${Group}:*", Group=log_group)


def ecr_pull(repository_arns: Iterable[Any]) -> list[Statement]:
    return [
        # GetAuthorizationToken has no resource type; AWS documents `*` for it.
        allow([ecr.GetAuthorizationToken], ["*"]),
        allow([ecr.BatchCheckLayerAvailability, ecr.BatchGetImage, ecr.GetDownloadUrlForLayer], repository_arns),
    ]


def write_logs(log_group_arns: Iterable[Any]) -> Statement:
    return allow([logs.CreateLogStream, logs.PutLogEvents], log_group_arns)


def read_secrets(secret_arns: Iterable[Any]) -> Statement:
    return allow([secretsmanager.GetSecretValue], secret_arns)


def write_secrets(secret_arns: Iterable[Any]) -> Statement:
    return allow([secretsmanager.GetSecretValue, secretsmanager.PutSecretValue, secretsmanager.DescribeSecret], secret_arns)


def efs_client(file_system_arn: Any, access_point_arn: Any) -> Statement:
    """Mount and write the file system, only through the given access point."""
    return allow(
        [elasticfilesystem.ClientMount, elasticfilesystem.ClientWrite],
        [file_system_arn],
        Condition(StringEquals({"elasticfilesystem:AccessPointArn": access_point_arn})),
    )


def ecs_exec() -> Statement:
    """What the ECS Exec agent in a task needs; the channels have no resource type, hence `*`."""
    return allow(
        [
            ssmmessages.CreateControlChannel,
            ssmmessages.CreateDataChannel,
            ssmmessages.OpenControlChannel,
            ssmmessages.OpenDataChannel,
        ],
        ["*"],
    )


def deny_insecure_transport(resources: Sequence[Any], actions: Sequence[Action]) -> Statement:
    return Statement(
        Effect=Deny,
        Principal=Principal("AWS", "*"),
        Action=list(actions),
        Resource=list(resources),
        Condition=Condition(Bool({"aws:SecureTransport": "false"})),
    )


def as_dict(policy: PolicyDocument) -> dict:
    """For the few properties troposphere types as a plain dict (EFS FileSystemPolicy)."""
    return encode_to_dict(policy)


def bucket_objects(bucket_arn: Any) -> Join:
    return Join("", [bucket_arn, "/*"])
