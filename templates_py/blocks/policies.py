"""IAM statements as small pure awacs builders, each scoped to the ARNs it is given.

No builder emits a `*` action. A `*` resource appears only where AWS defines no
resource for the action (ecr:GetAuthorizationToken, ssmmessages channels) and
says so in a comment.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from awacs import dynamodb, ecr, elasticfilesystem, execute_api, kinesis, logs, s3, secretsmanager, sqs, ssmmessages
from awacs.aws import (
    Action,
    Allow,
    ArnEquals,
    Bool,
    Condition,
    Deny,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
    StringLike,
)
from troposphere import GetAtt, Join, Ref, Sub, encode_to_dict
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
            Condition=Condition(StringEquals({"aws:SourceAccount": Ref("AWS::AccountId")})),
        )
    )


def role(logical_id: str, service: str, statements: Sequence[Statement], policy_name: str) -> Role:
    """A role for `service` with one inline policy; no inline policy when there is nothing to grant."""
    policies = [Policy(PolicyName=policy_name, PolicyDocument=document(*statements))] if statements else []
    return Role(logical_id, AssumeRolePolicyDocument=assume_role_document(service), Policies=policies)


def log_group_arn(log_group: Any) -> Any:
    """ARN of a log group's streams: the group's Arn attribute, which ends in `:*`.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-logs-loggroup.html#aws-resource-logs-loggroup-return-values"""
    return GetAtt(log_group, "Arn")


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
    """Read the current value (to keep what still works) and store a new one."""
    return allow([secretsmanager.GetSecretValue, secretsmanager.PutSecretValue], secret_arns)


def efs_client(file_system_arn: Any, access_point_arn: Any) -> Statement:
    """Mount and write the file system, only through the given access point."""
    return allow(
        [elasticfilesystem.ClientMount, elasticfilesystem.ClientWrite],
        [file_system_arn],
        # An ARN compared with the typed ARN operator, not a string one.
        Condition(ArnEquals({"elasticfilesystem:AccessPointArn": access_point_arn})),
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


def kinesis_write(stream_arn: Any) -> Statement:
    """A producer: its records, and the description of the stream it checks at start."""
    return allow(
        [
            kinesis.PutRecord,
            kinesis.PutRecords,
            kinesis.DescribeStream,
            kinesis.DescribeStreamSummary,
            kinesis.ListShards,
        ],
        [stream_arn],
    )


def kinesis_read(stream_arn: Any) -> Statement:
    """What a polling consumer (Flink source, Lambda event source mapping) needs on
    one stream. No SubscribeToShard: its only resource is a stream *consumer*
    (enhanced fan-out), which neither reader uses."""
    return allow(
        [
            kinesis.DescribeStream,
            kinesis.DescribeStreamSummary,
            kinesis.GetRecords,
            kinesis.GetShardIterator,
            kinesis.ListShards,
        ],
        [stream_arn],
    )


def s3_prefix_read_write(bucket_arn: Any, prefix: str) -> list[Statement]:
    """Objects under `prefix/` only, and listing of that prefix only."""
    return [
        allow(
            [s3.GetObject, s3.PutObject, s3.DeleteObject], [Sub("${BucketArn}/" + prefix + "/*", BucketArn=bucket_arn)]
        ),
        allow([s3.ListBucket], [bucket_arn], Condition(StringLike({"s3:prefix": [f"{prefix}/*", prefix]}))),
    ]


def connections_table_access(table_arn: Any, index: bool = False) -> Statement:
    """What lambdas/shared/connections_table.py does: Query (the table, and with
    `index` its symbol GSI) and BatchWriteItem (puts and deletes go through the
    batch writer)."""
    resources = [table_arn, Sub("${TableArn}/index/symbol", TableArn=table_arn)] if index else [table_arn]
    return allow([dynamodb.Query, dynamodb.BatchWriteItem], resources)


def manage_connections(api_id: Any, stage: str) -> Statement:
    return allow(
        [execute_api.ManageConnections],
        [
            Sub(
                "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/"
                + stage
                + "/POST/@connections/*",
                Api=api_id,
            )
        ],
    )


def send_to_queue(queue_arn: Any) -> Statement:
    return allow([sqs.SendMessage], [queue_arn])


def as_dict(policy: PolicyDocument) -> dict:
    """For the few properties troposphere types as a plain dict (EFS FileSystemPolicy)."""
    return encode_to_dict(policy)


def bucket_objects(bucket_arn: Any) -> Join:
    return Sub("${BucketArn}/*", BucketArn=bucket_arn)
