"""The web tier of the full profile as its images expect it (contracts/services.toml):
the backend (GraphQL over InfluxDB) and the dashboard (SvelteKit). What each
container gets is defined once here; full places them behind its ALB."""

from __future__ import annotations

from typing import Any

from .. import exports
from ..blocks.fargate import SecretKey
from ..blocks.parameters import import_value
from .pipeline import ContainerSettings


def backend(port: Any, influx_url: Any, org: Any, bucket: Any) -> ContainerSettings:
    return ContainerSettings(
        environment={
            # The image listens on 127.0.0.1 unless told otherwise: unreachable for the ALB.
            "GRAPHQL_SERVER_ADDRESS": "0.0.0.0",
            "GRAPHQL_SERVER_PORT": port,
            "INFLUXDB_URL": influx_url,
            "INFLUXDB_ORG": org,
            "INFLUXDB_BUCKET": bucket,
        },
        secrets={"INFLUXDB_READ_TOKEN": SecretKey(import_value(exports.INFLUXDB_READ_TOKEN_SECRET), "token")},
        statements=[],
    )


def dashboard(port: Any) -> ContainerSettings:
    # SvelteKit's Node adapter listens on HOST:PORT, by default 0.0.0.0:3000; its
    # backend and WebSocket URLs are built into the image.
    return ContainerSettings(environment={"PORT": port, "HOST": "0.0.0.0"}, secrets={}, statements=[])
