"""Names of the values the foundations stack exports (as `<stack>-<Name>`).

Producers and consumers both take names from here, so an export can never be
misspelt on one side only; a test checks that every import has its export.
"""

from __future__ import annotations

from . import model

APP_BUCKET_NAME = "AppBucketName"
APP_BUCKET_ARN = "AppBucketArn"
FILE_SYSTEM_ID = "FileSystemId"
FILE_SYSTEM_ARN = "FileSystemArn"
INFLUXDB_ACCESS_POINT_ID = "InfluxDbAccessPointId"
INFLUXDB_ACCESS_POINT_ARN = "InfluxDbAccessPointArn"
GRAFANA_ACCESS_POINT_ID = "GrafanaAccessPointId"
GRAFANA_ACCESS_POINT_ARN = "GrafanaAccessPointArn"
CONNECTIONS_TABLE_NAME = "ConnectionsTableName"
CONNECTIONS_TABLE_ARN = "ConnectionsTableArn"

# Secrets: logical ID in foundations -> export of its ARN.
INFLUXDB_ADMIN_PASSWORD_SECRET = "InfluxDbAdminPasswordSecretArn"
INFLUXDB_ADMIN_TOKEN_SECRET = "InfluxDbAdminTokenSecretArn"
INFLUXDB_READ_TOKEN_SECRET = "InfluxDbReadTokenSecretArn"
INFLUXDB_WRITE_TOKEN_SECRET = "InfluxDbWriteTokenSecretArn"
GRAFANA_ADMIN_PASSWORD_SECRET = "GrafanaAdminPasswordSecretArn"
MARKET_DATA_API_SECRET = "MarketDataApiSecretArn"

# What the lite stack exports for its data-pipeline add-on (as `<lite stack>-<Name>`).
LITE_VPC_ID = "VpcId"
LITE_PUBLIC_SUBNET_IDS = "PublicSubnetIds"
LITE_CLUSTER_NAME = "ClusterName"
LITE_INFLUXDB_URL = "InfluxDbUrl"
LITE_INFLUXDB_ORG = "InfluxDbOrg"
LITE_INFLUXDB_BUCKET = "InfluxDbBucket"
LITE_INFLUXDB_CLIENTS_GROUP = "InfluxDbLoadBalancerSecurityGroupId"


def repositories() -> tuple[str, ...]:
    """The images the platform runs (every service of every manifest); each has an ECR
    repository in foundations."""
    return tuple(sorted({service.repository for m in model.MANIFESTS.values() for service in m.services}))


def repository_uri(repository: str) -> str:
    return f"EcrRepository{repository.capitalize()}Uri"


def repository_arn(repository: str) -> str:
    return f"EcrRepository{repository.capitalize()}Arn"
