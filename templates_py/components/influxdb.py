"""InfluxDB 2 on Fargate with its data on the foundations EFS, shared by lite and full:
its parameters and its service (one task, setup from the foundations secrets)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from troposphere import Parameter, Ref, Sub, Template

from .. import exports, patterns
from ..blocks.fargate import Container, EfsMount, FargateService, Placement, fargate_service
from ..blocks.network import Network
from ..blocks.parameters import NOT_PRIVATE_ECR_TEXT, add_parameter, import_value, task_size_parameters
from ..config import MAX_RETENTION_HOURS, BuildConfig

INFLUXDB_PORT = 8086
NAME_PATTERN = patterns.NAME


@dataclass
class InfluxParameters:
    image: Parameter
    cpu: Any
    memory: Any
    org: Parameter
    bucket: Parameter
    retention_hours: Parameter


def influxdb_parameters(t: Template, config: BuildConfig, image_note: str = "") -> InfluxParameters:
    image = add_parameter(
        t,
        "InfluxDbImage",
        description="InfluxDB 2.x image with a pinned tag ('latest' is InfluxDB 3); the default, in ECR Public, "
        "has no pull limit." + image_note,
        Default=config.influxdb_image,
        AllowedPattern=r"^" + patterns.NOT_PRIVATE_ECR + r"[a-z0-9][a-z0-9._/-]*:2\.[A-Za-z0-9._-]{1,126}$",
        ConstraintDescription="an InfluxDB 2.x image with a tag, such as "
        "public.ecr.aws/docker/library/influxdb:2.7.12, " + NOT_PRIVATE_ECR_TEXT + ".",
    )
    cpu, memory = task_size_parameters(t, "InfluxDb", "InfluxDB", config.influxdb.cpu, config.influxdb.memory)
    org = add_parameter(
        t,
        "InfluxDbOrg",
        description="InfluxDB organization created at first boot; it cannot change later (preflight and the token "
        "issuer refuse a new one).",
        Default=config.influx_org,
        AllowedPattern=NAME_PATTERN,
        ConstraintDescription="3-32 lowercase letters, digits or hyphens.",
    )
    bucket = add_parameter(
        t,
        "InfluxDbBucket",
        description="InfluxDB bucket created at first boot; it cannot change later.",
        Default=config.influx_bucket,
        AllowedPattern=NAME_PATTERN,
        ConstraintDescription="3-32 lowercase letters, digits or hyphens.",
    )
    retention = add_parameter(
        t,
        "InfluxDbRetentionHours",
        description="Retention of the bucket created at first boot, in hours; 0 keeps data forever.",
        Type="Number",
        Default=str(config.influx_retention_hours),
        MinValue=0,
        MaxValue=MAX_RETENTION_HOURS,
    )
    return InfluxParameters(image, cpu, memory, org, bucket, retention)


def influxdb_service(
    t: Template,
    config: BuildConfig,
    influx: InfluxParameters,
    *,
    cluster: Any,
    network: Network,
    placement: Placement,
    log_retention: Any,
    image: Any = None,
    exec_condition: str | None = None,
) -> FargateService:
    """The InfluxDB service; `image` replaces the InfluxDbImage parameter's value when given."""
    return fargate_service(
        t,
        "InfluxDb",
        cluster=cluster,
        network=network,
        description="InfluxDB",
        container=Container(
            image=image or Ref(influx.image),
            port=INFLUXDB_PORT,
            cpu=influx.cpu,
            memory=influx.memory,
            architecture=config.influxdb.architecture,
            # Setup runs once: with an existing influxd.bolt these are ignored, which is
            # why the admin secrets live in foundations beside the data.
            environment={
                "DOCKER_INFLUXDB_INIT_MODE": "setup",
                "DOCKER_INFLUXDB_INIT_USERNAME": "admin",
                "DOCKER_INFLUXDB_INIT_ORG": Ref(influx.org),
                "DOCKER_INFLUXDB_INIT_BUCKET": Ref(influx.bucket),
                "DOCKER_INFLUXDB_INIT_RETENTION": Sub("${InfluxDbRetentionHours}h"),
                "INFLUXD_REPORTING_DISABLED": "true",
            },
            secrets={
                "DOCKER_INFLUXDB_INIT_PASSWORD": import_value(exports.INFLUXDB_ADMIN_PASSWORD_SECRET),
                "DOCKER_INFLUXDB_INIT_ADMIN_TOKEN": import_value(exports.INFLUXDB_ADMIN_TOKEN_SECRET),
            },
            health_check=["CMD-SHELL", "influx ping --host http://localhost:8086 || exit 1"],
            # First boot runs setup before InfluxDB serves on 8086.
            health_check_start_period=180,
            mount=EfsMount(
                file_system_id=import_value(exports.FILE_SYSTEM_ID),
                file_system_arn=import_value(exports.FILE_SYSTEM_ARN),
                access_point_id=import_value(exports.INFLUXDB_ACCESS_POINT_ID),
                access_point_arn=import_value(exports.INFLUXDB_ACCESS_POINT_ARN),
                container_path="/var/lib/influxdb2",
            ),
        ),
        placement=placement,
        log_retention=log_retention,
        repository_arns=[import_value(exports.repository_arn("influxdb"))],
        exec_condition=exec_condition,
    )
