"""What the full profile must hold beyond the shared invariants."""

from __future__ import annotations

import pytest

from ..walk import as_list, exists, grants, resolve, resources
from .branches import FULL_REQUIRED

ECS_EXEC = {
    ("ssmmessages:CreateControlChannel", "*"),
    ("ssmmessages:CreateDataChannel", "*"),
    ("ssmmessages:OpenControlChannel", "*"),
    ("ssmmessages:OpenDataChannel", "*"),
}
# ingest calls DescribeStream on the upstream stream at start (contracts/services.toml).
STREAM_WRITE = (
    "kinesis:PutRecord",
    "kinesis:PutRecords",
    "kinesis:DescribeStream",
    "kinesis:DescribeStreamSummary",
    "kinesis:ListShards",
)
# No SubscribeToShard: its only resource type is a stream consumer (enhanced fan-out), unused here.
STREAM_READ = (
    "kinesis:DescribeStream",
    "kinesis:DescribeStreamSummary",
    "kinesis:GetRecords",
    "kinesis:GetShardIterator",
    "kinesis:ListShards",
)


def stream_arn(name: str) -> str:
    return '{"Fn::GetAtt": ["%s", "Arn"]}' % name


def test_ingest_writes_the_upstream_stream_only(templates):
    expected = {(action, stream_arn("UpstreamStream")) for action in STREAM_WRITE}
    assert grants(templates["full"], "IngestTaskRole") == expected


def test_ripples_reads_upstream_writes_downstream_and_its_checkpoints(templates):
    actual = grants(templates["full"], "RipplesTaskRole")
    expected_streams = {(a, stream_arn("UpstreamStream")) for a in STREAM_READ} | {
        (a, stream_arn("DownstreamStream")) for a in STREAM_WRITE
    }
    assert expected_streams <= actual
    rest = actual - expected_streams
    assert {action for action, _ in rest} == {"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"}
    assert all("/ripples/*" in resource for action, resource in rest if action != "s3:ListBucket")


@pytest.mark.parametrize("role", ["BackendTaskRole", "DashboardTaskRole"])
def test_backend_and_dashboard_tasks_call_no_aws_api(templates, role):
    assert (
        "Policies" not in templates["full"]["Resources"][role]["Properties"] or grants(templates["full"], role) == set()
    )


@pytest.mark.parametrize("exec_on", [False, True])
def test_ecs_exec_is_a_choice_with_its_permissions_and_endpoint(templates, exec_on):
    """Off (the default): no exec permission in any task role, no ssmmessages endpoint, exec off on every service."""
    full = templates["full"]
    values = {**FULL_REQUIRED, "EcsExec": "enabled" if exec_on else "disabled"}
    assert full["Parameters"]["EcsExec"]["Default"] == "disabled"
    services = [lid for lid, _ in resources(full, "AWS::ECS::Service")]
    for logical_id in services:
        name = logical_id.removesuffix("Service")
        assert resolve(full["Resources"][logical_id]["Properties"]["EnableExecuteCommand"], full, values) is exec_on
        assert exists(f"{name}ExecPolicy", full, values) is exec_on
        policy = full["Resources"][f"{name}ExecPolicy"]["Properties"]
        assert policy["RoleName"] == {"Ref": f"{name}TaskRole"}
        assert {
            (a, r) for s in policy["PolicyDocument"]["Statement"] for a in s["Action"] for r in s["Resource"]
        } == ECS_EXEC
        assert not any(action.startswith("ssmmessages:") for action, _ in grants(full, f"{name}TaskRole"))
    assert exists("SsmMessagesEndpoint", full, values) is exec_on
    assert not exists("SsmMessagesEndpoint", full, {**values, "NetworkMode": "nat"})
    lite = templates["lite"]
    assert all(
        service["Properties"]["EnableExecuteCommand"] is True for _, service in resources(lite, "AWS::ECS::Service")
    ), "lite's port forward needs exec"


@pytest.mark.parametrize(
    "stack, tolerant",
    [("full", {"IngestService", "RipplesService", "BackendService", "DashboardService"}), ("lite", {"GrafanaService"})],
)
def test_spot_is_a_choice_and_influxdb_stays_on_fargate_unless_chosen(templates, stack, tolerant):
    template = templates[stack]
    services = {lid: s for lid, s in resources(template, "AWS::ECS::Service")}
    for logical_id, service in services.items():
        (strategy,) = service["Properties"]["CapacityProviderStrategy"]
        assert strategy["CapacityProvider"] == {"Ref": "Capacity" if logical_id in tolerant else "InfluxDbCapacity"}, (
            logical_id
        )
        assert "LaunchType" not in service["Properties"]
        assert "ClusterCapacityProviders" in as_list(service["DependsOn"])
    assert (
        template["Parameters"]["Capacity"]["Default"]
        == template["Parameters"]["InfluxDbCapacity"]["Default"]
        == "FARGATE"
    )
    association = template["Resources"]["ClusterCapacityProviders"]["Properties"]
    assert association["CapacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
    assert association["DefaultCapacityProviderStrategy"] == [{"CapacityProvider": "FARGATE", "Weight": 1}]


def test_secrets_go_to_the_services_that_use_them(templates):
    def secret_names(task_id):
        container = templates["full"]["Resources"][task_id]["Properties"]["ContainerDefinitions"][0]
        return {secret["Name"]: str(secret["ValueFrom"]) for secret in container.get("Secrets", [])}

    assert "InfluxDbWriteTokenSecretArn" in secret_names("RipplesTaskDefinition")["INFLUXDB_WRITE_TOKEN"]
    assert "InfluxDbReadTokenSecretArn" in secret_names("BackendTaskDefinition")["INFLUXDB_READ_TOKEN"]
    assert set(secret_names("IngestTaskDefinition")) == {"ALPACA_API_KEY", "ALPACA_API_SECRET", "TOP_TICKERS_TOKEN"}
    assert secret_names("DashboardTaskDefinition") == {}


def test_each_execution_role_reads_exactly_the_secrets_of_its_task(templates):
    import json

    full = templates["full"]
    for service in ("Ingest", "Ripples", "Backend", "Dashboard", "InfluxDb"):
        container = full["Resources"][f"{service}TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
        used = set()
        for secret in container.get("Secrets", []):
            value = secret["ValueFrom"]
            if "Fn::Sub" in value:  # one JSON key of a secret: <arn>:<key>::
                value = value["Fn::Sub"][1]["SecretArn"]
            used.add(json.dumps(value, sort_keys=True))
        readable = {
            resource
            for action, resource in grants(full, f"{service}ExecutionRole")
            if action == "secretsmanager:GetSecretValue"
        }
        assert readable == used, service


def routes_to_internet(template: dict, subnet_ids: list, values: dict) -> bool:
    """Whether any of these subnets has a default route (internet gateway or NAT) for these parameters."""
    tables = {}
    for _, association in resources(template, "AWS::EC2::SubnetRouteTableAssociation"):
        tables[association["Properties"]["SubnetId"]["Ref"]] = association["Properties"]["RouteTableId"]["Ref"]
    for logical_id, route in resources(template, "AWS::EC2::Route"):
        if not exists(logical_id, template, values):
            continue
        if route["Properties"]["DestinationCidrBlock"] == "0.0.0.0/0" and any(
            tables[s["Ref"]] == route["Properties"]["RouteTableId"]["Ref"] for s in subnet_ids
        ):
            return True
    return False


@pytest.mark.parametrize("mode", ["endpoints", "nat", "public"])
def test_which_tasks_can_reach_the_internet(templates, mode):
    full = templates["full"]
    values = {**FULL_REQUIRED, "NetworkMode": mode}
    reach = {}
    for logical_id, service in resources(full, "AWS::ECS::Service"):
        network = resolve(service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"], full, values)
        reach[logical_id] = routes_to_internet(full, network["Subnets"], values)
        public_subnets = all(s["Ref"].startswith("PublicSubnet") for s in network["Subnets"])
        assert (network["AssignPublicIp"] == "ENABLED") == public_subnets, logical_id
    everyone = {"IngestService", "RipplesService", "InfluxDbService", "BackendService", "DashboardService"}
    assert set(reach) == everyone
    if mode == "endpoints":
        assert {name for name, yes in reach.items() if yes} == {"IngestService"}
    else:
        assert all(reach.values())


def test_endpoints_exist_only_in_endpoints_mode(templates):
    full = templates["full"]
    interface = [
        logical_id
        for logical_id, e in resources(full, "AWS::EC2::VPCEndpoint")
        if e["Properties"]["VpcEndpointType"] == "Interface"
    ]
    assert len(interface) == 7
    for mode, expected in (("endpoints", True), ("nat", False), ("public", False)):
        assert all(exists(e, full, {"NetworkMode": mode, "EcsExec": "enabled"}) == expected for e in interface)
    assert exists("NatGateway", full, {"NetworkMode": "nat"}) and not exists(
        "NatGateway", full, {"NetworkMode": "endpoints"}
    )


def test_influxdb_is_reachable_from_ripples_backend_and_the_token_agent_only(templates):
    full = templates["full"]
    sources = {
        rule["Properties"]["SourceSecurityGroupId"]["Fn::GetAtt"][0]
        for _, rule in resources(full, "AWS::EC2::SecurityGroupIngress")
        if rule["Properties"]["GroupId"]["Fn::GetAtt"][0] == "InfluxDbSecurityGroup"
    }
    assert sources == {"RipplesSecurityGroup", "BackendSecurityGroup", "InfluxTokenAgentSecurityGroup"}
    registry = full["Resources"]["InfluxDbService"]["Properties"]["ServiceRegistries"][0]["RegistryArn"]
    assert registry == {"Fn::GetAtt": ["InfluxDbDiscoveryService", "Arn"]}
    assert full["Resources"]["InfluxDbDiscoveryService"]["Properties"]["Name"] == "influxdb"


def test_results_pusher_mapping_reports_batch_item_failures(templates):
    mappings = list(resources(templates["full"], "AWS::Lambda::EventSourceMapping"))
    assert len(mappings) == 1
    properties = mappings[0][1]["Properties"]
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert (properties["BatchSize"], properties["MaximumBatchingWindowInSeconds"]) == (50, 15)
    assert properties["BisectBatchOnFunctionError"] is True
    assert 0 <= properties["MaximumRetryAttempts"] <= 10
    assert properties["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["FailedDeliveriesQueue", "Arn"]
    }
    assert properties["EventSourceArn"] == {"Fn::GetAtt": ["DownstreamStream", "Arn"]}


def test_default_task_sizes_match_the_earlier_app(templates):
    parameters = templates["full"]["Parameters"]
    resources_ = templates["full"]["Resources"]
    earlier = {
        "InfluxDb": (512, 1024, "ARM64"),
        "Ingest": (256, 512, "X86_64"),
        "Ripples": (512, 1024, "ARM64"),
        "Backend": (256, 512, "X86_64"),
        "Dashboard": (256, 512, "ARM64"),
    }
    for service, (cpu, memory, architecture) in earlier.items():
        assert (parameters[f"{service}Cpu"]["Default"], parameters[f"{service}Memory"]["Default"]) == (
            str(cpu),
            str(memory),
        )
        assert (
            resources_[f"{service}TaskDefinition"]["Properties"]["RuntimePlatform"]["CpuArchitecture"] == architecture
        )


def test_streams_have_generated_names_and_are_passed_to_services(templates):
    full = templates["full"]
    for name in ("UpstreamStream", "DownstreamStream"):
        assert "Name" not in full["Resources"][name]["Properties"]
    ripples = {
        e["Name"]: e["Value"]
        for e in full["Resources"]["RipplesTaskDefinition"]["Properties"]["ContainerDefinitions"][0]["Environment"]
    }
    assert ripples["KINESIS_UPSTREAM_NAME"] == {"Ref": "UpstreamStream"} and ripples["KINESIS_DOWNSTREAM_NAME"] == {
        "Ref": "DownstreamStream"
    }
    for mode, shards in (("PROVISIONED", 1), ("ON_DEMAND", None)):
        stream = resolve(full["Resources"]["UpstreamStream"]["Properties"], full, {"StreamMode": mode})
        assert stream.get("ShardCount") == ({"Ref": "ShardCount"} if shards else None)
    assert full["Parameters"]["StreamRetentionHours"]["Default"] == "24"


# Each resource of the earlier CDK app's infrastructure and its counterpart here:
# (what it was, stack, resource type, how many at least, condition parameters if optional).
PARITY = [
    ("VPC", "full", "AWS::EC2::VPC", 1, {}),
    (
        "interface endpoints (logs, ecr.api, ecr.dkr, secretsmanager, kinesis-streams, elasticfilesystem, ssmmessages)",
        "full",
        "AWS::EC2::VPCEndpoint",
        8,
        {"NetworkMode": "endpoints", "EcsExec": "enabled"},
    ),
    ("ECS cluster", "full", "AWS::ECS::Cluster", 1, {}),
    ("Cloud Map namespace", "full", "AWS::ServiceDiscovery::PrivateDnsNamespace", 1, {}),
    ("services: influxdb, ingest, ripples, backend, dashboard", "full", "AWS::ECS::Service", 5, {}),
    ("Kinesis upstream and downstream streams", "full", "AWS::Kinesis::Stream", 2, {}),
    ("Lambdas: connection handler and results pusher", "full", "AWS::Lambda::Function", 2, {}),
    ("WebSocket API", "full", "AWS::ApiGatewayV2::Api", 1, {}),
    ("WebSocket stage", "full", "AWS::ApiGatewayV2::Stage", 1, {}),
    ("WebSocket routes $connect, $disconnect, $default", "full", "AWS::ApiGatewayV2::Route", 3, {}),
    # The earlier app had an ALB each for backend and dashboard; one serves both here (cost).
    ("backend and dashboard ALBs (one, shared)", "full", "AWS::ElasticLoadBalancingV2::LoadBalancer", 1, {}),
    (
        "ALB listeners (HTTPS and HTTP redirect)",
        "full",
        "AWS::ElasticLoadBalancingV2::Listener",
        2,
        {
            "CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012",
            "BackendDomainName": "api.example.com",
        },
    ),
    (
        "Route 53 records for the ALBs and the WebSocket domain",
        "full",
        "AWS::Route53::RecordSet",
        3,
        {
            "CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012",
            "HostedZoneId": "Z0123456789ABCDEFGHIJ",
            "BackendDomainName": "api.example.com",
            "DashboardDomainName": "dashboard.example.com",
            "WebSocketDomainName": "live.example.com",
        },
    ),
    ("CloudFront distribution", "cloudfront", "AWS::CloudFront::Distribution", 1, {}),
    ("connections table", "foundations", "AWS::DynamoDB::Table", 1, {}),
    ("EFS file system", "foundations", "AWS::EFS::FileSystem", 1, {}),
]


@pytest.mark.parametrize("what,stack,resource_type,count,values", PARITY, ids=[row[0].split(" (")[0] for row in PARITY])
def test_parity_with_the_earlier_app(templates, what, stack, resource_type, count, values):
    template = templates[stack]
    created = [
        logical_id for logical_id, _ in resources(template, resource_type) if exists(logical_id, template, values)
    ]
    assert len(created) >= count, f"{what}: {created}"


def test_connection_lambdas_may_do_what_the_table_code_does(templates):
    """lambdas/shared/connections_table.py queries (table and symbol index) and writes
    through the batch writer: Query and BatchWriteItem, nothing more."""
    import re
    from pathlib import Path

    code = (Path(__file__).resolve().parents[2] / "lambdas" / "shared" / "connections_table.py").read_text()
    assert re.findall(r"table\.(\w+)\(", code) == ["query", "batch_writer"]
    table = '{"Fn::ImportValue": {"Fn::Sub": "${FoundationsStackName}-ConnectionsTableArn"}}'
    index = '{"Fn::Sub": ["${TableArn}/index/symbol", {"TableArn": %s}]}' % table
    for role, granted in (("ConnectionHandlerRole", {table}), ("ResultsPusherRole", {table, index})):
        dynamodb = {pair for pair in grants(templates["full"], role) if pair[0].startswith("dynamodb:")}
        assert dynamodb == {
            (action, resource) for action in ("dynamodb:Query", "dynamodb:BatchWriteItem") for resource in granted
        }, role
