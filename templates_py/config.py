"""Build-time configuration: what the generator needs before any template exists.

Everything an operator chooses at deploy time is a CloudFormation Parameter;
this configuration holds the *defaults* of those parameters and the few choices
that shape the template itself (project tag, names of the InfluxDB org and
bucket). It is validated once, here, so a bad value is one clear sentence at
build time instead of a failed stack an hour later.

A configuration file is optional TOML; every key mirrors a field below:

    vpc_cidr = "10.20.0.0/16"
    log_retention_days = 30

    [influxdb]
    cpu = 512
    memory = 1024
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from . import patterns

PROFILES = ("lite", "full")

# Fargate's valid CPU units -> memory (MiB) pairs.
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: (1024, 2048, 3072, 4096),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
}

# The values CloudWatch Logs accepts for RetentionInDays.
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)

ARCHITECTURES = ("ARM64", "X86_64")

_NAME = re.compile(patterns.NAME)
_IMAGE = re.compile(patterns.IMAGE)


class ConfigError(ValueError):
    """A build configuration value is wrong; the message is one sentence for the user."""


@dataclass(frozen=True)
class TaskSize:
    """CPU units and memory (MiB) of one Fargate task, and its CPU architecture."""

    cpu: int
    memory: int
    architecture: str = "ARM64"

    def validate(self, what: str) -> None:
        if self.cpu not in FARGATE_SIZES:
            raise ConfigError(f"{what}.cpu must be one of {sorted(FARGATE_SIZES)}, not {self.cpu!r}.")
        if self.memory not in FARGATE_SIZES[self.cpu]:
            allowed = ", ".join(str(m) for m in FARGATE_SIZES[self.cpu])
            raise ConfigError(
                f"{what}.memory {self.memory!r} is not valid with cpu {self.cpu} (Fargate allows {allowed})."
            )
        if self.architecture not in ARCHITECTURES:
            raise ConfigError(
                f"{what}.architecture must be one of {', '.join(ARCHITECTURES)}, not {self.architecture!r}."
            )


@dataclass(frozen=True)
class BuildConfig:
    """Validated build configuration; construct with `load_config` or `BuildConfig().validated()`."""

    project: str = "streamlines"
    vpc_cidr: str = "10.20.0.0/16"
    allowed_cidr: str = ""
    log_retention_days: int = 30
    influx_org: str = "streamlines"
    influx_bucket: str = "market-data"
    influx_retention_hours: int = 720
    cloudfront_certificate_arn: str = ""
    # Upstream images. InfluxDB's official image is mirrored in ECR Public, which
    # has no anonymous pull limit; Grafana's is on Docker Hub only, so the lite
    # stack runs it from the foundations ECR, where `make mirror-images` copies it.
    influxdb_image: str = "public.ecr.aws/docker/library/influxdb:2.7.12"
    grafana_image: str = "grafana/grafana-oss:12.1.1"
    influxdb: TaskSize = field(default_factory=lambda: TaskSize(512, 1024, "ARM64"))
    grafana: TaskSize = field(default_factory=lambda: TaskSize(256, 512, "ARM64"))
    ingest: TaskSize = field(default_factory=lambda: TaskSize(256, 512, "X86_64"))
    ripples: TaskSize = field(default_factory=lambda: TaskSize(512, 1024, "ARM64"))
    backend: TaskSize = field(default_factory=lambda: TaskSize(256, 512, "X86_64"))
    dashboard: TaskSize = field(default_factory=lambda: TaskSize(256, 512, "ARM64"))

    def validated(self) -> "BuildConfig":
        if not _NAME.fullmatch(self.project):
            raise ConfigError(
                f"project {self.project!r} must be 3-32 lowercase letters, digits or hyphens, starting with a letter."
            )
        network = _network(self.vpc_cidr, "vpc_cidr")
        if not 16 <= network.prefixlen <= 22:
            raise ConfigError(
                f"vpc_cidr {self.vpc_cidr!r} must have a prefix between /16 and /22 so that four /24 subnets fit."
            )
        if self.allowed_cidr:
            _network(self.allowed_cidr, "allowed_cidr")
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ConfigError(
                "log_retention_days must be one of the values CloudWatch Logs accepts "
                f"({', '.join(map(str, LOG_RETENTION_DAYS[:12]))}, "
                f"...), not {self.log_retention_days!r}."
            )
        for name in ("influx_org", "influx_bucket"):
            if not _NAME.fullmatch(getattr(self, name)):
                raise ConfigError(f"{name} {getattr(self, name)!r} must be 3-32 lowercase letters, digits or hyphens.")
        retention = self.influx_retention_hours
        if isinstance(retention, bool) or not isinstance(retention, int) or not 0 <= retention <= MAX_RETENTION_HOURS:
            raise ConfigError(
                f"influx_retention_hours must be a whole number of hours from 0 (forever) to {MAX_RETENTION_HOURS}, "
                f"not {retention!r}."
            )
        for name in ("influxdb_image", "grafana_image"):
            image = getattr(self, name)
            if not _IMAGE.fullmatch(image) or image.endswith(":latest"):
                raise ConfigError(f"{name} {image!r} must be an image reference with a pinned tag (not 'latest').")
        if not self.influxdb_image.split(":")[-1].startswith("2."):
            raise ConfigError(
                f"influxdb_image {self.influxdb_image!r} must be an InfluxDB 2.x tag; 3.x has another API."
            )
        if self.cloudfront_certificate_arn:
            region = _certificate_region(self.cloudfront_certificate_arn)
            if region != "us-east-1":
                raise ConfigError(
                    f"cloudfront_certificate_arn is in {region}, but CloudFront only uses ACM certificates from "
                    "us-east-1; request or import the certificate there."
                )
        for size in _TASK_FIELDS:
            getattr(self, size).validate(size)
        if self.grafana.cpu > GRAFANA_MAX_CPU:
            raise ConfigError(
                f"grafana.cpu must be at most {GRAFANA_MAX_CPU} (lite's GrafanaCpu parameter allows no more), "
                f"not {self.grafana.cpu}."
            )
        return self


# The template's InfluxDbRetentionHours allows no more (100 years).
MAX_RETENTION_HOURS = 876000
# Grafana on SQLite for a few users needs no more; lite's GrafanaCpu stops there.
GRAFANA_MAX_CPU = 1024
_TASK_FIELDS = ("influxdb", "grafana", "ingest", "ripples", "backend", "dashboard")


_CERTIFICATE = re.compile(patterns.CERTIFICATE_ARN)


def _certificate_region(arn: str) -> str:
    if not _CERTIFICATE.fullmatch(arn):
        raise ConfigError(f"{arn!r} is not an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>).")
    return arn.split(":")[3]


def _network(value: str, what: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except (ValueError, TypeError) as error:
        raise ConfigError(f"{what} {value!r} is not a valid IPv4 CIDR block ({error}).") from None


def mirror_tag(image: str) -> str:
    """The tag of an image reference: the tag its mirror has in the foundations ECR."""
    return image.rsplit(":", 1)[1]


def load_config(path: Path | None) -> BuildConfig:
    """Read an optional TOML file over the defaults and validate the result."""
    if path is None:
        return BuildConfig().validated()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"cannot read configuration file {path}: {error.strerror}.") from None
    except UnicodeDecodeError:
        raise ConfigError(f"configuration file {path} is not UTF-8 text.") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"configuration file {path} is not valid TOML: {error}.") from None
    return config_from_mapping(data)


def _typed(key: str, value: Any, wanted: type) -> Any:
    """`value` if it is a `wanted` (a TOML integer for int: never a float or a boolean)."""
    if isinstance(value, bool) or not isinstance(value, wanted):
        kind = {str: "a string", int: "a whole number"}[wanted]
        raise ConfigError(f"{key} must be {kind}, not {value!r} ({type(value).__name__}).")
    return value


def config_from_mapping(data: dict[str, Any]) -> BuildConfig:
    base = BuildConfig()
    known = {f.name for f in fields(BuildConfig)}
    changes: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise ConfigError(f"unknown configuration key {key!r}; known keys are {', '.join(sorted(known))}.")
        if key in _TASK_FIELDS:
            if not isinstance(value, dict):
                raise ConfigError(f"{key} must be a table with cpu, memory and architecture.")
            unknown = set(value) - {"cpu", "memory", "architecture"}
            if unknown:
                raise ConfigError(f"unknown key {sorted(unknown)[0]!r} in [{key}]; use cpu, memory or architecture.")
            for name, wanted in (("cpu", int), ("memory", int), ("architecture", str)):
                if name in value:
                    _typed(f"{key}.{name}", value[name], wanted)
            value = replace(getattr(base, key), **value)
        else:
            value = _typed(key, value, type(getattr(base, key)))
        changes[key] = value
    return replace(base, **changes).validated()
