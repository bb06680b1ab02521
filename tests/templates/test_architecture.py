"""The architecture picture (templates_py/architecture.py, drawn by `make diagram`)
against the rendered templates: what it draws exists, sits in the subnets drawn,
and its flows are exactly the template's wiring (security-group rules, stream and
invoke grants, API Gateway's permission), so wiring changed in a stack changes
the picture or fails here."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from templates_py import model
from templates_py.architecture import PICTURES, Picture
from templates_py.evaluate import parameter_values, resolve

ROOT = Path(__file__).resolve().parents[2]
# Where the template shows a node, by kind: its logical ID from the node's id.
RESOURCE = {
    "service": ("{}Service", "AWS::ECS::Service"),
    "function": ("{}Function", "AWS::Lambda::Function"),
    "balancer": ("{}", "AWS::ElasticLoadBalancingV2::LoadBalancer"),
    "stream": ("{}", "AWS::Kinesis::Stream"),
    "api": ("{}", "AWS::ApiGatewayV2::Api"),
}
# Flows that no template resource shows: ingest dials the market-data provider
# (its credentials are in the contract: ALPACA_API_KEY, contracts/services.toml).
OUTBOUND = {("MarketData", "Ingest")}


def _node_of_group(group: object) -> str | None:
    """`XSecurityGroup` (GetAtt, or an import of `...-XSecurityGroupId`) -> X."""
    text = json.dumps(group)
    for prefix, suffix in (('"Fn::GetAtt": ["', 'SecurityGroup"'), ("-", 'SecurityGroupId"')):
        if prefix in text and suffix in text:
            return text.split(suffix)[0].rsplit(prefix, 1)[-1]
    return None


def _owner(role_id: str) -> str:
    return role_id.removesuffix("TaskRole").removesuffix("Role")


def wiring(template: dict) -> set[tuple[str, str]]:
    """Every flow the template shows between the things a picture draws."""
    flows = set()
    for logical_id, resource in template["Resources"].items():
        kind, properties = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::EC2::SecurityGroupIngress":
            target = _node_of_group(properties["GroupId"])
            source = (
                _node_of_group(properties["SourceSecurityGroupId"]) if "SourceSecurityGroupId" in properties else None
            )
            if target != "Endpoint":
                flows.add((source or "Clients", target))
        elif kind == "AWS::IAM::Role":
            for policy in properties.get("Policies", []):
                for statement in policy["PolicyDocument"]["Statement"]:
                    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                    target = json.dumps(statement["Resource"])
                    streams = [s for s in ("UpstreamStream", "DownstreamStream") if f'"{s}"' in target]
                    for stream in streams:
                        if "kinesis:PutRecords" in actions:
                            flows.add((_owner(logical_id), stream))
                        if "kinesis:GetRecords" in actions:
                            flows.add((stream, _owner(logical_id)))
                    if "lambda:InvokeFunction" in actions:
                        for function in statement["Resource"]:
                            flows.add((_owner(logical_id), function["Fn::GetAtt"][0].removesuffix("Function")))
                    if "execute-api:ManageConnections" in actions:
                        flows.add((_owner(logical_id), "WebSocketApi"))
                    if any(a.startswith("dynamodb:") for a in actions) and "ConnectionsTableArn" in target:
                        flows.add((_owner(logical_id), "ConnectionsTable"))
        elif kind == "AWS::Lambda::Permission" and properties["Principal"] == "apigateway.amazonaws.com":
            flows.add(("WebSocketApi", properties["FunctionName"]["Ref"].removesuffix("Function")))
        elif kind == "AWS::ApiGatewayV2::Api" and properties.get("ProtocolType") == "WEBSOCKET":
            flows.add(("Clients", logical_id))
    return flows


def zone_of(template: dict, resource: dict) -> str:
    """Where a resource sits with the template's default parameters: its subnets'
    names say public or private; none at all (a Lambda outside the VPC) is regional."""
    properties = resolve(resource.get("Properties", {}), template, parameter_values(template, {}))
    subnets = (
        properties.get("NetworkConfiguration", {}).get("AwsvpcConfiguration", {}).get("Subnets")
        or properties.get("VpcConfig", {}).get("SubnetIds")
        or properties.get("Subnets")
    )
    if not subnets:
        return "regional"
    text = json.dumps(subnets)
    public, private = "PublicSubnet" in text, "PrivateSubnet" in text
    assert public != private, f"subnets both public and private: {text}"
    return "public" if public else "private"


@pytest.fixture(params=sorted(PICTURES))
def drawn(request, templates) -> tuple[Picture, dict]:
    return PICTURES[request.param], templates[request.param]


def test_every_node_drawn_is_in_the_template_where_it_is_drawn(drawn):
    picture, template = drawn
    resources = template["Resources"]
    for node in picture.nodes:
        if node.stack or node.kind not in RESOURCE:
            continue
        pattern, kind = RESOURCE[node.kind]
        logical_id = pattern.format(node.id)
        assert resources.get(logical_id, {}).get("Type") == kind, f"{picture.profile}: {logical_id} is not a {kind}"
        assert zone_of(template, resources[logical_id]) == node.zone, f"{picture.profile}: {node.id} is drawn elsewhere"


def test_the_flows_drawn_are_the_templates_wiring(drawn):
    picture, template = drawn
    drawn_flows = {(flow.source, flow.target) for flow in picture.flows}
    assert drawn_flows - OUTBOUND == wiring(template)


def test_the_picture_draws_every_service_and_function_of_its_stack(drawn):
    picture, _ = drawn
    members = model.manifest(picture.profile)
    ids = {node.id for node in picture.nodes if node.kind in ("service", "function") and not node.stack}
    assert ids == {s.name for s in members.services} | {f.name for f in members.functions}


def test_flows_join_nodes_of_the_picture():
    for picture in PICTURES.values():
        ids = {node.id for node in picture.nodes}
        assert len(ids) == len(picture.nodes)
        for flow in picture.flows:
            assert {flow.source, flow.target} <= ids, (picture.profile, flow)


def test_the_outbound_feed_is_the_one_ingest_holds_credentials_for():
    contract = tomllib.loads((ROOT / "contracts" / "services.toml").read_text(encoding="utf-8"))
    assert "ALPACA_API_KEY" in contract["services"]["ingest"]["secrets"]


@pytest.mark.parametrize(
    "fault",
    [
        # A rule from Backend to InfluxDB removed; Ripples admitted to Grafana's ALB instead.
        lambda t: t["Resources"].pop("InfluxDbFromBackend"),
        lambda t: t["Resources"]["InfluxDbFromRipples"]["Properties"].update(
            SourceSecurityGroupId={"Fn::GetAtt": ["DashboardSecurityGroup", "GroupId"]}
        ),
        # Ripples no longer allowed to write results.
        lambda t: t["Resources"]["RipplesTaskRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].pop(1),
        # The token agent moved to the public subnets.
        lambda t: t["Resources"]["InfluxTokenAgentFunction"]["Properties"]["VpcConfig"].update(
            SubnetIds=[{"Ref": "PublicSubnet1"}, {"Ref": "PublicSubnet2"}]
        ),
    ],
)
def test_wiring_changed_in_the_template_fails_against_the_picture(templates, fault):
    import copy

    template = copy.deepcopy(templates["full"])
    fault(template)
    picture = PICTURES["full"]
    with pytest.raises(AssertionError):
        assert {(f.source, f.target) for f in picture.flows} - OUTBOUND == wiring(template)
        for node in picture.nodes:
            if node.kind in RESOURCE and not node.stack:
                pattern, _ = RESOURCE[node.kind]
                assert zone_of(template, template["Resources"][pattern.format(node.id)]) == node.zone
