"""The data pipeline's two services as the application images expect them
(contracts/services.toml): ingest (market-data websocket -> upstream stream) and
ripples (upstream -> InfluxDB and the downstream stream). The full profile and
lite's pipeline add-on place them differently; what each container gets, and
what its task may do, is defined once here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from awacs.aws import Statement
from troposphere import GetAtt, Parameter, Ref, Sub, Template
from troposphere import kinesis

from .. import exports
from ..blocks import policies
from ..blocks.fargate import SecretKey
from ..blocks.parameters import add_parameter, import_value

TAG_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$"
# Flink's serializers reflect into these JDK modules.
JAVA_TOOL_OPTIONS = " ".join(f"--add-opens=java.base/java.{module}=ALL-UNNAMED" for module in ("lang", "math", "time", "util"))
# ingest's health server listens on 127.0.0.1:8080 inside the task. The image's
# tools are unknown: curl, else wget (busybox or GNU), else fail.
INGEST_HEALTH_CHECK = "curl -fsS -o /dev/null http://127.0.0.1:8080/health || wget -q -O /dev/null http://127.0.0.1:8080/health || exit 1"


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
    health_check: list[str] | None = None


def image_tag_parameter(t: Template, service: str) -> Parameter:
    """`<Service>ImageTag`: the tag of the application image in its foundations repository."""
    return add_parameter(
        t,
        f"{service}ImageTag",
        description=f"Tag of the {service.lower()} image in the foundations '{service.lower()}' ECR repository (tags there are immutable).",
        AllowedPattern=TAG_PATTERN,
        ConstraintDescription="an image tag: letters, digits, '.', '_' and '-'.",
    )


def ingest_parameters(t: Template) -> IngestParameters:
    top_tickers_api = add_parameter(
        t,
        "TopTickersApi",
        description="URL of the top-tickers API ingest asks which symbols to follow (TOP_TICKERS_API); ingest exits at start without it. Its bearer token is topTickersToken in the foundations MarketDataApiCredentials secret.",
        AllowedPattern=r"^https?://[^\s]+$",
        ConstraintDescription="an http(s):// URL.",
    )
    max_ticker_count = add_parameter(
        t, "MaxTickerCount", description="Most tickers ingest follows (MAX_TICKER_COUNT).", Type="Number", Default="50", MinValue=1, MaxValue=1000
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
        health_check=["CMD-SHELL", INGEST_HEALTH_CHECK],
    )


def ripples(upstream: kinesis.Stream, downstream: kinesis.Stream, influx_url: Any, org: Any, bucket: Any) -> ContainerSettings:
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
