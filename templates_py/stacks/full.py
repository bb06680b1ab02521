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

from dataclasses import dataclass, field
from typing import Any, Callable

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
    ecs,
    servicediscovery,
)

from .. import exports, model
from ..blocks.alarms import alarm_notifications, service_alarm, stream_throttled
from ..blocks.efs import mount_targets
from ..blocks.fargate import (
    Container,
    FargateService,
    Placement,
    capacity_parameters,
    cluster,
    fargate_service,
)
from ..blocks.load_balancers import LoadBalancer, Route, alias_record, host_routed_load_balancer, routed_url
from ..blocks.network import (
    CIDR_PATTERN,
    Endpoints,
    Network,
    add_private_subnets,
    admit_to_endpoints,
    vpc_with_public_subnets,
)
from ..blocks.parameters import (
    CERTIFICATE_PATTERN,
    DOMAIN_PATTERN,
    FOUNDATIONS_PARAMETER,
    HOSTED_ZONE_PATTERN,
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
from ..components import pipeline, web
from ..components.influxdb import INFLUXDB_PORT, InfluxParameters, influxdb_parameters, influxdb_service
from ..components.pipeline import ContainerSettings
from ..components.results_pusher import results_pusher
from ..components.streams import StreamParameters, stream, stream_parameters
from ..components.token_issuer import TokenIssuer, influx_token_issuer
from ..components.websocket_api import WebSocketApi, websocket_api
from ..config import BuildConfig

PROFILE = "full"


def application_services() -> tuple[model.Service, ...]:
    """The application images full runs (contracts/services.toml): an image tag, a task
    size, container settings (SETTINGS) and a placement each."""
    return tuple(spec for spec in model.manifest(PROFILE).services if spec.contract)


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


@dataclass
class Base:
    """What every part of full is placed in: the template, its parameters, the
    network, the cluster, the streams and InfluxDB's address."""

    t: Template
    config: BuildConfig
    p: FullParameters
    network: Network
    endpoints: Endpoints
    cluster: ecs.Cluster
    influx_registry: servicediscovery.Service
    upstream: Any
    downstream: Any
    influx_url: Any = field(default_factory=lambda: Sub("http://influxdb.${ServiceNamespace}:%d" % INFLUXDB_PORT))

    @property
    def retention(self) -> Ref:
        return Ref(self.p.log_retention)

    def placement(self, spec: model.Service, **settings: Any) -> Placement:
        """Private subnets (public ones in `public` mode), its capacity, how it deploys."""
        settings.setdefault("subnets", If("IsPublic", self.network.public_subnet_ids, self.network.private_subnet_ids))
        settings.setdefault("assign_public_ip", If("IsPublic", "ENABLED", "DISABLED"))
        capacity = self.p.capacity if spec.spot_tolerant else self.p.influxdb_capacity
        return Placement(single_writer=spec.single_writer, capacity=capacity, **settings)


def build(config: BuildConfig) -> Template:
    t = new_template(__doc__)
    foundations_parameter(t)
    p = _parameters(t, config)
    _conditions(t, p)
    base = _base(t, config, p)
    influxdb, issuer = _influxdb(base)
    routes = _load_balancer(base)
    services = {model.INFLUXDB.name: influxdb, **_application_services(base, issuer, routes)}
    websocket = websocket_api(
        t,
        max_symbols=Ref(p.max_symbols),
        certificate_arn=Ref(p.certificate_arn),
        hosted_zone_id=Ref(p.hosted_zone_id),
        domain_name=Ref(p.websocket_domain),
        log_retention=base.retention,
    )
    _who_talks_to_whom(base, services, issuer, routes)
    _monitoring(base, services, routes, websocket)
    for route, condition in ((routes.backend, "BackendAlias"), (routes.dashboard, "DashboardAlias")):
        alias_record(
            t, f"{route.name}AliasRecord", condition, Ref(p.hosted_zone_id), route.domain, routes.balancer.load_balancer
        )
    _outputs(base, routes, websocket)
    tag_everything(t, config.project, PROFILE)
    return t


def _base(t: Template, config: BuildConfig, p: FullParameters) -> Base:
    network = vpc_with_public_subnets(t, config)
    # The ssmmessages endpoint serves ECS Exec only: there only when exec is on.
    endpoints = add_private_subnets(
        t,
        network,
        nat_condition="IsNat",
        endpoints_condition="IsEndpoints",
        endpoint_conditions={"SsmMessages": "IsEndpointsWithExec"},
    )
    ecs_cluster = cluster(t, "Container Insights is the ContainerInsights parameter, off by default for cost.")
    namespace = t.add_resource(
        servicediscovery.PrivateDnsNamespace(
            "Namespace",
            Name=Ref(p.service_namespace),
            Vpc=Ref(network.vpc),
            Description="Service names inside the Stream Lines VPC",
        )
    )
    registry = t.add_resource(
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
    upstream, downstream = (stream(t, name, p.streams) for name in ("UpstreamStream", "DownstreamStream"))
    return Base(t, config, p, network, endpoints, ecs_cluster, registry, upstream, downstream)


def _influxdb(base: Base) -> tuple[FargateService, TokenIssuer]:
    """InfluxDB on the foundations EFS, named in Cloud Map, and the token issuer beside it."""
    t, influx, network = base.t, base.p.influx, base.network
    efs = mount_targets(t, network, network.private_subnet_ids)
    influxdb = influxdb_service(
        t,
        base.config,
        influx,
        cluster=Ref(base.cluster),
        network=network,
        placement=base.placement(
            model.INFLUXDB, depends_on=efs.mount_target_ids, registry_arn=GetAtt(base.influx_registry, "Arn")
        ),
        log_retention=base.retention,
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
    efs.admit(t, model.INFLUXDB.name, influxdb)
    issuer = influx_token_issuer(
        t,
        network,
        subnets=network.private_subnet_ids,
        influx_url=base.influx_url,
        org=Ref(influx.org),
        bucket=Ref(influx.bucket),
        log_retention=base.retention,
        after=[influxdb.service.title],
    )
    return influxdb, issuer


@dataclass
class Routes:
    """One internet-facing ALB for backend and dashboard, and the route to each."""

    backend: Route
    dashboard: Route
    by_service: dict[str, LoadBalancer]

    @property
    def balancer(self) -> LoadBalancer:
        return self.by_service[model.BACKEND.name]


def _load_balancer(base: Base) -> Routes:
    """The dashboard by default, the backend by its domain name (or, without one,
    on its own listener port)."""
    p = base.p
    dashboard = Route(
        model.DASHBOARD.name,
        Ref(p.dashboard_port),
        model.DASHBOARD.health_path,
        Ref(p.dashboard_domain),
        "HasDashboardDomain",
    )
    backend = Route(
        model.BACKEND.name,
        Ref(p.backend_port),
        model.BACKEND.health_path,
        Ref(p.backend_domain),
        "HasBackendDomain",
        own_port=BACKEND_LISTENER_PORT,
    )
    by_service = host_routed_load_balancer(
        base.t,
        "Public",
        base.network,
        allowed_cidr=Ref(p.allowed_cidr),
        certificate_arn=Ref(p.certificate_arn),
        has_certificate="HasCertificate",
        default=dashboard,
        by_host=[backend],
    )
    return Routes(backend, dashboard, by_service)


# What each application container gets (environment, secrets) and its task may do,
# as contracts/services.toml says its image expects.
SETTINGS: dict[str, Callable[[Base], ContainerSettings]] = {
    model.INGEST.name: lambda base: pipeline.ingest(base.p.ingest, base.upstream),
    model.RIPPLES.name: lambda base: pipeline.ripples(
        base.upstream, base.downstream, base.influx_url, Ref(base.p.influx.org), Ref(base.p.influx.bucket)
    ),
    model.BACKEND.name: lambda base: web.backend(
        Ref(base.p.backend_port), base.influx_url, Ref(base.p.influx.org), Ref(base.p.influx.bucket)
    ),
    model.DASHBOARD.name: lambda base: web.dashboard(Ref(base.p.dashboard_port)),
}


def _application_services(base: Base, issuer: TokenIssuer, routes: Routes) -> dict[str, FargateService]:
    """The application services, as contracts/services.toml says each image
    expects (tests/templates/test_service_contract.py holds each task definition to it)."""
    p, network = base.p, base.network
    tokens = issuer.tokens.title
    web_port = {model.BACKEND.name: p.backend_port, model.DASHBOARD.name: p.dashboard_port}
    placements = {
        # Ingest reads the market-data websocket on the internet: without a NAT
        # gateway it runs in a public subnet with a public IP (no inbound rule).
        model.INGEST: base.placement(
            model.INGEST,
            subnets=If("IsNat", network.private_subnet_ids, network.public_subnet_ids),
            assign_public_ip=If("IsNat", "DISABLED", "ENABLED"),
        ),
        model.RIPPLES: base.placement(model.RIPPLES, depends_on=[tokens]),
        **{
            spec: base.placement(
                spec,
                depends_on=[routes.by_service[spec.name].ready.title, *([tokens] if spec is model.BACKEND else [])],
                target_group=Ref(routes.by_service[spec.name].target_group),
                grace_period=60,
            )
            for spec in (model.BACKEND, model.DASHBOARD)
        },
    }
    made = {}
    for spec in application_services():
        container_settings = SETTINGS[spec.name](base)
        chosen = p.services[spec.name]
        port = Ref(web_port[spec.name]) if spec.name in web_port else None
        made[spec.name] = fargate_service(
            base.t,
            spec.name,
            cluster=Ref(base.cluster),
            network=network,
            container=Container(
                image=Join(":", [import_value(exports.repository_uri(spec.repository)), Ref(chosen.image_tag)]),
                port=port,
                cpu=chosen.size.cpu,
                memory=chosen.size.memory,
                architecture=getattr(base.config, spec.container).architecture,
                environment=container_settings.environment,
                secrets=container_settings.secrets,
            ),
            placement=placements[spec] if spec in placements else base.placement(spec),
            log_retention=base.retention,
            repository_arns=[import_value(exports.repository_arn(spec.repository))],
            task_statements=container_settings.statements,
            description=spec.name,
            exec_condition=EXEC_CONDITION,
        )
    return made


def _who_talks_to_whom(base: Base, services: dict[str, FargateService], issuer: TokenIssuer, routes: Routes) -> None:
    """InfluxDB only from ripples, backend and the token agent; the web services
    only from their ALB; in endpoints mode every service to the endpoints."""
    t = base.t
    influxdb = services[model.INFLUXDB.name]
    for source, what in (
        (model.RIPPLES, "InfluxDB writes from ripples"),
        (model.BACKEND, "InfluxDB reads from backend"),
    ):
        influxdb.allow_from(t, source.name, services[source.name].security_group, INFLUXDB_PORT, what)
    agent_rule = influxdb.allow_from(
        t, "TokenAgent", issuer.agent_security_group, INFLUXDB_PORT, "InfluxDB API from the token agent"
    )
    # The agent's first request must not be refused: the tokens wait for the rule.
    wait_for(issuer.tokens, agent_rule.title)
    for spec, port in ((model.BACKEND, base.p.backend_port), (model.DASHBOARD, base.p.dashboard_port)):
        routes.by_service[spec.name].admit(
            t,
            f"{spec.name}FromLoadBalancer",
            services[spec.name].security_group,
            Ref(port),
            f"{spec.name} from the ALB",
        )
    for name, service in services.items():
        admit_to_endpoints(t, name, base.endpoints, service.security_group)
    # In endpoints mode every task's first image pull, secret fetch and log write
    # goes through the endpoints: every service waits for them (ingest too, in a
    # public subnet with its own route, so the rule holds whatever the mode).
    ready = base.endpoints.ready(t)
    for service in services.values():
        wait_for(service.service, ready.title)


def _monitoring(base: Base, services: dict[str, FargateService], routes: Routes, websocket: WebSocketApi) -> None:
    """An alarm per service on its best signal, the streams, ingest's output, the
    results pusher (with its event source), and the active-hours schedules."""
    t = base.t
    alarms = alarm_notifications(t)
    specs = model.manifest(PROFILE).services
    for spec in specs:
        service, balancer = services[spec.name], routes.by_service.get(spec.name)
        service_alarm(t, alarms, spec.description, service.service, Ref(base.cluster), balancer, scaled=True)
    stream_throttled(t, alarms, "UpstreamThrottled", base.upstream, "ingest")
    stream_throttled(t, alarms, "DownstreamThrottled", base.downstream, "ripples")
    pipeline.ingest_not_writing(t, alarms, base.upstream)
    results_pusher(t, base.downstream, websocket, base.retention, alarms)
    active_hours(t, base.cluster, [services[spec.name].service for spec in specs], alarms)


def _outputs(base: Base, routes: Routes, websocket: WebSocketApi) -> None:
    t, p, influx = base.t, base.p, base.p.influx
    balancer = routes.balancer.load_balancer
    backend_url = routed_url(routes.backend, balancer, "HasCertificate")
    outputs = (
        ("StackProfile", PROFILE, "Profile of this stack."),
        ("FoundationsStack", Ref(FOUNDATIONS_PARAMETER), "Name of the foundations stack this stack imports from."),
        ("DashboardUrl", routed_url(routes.dashboard, balancer, "HasCertificate"), "Dashboard URL."),
        (
            "BackendUrl",
            backend_url,
            f"Backend (GraphQL) URL: its domain name, or the ALB's name on port {BACKEND_LISTENER_PORT}.",
        ),
        ("WebSocketUrl", websocket.url, "WebSocket URL the dashboard subscribes to (custom domain when one is set)."),
        ("WebSocketApiId", Ref(websocket.api), "ID of the WebSocket API."),
        ("UpstreamStreamName", Ref(base.upstream), "Kinesis stream ingest writes market data to."),
        ("DownstreamStreamName", Ref(base.downstream), "Kinesis stream ripples writes results to."),
        ("InfluxDbUrl", base.influx_url, "InfluxDB URL inside the VPC (Cloud Map name)."),
        ("InfluxDbOrg", Ref(influx.org), "InfluxDB organization."),
        ("InfluxDbBucket", Ref(influx.bucket), "InfluxDB bucket ripples writes to."),
        ("VpcId", Ref(base.network.vpc), "VPC of this stack (its EFS mount targets must be in it)."),
        ("ClusterName", Ref(base.cluster), "ECS cluster name."),
        ("NamespaceName", Ref(p.service_namespace), "Cloud Map private DNS namespace."),
    )
    for name, value, description in outputs:
        export_output(t, name, value, description)


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
    image_tags = {spec.name: pipeline.image_tag_parameter(t, spec.name) for spec in application_services()}
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
    for name in image_tags:
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
    def has_value(parameter: Parameter) -> Any:
        return Not(Equals(Ref(parameter), ""))

    t.add_condition("IsEndpoints", Equals(Ref(p.network_mode), "endpoints"))
    t.add_condition("IsNat", Equals(Ref(p.network_mode), "nat"))
    t.add_condition("IsPublic", Equals(Ref(p.network_mode), "public"))
    t.add_condition(EXEC_CONDITION, Equals(Ref(p.ecs_exec), "enabled"))
    t.add_condition("IsEndpointsWithExec", And(Condition("IsEndpoints"), Condition(EXEC_CONDITION)))
    t.add_condition("HasCertificate", has_value(p.certificate_arn))
    t.add_condition("HasHostedZone", has_value(p.hosted_zone_id))
    t.add_condition("HasBackendDomain", has_value(p.backend_domain))
    t.add_condition("HasDashboardDomain", has_value(p.dashboard_domain))
    t.add_condition("BackendAlias", And(Condition("HasHostedZone"), has_value(p.backend_domain)))
    t.add_condition("DashboardAlias", And(Condition("HasHostedZone"), has_value(p.dashboard_domain)))
    t.add_condition(
        "WebSocketDomain", And(Condition("HasHostedZone"), Condition("HasCertificate"), has_value(p.websocket_domain))
    )
    # No ACM certificate can cover the ALBs' own *.elb.amazonaws.com names: HTTPS
    # needs the operator's names, in the URLs, the dashboard's settings and the redirect.
    require(
        t,
        "CertificateNeedsDomainNames",
        not_empty(p.certificate_arn),
        [
            (
                domain,
                f"{domain.title} must be set when CertificateArn is: the certificate must cover that name, since no "
                "certificate can cover the ALB's own name.",
            )
            for domain in (p.backend_domain, p.dashboard_domain)
        ],
    )
