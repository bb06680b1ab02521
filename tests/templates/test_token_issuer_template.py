"""Custom::InfluxTokens as the lite and full templates declare it."""

from __future__ import annotations

import json

import pytest

from ..walk import as_list, grants


def imported(name: str) -> str:
    return json.dumps({"Fn::ImportValue": {"Fn::Sub": "${FoundationsStackName}-" + name}}, sort_keys=True)


@pytest.mark.parametrize("stack", ["lite", "full"])
def test_provider_may_read_the_admin_secret_write_the_token_secrets_and_invoke_the_agent(templates, stack):
    actual = {pair for pair in grants(templates[stack], "InfluxTokenProviderRole") if not pair[0].startswith("logs:")}
    assert actual == {
        ("secretsmanager:GetSecretValue", imported("InfluxDbAdminTokenSecretArn")),
        ("secretsmanager:GetSecretValue", imported("InfluxDbReadTokenSecretArn")),
        ("secretsmanager:PutSecretValue", imported("InfluxDbReadTokenSecretArn")),
        ("secretsmanager:GetSecretValue", imported("InfluxDbWriteTokenSecretArn")),
        ("secretsmanager:PutSecretValue", imported("InfluxDbWriteTokenSecretArn")),
        ("lambda:InvokeFunction", json.dumps({"Fn::GetAtt": ["InfluxTokenAgentFunction", "Arn"]}, sort_keys=True)),
        # To wait for an agent that went Inactive after weeks idle.
        (
            "lambda:GetFunctionConfiguration",
            json.dumps({"Fn::GetAtt": ["InfluxTokenAgentFunction", "Arn"]}, sort_keys=True),
        ),
    }
    assert "VpcConfig" not in templates[stack]["Resources"]["InfluxTokenProviderFunction"]["Properties"]


@pytest.mark.parametrize("stack", ["lite", "full"])
def test_agent_has_no_secrets_manager_access_and_runs_in_the_vpc(templates, stack):
    actions = {action for action, _ in grants(templates[stack], "InfluxTokenAgentRole")}
    assert not any(action.startswith("secretsmanager:") for action in actions)
    assert {a.split(":")[0] for a in actions} == {"logs", "ec2"}
    assert "VpcConfig" in templates[stack]["Resources"]["InfluxTokenAgentFunction"]["Properties"]


@pytest.mark.parametrize("stack", ["lite", "full"])
def test_tokens_wait_for_influxdb_and_carry_nothing_secret(templates, stack):
    tokens = templates[stack]["Resources"]["InfluxTokens"]
    assert tokens["Type"] == "Custom::InfluxTokens"
    assert "InfluxDbService" in as_list(tokens["DependsOn"])
    properties = tokens["Properties"]
    assert set(properties) == {
        "ServiceToken",
        "ServiceTimeout",
        "AgentFunctionArn",
        "InfluxUrl",
        "Org",
        "Bucket",
        "AdminTokenSecretArn",
        "ReadTokenSecretArn",
        "WriteTokenSecretArn",
    }
    for key in ("AdminTokenSecretArn", "ReadTokenSecretArn", "WriteTokenSecretArn"):
        assert "Fn::ImportValue" in properties[key]
    assert properties["ServiceTimeout"] < 3600


def test_services_using_tokens_wait_for_them(templates):
    full = templates["full"]["Resources"]
    for service in ("RipplesService", "BackendService"):
        assert "InfluxTokens" in as_list(full[service]["DependsOn"])
    for task, secret, name in (
        ("RipplesTaskDefinition", "InfluxDbWriteTokenSecretArn", "INFLUXDB_WRITE_TOKEN"),
        ("BackendTaskDefinition", "InfluxDbReadTokenSecretArn", "INFLUXDB_READ_TOKEN"),
    ):
        (value,) = [
            s["ValueFrom"] for s in full[task]["Properties"]["ContainerDefinitions"][0]["Secrets"] if s["Name"] == name
        ]
        assert value == {"Fn::Sub": ["${SecretArn}:token::", {"SecretArn": json.loads(imported(secret))}]}


def test_agent_reaches_influxdb_through_the_internal_alb_in_lite(templates):
    lite = templates["lite"]["Resources"]
    rule = lite["InfluxDbLoadBalancerFromTokenAgent"]["Properties"]
    assert rule["GroupId"] == {"Fn::GetAtt": ["InfluxDbLoadBalancerSecurityGroup", "GroupId"]}
    assert rule["SourceSecurityGroupId"] == {"Fn::GetAtt": ["InfluxTokenAgentSecurityGroup", "GroupId"]}
    assert rule["FromPort"] == 8086


def test_token_secrets_start_as_a_recognisable_placeholder(templates):
    for name in ("InfluxDbReadToken", "InfluxDbWriteToken"):
        assert json.loads(templates["foundations"]["Resources"][name]["Properties"]["SecretString"]) == {
            "authorizationID": "",
            "token": "PLACEHOLDER",
        }


def test_only_grafana_and_the_token_agent_reach_the_internal_influxdb_alb(templates):
    lite = templates["lite"]["Resources"]
    sources = {
        r["Properties"]["SourceSecurityGroupId"]["Fn::GetAtt"][0]
        for r in lite.values()
        if r["Type"] == "AWS::EC2::SecurityGroupIngress"
        and r["Properties"]["GroupId"]["Fn::GetAtt"][0] == "InfluxDbLoadBalancerSecurityGroup"
    }
    assert sources == {"GrafanaSecurityGroup", "InfluxTokenAgentSecurityGroup"}
    assert lite["InfluxDbLoadBalancer"]["Properties"]["Scheme"] == "internal"


def test_influxdb_admits_ripples_only_with_the_pipeline(templates):
    """lite alone: only Grafana and the token agent reach the internal ALB. The
    pipeline add-on brings the one rule that admits ripples, and only ripples."""
    pipeline = templates["lite-pipeline"]["Resources"]
    rules = {lid: r["Properties"] for lid, r in pipeline.items() if r["Type"] == "AWS::EC2::SecurityGroupIngress"}
    assert list(rules) == ["InfluxDbLoadBalancerFromRipples"]
    rule = rules["InfluxDbLoadBalancerFromRipples"]
    assert rule["GroupId"] == {"Fn::ImportValue": {"Fn::Sub": "${LiteStackName}-InfluxDbLoadBalancerSecurityGroupId"}}
    assert rule["SourceSecurityGroupId"] == {"Fn::GetAtt": ["RipplesSecurityGroup", "GroupId"]}
    assert (rule["FromPort"], rule["ToPort"]) == (8086, 8086)
    lite = templates["lite"]
    assert lite["Outputs"]["InfluxDbLoadBalancerSecurityGroupId"]["Value"] == {
        "Fn::GetAtt": ["InfluxDbLoadBalancerSecurityGroup", "GroupId"]
    }
    assert not any("Ripples" in lid for lid in lite["Resources"])


def test_the_pipeline_downstream_stream_is_the_cheapest_kind(templates):
    stream = templates["lite-pipeline"]["Resources"]["DownstreamStream"]["Properties"]
    assert (
        stream["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
        and stream["ShardCount"] == 1
        and stream["RetentionPeriodHours"] == 24
    )
