"""Grafana OSS on Fargate for the lite profile: exactly one task (SQLite on EFS
does not tolerate two writers), data on the foundations `grafana` access point,
the admin password from Secrets Manager, sign-up and anonymous access off."""

from __future__ import annotations

from typing import Any, Sequence

from troposphere import If, Ref, Template

from .. import exports
from ..blocks.fargate import Container, EfsMount, FargateService, Placement, fargate_service
from ..blocks.load_balancers import LoadBalancer
from ..blocks.network import Network
from ..blocks.parameters import import_value
from ..config import BuildConfig

GRAFANA_PORT = 3000


def grafana_service(
    t: Template,
    config: BuildConfig,
    *,
    cluster: Any,
    network: Network,
    image: Any,
    cpu: Any,
    memory: Any,
    load_balancer: LoadBalancer,
    exposed: str,
    url: Any,
    capacity: Any,
    after: Sequence[str],
    log_retention: Any,
) -> FargateService:
    """The Grafana service, registered in `load_balancer`'s target group when `exposed` holds."""
    return fargate_service(
        t,
        "Grafana",
        cluster=cluster,
        network=network,
        description="Grafana",
        container=Container(
            image=image,
            port=GRAFANA_PORT,
            cpu=cpu,
            memory=memory,
            architecture=config.grafana.architecture,
            environment={
                "GF_SECURITY_ADMIN_USER": "admin",
                "GF_USERS_ALLOW_SIGN_UP": "false",
                "GF_AUTH_ANONYMOUS_ENABLED": "false",
                "GF_ANALYTICS_REPORTING_ENABLED": "false",
                "GF_SERVER_ROOT_URL": If(exposed, url, "http://localhost:3000"),
            },
            secrets={"GF_SECURITY_ADMIN_PASSWORD": import_value(exports.GRAFANA_ADMIN_PASSWORD_SECRET)},
            health_check=["CMD-SHELL", "wget -q --spider http://localhost:3000/api/health || exit 1"],
            # First boot creates its SQLite database on EFS and runs every migration,
            # which can take minutes over NFS: give it room before health counts.
            health_check_start_period=300,
            mount=EfsMount(
                file_system_id=import_value(exports.FILE_SYSTEM_ID),
                file_system_arn=import_value(exports.FILE_SYSTEM_ARN),
                access_point_id=import_value(exports.GRAFANA_ACCESS_POINT_ID),
                access_point_arn=import_value(exports.GRAFANA_ACCESS_POINT_ARN),
                container_path="/var/lib/grafana",
            ),
        ),
        placement=Placement(
            subnets=network.public_subnet_ids,
            assign_public_ip="ENABLED",
            # SQLite on EFS does not tolerate two writers: stop the old task first.
            single_writer=True,
            capacity=capacity,
            depends_on=[*after, load_balancer.ready.title],
            target_group=Ref(load_balancer.target_group),
            grace_period=600,
            load_balancer_condition=exposed,
        ),
        log_retention=log_retention,
        repository_arns=[import_value(exports.repository_arn("grafana"))],
    )
