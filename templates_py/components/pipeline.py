"""The data pipeline's two services as the application images expect them
(contracts/services.toml): ingest (market-data websocket -> upstream stream) and
ripples (upstream -> InfluxDB and the downstream stream). The full profile and
lite's pipeline add-on place them differently; what each container gets, and
what its task may do, is defined once here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from awacs.aws import Statement
from troposphere import GetAtt, Parameter, Ref, Sub, Template, kinesis

from .. import exports
from ..blocks import policies
from ..blocks.alarms import Alarms, Metric, alarm
from ..blocks.fargate import SecretKey
from ..blocks.parameters import add_parameter, import_value

TAG_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$"
# Flink's serializers reflect into these JDK modules.
JAVA_TOOL_OPTIONS = " ".join(
    f"--add-opens=java.base/java.{module}=ALL-UNNAMED" for module in ("lang", "math", "time", "util")
)


@dataclass(frozen=True)
class IngestParameters:
    top_tickers_api: Parameter
    max_ticker_count: Parameter


@dataclass(frozen=True)
class ContainerSettings:
    """What a service's container gets and what its task may do."""

    environment: dict[str, Any]
    secrets: dict[str, Any]
    statements: list[Statement]


def image_tag_parameter(t: Template, service: str) -> Parameter:
    """`<Service>ImageTag`: the tag of the application image in its foundations repository."""
    return add_parameter(
        t,
        f"{service}ImageTag",
        description=f"Tag of the {service.lower()} image in the foundations '{service.lower()}' ECR repository "
        "(tags there are immutable).",
        AllowedPattern=TAG_PATTERN,
        ConstraintDescription="an image tag: letters, digits, '.', '_' and '-'.",
    )


def ingest_parameters(t: Template) -> IngestParameters:
    top_tickers_api = add_parameter(
        t,
        "TopTickersApi",
        description="URL of the top-tickers API ingest asks which symbols to follow (TOP_TICKERS_API); ingest "
        "exits at start without it. Its bearer token is topTickersToken in the foundations MarketDataApiCredentials "
        "secret.",
        AllowedPattern=r"^https?://[^\s]+$",
        ConstraintDescription="an http(s):// URL.",
    )
    max_ticker_count = add_parameter(
        t,
        "MaxTickerCount",
        description="Most tickers ingest follows (MAX_TICKER_COUNT).",
        Type="Number",
        Default="50",
        MinValue=1,
        MaxValue=1000,
    )
    return IngestParameters(top_tickers_api, max_ticker_count)


def ingest(parameters: IngestParameters, upstream: kinesis.Stream) -> ContainerSettings:
    credentials = import_value(exports.MARKET_DATA_API_SECRET)
    return ContainerSettings(
        environment={
            "KINESIS_UPSTREAM_NAME": Ref(upstream),
            "TOP_TICKERS_API": Ref(parameters.top_tickers_api),
            "MAX_TICKER_COUNT": Ref(parameters.max_ticker_count),
            "AWS_REGION": Ref("AWS::Region"),
        },
        secrets={
            "ALPACA_API_KEY": SecretKey(credentials, "apiKey"),
            "ALPACA_API_SECRET": SecretKey(credentials, "apiSecret"),
            "TOP_TICKERS_TOKEN": SecretKey(credentials, "topTickersToken"),
        },
        statements=[policies.kinesis_write(GetAtt(upstream, "Arn"))],
        # No container health check: at 878e855 ingest's health server is commented
        # out and its image has neither curl nor wget, so any check fails and the
        # circuit breaker rolls the stack back. Its alarm watches its output instead
        # (ingest_not_writing). It deploys one task at a time (model.INGEST).
    )


def ingest_not_writing(t: Template, alarms: Alarms, upstream: kinesis.Stream) -> Any:
    """`IngestNotWriting`: no record reached the upstream stream for 15 minutes.
    Ingest serves no health signal (contracts/services.toml); what it writes is
    the signal. Its crypto feed (ingest/app_config.json:9-14 at 878e855) trades
    around the clock, so a quiet quarter of an hour means ingest is down or its
    feeds stopped."""
    made = alarm(
        t,
        alarms,
        "IngestNotWriting",
        "Ingest: no record reached the upstream stream for 15 minutes. See the IngestService events and its logs "
        "(feed errors, credentials).",
        Metric.of("AWS/Kinesis", "IncomingRecords", {"StreamName": Ref(upstream)}, "Sum"),
        threshold=1,
        comparison="LessThanThreshold",
        periods=15,
        missing="breaching",
    )
    # Active hours stop ingest on purpose: this alarm is quiet with it.
    alarms.scaled.append(made)
    return made


def ripples(
    upstream: kinesis.Stream, downstream: kinesis.Stream, influx_url: Any, org: Any, bucket: Any
) -> ContainerSettings:
    return ContainerSettings(
        environment={
            "KINESIS_UPSTREAM_NAME": Ref(upstream),
            "KINESIS_DOWNSTREAM_NAME": Ref(downstream),
            "AWS_REGION": Ref("AWS::Region"),
            "INFLUXDB_URL": influx_url,
            "INFLUXDB_ORG": org,
            "INFLUXDB_BUCKET": bucket,
            "CHECKPOINT_PATH": Sub("s3://${Bucket}/ripples/checkpoints", Bucket=import_value(exports.APP_BUCKET_NAME)),
            "JAVA_TOOL_OPTIONS": JAVA_TOOL_OPTIONS,
        },
        secrets={"INFLUXDB_WRITE_TOKEN": SecretKey(import_value(exports.INFLUXDB_WRITE_TOKEN_SECRET), "token")},
        statements=[
            policies.kinesis_read(GetAtt(upstream, "Arn")),
            policies.kinesis_write(GetAtt(downstream, "Arn")),
            *policies.s3_prefix_read_write(import_value(exports.APP_BUCKET_ARN), "ripples"),
        ],
    )
