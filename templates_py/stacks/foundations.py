"""Stream Lines foundations: everything stateful or slow to recreate, deployed once and kept when profile stacks come
and go (app bucket, ECR repositories, EFS with InfluxDB and Grafana access points, WebSocket connections table, and
the secrets that must match the data on EFS).

Creates: S3 app bucket (Lambda artifacts, Flink checkpoints) with a TLS-only
policy; one ECR repository per image; an encrypted EFS file system with backups
and *no mount targets* (each profile stack adds its own in its own VPC); the
DynamoDB connections table keyed by connectionId + symbol with a GSI on symbol;
Secrets Manager secrets for InfluxDB (admin password, admin token, read token,
write token), Grafana (admin password) and the market-data API credentials.

Imports: nothing. Exports: every name in `templates_py.exports`, as
`${AWS::StackName}-<Name>`. Every stateful resource is retained on delete and
on replacement.
"""

from __future__ import annotations

import json

from awacs import elasticfilesystem
from awacs.aws import Allow, Bool, Condition, Principal, Statement
from troposphere import GetAtt, Ref, Sub, Template, dynamodb, ecr, efs, s3, secretsmanager

from .. import exports
from ..blocks.buckets import RETAIN, bucket_policy, private_bucket
from ..blocks.parameters import add_parameter, export_output, new_template, skip_checkov
from ..blocks.policies import as_dict, deny_insecure_transport, document
from ..blocks.tags import tag_everything
from ..config import BuildConfig

# A token secret's value until the token issuer stores a real token in it; the
# issuer stores {"authorizationID", "token"}, and services read the "token" key.
PLACEHOLDER = "PLACEHOLDER"
TOKEN_PLACEHOLDER = json.dumps({"authorizationID": "", "token": PLACEHOLDER}, sort_keys=True)

# Logical ID -> (export name, description, how the value is made).
SECRETS = {
    "InfluxDbAdminPassword": (
        exports.INFLUXDB_ADMIN_PASSWORD_SECRET,
        "InfluxDB admin user's password, used by the first-boot setup",
        "generate",
    ),
    "InfluxDbAdminToken": (
        exports.INFLUXDB_ADMIN_TOKEN_SECRET,
        "InfluxDB operator (admin) token, used by the first-boot setup and the token issuer",
        "generate",
    ),
    "InfluxDbReadToken": (
        exports.INFLUXDB_READ_TOKEN_SECRET,
        "InfluxDB read-only token for the bucket, stored by the token issuer (read by Grafana and backend)",
        "placeholder",
    ),
    "InfluxDbWriteToken": (
        exports.INFLUXDB_WRITE_TOKEN_SECRET,
        "InfluxDB write-only token for the bucket, stored by the token issuer (used by ripples)",
        "placeholder",
    ),
    "GrafanaAdminPassword": (exports.GRAFANA_ADMIN_PASSWORD_SECRET, "Grafana admin user's password", "generate"),
    # One secret, three JSON keys (apiKey, apiSecret, topTickersToken): what ingest
    # needs from outside, set together by the operator. Its placeholder is pinned
    # by a test: a new placeholder would overwrite the operator's values.
    "MarketDataApiCredentials": (
        exports.MARKET_DATA_API_SECRET,
        "Market-data websocket API key and secret, and the top-tickers API token, for ingest; set the real values "
        "after the first deploy",
        "credentials",
    ),
}

ROTATION_REASON = (
    "Rotation would break the running system: the InfluxDB admin secrets must match the data created on EFS, "
    "the token secrets are managed by the token issuer and the market-data credentials come from the provider."
)
CMK_REASON = (
    "The AWS managed key is used on purpose; a customer managed key costs 1 USD a month each and adds "
    "no control this project uses."
)


def build(config: BuildConfig) -> Template:
    t = new_template(__doc__)
    profile = "foundations"
    add_parameter(
        t,
        "EcrImagesToKeep",
        description="How many images each ECR repository keeps; older ones are expired by the lifecycle rule.",
        Type="Number",
        Default="30",
        MinValue=1,
        MaxValue=1000,
    )

    _app_bucket(t)
    for repository in exports.repositories():
        _repository(t, repository)
    _file_system(t)
    _connections_table(t)
    for logical_id, (export, description, kind) in SECRETS.items():
        _secret(t, logical_id, export, description, kind, config)

    tag_everything(t, config.project, profile)
    return t


def _app_bucket(t: Template) -> None:
    bucket = private_bucket(
        t,
        "AppBucket",
        # Lambda zips are content-addressed, so old versions are never needed for long.
        s3.LifecycleRule(
            Id="ExpireNoncurrentVersions",
            Status="Enabled",
            NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(NoncurrentDays=30),
            AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(DaysAfterInitiation=7),
        ),
    )
    skip_checkov(
        bucket,
        CKV_AWS_18="Access logging needs a second bucket and costs more than it tells here: only the project's "
        "own roles read or write this bucket.",
    )
    bucket_policy(t, "AppBucketPolicy", bucket)
    export_output(
        t, exports.APP_BUCKET_NAME, Ref(bucket), "Name of the app bucket (Lambda artifacts, Flink checkpoints)."
    )
    export_output(t, exports.APP_BUCKET_ARN, GetAtt(bucket, "Arn"), "ARN of the app bucket.")


def _repository(t: Template, name: str) -> None:
    logical_id = f"EcrRepository{name.capitalize()}"
    lifecycle = {
        "rules": [
            {
                "rulePriority": 1,
                "description": "Keep the newest images only",
                "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": "IMAGES_TO_KEEP"},
                "action": {"type": "expire"},
            }
        ]
    }
    repo = t.add_resource(
        ecr.Repository(
            logical_id,
            **RETAIN,
            ImageScanningConfiguration=ecr.ImageScanningConfiguration(ScanOnPush=True),
            ImageTagMutability="IMMUTABLE",
            EncryptionConfiguration=ecr.EncryptionConfiguration(EncryptionType="KMS"),
            LifecyclePolicy=ecr.LifecyclePolicy(
                LifecyclePolicyText=Sub(
                    json.dumps(lifecycle, sort_keys=True).replace('"IMAGES_TO_KEEP"', "${EcrImagesToKeep}")
                )
            ),
        )
    )
    export_output(
        t, exports.repository_uri(name), GetAtt(repo, "RepositoryUri"), f"URI of the ECR repository for {name} images."
    )
    export_output(t, exports.repository_arn(name), GetAtt(repo, "Arn"), f"ARN of the ECR repository for {name} images.")


def _file_system(t: Template) -> None:
    file_system = t.add_resource(
        efs.FileSystem(
            "FileSystem",
            **RETAIN,
            Encrypted=True,
            # InfluxData does not recommend NFS for its data; bursting throughput and
            # a single writer keep it workable and cheap.
            PerformanceMode="generalPurpose",
            ThroughputMode="bursting",
            BackupPolicy=efs.BackupPolicy(Status="ENABLED"),
            FileSystemPolicy=as_dict(
                document(
                    Statement(
                        Effect=Allow,
                        Principal=Principal("AWS", Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")),
                        Action=[elasticfilesystem.ClientMount, elasticfilesystem.ClientWrite],
                        Resource=["*"],
                        Condition=Condition(Bool({"elasticfilesystem:AccessedViaMountTarget": "true"})),
                    ),
                    deny_insecure_transport(
                        ["*"],
                        [
                            elasticfilesystem.ClientMount,
                            elasticfilesystem.ClientWrite,
                            elasticfilesystem.ClientRootAccess,
                        ],
                    ),
                )
            ),
        )
    )
    export_output(
        t,
        exports.FILE_SYSTEM_ID,
        Ref(file_system),
        "ID of the EFS file system (profile stacks add mount targets in their own VPC).",
    )
    export_output(t, exports.FILE_SYSTEM_ARN, GetAtt(file_system, "Arn"), "ARN of the EFS file system.")

    # Creation info lets the first mount create the directory with the right owner,
    # https://docs.aws.amazon.com/efs/latest/ug/efs-access-points.html#enforce-root-directory-access-point
    access_points = {
        "InfluxDbAccessPoint": (
            "/influxdb2",
            "1000",
            "1000",
            "750",
            exports.INFLUXDB_ACCESS_POINT_ID,
            exports.INFLUXDB_ACCESS_POINT_ARN,
            "InfluxDB",
        ),
        "GrafanaAccessPoint": (
            "/grafana",
            "472",
            "0",
            "750",
            exports.GRAFANA_ACCESS_POINT_ID,
            exports.GRAFANA_ACCESS_POINT_ARN,
            "Grafana",
        ),
    }
    for logical_id, (path, uid, gid, permissions, id_export, arn_export, who) in access_points.items():
        access_point = t.add_resource(
            efs.AccessPoint(
                logical_id,
                **RETAIN,
                FileSystemId=Ref(file_system),
                PosixUser=efs.PosixUser(Uid=uid, Gid=gid),
                RootDirectory=efs.RootDirectory(
                    Path=path, CreationInfo=efs.CreationInfo(OwnerUid=uid, OwnerGid=gid, Permissions=permissions)
                ),
            )
        )
        export_output(
            t, id_export, Ref(access_point), f"ID of the EFS access point for {who} data ({path}, uid {uid})."
        )
        export_output(t, arn_export, GetAtt(access_point, "Arn"), f"ARN of the EFS access point for {who} data.")


def _connections_table(t: Template) -> None:
    table = t.add_resource(
        dynamodb.Table(
            "ConnectionsTable",
            **RETAIN,
            BillingMode="PAY_PER_REQUEST",
            # One item per (connection, symbol): the earlier table keyed by connectionId
            # alone, so subscribing to a second symbol overwrote the first.
            AttributeDefinitions=[
                dynamodb.AttributeDefinition(AttributeName="connectionId", AttributeType="S"),
                dynamodb.AttributeDefinition(AttributeName="symbol", AttributeType="S"),
            ],
            KeySchema=[
                dynamodb.KeySchema(AttributeName="connectionId", KeyType="HASH"),
                dynamodb.KeySchema(AttributeName="symbol", KeyType="RANGE"),
            ],
            GlobalSecondaryIndexes=[
                dynamodb.GlobalSecondaryIndex(
                    IndexName="symbol",
                    KeySchema=[
                        dynamodb.KeySchema(AttributeName="symbol", KeyType="HASH"),
                        dynamodb.KeySchema(AttributeName="connectionId", KeyType="RANGE"),
                    ],
                    Projection=dynamodb.Projection(ProjectionType="KEYS_ONLY"),
                )
            ],
            PointInTimeRecoverySpecification=dynamodb.PointInTimeRecoverySpecification(PointInTimeRecoveryEnabled=True),
            SSESpecification=dynamodb.SSESpecification(SSEEnabled=True),
            # API Gateway closes WebSocket connections after 2 hours at most; items
            # carry an expiry so that a lost $disconnect does not leave them forever.
            TimeToLiveSpecification=dynamodb.TimeToLiveSpecification(AttributeName="expiresAt", Enabled=True),
        )
    )
    skip_checkov(
        table,
        CKV_AWS_119="Encrypted with the DynamoDB service key; it holds connection ids and symbols only, and a "
        "customer managed key costs 1 USD a month.",
    )
    export_output(
        t,
        exports.CONNECTIONS_TABLE_NAME,
        Ref(table),
        "Name of the WebSocket connections table (key connectionId + symbol, GSI 'symbol').",
    )
    export_output(t, exports.CONNECTIONS_TABLE_ARN, GetAtt(table, "Arn"), "ARN of the WebSocket connections table.")


def _secret(t: Template, logical_id: str, export: str, description: str, kind: str, config: BuildConfig) -> None:
    properties: dict = {"Description": f"{config.project}: {description}."}
    if kind == "generate":
        properties["GenerateSecretString"] = secretsmanager.GenerateSecretString(
            PasswordLength=48 if "Token" in logical_id else 32, ExcludePunctuation=True
        )
    elif kind == "placeholder":
        properties["SecretString"] = TOKEN_PLACEHOLDER
    else:
        properties["SecretString"] = json.dumps(
            {"apiKey": PLACEHOLDER, "apiSecret": PLACEHOLDER, "topTickersToken": PLACEHOLDER}, sort_keys=True
        )
    secret = t.add_resource(secretsmanager.Secret(logical_id, **RETAIN, **properties))
    skip_checkov(secret, CKV_AWS_149=CMK_REASON, CKV2_AWS_57=ROTATION_REASON)
    export_output(t, export, Ref(secret), f"ARN of the secret: {description}.")
