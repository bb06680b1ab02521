"""What the platform is, said once: its services, its Lambda functions, and what
each stack holds of them.

Stacks and components take their names from here (logical-ID prefixes, code-key
parameters, container names, ports, health paths, how each service deploys), and
the operations code (`streamlines`) reads the same specs instead of scraping the
rendered JSON. Logical IDs are a public API: renaming one replaces a resource on
the next update, so a spec's `name` never changes once deployed.

The application images' own contract (what each reads, listens on, serves) is
data in contracts/services.toml, cited to the application's source; the specs
here say how the platform runs them. tests/templates/test_model.py holds every
rendered template to its manifest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


def kebab(logical_id: str) -> str:
    """`InfluxDbService` -> `influx-db-service`: a resource's Name tag and an alarm's
    name are `<stack>-<kebab logical ID>` (the residue report looks for them so)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", logical_id).lower()


@dataclass(frozen=True)
class LambdaFunction:
    """A Python Lambda: `name` prefixes its logical IDs (`<name>Function`,
    `<name>Role`, `<name>LogGroup`, the `<name>CodeKey` parameter); `folder` is
    its folder under lambdas/, as lambdas/functions.toml declares it."""

    name: str
    folder: str
    handler: str

    @property
    def function_id(self) -> str:
        return f"{self.name}Function"

    @property
    def code_key_parameter(self) -> str:
        return f"{self.name}CodeKey"


CONNECTION_HANDLER = LambdaFunction("ConnectionHandler", "websocket_connection_handler", "connection_handler.handler")
RESULTS_PUSHER = LambdaFunction("ResultsPusher", "results_stream_pusher", "results_pusher.handler")
TOKEN_AGENT = LambdaFunction("InfluxTokenAgent", "influx_token_agent", "token_agent.handler")
TOKEN_PROVIDER = LambdaFunction("InfluxTokenProvider", "influx_token_provider", "token_provider.handler")


@dataclass(frozen=True)
class Service:
    """An ECS service: `name` prefixes its logical IDs (`<name>Service`,
    `<name>TaskDefinition`, `<name>SecurityGroup`, ...) and, lower-cased, names its
    container and its foundations ECR repository.

    - `contract`: its entry in contracts/services.toml (application images only).
    - `port`: the container port, or the parameter that holds it; None when it
      serves nothing.
    - `health_path`: what its load balancer checks, when it has one.
    - `single_writer`: never two tasks at once (deploys 100 % / 0 %).
    - `spot_tolerant`: follows the `Capacity` parameter; otherwise its own
      (`InfluxDbCapacity`), regular Fargate unless chosen.
    - `description`: what the alarms and security groups call it."""

    name: str
    description: str
    contract: str | None = None
    port: int | str | None = None
    health_path: str | None = None
    single_writer: bool = False
    spot_tolerant: bool = True

    @property
    def container(self) -> str:
        return self.name.lower()

    @property
    def repository(self) -> str:
        return self.name.lower()

    @property
    def service_id(self) -> str:
        return f"{self.name}Service"

    @property
    def task_definition_id(self) -> str:
        return f"{self.name}TaskDefinition"

    @property
    def security_group_id(self) -> str:
        return f"{self.name}SecurityGroup"

    @property
    def log_group_id(self) -> str:
        return f"{self.name}LogGroup"


INFLUXDB = Service("InfluxDb", "InfluxDB", port=8086, health_path="/health", single_writer=True, spot_tolerant=False)
GRAFANA = Service("Grafana", "Grafana", port=3000, health_path="/api/health", single_writer=True)
# One connection per market-data endpoint on most plans: a second ingest during a
# rolling deployment is refused (https://alpaca.markets/docs/streaming-market-data,
# "Connection limit"), its feed stops and ingest exits (contracts/services.toml).
INGEST = Service("Ingest", "Ingest", contract="ingest", single_writer=True)
RIPPLES = Service("Ripples", "Ripples", contract="ripples")
BACKEND = Service("Backend", "Backend", contract="backend", port="BackendPort", health_path="/health")
DASHBOARD = Service("Dashboard", "Dashboard", contract="dashboard", port="DashboardPort", health_path="/")


@dataclass(frozen=True)
class Manifest:
    """What one stack holds: its services and functions, and the stacks it reads
    exports from (by the parameter that names each)."""

    profile: str
    services: tuple[Service, ...] = ()
    functions: tuple[LambdaFunction, ...] = ()
    reads_from: tuple[str, ...] = ()

    def service(self, name: str) -> Service:
        (found,) = [s for s in self.services if s.name == name]
        return found

    @property
    def code_keys(self) -> dict[str, str]:
        """`<Name>CodeKey` parameter -> Lambda folder, for every function of the stack, by parameter name."""
        return dict(sorted((function.code_key_parameter, function.folder) for function in self.functions))


FOUNDATIONS_PARAMETER = "FoundationsStackName"
LITE_PARAMETER = "LiteStackName"

MANIFESTS = {
    "foundations": Manifest("foundations"),
    "lite": Manifest("lite", (INFLUXDB, GRAFANA), (TOKEN_AGENT, TOKEN_PROVIDER), reads_from=(FOUNDATIONS_PARAMETER,)),
    "lite-pipeline": Manifest("lite-pipeline", (INGEST, RIPPLES), reads_from=(FOUNDATIONS_PARAMETER, LITE_PARAMETER)),
    "full": Manifest(
        "full",
        (INFLUXDB, INGEST, RIPPLES, BACKEND, DASHBOARD),
        (TOKEN_AGENT, TOKEN_PROVIDER, CONNECTION_HANDLER, RESULTS_PUSHER),
        reads_from=(FOUNDATIONS_PARAMETER,),
    ),
    "cloudfront": Manifest("cloudfront"),
}


def manifest(profile: str) -> Manifest:
    return MANIFESTS[profile]
