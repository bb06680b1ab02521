"""Stream Lines lite data pipeline (add-on): ingest -> Kinesis upstream stream -> ripples -> InfluxDB, so the lite profile's Grafana shows live data.

An add-on stack beside a deployed lite stack (parameter LiteStackName), so that
lite itself stays under the size `aws cloudformation deploy` takes inline and
costs nothing more when the pipeline is off: deploying this stack switches it
on, deleting it switches it off. Same building blocks, images and service
contract as the full profile (contracts/services.toml).

Creates: the upstream stream (generated name; PROVISIONED 1 shard / 24 h by
default, on-demand as an option); the downstream (results) stream ripples
requires, PROVISIONED with 1 shard and 24 h whatever StreamMode says (nothing
reads it in lite: the cheapest stream ripples can run with); ingest (public IP
for the market-data websocket) and ripples (writes InfluxDB with the write token
through lite's internal ALB, checkpoints in the app bucket) in lite's cluster,
VPC and public subnets; the one rule that admits ripples to lite's InfluxDB ALB.

Imports from foundations (FoundationsStackName): ECR repositories, app bucket,
market-data credentials and InfluxDB write token. From lite (LiteStackName):
VPC, subnets, cluster, InfluxDB URL, org, bucket, the InfluxDB ALB's group.
Exports: the stream names.
"""

from __future__ import annotations

from typing import Any

from troposphere import GetAtt, Join, Ref, Select, Split, Sub, Template
from troposphere import ec2, kinesis

from .. import exports
from ..blocks import policies
from ..blocks.fargate import Container, Placement, SecretKey, fargate_service
from ..blocks.network import AZ_COUNT, ImportedNetwork
from ..blocks.parameters import (
    FOUNDATIONS_PARAMETER,
    add_parameter,
    deleted_with_stack,
    export_output,
    foundations_parameter,
    import_value,
    log_retention_parameter,
    new_template,
    task_size_parameters,
    wait_for,
)
from ..blocks.tags import tag_everything
from ..components.influxdb import INFLUXDB_PORT
from ..components.streams import stream, stream_parameters
from ..config import BuildConfig
from .full import INGEST_HEALTH_CHECK, JAVA_TOOL_OPTIONS, TAG_PATTERN

PROFILE = "lite-pipeline"
LITE_PARAMETER = "LiteStackName"


def lite(name: str) -> Any:
    return import_value(name, LITE_PARAMETER)


def build(config: BuildConfig) -> Template:
    t = new_template(__doc__)
    foundations_parameter(t)
    add_parameter(
        t,
        LITE_PARAMETER,
        description="Name of the deployed lite stack whose VPC, cluster and InfluxDB the pipeline uses.",
        Default="streamlines-lite",
        AllowedPattern=r"^[A-Za-z][A-Za-z0-9-]{0,127}$",
        ConstraintDescription="a CloudFormation stack name: letters, digits and hyphens, starting with a letter.",
    )
    tags = {
        service: add_parameter(
            t,
            f"{service}ImageTag",
            description=f"Tag of the {service.lower()} image in the foundations '{service.lower()}' ECR repository.",
            AllowedPattern=TAG_PATTERN,
            ConstraintDescription="an image tag: letters, digits, '.', '_' and '-'.",
        )
        for service in ("Ingest", "Ripples")
    }
    top_tickers_api = add_parameter(
        t,
        "TopTickersApi",
        description="URL of the top-tickers API ingest asks which symbols to follow (TOP_TICKERS_API); its token is topTickersToken in the foundations MarketDataApiCredentials secret.",
        AllowedPattern=r"^https?://[^\s]+$",
        ConstraintDescription="an http(s):// URL.",
    )
    max_tickers = add_parameter(t, "MaxTickerCount", description="Most tickers ingest follows (MAX_TICKER_COUNT).", Type="Number", Default="50", MinValue=1, MaxValue=1000)
    capacity = add_parameter(
        t,
        "Capacity",
        description="FARGATE, or FARGATE_SPOT (cheaper; a task may be stopped with two minutes' notice and replaced) for ingest and ripples.",
        Default="FARGATE",
        AllowedValues=["FARGATE", "FARGATE_SPOT"],
    )
    streams = stream_parameters(t)
    retention = Ref(log_retention_parameter(t, config.log_retention_days))
    sizes = {name: task_size_parameters(t, name, name.lower(), getattr(config, name.lower()).cpu, getattr(config, name.lower()).memory) for name in ("Ingest", "Ripples")}

    upstream = stream(t, "UpstreamStream", streams)
    # Nothing reads the results in lite, but ripples requires a stream to write
    # them to: the cheapest kind, one provisioned shard kept 24 hours.
    downstream = t.add_resource(
        deleted_with_stack(
            kinesis.Stream(
                "DownstreamStream",
                StreamModeDetails=kinesis.StreamModeDetails(StreamMode="PROVISIONED"),
                ShardCount=1,
                RetentionPeriodHours=24,
                StreamEncryption=kinesis.StreamEncryption(EncryptionType="KMS", KeyId="alias/aws/kinesis"),
            )
        )
    )
    subnets = Split(",", lite(exports.LITE_PUBLIC_SUBNET_IDS))
    network = ImportedNetwork(lite(exports.LITE_VPC_ID), [Select(index, subnets) for index in range(AZ_COUNT)])
    influx_url = lite(exports.LITE_INFLUXDB_URL)

    def service(name: str, environment: dict, secrets: dict, statements: list, health_check: Any = None) -> Any:
        cpu, memory = sizes[name]
        return fargate_service(
            t,
            name,
            cluster=lite(exports.LITE_CLUSTER_NAME),
            network=network,
            container=Container(
                image=Join(":", [import_value(exports.repository_uri(name.lower())), Ref(tags[name])]),
                port=None,
                cpu=cpu,
                memory=memory,
                architecture=getattr(config, name.lower()).architecture,
                environment=environment,
                secrets=secrets,
                health_check=health_check,
            ),
            # Public subnets without a NAT gateway: a public IP reaches ECR,
            # Kinesis and Secrets Manager; the security group admits nothing.
            placement=Placement(subnets=network.public_subnet_ids, assign_public_ip="ENABLED", capacity=Ref(capacity)),
            log_retention=retention,
            repository_arns=[import_value(exports.repository_arn(name.lower()))],
            task_statements=statements,
            description=name,
        )

    credentials = import_value(exports.MARKET_DATA_API_SECRET)
    ingest = service(
        "Ingest",
        {
            "KINESIS_UPSTREAM_NAME": Ref(upstream),
            "TOP_TICKERS_API": Ref(top_tickers_api),
            "MAX_TICKER_COUNT": Ref(max_tickers),
            "AWS_REGION": Ref("AWS::Region"),
        },
        {
            "ALPACA_API_KEY": SecretKey(credentials, "apiKey"),
            "ALPACA_API_SECRET": SecretKey(credentials, "apiSecret"),
            "TOP_TICKERS_TOKEN": SecretKey(credentials, "topTickersToken"),
        },
        [policies.kinesis_write(GetAtt(upstream, "Arn"))],
        health_check=["CMD-SHELL", INGEST_HEALTH_CHECK],
    )
    ripples = service(
        "Ripples",
        {
            "KINESIS_UPSTREAM_NAME": Ref(upstream),
            "KINESIS_DOWNSTREAM_NAME": Ref(downstream),
            "AWS_REGION": Ref("AWS::Region"),
            "INFLUXDB_URL": influx_url,
            "INFLUXDB_ORG": lite(exports.LITE_INFLUXDB_ORG),
            "INFLUXDB_BUCKET": lite(exports.LITE_INFLUXDB_BUCKET),
            "CHECKPOINT_PATH": Sub("s3://${Bucket}/ripples/checkpoints", Bucket=import_value(exports.APP_BUCKET_NAME)),
            "JAVA_TOOL_OPTIONS": JAVA_TOOL_OPTIONS,
        },
        {"INFLUXDB_WRITE_TOKEN": SecretKey(import_value(exports.INFLUXDB_WRITE_TOKEN_SECRET), "token")},
        [
            policies.kinesis_read(GetAtt(upstream, "Arn")),
            policies.kinesis_write(GetAtt(downstream, "Arn")),
            *policies.s3_prefix_read_write(import_value(exports.APP_BUCKET_ARN), "ripples"),
        ],
    )
    # The one way in to lite's InfluxDB from this stack: ripples' writes.
    admit = t.add_resource(
        ec2.SecurityGroupIngress(
            "InfluxDbLoadBalancerFromRipples",
            GroupId=lite(exports.LITE_INFLUXDB_CLIENTS_GROUP),
            SourceSecurityGroupId=GetAtt(ripples.security_group, "GroupId"),
            IpProtocol="tcp",
            FromPort=INFLUXDB_PORT,
            ToPort=INFLUXDB_PORT,
            Description="InfluxDB writes from ripples (lite data pipeline)",
        )
    )
    wait_for(ripples.service, admit.title)

    export_output(t, "StackProfile", PROFILE, "Profile of this stack.")
    export_output(t, "FoundationsStack", Ref(FOUNDATIONS_PARAMETER), "Name of the foundations stack this stack imports from.")
    export_output(t, "LiteStack", Ref(LITE_PARAMETER), "Name of the lite stack whose InfluxDB the pipeline fills.")
    export_output(t, "UpstreamStreamName", Ref(upstream), "Kinesis stream ingest writes market data to.")
    export_output(t, "DownstreamStreamName", Ref(downstream), "Kinesis stream ripples writes results to (nothing reads it in lite).")
    export_output(t, "IngestServiceName", GetAtt(ingest.service, "Name"), "Ingest ECS service name.")
    export_output(t, "RipplesServiceName", GetAtt(ripples.service, "Name"), "Ripples ECS service name.")
    tag_everything(t, config.project, PROFILE)
    return t
