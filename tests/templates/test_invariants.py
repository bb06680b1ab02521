"""What must hold in every rendered template, whatever the stack."""

from __future__ import annotations

import importlib
import json
import re

import pytest
import troposphere

from templates_py import exports
from templates_py.blocks.tags import TAG_PROPERTIES, UNTAGGED_TYPES
from templates_py.render import DEPLOY_BODY_LIMIT, DEPLOY_THROUGH_S3, render

from ..walk import as_list, nodes, policy_statements, resources

STATEFUL_TYPES = {
    "AWS::S3::Bucket",
    "AWS::ECR::Repository",
    "AWS::EFS::FileSystem",
    "AWS::EFS::AccessPoint",
    "AWS::DynamoDB::Table",
    "AWS::SecretsManager::Secret",
}
SECRET_WORDS = re.compile(r"PASSWORD|TOKEN|SECRET|API_?KEY|CREDENTIAL", re.IGNORECASE)


def troposphere_class(resource_type: str):
    """The troposphere class of a resource type, to learn which properties carry tags."""
    service = resource_type.split("::")[1].lower()
    module_names = {"lambda": "awslambda", "elasticloadbalancingv2": "elasticloadbalancingv2"}
    module = importlib.import_module(f"troposphere.{module_names.get(service, service)}")
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and issubclass(value, troposphere.AWSObject)
            and getattr(value, "resource_type", None) == resource_type
        ):
            return value
    raise LookupError(resource_type)


def test_every_template_has_a_description(templates):
    for name, template in templates.items():
        assert len(template["Description"]) > 80, name


def test_rendering_is_deterministic(config, bodies):
    assert render("all", config) == bodies


def test_templates_fit_an_inline_deploy_or_go_through_s3(bodies):
    for name, body in bodies.items():
        size = len(body.encode())
        if name.removesuffix(".json") in DEPLOY_THROUGH_S3:
            assert DEPLOY_BODY_LIMIT < size <= 1_000_000, f"{name} is {size} bytes"
        else:
            assert size <= DEPLOY_BODY_LIMIT, f"{name} is {size} bytes"


def test_every_output_is_described_and_exported_under_the_stack_name(templates):
    for name, template in templates.items():
        for output_id, output in template["Outputs"].items():
            assert output.get("Description"), f"{name}.{output_id} has no Description"
            assert output["Export"]["Name"] == {"Fn::Sub": "${AWS::StackName}-" + output_id}, f"{name}.{output_id}"


def test_every_stateful_resource_is_retained(templates):
    found = 0
    for name, template in templates.items():
        for logical_id, resource in resources(template):
            if resource["Type"] in STATEFUL_TYPES:
                found += 1
                assert resource.get("DeletionPolicy") == "Retain", f"{name}.{logical_id}"
                assert resource.get("UpdateReplacePolicy") == "Retain", f"{name}.{logical_id}"
    assert found >= 6 + 6 + 1 + 2 + 1 + 1


def test_stateful_resources_live_only_in_foundations(templates):
    for name, template in templates.items():
        if name != "foundations" and name != "cloudfront":
            kinds = {resource["Type"] for _, resource in resources(template)}
            assert not kinds & STATEFUL_TYPES, f"{name} holds {kinds & STATEFUL_TYPES}"


def test_no_secret_in_environment_variables(templates):
    for name, template in templates.items():
        for logical_id, resource in resources(template):
            for node in nodes(resource.get("Properties", {})):
                if not isinstance(node, dict):
                    continue
                for variable in node.get("Environment", []) if isinstance(node.get("Environment"), list) else []:
                    if SECRET_WORDS.search(variable["Name"]):
                        assert variable["Name"].endswith("_ARN"), (
                            f"{name}.{logical_id}: {variable['Name']} looks like a secret"
                        )
                variables = node.get("Variables") if isinstance(node.get("Variables"), dict) else {}
                for key in variables:
                    if SECRET_WORDS.search(key):
                        assert key.endswith("_ARN"), f"{name}.{logical_id}: {key} looks like a secret"


def test_no_secret_in_parameter_defaults_or_outputs(templates):
    for name, template in templates.items():
        for parameter_id, parameter in template.get("Parameters", {}).items():
            if SECRET_WORDS.search(parameter_id):
                assert parameter.get("Default", "") == "", f"{name}.{parameter_id} has a default"
        for output_id in template["Outputs"]:
            if SECRET_WORDS.search(output_id):
                assert output_id.endswith("Arn"), f"{name}.{output_id} may expose a secret"
        assert "{{resolve:" not in json.dumps(template), f"{name} resolves a dynamic reference into a property"


def test_no_allow_statement_has_a_wildcard_action(templates):
    checked = 0
    for name, template in templates.items():
        for logical_id, statement in policy_statements(template):
            if statement["Effect"] != "Allow":
                continue
            checked += 1
            for action in as_list(statement["Action"]):
                assert "*" not in action, f"{name}.{logical_id} allows {action}"
    assert checked > 10


def test_every_taggable_resource_has_project_profile_and_name(templates, config):
    for name, template in templates.items():
        for logical_id, resource in resources(template):
            if resource["Type"].startswith("Custom::"):
                continue
            if resource["Type"] in UNTAGGED_TYPES:
                assert "Tags" not in resource["Properties"], f"{name}.{logical_id}"
                continue
            cls = troposphere_class(resource["Type"])
            prop = next((p for p in TAG_PROPERTIES if p in cls.props), None)
            if prop is None:
                continue
            tags = resource["Properties"].get(prop)
            assert tags, f"{name}.{logical_id} has no {prop}"
            if isinstance(tags, list):
                tags = {tag["Key"]: tag["Value"] for tag in tags}
            assert tags["Project"] == config.project, f"{name}.{logical_id}"
            assert tags["Profile"] == name, f"{name}.{logical_id}"
            assert tags["Name"] == {
                "Fn::Sub": "${AWS::StackName}-" + re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", logical_id).lower()
            }


def _ingress_rules(template):
    for logical_id, resource in resources(template):
        if resource["Type"] == "AWS::EC2::SecurityGroupIngress":
            yield logical_id, resource["Properties"]
        elif resource["Type"] == "AWS::EC2::SecurityGroup":
            for rule in resource["Properties"].get("SecurityGroupIngress", []):
                yield logical_id, rule


# Listeners that are public by design, and the only rules that may take a CIDR.
PUBLIC_LISTENER_RULES = {
    "lite": {"GrafanaLoadBalancerIngress80", "GrafanaLoadBalancerIngress443"},
    # One ALB for dashboard and backend; 8080 is the backend's port when it has no domain name.
    "full": {f"PublicLoadBalancerIngress{port}" for port in (80, 443, 8080)},
}


def test_security_groups_admit_only_groups_except_public_listeners(templates):
    for name, template in templates.items():
        for logical_id, rule in _ingress_rules(template):
            if "CidrIp" in rule or "CidrIpv6" in rule:
                assert logical_id in PUBLIC_LISTENER_RULES.get(name, set()), f"{name}.{logical_id} admits a CIDR"
                assert rule["CidrIp"] == {"Ref": "AllowedCidr"}, f"{name}.{logical_id}"
                assert rule["FromPort"] in (80, 443, 8080)
            else:
                assert "SourceSecurityGroupId" in rule, f"{name}.{logical_id} admits something other than a group"
        assert "0.0.0.0/0" not in json.dumps([rule for _, rule in _ingress_rules(template)])
    assert templates["full"]["Parameters"]["AllowedCidr"]["Default"] == "0.0.0.0/0"
    assert templates["lite"]["Parameters"]["AllowedCidr"]["Default"] == ""


def test_every_import_has_a_matching_export(templates):
    """Profiles import from foundations; the lite pipeline add-on from lite too."""
    producers = {"${FoundationsStackName": "foundations", "${LiteStackName": "lite"}
    for name, template in templates.items():
        for node in nodes(template):
            if isinstance(node, dict) and "Fn::ImportValue" in node:
                sub = node["Fn::ImportValue"]["Fn::Sub"]
                stack, _, export = sub.partition("}-")
                assert stack in producers and (stack == "${FoundationsStackName" or name == "lite-pipeline"), (
                    f"{name} imports from {stack}"
                )
                assert export in templates[producers[stack]]["Outputs"], (
                    f"{name} imports {export}, which {producers[stack]} does not export"
                )


def test_foundations_exports_every_name_consumers_may_use(templates):
    outputs = set(templates["foundations"]["Outputs"])
    names = {
        value
        for key, value in vars(exports).items()
        if key.isupper() and isinstance(value, str) and not key.startswith("LITE_")
    }
    names |= {exports.repository_uri(r) for r in exports.repositories()} | {
        exports.repository_arn(r) for r in exports.repositories()
    }
    assert names <= outputs, names - outputs


def test_services_depend_on_the_mount_targets_they_use(templates):
    for name, template in templates.items():
        mount_targets = {logical_id for logical_id, _ in resources(template, "AWS::EFS::MountTarget")}
        for logical_id, service in resources(template, "AWS::ECS::Service"):
            task = template["Resources"][service["Properties"]["TaskDefinition"]["Ref"]]
            if task["Properties"].get("Volumes"):
                assert mount_targets <= set(as_list(service.get("DependsOn", []))), f"{name}.{logical_id}"


def test_efs_volumes_use_iam_and_transit_encryption(templates):
    volumes = 0
    for name, template in templates.items():
        for logical_id, task in resources(template, "AWS::ECS::TaskDefinition"):
            for volume in task["Properties"].get("Volumes", []):
                volumes += 1
                efs = volume["EFSVolumeConfiguration"]
                assert efs["TransitEncryption"] == "ENABLED", f"{name}.{logical_id}"
                assert efs["AuthorizationConfig"]["IAM"] == "ENABLED", f"{name}.{logical_id}"
    assert volumes >= 2


def test_task_sizes_are_checked_by_rules(templates):
    for template in templates.values():
        for parameter_id in template.get("Parameters", {}):
            if parameter_id.endswith("Cpu"):
                rule = template["Rules"][parameter_id.removesuffix("Cpu") + "TaskSize"]
                assert rule["Assertions"][0]["AssertDescription"]


@pytest.mark.parametrize("stack", ["foundations", "lite", "full", "cloudfront"])
def test_parameters_are_described_and_constrained(templates, stack):
    for parameter_id, parameter in templates[stack].get("Parameters", {}).items():
        assert parameter.get("Description"), parameter_id
        constrained = {"AllowedValues", "AllowedPattern", "MinValue"} & set(parameter)
        assert constrained, f"{stack}.{parameter_id} accepts anything"
