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

from troposphere import And, Condition, Equals, GetAtt, If, Join, Not, Ref, Sub, Template

from .. import exports
from ..blocks.alarms import alarm_notifications, service_alarm
from ..blocks.efs import mount_targets
from ..blocks.fargate import Placement, capacity_parameters, cluster
from ..blocks.load_balancers import alias_record, internal_load_balancer, public_load_balancer, url
from ..blocks.network import CIDR_PATTERN, allow_from_group, vpc_with_public_subnets
from ..blocks.parameters import (
    FOUNDATIONS_PARAMETER,
    NOT_PRIVATE_ECR,
    NOT_PRIVATE_ECR_TEXT,
    add_parameter,
    export_output,
    foundations_parameter,
    import_value,
    log_retention_parameter,
    new_template,
    task_size_parameters,
    wait_for,
)
from ..blocks.schedule import active_hours
from ..blocks.tags import tag_everything
from ..components.grafana import GRAFANA_PORT, grafana_service
from ..components.influxdb import influxdb_parameters, influxdb_service
from ..components.token_issuer import influx_token_issuer
from ..config import GRAFANA_MAX_CPU, BuildConfig, mirror_tag

PROFILE = "lite"
IMAGE_PATTERN = r"^" + NOT_PRIVATE_ECR + r"[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9._-]{1,128})$"
CERTIFICATE_PATTERN = r"^$|^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$"
HOSTED_ZONE_PATTERN = r"^$|^Z[A-Z0-9]{1,31}$"
DOMAIN_PATTERN = r"^$|^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"


def build(config: BuildConfig) -> Template:
    t = new_template(__doc__)
    foundations_parameter(t)
    network = vpc_with_public_subnets(t, config)
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
    grafana_cpu, grafana_memory = task_size_parameters(
        t, "Grafana", "Grafana", config.grafana.cpu, config.grafana.memory, max_cpu=GRAFANA_MAX_CPU
    )
    influx = influxdb_parameters(t, config)
    retention = log_retention_parameter(t, config.log_retention_days)

    # The rule below refuses "public" without AllowedCidr; the condition says it again
    # so that the linter, too, knows the ALB never gets an empty CIDR.
    t.add_condition("ExposeGrafana", And(Equals(Ref(exposure), "public"), Not(Equals(Ref(allowed_cidr), ""))))
    t.add_condition("HasCertificate", Not(Equals(Ref(certificate), "")))
    t.add_condition("ExposeGrafanaWithHttps", And(Condition("ExposeGrafana"), Condition("HasCertificate")))
    t.add_condition("HasGrafanaDomain", Not(Equals(Ref(domain), "")))
    t.add_condition(
        "GrafanaAlias", And(Condition("ExposeGrafana"), Condition("HasGrafanaDomain"), Not(Equals(Ref(zone), "")))
    )
    t.add_condition("GrafanaFromMirror", Equals(Ref(grafana_image), ""))
    # No ACM certificate covers the ALB's own *.elb.amazonaws.com name.
    t.add_rule(
        "CertificateNeedsDomainName",
        {
            "RuleCondition": {"Fn::Not": [{"Fn::Equals": [Ref(certificate), ""]}]},
            "Assertions": [
                {
                    "Assert": {"Fn::Not": [{"Fn::Equals": [Ref(domain), ""]}]},
                    "AssertDescription": "GrafanaDomainName must be set when CertificateArn is: the certificate "
                    "must cover that name.",
                }
            ],
        },
    )
    t.add_rule(
        "AllowedCidrWhenPublic",
        {
            "RuleCondition": {"Fn::Equals": [Ref(exposure), "public"]},
            "Assertions": [
                {
                    "Assert": {"Fn::Not": [{"Fn::Equals": [Ref(allowed_cidr), ""]}]},
                    "AssertDescription": "AllowedCidr must be set when GrafanaExposure is public.",
                }
            ],
        },
    )

    capacity, influxdb_capacity = capacity_parameters(t, "Grafana")
    ecs_cluster = cluster(t, "Container Insights is the ContainerInsights parameter, off by default for cost.")

    influx_lb = internal_load_balancer(t, "InfluxDb", network, 8086, "/health")
    efs = mount_targets(t, network)
    influxdb = influxdb_service(
        t,
        config,
        influx,
        cluster=Ref(ecs_cluster),
        network=network,
        placement=Placement(
            subnets=network.public_subnet_ids,
            assign_public_ip="ENABLED",
            single_writer=True,
            capacity=influxdb_capacity,
            depends_on=[*efs.mount_target_ids, influx_lb.ready.title],
            target_group=Ref(influx_lb.target_group),
            # First boot runs setup on a temporary port before InfluxDB listens on 8086.
            grace_period=300,
        ),
        log_retention=Ref(retention),
    )
    influx_lb.admit(t, "InfluxDbFromLoadBalancer", influxdb.security_group, 8086, "InfluxDB API from the internal ALB")
    efs.admit(t, "InfluxDb", influxdb)

    grafana_lb = public_load_balancer(
        t,
        "Grafana",
        network,
        port=GRAFANA_PORT,
        health_path="/api/health",
        allowed_cidr=Ref(allowed_cidr),
        certificate_arn=Ref(certificate),
        has_certificate="HasCertificate",
        domain_name=Ref(domain),
        has_domain="HasGrafanaDomain",
        condition="ExposeGrafana",
        https_condition="ExposeGrafanaWithHttps",
    )
    grafana_url = url(grafana_lb.load_balancer, "HasCertificate", Ref(domain), "HasGrafanaDomain")
    alias_record(t, "GrafanaAliasRecord", "GrafanaAlias", Ref(zone), Ref(domain), grafana_lb.load_balancer)
    grafana = grafana_service(
        t,
        config,
        cluster=Ref(ecs_cluster),
        network=network,
        image=If(
            "GrafanaFromMirror",
            Join(":", [import_value(exports.repository_uri("grafana")), mirror_tag(config.grafana_image)]),
            Ref(grafana_image),
        ),
        cpu=grafana_cpu,
        memory=grafana_memory,
        load_balancer=grafana_lb,
        exposed="ExposeGrafana",
        url=grafana_url,
        capacity=capacity,
        after=efs.mount_target_ids,
        log_retention=Ref(retention),
    )
    grafana_lb.admit(t, "GrafanaFromLoadBalancer", grafana.security_group, GRAFANA_PORT, "Grafana from its ALB")
    allow_from_group(
        t,
        "InfluxDbLoadBalancerFromGrafana",
        influx_lb.security_group,
        grafana.security_group,
        8086,
        "InfluxDB API from Grafana",
    )
    efs.admit(t, "Grafana", grafana)

    influx_url = Sub("http://${Dns}:8086", Dns=GetAtt(influx_lb.load_balancer, "DNSName"))
    issuer = influx_token_issuer(
        t,
        network,
        # No public IP for a Lambda: the agent reaches the internal ALB and nothing else.
        subnets=network.public_subnet_ids,
        influx_url=influx_url,
        org=Ref(influx.org),
        bucket=Ref(influx.bucket),
        log_retention=Ref(retention),
        after=[influxdb.service.title],
    )
    agent_rule = allow_from_group(
        t,
        "InfluxDbLoadBalancerFromTokenAgent",
        influx_lb.security_group,
        issuer.agent_security_group,
        8086,
        "InfluxDB API from the token agent",
    )
    # The agent's first request must not be refused: the tokens wait for the rule.
    wait_for(issuer.tokens, agent_rule.title)

    alarms = alarm_notifications(t)
    service_alarm(t, alarms, "InfluxDB", influxdb.service, Ref(ecs_cluster), influx_lb, scaled=True)
    service_alarm(
        t, alarms, "Grafana", grafana.service, Ref(ecs_cluster), grafana_lb, exposed="ExposeGrafana", scaled=True
    )
    active_hours(t, ecs_cluster, [influxdb.service, grafana.service], alarms)

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
    export_output(t, "InfluxDbOrg", Ref(influx.org), "InfluxDB organization.")
    export_output(t, "InfluxDbBucket", Ref(influx.bucket), "InfluxDB bucket the data is written to.")
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

    tag_everything(t, config.project, PROFILE)
    return t
