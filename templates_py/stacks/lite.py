"""Stream Lines lite ("backend only"): InfluxDB on ECS Fargate with its data on the foundations EFS, reachable only
through an internal ALB, and Grafana OSS reading it; the cheap way to look at the market data.

Creates: a VPC with public subnets in two AZs (no NAT gateway, no interface
endpoints: tasks take a public IP for image pulls and Secrets Manager, and
security groups admit nothing from the internet but the optional Grafana
listener); EFS mount targets for the foundations file system; an ECS cluster;
the InfluxDB service (one task, setup from the foundations secrets) behind an
internal ALB on 8086 that only Grafana's security group may reach; the Grafana
service (exactly one task, SQLite on EFS) with its admin password from Secrets
Manager; optionally an internet-facing ALB for Grafana limited to AllowedCidr
(HTTPS with an HTTP redirect when a certificate ARN is given).

Imports from foundations (parameter FoundationsStackName): EFS file system and
access points, ECR repository ARNs, InfluxDB and Grafana secrets.
Exports: the Grafana URL, the internal InfluxDB URL, org and bucket, the secret
ARNs the provisioning command reads, cluster and service names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from troposphere import And, Condition, Equals, GetAtt, If, Join, Not, Parameter, Ref, Sub, Template

from .. import exports, model
from ..blocks.alarms import alarm_notifications, service_alarm
from ..blocks.efs import MountTargets, mount_targets
from ..blocks.fargate import FargateService, Placement, capacity_parameters, cluster
from ..blocks.load_balancers import LoadBalancer, alias_record, internal_load_balancer, public_load_balancer, url
from ..blocks.network import CIDR_PATTERN, Network, allow_from_group, vpc_with_public_subnets
from ..blocks.parameters import (
    CERTIFICATE_PATTERN,
    DOMAIN_PATTERN,
    FOUNDATIONS_PARAMETER,
    HOSTED_ZONE_PATTERN,
    IMAGE_PATTERN,
    NOT_PRIVATE_ECR_TEXT,
    add_parameter,
    export_output,
    foundations_parameter,
    import_value,
    log_retention_parameter,
    new_template,
    not_empty,
    require,
    task_size_parameters,
    wait_for,
)
from ..blocks.schedule import active_hours
from ..blocks.tags import tag_everything
from ..components.grafana import GRAFANA_PORT, grafana_service
from ..components.influxdb import InfluxParameters, influxdb_parameters, influxdb_service
from ..components.token_issuer import influx_token_issuer
from ..config import GRAFANA_MAX_CPU, BuildConfig, mirror_tag

PROFILE = "lite"


@dataclass(frozen=True)
class LiteParameters:
    """Every deploy-time choice of the lite profile, as the template's Parameters."""

    exposure: Parameter
    allowed_cidr: Parameter
    certificate: Parameter
    domain: Parameter
    zone: Parameter
    grafana_image: Parameter
    grafana_size: tuple[Ref, Ref]
    influx: InfluxParameters
    retention: Parameter
    capacity: Ref
    influxdb_capacity: Ref


def build(config: BuildConfig) -> Template:
    t = new_template(__doc__)
    foundations_parameter(t)
    network = vpc_with_public_subnets(t, config)
    p = _parameters(t, config)
    _conditions_and_rules(t, p)
    ecs_cluster = cluster(t, "Container Insights is the ContainerInsights parameter, off by default for cost.")
    efs = mount_targets(t, network)
    influx_lb, influxdb = _influxdb(t, config, p, network, ecs_cluster, efs)
    grafana_lb, grafana_url, grafana = _grafana(t, config, p, network, ecs_cluster, efs)
    # Grafana reads InfluxDB through the internal ALB, and only it and the token agent may.
    allow_from_group(
        t,
        "InfluxDbLoadBalancerFromGrafana",
        influx_lb.security_group,
        grafana.security_group,
        model.INFLUXDB.port,
        "InfluxDB API from Grafana",
    )
    efs.admit(t, model.GRAFANA.name, grafana)
    influx_url = Sub("http://${Dns}:8086", Dns=GetAtt(influx_lb.load_balancer, "DNSName"))
    _token_issuer(t, p, network, influx_lb, influxdb, influx_url)

    alarms = alarm_notifications(t)
    service_alarm(t, alarms, model.INFLUXDB.description, influxdb.service, Ref(ecs_cluster), influx_lb, scaled=True)
    service_alarm(
        t,
        alarms,
        model.GRAFANA.description,
        grafana.service,
        Ref(ecs_cluster),
        grafana_lb,
        exposed="ExposeGrafana",
        scaled=True,
    )
    active_hours(t, ecs_cluster, [influxdb.service, grafana.service], alarms)
    _outputs(t, p, network, ecs_cluster, influx_lb, influx_url, influxdb, grafana, grafana_url)
    tag_everything(t, config.project, PROFILE)
    return t


def _parameters(t: Template, config: BuildConfig) -> LiteParameters:
    exposure = add_parameter(
        t,
        "GrafanaExposure",
        description="'public': an internet-facing ALB for Grafana, limited to AllowedCidr. 'none': no ALB; reach "
        "Grafana through an ECS Exec port forward.",
        Default="public",
        AllowedValues=["public", "none"],
    )
    allowed_cidr = add_parameter(
        t,
        "AllowedCidr",
        description="IPv4 CIDR allowed to reach the Grafana ALB, such as your office address /32. Required when "
        "GrafanaExposure is public.",
        Default=config.allowed_cidr,
        AllowedPattern=r"^$|" + CIDR_PATTERN,
        ConstraintDescription="an IPv4 CIDR block such as 198.18.7.10/32, or empty.",
    )
    certificate = add_parameter(
        t,
        "CertificateArn",
        description="ACM certificate ARN (same region as the stack) for HTTPS on the Grafana ALB, covering "
        "GrafanaDomainName; "
        "empty for plain HTTP.",
        Default="",
        AllowedPattern=CERTIFICATE_PATTERN,
        ConstraintDescription="empty, or an ACM certificate ARN.",
    )
    domain = add_parameter(
        t,
        "GrafanaDomainName",
        description="DNS name for Grafana, which CertificateArn must cover; required with a certificate. An alias "
        "record is made when GrafanaHostedZoneId is set.",
        Default="",
        AllowedPattern=DOMAIN_PATTERN,
        ConstraintDescription="empty, or a lowercase DNS name such as grafana.example.com.",
    )
    zone = add_parameter(
        t,
        "GrafanaHostedZoneId",
        description="Route 53 hosted zone for the GrafanaDomainName alias; empty for none.",
        Default="",
        AllowedPattern=HOSTED_ZONE_PATTERN,
        ConstraintDescription="empty, or a hosted zone ID such as Z0123456789ABCDEFGHIJ.",
    )
    grafana_image = add_parameter(
        t,
        "GrafanaImage",
        description=f"Empty: tag {mirror_tag(config.grafana_image)} of the foundations 'grafana' ECR repository "
        "(make mirror-images fills it). Or an image with a pinned tag.",
        Default="",
        AllowedPattern=r"^$|" + IMAGE_PATTERN,
        ConstraintDescription="empty, or an image reference with a tag, " + NOT_PRIVATE_ECR_TEXT + ".",
    )
    grafana_size = task_size_parameters(
        t, "Grafana", "Grafana", config.grafana.cpu, config.grafana.memory, max_cpu=GRAFANA_MAX_CPU
    )
    influx = influxdb_parameters(t, config)
    retention = log_retention_parameter(t, config.log_retention_days)
    capacity, influxdb_capacity = capacity_parameters(t, "Grafana")
    return LiteParameters(
        exposure,
        allowed_cidr,
        certificate,
        domain,
        zone,
        grafana_image,
        grafana_size,
        influx,
        retention,
        capacity,
        influxdb_capacity,
    )


def _conditions_and_rules(t: Template, p: LiteParameters) -> None:
    # The rule below refuses "public" without AllowedCidr; the condition says it again
    # so that the linter, too, knows the ALB never gets an empty CIDR.
    t.add_condition("ExposeGrafana", And(Equals(Ref(p.exposure), "public"), Not(Equals(Ref(p.allowed_cidr), ""))))
    t.add_condition("HasCertificate", Not(Equals(Ref(p.certificate), "")))
    t.add_condition("ExposeGrafanaWithHttps", And(Condition("ExposeGrafana"), Condition("HasCertificate")))
    t.add_condition("HasGrafanaDomain", Not(Equals(Ref(p.domain), "")))
    t.add_condition(
        "GrafanaAlias", And(Condition("ExposeGrafana"), Condition("HasGrafanaDomain"), Not(Equals(Ref(p.zone), "")))
    )
    t.add_condition("GrafanaFromMirror", Equals(Ref(p.grafana_image), ""))
    # No ACM certificate covers the ALB's own *.elb.amazonaws.com name.
    require(
        t,
        "CertificateNeedsDomainName",
        not_empty(p.certificate),
        [(p.domain, "GrafanaDomainName must be set when CertificateArn is: the certificate must cover that name.")],
    )
    require(
        t,
        "AllowedCidrWhenPublic",
        {"Fn::Equals": [Ref(p.exposure), "public"]},
        [(p.allowed_cidr, "AllowedCidr must be set when GrafanaExposure is public.")],
    )


def _influxdb(
    t: Template, config: BuildConfig, p: LiteParameters, network: Network, ecs_cluster: Any, efs: MountTargets
) -> tuple[LoadBalancer, FargateService]:
    """InfluxDB on the foundations EFS behind the internal ALB."""
    spec = model.INFLUXDB
    influx_lb = internal_load_balancer(t, spec.name, network, spec.port, spec.health_path)
    influxdb = influxdb_service(
        t,
        config,
        p.influx,
        cluster=Ref(ecs_cluster),
        network=network,
        placement=Placement(
            subnets=network.public_subnet_ids,
            assign_public_ip="ENABLED",
            single_writer=spec.single_writer,
            capacity=p.influxdb_capacity,
            depends_on=[*efs.mount_target_ids, influx_lb.ready.title],
            target_group=Ref(influx_lb.target_group),
            # First boot runs setup on a temporary port before InfluxDB listens on 8086.
            grace_period=300,
        ),
        log_retention=Ref(p.retention),
    )
    influx_lb.admit(
        t, "InfluxDbFromLoadBalancer", influxdb.security_group, spec.port, "InfluxDB API from the internal ALB"
    )
    efs.admit(t, spec.name, influxdb)
    return influx_lb, influxdb


def _grafana(
    t: Template, config: BuildConfig, p: LiteParameters, network: Network, ecs_cluster: Any, efs: MountTargets
) -> tuple[LoadBalancer, Any, FargateService]:
    """Grafana OSS on the foundations EFS, behind its public ALB when exposed."""
    spec = model.GRAFANA
    grafana_lb = public_load_balancer(
        t,
        spec.name,
        network,
        port=GRAFANA_PORT,
        health_path=spec.health_path,
        allowed_cidr=Ref(p.allowed_cidr),
        certificate_arn=Ref(p.certificate),
        has_certificate="HasCertificate",
        domain_name=Ref(p.domain),
        has_domain="HasGrafanaDomain",
        condition="ExposeGrafana",
        https_condition="ExposeGrafanaWithHttps",
    )
    grafana_url = url(grafana_lb.load_balancer, "HasCertificate", Ref(p.domain), "HasGrafanaDomain")
    alias_record(t, "GrafanaAliasRecord", "GrafanaAlias", Ref(p.zone), Ref(p.domain), grafana_lb.load_balancer)
    cpu, memory = p.grafana_size
    grafana = grafana_service(
        t,
        config,
        cluster=Ref(ecs_cluster),
        network=network,
        image=If(
            "GrafanaFromMirror",
            Join(":", [import_value(exports.repository_uri(spec.repository)), mirror_tag(config.grafana_image)]),
            Ref(p.grafana_image),
        ),
        cpu=cpu,
        memory=memory,
        load_balancer=grafana_lb,
        exposed="ExposeGrafana",
        url=grafana_url,
        capacity=p.capacity,
        after=efs.mount_target_ids,
        log_retention=Ref(p.retention),
    )
    grafana_lb.admit(t, "GrafanaFromLoadBalancer", grafana.security_group, GRAFANA_PORT, "Grafana from its ALB")
    return grafana_lb, grafana_url, grafana


def _token_issuer(
    t: Template, p: LiteParameters, network: Network, influx_lb: LoadBalancer, influxdb: FargateService, influx_url: Any
) -> None:
    issuer = influx_token_issuer(
        t,
        network,
        # No public IP for a Lambda: the agent reaches the internal ALB and nothing else.
        subnets=network.public_subnet_ids,
        influx_url=influx_url,
        org=Ref(p.influx.org),
        bucket=Ref(p.influx.bucket),
        log_retention=Ref(p.retention),
        after=[influxdb.service.title],
    )
    agent_rule = allow_from_group(
        t,
        "InfluxDbLoadBalancerFromTokenAgent",
        influx_lb.security_group,
        issuer.agent_security_group,
        model.INFLUXDB.port,
        "InfluxDB API from the token agent",
    )
    # The agent's first request must not be refused: the tokens wait for the rule.
    wait_for(issuer.tokens, agent_rule.title)


def _outputs(
    t: Template,
    p: LiteParameters,
    network: Network,
    ecs_cluster: Any,
    influx_lb: LoadBalancer,
    influx_url: Any,
    influxdb: FargateService,
    grafana: FargateService,
    grafana_url: Any,
) -> None:
    export_output(t, "StackProfile", PROFILE, "Profile of this stack; the provisioning command checks it.")
    export_output(
        t,
        "GrafanaUrl",
        grafana_url,
        "Grafana URL (public ALB, limited to AllowedCidr; GrafanaDomainName when set).",
        condition="ExposeGrafana",
    )
    export_output(
        t, "InfluxDbUrl", influx_url, "InfluxDB URL inside the VPC (internal ALB); Grafana's datasource uses it."
    )
    export_output(t, "InfluxDbOrg", Ref(p.influx.org), "InfluxDB organization.")
    export_output(t, "InfluxDbBucket", Ref(p.influx.bucket), "InfluxDB bucket the data is written to.")
    # Secret ARNs are not re-exported (an output of an import is a lint warning):
    # the provisioning command follows this output to the foundations exports.
    export_output(
        t,
        "FoundationsStack",
        Ref(FOUNDATIONS_PARAMETER),
        "Name of the foundations stack whose secrets (read token, Grafana admin password) this stack uses.",
    )
    export_output(t, "VpcId", Ref(network.vpc), "VPC of this stack (its EFS mount targets must be in it).")
    export_output(
        t,
        exports.LITE_PUBLIC_SUBNET_IDS,
        Join(",", network.public_subnet_ids),
        "Public subnets, comma-separated (for the data-pipeline add-on).",
    )
    export_output(
        t,
        exports.LITE_INFLUXDB_CLIENTS_GROUP,
        GetAtt(influx_lb.security_group, "GroupId"),
        "Security group of the internal InfluxDB ALB; the data-pipeline add-on admits ripples to it.",
    )
    export_output(t, "ClusterName", Ref(ecs_cluster), "ECS cluster name (for ECS Exec).")
    export_output(
        t,
        "GrafanaServiceName",
        GetAtt(grafana.service, "Name"),
        "Grafana ECS service name (for an ECS Exec port forward when there is no ALB).",
    )
    export_output(t, "InfluxDbServiceName", GetAtt(influxdb.service, "Name"), "InfluxDB ECS service name.")
