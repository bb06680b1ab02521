"""Stream Lines full: the whole platform (ingest, ripples, InfluxDB, backend and dashboard on ECS Fargate, Kinesis upstream and downstream streams, a WebSocket API with the connection-handler Lambda and the results-pusher Lambda on the results stream, ALBs and optional Route 53 aliases).

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

from typing import Any

from troposphere import And, Condition, Equals, GetAtt, If, Join, Not, Ref, Sub, Template
from troposphere import apigatewayv2, awslambda, ecs, kinesis, logs, route53, servicediscovery, sqs

from . import exports, policies
from .common import (
    FOUNDATIONS_PARAMETER,
    add_parameter,
    deleted_with_stack,
    export_output,
    foundations_parameter,
    import_value,
    log_retention_parameter,
    new_template,
    skip_checkov,
    tag_everything,
    task_size_parameters,
)
from .config import BuildConfig
from .fargate import Container, FargateService, Placement, SecretKey, fargate_service
from .functions import python_function
from .influxdb import INFLUXDB_PORT, influxdb_parameters, influxdb_service, mount_targets
from .lite import CERTIFICATE_PATTERN
from .loadbalancer import LoadBalancer, public_load_balancer, url
from .schedule import active_hours
from .tokens import influx_token_issuer
from .network import CIDR_PATTERN, add_private_subnets, admit_to_endpoints, allow_from_group, vpc_with_public_subnets

PROFILE = "full"
STAGE = "prod"
NO_VALUE = Ref("AWS::NoValue")
HOSTED_ZONE_PATTERN = r"^$|^Z[A-Z0-9]{1,31}$"
DOMAIN_PATTERN = r"^$|^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
TAG_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$"


def build(config: BuildConfig) -> Template:
    t = new_template(__doc__)
    foundations_parameter(t)
    p = _parameters(t, config)
    _conditions(t, p)

    network = vpc_with_public_subnets(t, config)
    endpoints = add_private_subnets(t, network, nat_condition="IsNat", endpoints_condition="IsEndpoints")
    private_or_public = If("IsPublic", network.public_subnet_ids, network.private_subnet_ids)
    public_ip = If("IsPublic", "ENABLED", "DISABLED")
    retention = Ref(p["LogRetentionDays"])

    cluster = t.add_resource(
        ecs.Cluster("Cluster", ClusterSettings=[ecs.ClusterSetting(Name="containerInsights", Value=Ref(p["ContainerInsights"]))])
    )
    skip_checkov(cluster, CKV_AWS_65="Container Insights is the ContainerInsights parameter, off by default for cost.")
    namespace = t.add_resource(
        servicediscovery.PrivateDnsNamespace(
            "Namespace", Name=Ref(p["ServiceNamespace"]), Vpc=Ref(network.vpc), Description="Service names inside the Stream Lines VPC"
        )
    )
    influx_registry = t.add_resource(
        servicediscovery.Service(
            "InfluxDbDiscoveryService",
            Name="influxdb",
            NamespaceId=GetAtt(namespace, "Id"),
            DnsConfig=servicediscovery.DnsConfig(DnsRecords=[servicediscovery.DnsRecord(Type="A", TTL=10)], RoutingPolicy="MULTIVALUE"),
            HealthCheckCustomConfig=servicediscovery.HealthCheckCustomConfig(FailureThreshold=1),
        )
    )
    influx_url = Sub("http://influxdb.${ServiceNamespace}:%d" % INFLUXDB_PORT)

    upstream, downstream = (_stream(t, name, p) for name in ("UpstreamStream", "DownstreamStream"))

    efs = mount_targets(t, network, network.private_subnet_ids)
    influx = p["influx"]
    influxdb = influxdb_service(
        t,
        config,
        influx,
        cluster=Ref(cluster),
        network=network,
        placement=Placement(
            subnets=private_or_public,
            assign_public_ip=public_ip,
            single_writer=True,
            depends_on=efs.mount_target_ids,
            registry_arn=GetAtt(influx_registry, "Arn"),
        ),
        log_retention=retention,
    )
    efs.admit(t, "InfluxDb", influxdb.security_group)
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

    def image(repository: str, tag_parameter: str) -> Any:
        return Join(":", [import_value(exports.repository_uri(repository)), Ref(p[tag_parameter])])

    def app_service(name: str, repository: str, container: Container, placement: Placement, statements: list) -> FargateService:
        return fargate_service(
            t,
            name,
            cluster=Ref(cluster),
            network=network,
            container=container,
            placement=placement,
            log_retention=retention,
            repository_arns=[import_value(exports.repository_arn(repository))],
            task_statements=statements,
            description=name,
        )

    ingest_cpu, ingest_memory = p["Ingest"]
    ingest = app_service(
        "Ingest",
        "ingest",
        Container(
            image=image("ingest", "IngestImageTag"),
            port=None,
            cpu=ingest_cpu,
            memory=ingest_memory,
            architecture=config.ingest.architecture,
            environment={"UPSTREAM_STREAM_NAME": Ref(upstream), "AWS_REGION": Ref("AWS::Region")},
            secrets={
                "MARKET_DATA_API_KEY": SecretKey(import_value(exports.MARKET_DATA_API_SECRET), "apiKey"),
                "MARKET_DATA_API_SECRET": SecretKey(import_value(exports.MARKET_DATA_API_SECRET), "apiSecret"),
            },
        ),
        # Ingest reads the market-data websocket on the internet: without a NAT
        # gateway it runs in a public subnet with a public IP (no inbound rule).
        Placement(
            subnets=If("IsNat", network.private_subnet_ids, network.public_subnet_ids),
            assign_public_ip=If("IsNat", "DISABLED", "ENABLED"),
        ),
        [policies.kinesis_write(GetAtt(upstream, "Arn"))],
    )

    ripples_cpu, ripples_memory = p["Ripples"]
    ripples = app_service(
        "Ripples",
        "ripples",
        Container(
            image=image("ripples", "RipplesImageTag"),
            port=None,
            cpu=ripples_cpu,
            memory=ripples_memory,
            architecture=config.ripples.architecture,
            environment={
                "UPSTREAM_STREAM_NAME": Ref(upstream),
                "DOWNSTREAM_STREAM_NAME": Ref(downstream),
                "AWS_REGION": Ref("AWS::Region"),
                "INFLUXDB_URL": influx_url,
                "INFLUXDB_ORG": Ref(influx.org),
                "INFLUXDB_BUCKET": Ref(influx.bucket),
                "CHECKPOINT_PATH": Sub("s3://${Bucket}/ripples/checkpoints", Bucket=import_value(exports.APP_BUCKET_NAME)),
            },
            secrets={"INFLUXDB_TOKEN": SecretKey(import_value(exports.INFLUXDB_WRITE_TOKEN_SECRET), "token")},
        ),
        Placement(subnets=private_or_public, assign_public_ip=public_ip, depends_on=[issuer.tokens.title]),
        [
            policies.kinesis_read(GetAtt(upstream, "Arn")),
            policies.kinesis_write(GetAtt(downstream, "Arn")),
            *policies.s3_prefix_read_write(import_value(exports.APP_BUCKET_ARN), "ripples"),
        ],
    )

    backend_lb = _public_alb(t, "Backend", network, p, port=Ref(p["BackendPort"]), health_path="/health")
    backend_cpu, backend_memory = p["Backend"]
    backend = app_service(
        "Backend",
        "backend",
        Container(
            image=image("backend", "BackendImageTag"),
            port=Ref(p["BackendPort"]),
            cpu=backend_cpu,
            memory=backend_memory,
            architecture=config.backend.architecture,
            environment={
                "PORT": Ref(p["BackendPort"]),
                "INFLUXDB_URL": influx_url,
                "INFLUXDB_ORG": Ref(influx.org),
                "INFLUXDB_BUCKET": Ref(influx.bucket),
            },
            secrets={"INFLUXDB_TOKEN": SecretKey(import_value(exports.INFLUXDB_READ_TOKEN_SECRET), "token")},
        ),
        Placement(
            subnets=private_or_public,
            assign_public_ip=public_ip,
            depends_on=[backend_lb.ready.title, issuer.tokens.title],
            target_group=Ref(backend_lb.target_group),
            grace_period=60,
        ),
        [],
    )

    websocket = _websocket_api(t, p, retention)
    dashboard_lb = _public_alb(t, "Dashboard", network, p, port=Ref(p["DashboardPort"]), health_path="/")
    dashboard_cpu, dashboard_memory = p["Dashboard"]
    dashboard = app_service(
        "Dashboard",
        "dashboard",
        Container(
            image=image("dashboard", "DashboardImageTag"),
            port=Ref(p["DashboardPort"]),
            cpu=dashboard_cpu,
            memory=dashboard_memory,
            architecture=config.dashboard.architecture,
            environment={
                "PORT": Ref(p["DashboardPort"]),
                "BACKEND_URL": _public_url(backend_lb, "BackendAlias", p["BackendDomainName"]),
                "WEBSOCKET_URL": websocket["url"],
            },
        ),
        Placement(
            subnets=private_or_public,
            assign_public_ip=public_ip,
            depends_on=[dashboard_lb.ready.title],
            target_group=Ref(dashboard_lb.target_group),
            grace_period=60,
        ),
        [],
    )

    # Who may talk to whom: InfluxDB only from ripples and backend, apps only from their ALB.
    allow_from_group(t, "InfluxDbFromRipples", influxdb.security_group, ripples.security_group, INFLUXDB_PORT, "InfluxDB writes from ripples")
    allow_from_group(t, "InfluxDbFromBackend", influxdb.security_group, backend.security_group, INFLUXDB_PORT, "InfluxDB reads from backend")
    allow_from_group(t, "InfluxDbFromTokenAgent", influxdb.security_group, issuer.agent_security_group, INFLUXDB_PORT, "InfluxDB API from the token agent")
    allow_from_group(t, "BackendFromLoadBalancer", backend.security_group, backend_lb.security_group, Ref(p["BackendPort"]), "Backend from its ALB")
    allow_from_group(t, "DashboardFromLoadBalancer", dashboard.security_group, dashboard_lb.security_group, Ref(p["DashboardPort"]), "Dashboard from its ALB")
    for name, service in (("InfluxDb", influxdb), ("Ingest", ingest), ("Ripples", ripples), ("Backend", backend), ("Dashboard", dashboard)):
        admit_to_endpoints(t, name, endpoints, service.security_group, "IsEndpoints")

    _results_pusher(t, p, downstream, websocket, retention)
    active_hours(t, cluster, [influxdb.service, ingest.service, ripples.service, backend.service, dashboard.service])
    _aliases(t, p, backend_lb, dashboard_lb)

    export_output(t, "StackProfile", PROFILE, "Profile of this stack.")
    export_output(t, "FoundationsStack", Ref(FOUNDATIONS_PARAMETER), "Name of the foundations stack this stack imports from.")
    export_output(t, "DashboardUrl", _public_url(dashboard_lb, "DashboardAlias", p["DashboardDomainName"]), "Dashboard URL.")
    export_output(t, "BackendUrl", _public_url(backend_lb, "BackendAlias", p["BackendDomainName"]), "Backend (GraphQL) URL.")
    export_output(t, "WebSocketUrl", websocket["url"], "WebSocket URL the dashboard subscribes to (custom domain when one is set).")
    export_output(t, "WebSocketApiId", Ref(websocket["api"]), "ID of the WebSocket API.")
    export_output(t, "UpstreamStreamName", Ref(upstream), "Kinesis stream ingest writes market data to.")
    export_output(t, "DownstreamStreamName", Ref(downstream), "Kinesis stream ripples writes results to.")
    export_output(t, "InfluxDbUrl", influx_url, "InfluxDB URL inside the VPC (Cloud Map name).")
    export_output(t, "InfluxDbOrg", Ref(influx.org), "InfluxDB organization.")
    export_output(t, "InfluxDbBucket", Ref(influx.bucket), "InfluxDB bucket ripples writes to.")
    export_output(t, "VpcId", Ref(network.vpc), "VPC of this stack (its EFS mount targets must be in it).")
    export_output(t, "ClusterName", Ref(cluster), "ECS cluster name.")
    export_output(t, "NamespaceName", Ref(p["ServiceNamespace"]), "Cloud Map private DNS namespace.")

    tag_everything(t, config.project, PROFILE)
    return t


def _parameters(t: Template, config: BuildConfig) -> dict[str, Any]:
    p: dict[str, Any] = {}

    def parameter(name: str, **kwargs: Any) -> None:
        p[name] = add_parameter(t, name, **kwargs)

    parameter(
        "NetworkMode",
        description="How private tasks reach AWS APIs and images: 'endpoints' (interface endpoints, no internet route; ECR images only), 'nat' (one NAT gateway), 'public' (public subnets with public IPs). See the cost report.",
        Default="endpoints",
        AllowedValues=["endpoints", "nat", "public"],
    )
    parameter(
        "ServiceNamespace",
        description="Cloud Map private DNS namespace; InfluxDB is influxdb.<namespace>.",
        Default="streamlines.internal",
        AllowedPattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$",
        ConstraintDescription="a DNS name such as streamlines.internal.",
    )
    for service in ("Ingest", "Ripples", "Backend", "Dashboard"):
        parameter(
            f"{service}ImageTag",
            description=f"Tag of the {service.lower()} image in the foundations '{service.lower()}' ECR repository (tags there are immutable).",
            AllowedPattern=TAG_PATTERN,
            ConstraintDescription="an image tag: letters, digits, '.', '_' and '-'.",
        )
    parameter("BackendPort", description="Port the backend container listens on.", Type="Number", Default="4000", MinValue=1024, MaxValue=65535)
    parameter("DashboardPort", description="Port the dashboard container listens on.", Type="Number", Default="8080", MinValue=1024, MaxValue=65535)
    parameter(
        "AllowedCidr",
        description="IPv4 CIDR allowed to reach the backend and dashboard ALBs (0.0.0.0/0 for a public dashboard).",
        Default="0.0.0.0/0",
        AllowedPattern=CIDR_PATTERN,
        ConstraintDescription="an IPv4 CIDR block such as 0.0.0.0/0 or 203.0.113.0/24.",
    )
    parameter(
        "CertificateArn",
        description="Regional ACM certificate ARN (this stack's region) for HTTPS on both ALBs and the WebSocket custom domain; empty serves plain HTTP.",
        Default="",
        AllowedPattern=CERTIFICATE_PATTERN,
        ConstraintDescription="empty, or an ACM certificate ARN in this stack's region.",
    )
    parameter(
        "HostedZoneId",
        description="Route 53 hosted zone for the aliases below; empty for no DNS records.",
        Default="",
        AllowedPattern=HOSTED_ZONE_PATTERN,
        ConstraintDescription="empty, or a hosted zone ID such as Z0123456789ABCDEFGHIJ.",
    )
    for name, what in (("BackendDomainName", "backend ALB"), ("DashboardDomainName", "dashboard ALB"), ("WebSocketDomainName", "WebSocket API (needs CertificateArn)")):
        parameter(
            name,
            description=f"DNS name in HostedZoneId for the {what}; empty for none.",
            Default="",
            AllowedPattern=DOMAIN_PATTERN,
            ConstraintDescription="empty, or a lowercase DNS name such as live.example.com.",
        )
    parameter(
        "StreamMode",
        description="Kinesis capacity mode of both streams: PROVISIONED (ShardCount shards each) or ON_DEMAND.",
        Default="PROVISIONED",
        AllowedValues=["PROVISIONED", "ON_DEMAND"],
    )
    parameter("ShardCount", description="Shards per stream in PROVISIONED mode.", Type="Number", Default="1", MinValue=1, MaxValue=64)
    parameter("StreamRetentionHours", description="Hours each stream keeps records (24 is the cheapest).", Type="Number", Default="24", MinValue=24, MaxValue=8760)
    parameter(
        "MaxSymbolsPerConnection",
        description="Most symbols one WebSocket connection may subscribe to.",
        Type="Number",
        Default="50",
        MinValue=1,
        MaxValue=500,
    )
    parameter(
        "ContainerInsights",
        description="CloudWatch Container Insights for the cluster (extra metrics, extra cost).",
        Default="disabled",
        AllowedValues=["enabled", "disabled"],
    )
    p["LogRetentionDays"] = log_retention_parameter(t, config.log_retention_days)
    p["influx"] = influxdb_parameters(t, config)
    for name in ("Ingest", "Ripples", "Backend", "Dashboard"):
        size = getattr(config, name.lower())
        p[name] = task_size_parameters(t, name, name.lower(), size.cpu, size.memory)
    return p


def _conditions(t: Template, p: dict[str, Any]) -> None:
    def not_empty(name: str) -> Any:
        return Not(Equals(Ref(p[name]), ""))

    t.add_condition("IsEndpoints", Equals(Ref(p["NetworkMode"]), "endpoints"))
    t.add_condition("IsNat", Equals(Ref(p["NetworkMode"]), "nat"))
    t.add_condition("IsPublic", Equals(Ref(p["NetworkMode"]), "public"))
    t.add_condition("IsOnDemand", Equals(Ref(p["StreamMode"]), "ON_DEMAND"))
    t.add_condition("HasCertificate", not_empty("CertificateArn"))
    t.add_condition("HasHostedZone", not_empty("HostedZoneId"))
    t.add_condition("BackendAlias", And(Condition("HasHostedZone"), not_empty("BackendDomainName")))
    t.add_condition("DashboardAlias", And(Condition("HasHostedZone"), not_empty("DashboardDomainName")))
    t.add_condition("WebSocketDomain", And(Condition("HasHostedZone"), Condition("HasCertificate"), not_empty("WebSocketDomainName")))


def _stream(t: Template, name: str, p: dict[str, Any]) -> kinesis.Stream:
    return t.add_resource(
        deleted_with_stack(kinesis.Stream(
            name,
            StreamModeDetails=kinesis.StreamModeDetails(StreamMode=Ref(p["StreamMode"])),
            ShardCount=If("IsOnDemand", NO_VALUE, Ref(p["ShardCount"])),
            RetentionPeriodHours=Ref(p["StreamRetentionHours"]),
            StreamEncryption=kinesis.StreamEncryption(EncryptionType="KMS", KeyId="alias/aws/kinesis"),
        ))
    )


def _public_alb(t: Template, name: str, network: Any, p: dict[str, Any], *, port: Any, health_path: str) -> LoadBalancer:
    return public_load_balancer(
        t,
        name,
        network,
        port=port,
        health_path=health_path,
        allowed_cidr=Ref(p["AllowedCidr"]),
        certificate_arn=Ref(p["CertificateArn"]),
        has_certificate="HasCertificate",
    )


def _public_url(balancer: LoadBalancer, alias_condition: str, domain: Any) -> Any:
    alias = If("HasCertificate", Sub("https://${%s}" % domain.title), Sub("http://${%s}" % domain.title))
    return If(alias_condition, alias, url(balancer.load_balancer, "HasCertificate"))


def _websocket_api(t: Template, p: dict[str, Any], retention: Any) -> dict[str, Any]:
    api = t.add_resource(
        apigatewayv2.Api(
            "WebSocketApi",
            Name=Sub("${AWS::StackName}-live"),
            ProtocolType="WEBSOCKET",
            RouteSelectionExpression="$request.body.action",
            Description="Live results for the dashboard: subscribe with {\"subscribeTo\": [symbols]}",
        )
    )
    handler = python_function(
        t,
        "ConnectionHandler",
        folder="websocket_connection_handler",
        handler="connection_handler.handler",
        description="WebSocket $connect, $disconnect and subscriptions",
        environment={
            "CONNECTIONS_TABLE": import_value(exports.CONNECTIONS_TABLE_NAME),
            "MAX_SYMBOLS_PER_CONNECTION": Ref(p["MaxSymbolsPerConnection"]),
        },
        statements=[
            policies.connections_table_access(import_value(exports.CONNECTIONS_TABLE_ARN)),
            policies.manage_connections(Ref(api), STAGE),
        ],
        log_retention=retention,
        timeout=10,
    )
    integration = t.add_resource(
        apigatewayv2.Integration(
            "ConnectionHandlerIntegration",
            ApiId=Ref(api),
            IntegrationType="AWS_PROXY",
            IntegrationUri=Sub(
                "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${FunctionArn}/invocations",
                FunctionArn=GetAtt(handler.function, "Arn"),
            ),
        )
    )
    routes = []
    for route_key, logical_id in (("$connect", "ConnectRoute"), ("$disconnect", "DisconnectRoute"), ("$default", "DefaultRoute")):
        route = t.add_resource(
            apigatewayv2.Route(
                logical_id,
                ApiId=Ref(api),
                RouteKey=route_key,
                AuthorizationType="NONE",
                Target=Join("/", ["integrations", Ref(integration)]),
            )
        )
        routes.append(route.title)
    t.add_resource(
        awslambda.Permission(
            "ConnectionHandlerInvokePermission",
            Action="lambda:InvokeFunction",
            FunctionName=Ref(handler.function),
            Principal="apigateway.amazonaws.com",
            SourceArn=Sub("arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${WebSocketApi}/*"),
        )
    )
    access_logs = t.add_resource(deleted_with_stack(logs.LogGroup("WebSocketAccessLogGroup", RetentionInDays=retention)))
    skip_checkov(access_logs, CKV_AWS_158="Access logs are encrypted with the CloudWatch Logs service key.")
    stage = t.add_resource(
        apigatewayv2.Stage(
            "WebSocketStage",
            DependsOn=routes,
            ApiId=Ref(api),
            StageName=STAGE,
            AutoDeploy=True,
            Description="The stage the dashboard connects to",
            DefaultRouteSettings=apigatewayv2.RouteSettings(ThrottlingBurstLimit=500, ThrottlingRateLimit=1000),
            AccessLogSettings=apigatewayv2.AccessLogSettings(
                DestinationArn=GetAtt(access_logs, "Arn"),
                Format='{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","routeKey":"$context.routeKey","status":"$context.status","connectionId":"$context.connectionId","eventType":"$context.eventType","error":"$context.error.message","integrationError":"$context.integrationErrorMessage"}',
            ),
        )
    )
    domain = t.add_resource(
        apigatewayv2.DomainName(
            "WebSocketDomain",
            Condition="WebSocketDomain",
            DomainName=Ref(p["WebSocketDomainName"]),
            DomainNameConfigurations=[
                apigatewayv2.DomainNameConfiguration(CertificateArn=Ref(p["CertificateArn"]), EndpointType="REGIONAL", SecurityPolicy="TLS_1_2")
            ],
        )
    )
    t.add_resource(
        apigatewayv2.ApiMapping(
            "WebSocketApiMapping",
            Condition="WebSocketDomain",
            DependsOn=[stage.title],
            ApiId=Ref(api),
            DomainName=Ref(domain),
            Stage=STAGE,
        )
    )
    t.add_resource(
        route53.RecordSetType(
            "WebSocketAliasRecord",
            Condition="WebSocketDomain",
            HostedZoneId=Ref(p["HostedZoneId"]),
            Name=Ref(p["WebSocketDomainName"]),
            Type="A",
            AliasTarget=route53.AliasTarget(
                DNSName=GetAtt(domain, "RegionalDomainName"), HostedZoneId=GetAtt(domain, "RegionalHostedZoneId"), EvaluateTargetHealth=False
            ),
        )
    )
    websocket_url = If(
        "WebSocketDomain",
        Sub("wss://${WebSocketDomainName}"),
        Sub("wss://${WebSocketApi}.execute-api.${AWS::Region}.amazonaws.com/" + STAGE),
    )
    return {"api": api, "stage": stage, "url": websocket_url}


def _results_pusher(t: Template, p: dict[str, Any], downstream: kinesis.Stream, websocket: dict[str, Any], retention: Any) -> None:
    failures = t.add_resource(
        deleted_with_stack(sqs.Queue("FailedDeliveriesQueue", MessageRetentionPeriod=1209600, SqsManagedSseEnabled=True))
    )
    skip_checkov(failures, CKV_AWS_27="Encrypted at rest with SSE-SQS (SqsManagedSseEnabled); the check only recognises a KMS key.")
    pusher = python_function(
        t,
        "ResultsPusher",
        folder="results_stream_pusher",
        handler="results_pusher.handler",
        description="Pushes the results stream to subscribed WebSocket clients",
        environment={
            "CONNECTIONS_TABLE": import_value(exports.CONNECTIONS_TABLE_NAME),
            "WEBSOCKET_ENDPOINT": Sub("https://${WebSocketApi}.execute-api.${AWS::Region}.amazonaws.com/" + STAGE),
        },
        statements=[
            policies.connections_table_access(import_value(exports.CONNECTIONS_TABLE_ARN)),
            policies.manage_connections(Ref(websocket["api"]), STAGE),
            policies.kinesis_read(GetAtt(downstream, "Arn")),
            policies.send_to_queue(GetAtt(failures, "Arn")),
        ],
        log_retention=retention,
        timeout=120,
        memory=512,
    )
    t.add_resource(
        awslambda.EventSourceMapping(
            "ResultsPusherEventSource",
            EventSourceArn=GetAtt(downstream, "Arn"),
            FunctionName=Ref(pusher.function),
            StartingPosition="LATEST",
            BatchSize=50,
            MaximumBatchingWindowInSeconds=15,
            FunctionResponseTypes=["ReportBatchItemFailures"],
            MaximumRetryAttempts=3,
            BisectBatchOnFunctionError=True,
            MaximumRecordAgeInSeconds=3600,
            DestinationConfig=awslambda.DestinationConfig(OnFailure=awslambda.OnFailure(Destination=GetAtt(failures, "Arn"))),
        )
    )
    export_output(t, "FailedDeliveriesQueueUrl", Ref(failures), "SQS queue that receives batches the results pusher could not deliver.")


def _aliases(t: Template, p: dict[str, Any], backend: LoadBalancer, dashboard: LoadBalancer) -> None:
    for name, balancer, condition in (("Backend", backend, "BackendAlias"), ("Dashboard", dashboard, "DashboardAlias")):
        t.add_resource(
            route53.RecordSetType(
                f"{name}AliasRecord",
                Condition=condition,
                HostedZoneId=Ref(p["HostedZoneId"]),
                Name=Ref(p[f"{name}DomainName"]),
                Type="A",
                AliasTarget=route53.AliasTarget(
                    DNSName=GetAtt(balancer.load_balancer, "DNSName"),
                    HostedZoneId=GetAtt(balancer.load_balancer, "CanonicalHostedZoneID"),
                    EvaluateTargetHealth=True,
                ),
            )
        )
