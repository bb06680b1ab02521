"""Stream Lines full: the whole platform (ingest, ripples, InfluxDB, backend and dashboard on ECS Fargate, Kinesis
upstream and downstream streams, a WebSocket API with the connection-handler Lambda and the results-pusher Lambda on
the results stream, ALBs and optional Route 53 aliases).

Creates: a VPC in two AZs with public and private subnets; `NetworkMode` picks
how private tasks reach AWS: `endpoints` (S3 gateway endpoint plus interface
endpoints, no internet route; ingest alone runs in a public subnet to reach the
market-data websocket), `nat` (one NAT gateway) or `public` (tasks in public
subnets with public IPs, security groups admitting only the ALBs). An ECS
cluster with a Cloud Map namespace (InfluxDB as `influxdb.<namespace>`, reachable
from ripples and backend only); InfluxDB on the foundations EFS; the upstream
(market data) and downstream (results) Kinesis streams with generated names;
one task role per service granting exactly its streams, bucket prefix and
secrets; HTTP(S) ALBs for backend and dashboard; the WebSocket API (`prod`
stage, access logs, optional custom domain); the results pusher's event source
mapping (batch 50, window 15 s, batch item failures, bounded retries, bisect,
failed batches to an SQS queue).

Imports from foundations (parameter FoundationsStackName): app bucket, ECR
repositories, EFS and the InfluxDB access point, connections table, secrets.
Exports: URLs (dashboard, backend, WebSocket), stream names, cluster,
namespace, the failed-deliveries queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from troposphere import (
    And,
    Condition,
    Equals,
    GetAtt,
    If,
    Join,
    Not,
    Parameter,
    Ref,
    Select,
    Split,
    Sub,
    Template,
    servicediscovery,
)

from .. import exports
from ..blocks.alarms import alarm_notifications, service_alarm, stream_throttled
from ..blocks.efs import mount_targets
from ..blocks.fargate import (
    Container,
    FargateService,
    Placement,
    SecretKey,
    capacity_parameters,
    cluster,
    fargate_service,
)
from ..blocks.load_balancers import Route, alias_record, host_routed_load_balancer, routed_url
from ..blocks.network import (
    CIDR_PATTERN,
    add_private_subnets,
    admit_to_endpoints,
    allow_from_group,
    vpc_with_public_subnets,
)
from ..blocks.parameters import (
    FOUNDATIONS_PARAMETER,
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
from ..components import pipeline
from ..components.influxdb import INFLUXDB_PORT, InfluxParameters, influxdb_parameters, influxdb_service
from ..components.results_pusher import results_pusher
from ..components.streams import StreamParameters, stream, stream_parameters
from ..components.token_issuer import influx_token_issuer
from ..components.websocket_api import websocket_api
from ..config import BuildConfig
from .lite import CERTIFICATE_PATTERN, DOMAIN_PATTERN, HOSTED_ZONE_PATTERN

PROFILE = "full"
APP_SERVICES = ("Ingest", "Ripples", "Backend", "Dashboard")
EXEC_CONDITION = "EcsExecOn"
# Where the backend is served when it has no domain name of its own.
BACKEND_LISTENER_PORT = 8080


@dataclass(frozen=True)
class TaskSize:
    cpu: Any
    memory: Any


@dataclass(frozen=True)
class AppService:
    """The parameters of one application service: its image tag and task size."""

    image_tag: Parameter
    size: TaskSize


@dataclass(frozen=True)
class FullParameters:
    """Every deploy-time choice of the full profile, as the template's Parameters."""

    network_mode: Parameter
    service_namespace: Parameter
    backend_port: Parameter
    dashboard_port: Parameter
    allowed_cidr: Parameter
    certificate_arn: Parameter
    hosted_zone_id: Parameter
    backend_domain: Parameter
    dashboard_domain: Parameter
    websocket_domain: Parameter
    streams: StreamParameters
    max_symbols: Parameter
    ingest: pipeline.IngestParameters
    log_retention: Parameter
    capacity: Ref
    influxdb_capacity: Ref
    ecs_exec: Parameter
    influx: InfluxParameters
    services: dict[str, AppService]


def build(config: BuildConfig) -> Template:
    t = new_template(__doc__)
    foundations_parameter(t)
    p = _parameters(t, config)
    _conditions(t, p)

    network = vpc_with_public_subnets(t, config)
    # The ssmmessages endpoint serves ECS Exec only: there only when exec is on.
    endpoints = add_private_subnets(
        t,
        network,
        nat_condition="IsNat",
        endpoints_condition="IsEndpoints",
        endpoint_conditions={"SsmMessages": "IsEndpointsWithExec"},
    )
    private_or_public = If("IsPublic", network.public_subnet_ids, network.private_subnet_ids)
    public_ip = If("IsPublic", "ENABLED", "DISABLED")
    retention = Ref(p.log_retention)

    ecs_cluster = cluster(t, "Container Insights is the ContainerInsights parameter, off by default for cost.")
    capacity, influxdb_capacity = p.capacity, p.influxdb_capacity
    namespace = t.add_resource(
        servicediscovery.PrivateDnsNamespace(
            "Namespace",
            Name=Ref(p.service_namespace),
            Vpc=Ref(network.vpc),
            Description="Service names inside the Stream Lines VPC",
        )
    )
    influx_registry = t.add_resource(
        servicediscovery.Service(
            "InfluxDbDiscoveryService",
            Name="influxdb",
            NamespaceId=GetAtt(namespace, "Id"),
            DnsConfig=servicediscovery.DnsConfig(
                DnsRecords=[servicediscovery.DnsRecord(Type="A", TTL=10)], RoutingPolicy="MULTIVALUE"
            ),
            HealthCheckCustomConfig=servicediscovery.HealthCheckCustomConfig(FailureThreshold=1),
        )
    )
    influx_url = Sub("http://influxdb.${ServiceNamespace}:%d" % INFLUXDB_PORT)

    upstream, downstream = (stream(t, name, p.streams) for name in ("UpstreamStream", "DownstreamStream"))

    efs = mount_targets(t, network, network.private_subnet_ids)
    influx = p.influx
    influxdb = influxdb_service(
        t,
        config,
        influx,
        cluster=Ref(ecs_cluster),
        network=network,
        placement=Placement(
            subnets=private_or_public,
            assign_public_ip=public_ip,
            single_writer=True,
            capacity=influxdb_capacity,
            depends_on=efs.mount_target_ids,
            registry_arn=GetAtt(influx_registry, "Arn"),
        ),
        log_retention=retention,
        # Isolated subnets can pull only from ECR in this account and region: there
        # the same tag comes from the foundations mirror, whatever registry the
        # parameter names (a Rule cannot look inside a string, so the template
        # makes the wrong pair impossible instead of refusing it).
        image=If(
            "IsEndpoints",
            Join(":", [import_value(exports.repository_uri("influxdb")), Select(1, Split(":", Ref(influx.image)))]),
            Ref(influx.image),
        ),
        exec_condition=EXEC_CONDITION,
    )
    efs.admit(t, "InfluxDb", influxdb)
    issuer = influx_token_issuer(
        t,
        network,
        subnets=network.private_subnet_ids,
        influx_url=influx_url,
        org=Ref(influx.org),
        bucket=Ref(influx.bucket),
        log_retention=retention,
        after=[influxdb.service.title],
    )

    def app_service(name: str, container: Container, placement: Placement, statements: list) -> FargateService:
        return fargate_service(
            t,
            name,
            cluster=Ref(ecs_cluster),
            network=network,
            container=container,
            placement=placement,
            log_retention=retention,
            repository_arns=[import_value(exports.repository_arn(name.lower()))],
            task_statements=statements,
            description=name,
            exec_condition=EXEC_CONDITION,
        )

    def container(name: str, **settings: Any) -> Container:
        """`name`'s image from its foundations repository at its tag, at its task size."""
        service = p.services[name]
        image = Join(":", [import_value(exports.repository_uri(name.lower())), Ref(service.image_tag)])
        architecture = getattr(config, name.lower()).architecture
        return Container(
            image=image, cpu=service.size.cpu, memory=service.size.memory, architecture=architecture, **settings
        )

    # The services implement contracts/services.toml (the images' own contract);
    # tests/templates/test_service_contract.py holds each task definition to it.
    ingest_settings = pipeline.ingest(p.ingest, upstream)
    ingest = app_service(
        "Ingest",
        container("Ingest", port=None, environment=ingest_settings.environment, secrets=ingest_settings.secrets),
        # Ingest reads the market-data websocket on the internet: without a NAT
        # gateway it runs in a public subnet with a public IP (no inbound rule).
        Placement(
            subnets=If("IsNat", network.private_subnet_ids, network.public_subnet_ids),
            assign_public_ip=If("IsNat", "DISABLED", "ENABLED"),
            single_writer=ingest_settings.single_writer,
            capacity=capacity,
        ),
        ingest_settings.statements,
    )

    ripples_settings = pipeline.ripples(upstream, downstream, influx_url, Ref(influx.org), Ref(influx.bucket))
    ripples = app_service(
        "Ripples",
        container("Ripples", port=None, environment=ripples_settings.environment, secrets=ripples_settings.secrets),
        Placement(
            subnets=private_or_public, assign_public_ip=public_ip, depends_on=[issuer.tokens.title], capacity=capacity
        ),
        ripples_settings.statements,
    )

    # One internet-facing ALB for both: the dashboard by default, the backend by
    # its domain name (or, without one, on its own listener port).
    dashboard_route = Route("Dashboard", Ref(p.dashboard_port), "/", Ref(p.dashboard_domain), "HasDashboardDomain")
    backend_route = Route(
        "Backend",
        Ref(p.backend_port),
        "/health",
        Ref(p.backend_domain),
        "HasBackendDomain",
        own_port=BACKEND_LISTENER_PORT,
    )
    routes = host_routed_load_balancer(
        t,
        "Public",
        network,
        allowed_cidr=Ref(p.allowed_cidr),
        certificate_arn=Ref(p.certificate_arn),
        has_certificate="HasCertificate",
        default=dashboard_route,
        by_host=[backend_route],
    )
    backend_lb, dashboard_lb = routes["Backend"], routes["Dashboard"]
    backend = app_service(
        "Backend",
        container(
            "Backend",
            port=Ref(p.backend_port),
            environment={
                # The image listens on 127.0.0.1 unless told otherwise: unreachable for the ALB.
                "GRAPHQL_SERVER_ADDRESS": "0.0.0.0",
                "GRAPHQL_SERVER_PORT": Ref(p.backend_port),
                "INFLUXDB_URL": influx_url,
                "INFLUXDB_ORG": Ref(influx.org),
                "INFLUXDB_BUCKET": Ref(influx.bucket),
            },
            secrets={"INFLUXDB_READ_TOKEN": SecretKey(import_value(exports.INFLUXDB_READ_TOKEN_SECRET), "token")},
        ),
        Placement(
            subnets=private_or_public,
            assign_public_ip=public_ip,
            depends_on=[backend_lb.ready.title, issuer.tokens.title],
            target_group=Ref(backend_lb.target_group),
            grace_period=60,
            capacity=capacity,
        ),
        [],
    )

    websocket = websocket_api(
        t,
        max_symbols=Ref(p.max_symbols),
        certificate_arn=Ref(p.certificate_arn),
        hosted_zone_id=Ref(p.hosted_zone_id),
        domain_name=Ref(p.websocket_domain),
        log_retention=retention,
    )
    dashboard = app_service(
        "Dashboard",
        container(
            "Dashboard",
            port=Ref(p.dashboard_port),
            # SvelteKit's Node adapter listens on HOST:PORT, by default 0.0.0.0:3000
            # (contracts/services.toml); its backend and WebSocket URLs are built into the image.
            environment={"PORT": Ref(p.dashboard_port), "HOST": "0.0.0.0"},
        ),
        Placement(
            subnets=private_or_public,
            assign_public_ip=public_ip,
            depends_on=[dashboard_lb.ready.title],
            target_group=Ref(dashboard_lb.target_group),
            grace_period=60,
            capacity=capacity,
        ),
        [],
    )

    # Who may talk to whom: InfluxDB only from ripples and backend, apps only from their ALB.
    allow_from_group(
        t,
        "InfluxDbFromRipples",
        influxdb.security_group,
        ripples.security_group,
        INFLUXDB_PORT,
        "InfluxDB writes from ripples",
    )
    allow_from_group(
        t,
        "InfluxDbFromBackend",
        influxdb.security_group,
        backend.security_group,
        INFLUXDB_PORT,
        "InfluxDB reads from backend",
    )
    agent_rule = allow_from_group(
        t,
        "InfluxDbFromTokenAgent",
        influxdb.security_group,
        issuer.agent_security_group,
        INFLUXDB_PORT,
        "InfluxDB API from the token agent",
    )
    # The agent's first request must not be refused: the tokens wait for the rule.
    wait_for(issuer.tokens, agent_rule.title)
    backend_lb.admit(t, "BackendFromLoadBalancer", backend.security_group, Ref(p.backend_port), "Backend from the ALB")
    dashboard_lb.admit(
        t, "DashboardFromLoadBalancer", dashboard.security_group, Ref(p.dashboard_port), "Dashboard from the ALB"
    )
    services = (
        ("InfluxDb", influxdb),
        ("Ingest", ingest),
        ("Ripples", ripples),
        ("Backend", backend),
        ("Dashboard", dashboard),
    )
    for name, service in services:
        admit_to_endpoints(t, name, endpoints, service.security_group)
    # In endpoints mode every task's first image pull, secret fetch and log write
    # goes through the endpoints: every service waits for them (ingest too, in a
    # public subnet with its own route, so the rule holds whatever the mode).
    ready = endpoints.ready(t)
    for _, service in services:
        wait_for(service.service, ready.title)

    alarms = alarm_notifications(t)
    for label, service, balancer in (
        ("InfluxDB", influxdb, None),
        ("Ingest", ingest, None),
        ("Ripples", ripples, None),
        ("Backend", backend, backend_lb),
        ("Dashboard", dashboard, dashboard_lb),
    ):
        service_alarm(t, alarms, label, service.service, Ref(ecs_cluster), balancer, scaled=True)
    stream_throttled(t, alarms, "UpstreamThrottled", upstream, "ingest")
    stream_throttled(t, alarms, "DownstreamThrottled", downstream, "ripples")
    pipeline.ingest_not_writing(t, alarms, upstream)
    results_pusher(t, downstream, websocket, retention, alarms)
    active_hours(
        t, ecs_cluster, [influxdb.service, ingest.service, ripples.service, backend.service, dashboard.service], alarms
    )
    for route, condition in ((backend_route, "BackendAlias"), (dashboard_route, "DashboardAlias")):
        alias_record(
            t, f"{route.name}AliasRecord", condition, Ref(p.hosted_zone_id), route.domain, backend_lb.load_balancer
        )

    export_output(t, "StackProfile", PROFILE, "Profile of this stack.")
    export_output(
        t, "FoundationsStack", Ref(FOUNDATIONS_PARAMETER), "Name of the foundations stack this stack imports from."
    )
    export_output(
        t, "DashboardUrl", routed_url(dashboard_route, dashboard_lb.load_balancer, "HasCertificate"), "Dashboard URL."
    )
    export_output(
        t,
        "BackendUrl",
        routed_url(backend_route, backend_lb.load_balancer, "HasCertificate"),
        f"Backend (GraphQL) URL: its domain name, or the ALB's name on port {BACKEND_LISTENER_PORT}.",
    )
    export_output(
        t, "WebSocketUrl", websocket.url, "WebSocket URL the dashboard subscribes to (custom domain when one is set)."
    )
    export_output(t, "WebSocketApiId", Ref(websocket.api), "ID of the WebSocket API.")
    export_output(t, "UpstreamStreamName", Ref(upstream), "Kinesis stream ingest writes market data to.")
    export_output(t, "DownstreamStreamName", Ref(downstream), "Kinesis stream ripples writes results to.")
    export_output(t, "InfluxDbUrl", influx_url, "InfluxDB URL inside the VPC (Cloud Map name).")
    export_output(t, "InfluxDbOrg", Ref(influx.org), "InfluxDB organization.")
    export_output(t, "InfluxDbBucket", Ref(influx.bucket), "InfluxDB bucket ripples writes to.")
    export_output(t, "VpcId", Ref(network.vpc), "VPC of this stack (its EFS mount targets must be in it).")
    export_output(t, "ClusterName", Ref(ecs_cluster), "ECS cluster name.")
    export_output(t, "NamespaceName", Ref(p.service_namespace), "Cloud Map private DNS namespace.")

    tag_everything(t, config.project, PROFILE)
    return t


def _parameters(t: Template, config: BuildConfig) -> FullParameters:
    network_mode = add_parameter(
        t,
        "NetworkMode",
        description="How private tasks reach AWS APIs and images: 'endpoints' (interface endpoints, no internet "
        "route; ECR images only), 'nat' (one NAT gateway), 'public' (public subnets with public IPs). "
        "See the cost report.",
        Default="endpoints",
        AllowedValues=["endpoints", "nat", "public"],
    )
    namespace = add_parameter(
        t,
        "ServiceNamespace",
        description="Cloud Map private DNS namespace; InfluxDB is influxdb.<namespace>.",
        Default="streamlines.internal",
        AllowedPattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$",
        ConstraintDescription="a DNS name such as streamlines.internal.",
    )
    image_tags = {service: pipeline.image_tag_parameter(t, service) for service in APP_SERVICES}
    backend_port = add_parameter(
        t,
        "BackendPort",
        description="Port the backend (GraphQL) container listens on (GRAPHQL_SERVER_PORT).",
        Type="Number",
        Default="3030",
        MinValue=1024,
        MaxValue=65535,
    )
    ingest = pipeline.ingest_parameters(t)
    dashboard_port = add_parameter(
        t,
        "DashboardPort",
        description="Port the dashboard container listens on (PORT; the image's own default is 3000).",
        Type="Number",
        Default="3000",
        MinValue=1024,
        MaxValue=65535,
    )
    allowed_cidr = add_parameter(
        t,
        "AllowedCidr",
        description="IPv4 CIDR allowed to reach the backend and dashboard ALBs (0.0.0.0/0 for a public dashboard).",
        Default="0.0.0.0/0",
        AllowedPattern=CIDR_PATTERN,
        ConstraintDescription="an IPv4 CIDR block such as 0.0.0.0/0 or 203.0.113.0/24.",
    )
    certificate = add_parameter(
        t,
        "CertificateArn",
        description="Regional ACM certificate ARN (this stack's region) for HTTPS on both ALBs and the WebSocket "
        "custom domain; it must cover BackendDomainName and DashboardDomainName (required with it). "
        "Empty serves plain HTTP.",
        Default="",
        AllowedPattern=CERTIFICATE_PATTERN,
        ConstraintDescription="empty, or an ACM certificate ARN in this stack's region.",
    )
    hosted_zone = add_parameter(
        t,
        "HostedZoneId",
        description="Route 53 hosted zone for the aliases below; empty for no DNS records.",
        Default="",
        AllowedPattern=HOSTED_ZONE_PATTERN,
        ConstraintDescription="empty, or a hosted zone ID such as Z0123456789ABCDEFGHIJ.",
    )
    domains = {
        name: add_parameter(
            t,
            name,
            description=f"DNS name of the {what}: an alias record is made in HostedZoneId when one is given; required "
            "with CertificateArn (except the WebSocket name). Empty for none.",
            Default="",
            AllowedPattern=DOMAIN_PATTERN,
            ConstraintDescription="empty, or a lowercase DNS name such as live.example.com.",
        )
        for name, what in (
            ("BackendDomainName", "backend ALB"),
            ("DashboardDomainName", "dashboard ALB"),
            ("WebSocketDomainName", "WebSocket API (needs CertificateArn)"),
        )
    }
    streams = stream_parameters(t)
    max_symbols = add_parameter(
        t,
        "MaxSymbolsPerConnection",
        description="Most symbols one WebSocket connection may subscribe to.",
        Type="Number",
        Default="50",
        MinValue=1,
        MaxValue=500,
    )
    log_retention = log_retention_parameter(t, config.log_retention_days)
    capacity, influxdb_capacity = capacity_parameters(t, "ingest, ripples, backend and dashboard")
    ecs_exec = add_parameter(
        t,
        "EcsExec",
        description="'enabled' allows ECS Exec sessions into the tasks (and, in endpoints mode, adds the ssmmessages "
        "endpoint it needs); 'disabled' removes both. Nothing in this stack needs it.",
        Default="disabled",
        AllowedValues=["enabled", "disabled"],
    )
    influx = influxdb_parameters(
        t,
        config,
        " In endpoints mode the tasks pull its tag from the foundations 'influxdb' ECR repository (make "
        "mirror-images).",
    )
    services = {}
    for name in APP_SERVICES:
        size = getattr(config, name.lower())
        cpu, memory = task_size_parameters(t, name, name.lower(), size.cpu, size.memory)
        services[name] = AppService(image_tags[name], TaskSize(cpu, memory))
    return FullParameters(
        network_mode=network_mode,
        service_namespace=namespace,
        backend_port=backend_port,
        dashboard_port=dashboard_port,
        allowed_cidr=allowed_cidr,
        certificate_arn=certificate,
        hosted_zone_id=hosted_zone,
        backend_domain=domains["BackendDomainName"],
        dashboard_domain=domains["DashboardDomainName"],
        websocket_domain=domains["WebSocketDomainName"],
        streams=streams,
        max_symbols=max_symbols,
        ingest=ingest,
        log_retention=log_retention,
        capacity=capacity,
        influxdb_capacity=influxdb_capacity,
        ecs_exec=ecs_exec,
        influx=influx,
        services=services,
    )


def _conditions(t: Template, p: FullParameters) -> None:
    def not_empty(parameter: Parameter) -> Any:
        return Not(Equals(Ref(parameter), ""))

    t.add_condition("IsEndpoints", Equals(Ref(p.network_mode), "endpoints"))
    t.add_condition("IsNat", Equals(Ref(p.network_mode), "nat"))
    t.add_condition("IsPublic", Equals(Ref(p.network_mode), "public"))
    t.add_condition(EXEC_CONDITION, Equals(Ref(p.ecs_exec), "enabled"))
    t.add_condition("IsEndpointsWithExec", And(Condition("IsEndpoints"), Condition(EXEC_CONDITION)))
    t.add_condition("HasCertificate", not_empty(p.certificate_arn))
    t.add_condition("HasHostedZone", not_empty(p.hosted_zone_id))
    t.add_condition("HasBackendDomain", not_empty(p.backend_domain))
    t.add_condition("HasDashboardDomain", not_empty(p.dashboard_domain))
    t.add_condition("BackendAlias", And(Condition("HasHostedZone"), not_empty(p.backend_domain)))
    t.add_condition("DashboardAlias", And(Condition("HasHostedZone"), not_empty(p.dashboard_domain)))
    t.add_condition(
        "WebSocketDomain", And(Condition("HasHostedZone"), Condition("HasCertificate"), not_empty(p.websocket_domain))
    )
    # No ACM certificate can cover the ALBs' own *.elb.amazonaws.com names: HTTPS
    # needs the operator's names, in the URLs, the dashboard's settings and the redirect.
    t.add_rule(
        "CertificateNeedsDomainNames",
        {
            "RuleCondition": {"Fn::Not": [{"Fn::Equals": [Ref(p.certificate_arn), ""]}]},
            "Assertions": [
                {
                    "Assert": {"Fn::Not": [{"Fn::Equals": [Ref(domain), ""]}]},
                    "AssertDescription": f"{domain.title} must be set when CertificateArn is: the certificate "
                    "must cover that name, since no certificate can cover the ALB's own name.",
                }
                for domain in (p.backend_domain, p.dashboard_domain)
            ],
        },
    )
