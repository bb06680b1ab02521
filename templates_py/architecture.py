"""The platform as a picture: per profile, what runs where and what flows between.

Nodes are the model's services and functions (templates_py.model) plus the few
things they talk through (load balancers, streams, the WebSocket API, EFS, the
outside world). Each node's `id` is its logical-ID prefix, so the picture can be
held to the rendered template: tests/templates/test_architecture.py checks that
every node exists, sits in the subnets drawn (default parameters), and that the
flows are exactly the template's security-group rules, stream grants and event
source mappings. `make diagram` draws it (streamlines/diagram.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import model

# Columns of the picture, left to right.
ZONES = {
    "internet": "Internet",
    "public": "Public subnets",
    "private": "Private subnets",
    "regional": "Regional services",
}
KINDS = ("outside", "balancer", "service", "function", "stream", "api", "storage")


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    kind: str
    zone: str
    # The stack the node belongs to when it is not the drawn one (drawn dashed).
    stack: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS or self.zone not in ZONES:
            raise ValueError(f"node {self.id}: kind {self.kind!r} or zone {self.zone!r} unknown")


@dataclass(frozen=True)
class Flow:
    source: str
    target: str
    label: str


@dataclass(frozen=True)
class Picture:
    profile: str
    title: str
    nodes: tuple[Node, ...]
    flows: tuple[Flow, ...]
    note: str = ""

    def node(self, node_id: str) -> Node:
        (found,) = [node for node in self.nodes if node.id == node_id]
        return found


def _service(service: model.Service, zone: str, stack: str | None = None) -> Node:
    return Node(service.name, service.description, "service", zone, stack)


def _function(function: model.LambdaFunction, zone: str) -> Node:
    return Node(function.name, function.name, "function", zone)


CLIENTS = Node("Clients", "Browsers (AllowedCidr)", "outside", "internet")
MARKET_DATA = Node("MarketData", "Market-data feed (Alpaca)", "outside", "internet")
FILE_SYSTEM = Node("FileSystem", "EFS (foundations)", "storage", "regional", "foundations")
CONNECTIONS = Node("ConnectionsTable", "DynamoDB connections (foundations)", "storage", "regional", "foundations")
UPSTREAM = Node("UpstreamStream", "Kinesis upstream", "stream", "regional")
DOWNSTREAM = Node("DownstreamStream", "Kinesis downstream", "stream", "regional")


def _lite() -> Picture:
    return Picture(
        "lite",
        "lite: InfluxDB and Grafana",
        (
            CLIENTS,
            Node("GrafanaLoadBalancer", "Grafana ALB", "balancer", "public"),
            _service(model.GRAFANA, "public"),
            Node("InfluxDbLoadBalancer", "InfluxDB ALB, internal", "balancer", "public"),
            _service(model.INFLUXDB, "public"),
            _function(model.TOKEN_AGENT, "public"),
            _function(model.TOKEN_PROVIDER, "regional"),
            FILE_SYSTEM,
        ),
        (
            Flow("Clients", "GrafanaLoadBalancer", "HTTP(S)"),
            Flow("GrafanaLoadBalancer", "Grafana", "3000"),
            Flow("Grafana", "InfluxDbLoadBalancer", "Flux queries"),
            Flow("InfluxTokenAgent", "InfluxDbLoadBalancer", "issues tokens"),
            Flow("InfluxDbLoadBalancer", "InfluxDb", "8086"),
            Flow("InfluxTokenProvider", "InfluxTokenAgent", "invokes"),
            Flow("InfluxDb", "FileSystem", "NFS"),
            Flow("Grafana", "FileSystem", "NFS"),
        ),
        "The Grafana ALB exists with GrafanaExposure=public (the default); with none, reach Grafana by ECS Exec.",
    )


def _lite_pipeline() -> Picture:
    return Picture(
        "lite-pipeline",
        "lite-pipeline: the data pipeline feeding a lite stack",
        (
            MARKET_DATA,
            _service(model.INGEST, "public"),
            _service(model.RIPPLES, "public"),
            Node("InfluxDbLoadBalancer", "InfluxDB ALB (lite stack)", "balancer", "public", "lite"),
            UPSTREAM,
            DOWNSTREAM,
        ),
        (
            Flow("MarketData", "Ingest", "WebSocket feed"),
            Flow("Ingest", "UpstreamStream", "trades, quotes"),
            Flow("UpstreamStream", "Ripples", "reads"),
            Flow("Ripples", "InfluxDbLoadBalancer", "writes points"),
            Flow("Ripples", "DownstreamStream", "results"),
        ),
        "Runs in the lite stack's public subnets.",
    )


def _full() -> Picture:
    return Picture(
        "full",
        "full: the whole platform (NetworkMode=endpoints)",
        (
            CLIENTS,
            MARKET_DATA,
            Node("PublicLoadBalancer", "Public ALB", "balancer", "public"),
            _service(model.DASHBOARD, "private"),
            _service(model.BACKEND, "private"),
            _service(model.INGEST, "public"),
            _service(model.RIPPLES, "private"),
            _service(model.INFLUXDB, "private"),
            _function(model.TOKEN_AGENT, "private"),
            UPSTREAM,
            DOWNSTREAM,
            _function(model.TOKEN_PROVIDER, "regional"),
            FILE_SYSTEM,
            _function(model.RESULTS_PUSHER, "regional"),
            Node("WebSocketApi", "WebSocket API", "api", "regional"),
            _function(model.CONNECTION_HANDLER, "regional"),
            CONNECTIONS,
        ),
        (
            Flow("Clients", "PublicLoadBalancer", "HTTP(S)"),
            Flow("Clients", "WebSocketApi", "subscribe"),
            Flow("PublicLoadBalancer", "Dashboard", "DashboardPort"),
            Flow("PublicLoadBalancer", "Backend", "BackendPort"),
            Flow("MarketData", "Ingest", "WebSocket feed"),
            Flow("Ingest", "UpstreamStream", "trades, quotes"),
            Flow("UpstreamStream", "Ripples", "reads"),
            Flow("Ripples", "InfluxDb", "writes points"),
            Flow("Ripples", "DownstreamStream", "results"),
            Flow("Backend", "InfluxDb", "Flux queries"),
            Flow("InfluxTokenAgent", "InfluxDb", "issues tokens"),
            Flow("InfluxTokenProvider", "InfluxTokenAgent", "invokes"),
            Flow("DownstreamStream", "ResultsPusher", "batches"),
            Flow("ResultsPusher", "WebSocketApi", "posts results"),
            Flow("WebSocketApi", "ConnectionHandler", "connect, subscribe"),
            Flow("ConnectionHandler", "WebSocketApi", "confirms"),
            Flow("ConnectionHandler", "ConnectionsTable", "subscriptions"),
            Flow("ResultsPusher", "ConnectionsTable", "subscribers"),
            Flow("InfluxDb", "FileSystem", "NFS"),
        ),
        "In NetworkMode=public every task sits in the public subnets; in nat, ingest joins the private ones.",
    )


PICTURES = {picture.profile: picture for picture in (_lite(), _lite_pipeline(), _full())}
