"""The platform model (templates_py/model.py) is what the templates render: each
manifest's services and functions are in its stack under the names the model
gives them, deployed as the model says, and nothing the model does not know is
there. Operations read the model instead of the JSON, so a drift here would send
them looking for resources that do not exist."""

from __future__ import annotations

import pytest

from templates_py import model

from ..walk import resolve, resources

PROFILES = sorted(model.MANIFESTS)


@pytest.mark.parametrize("profile", PROFILES)
def test_every_service_of_the_manifest_is_rendered_under_its_names(templates, profile):
    template, manifest = templates[profile], model.manifest(profile)
    rendered = {logical_id for logical_id, _ in resources(template, "AWS::ECS::Service")}
    assert rendered == {spec.service_id for spec in manifest.services}
    for spec in manifest.services:
        task = template["Resources"][spec.task_definition_id]["Properties"]
        (container,) = task["ContainerDefinitions"]
        assert container["Name"] == spec.container
        assert template["Resources"][spec.security_group_id]["Type"] == "AWS::EC2::SecurityGroup"
        assert template["Resources"][spec.log_group_id]["Type"] == "AWS::Logs::LogGroup"
        service = resolve(template["Resources"][spec.service_id]["Properties"], template, {})
        deployment = service["DeploymentConfiguration"]
        expected = (100, 0) if spec.single_writer else (200, 100)
        assert (deployment["MaximumPercent"], deployment["MinimumHealthyPercent"]) == expected, spec.name
        capacity = service["CapacityProviderStrategy"][0]["CapacityProvider"]
        assert capacity == {"Ref": "Capacity" if spec.spot_tolerant else "InfluxDbCapacity"}, spec.name


@pytest.mark.parametrize("profile", PROFILES)
def test_every_function_of_the_manifest_is_rendered_with_its_code_key(templates, profile):
    template, manifest = templates[profile], model.manifest(profile)
    rendered = {logical_id for logical_id, _ in resources(template, "AWS::Lambda::Function")}
    assert rendered == {function.function_id for function in manifest.functions}
    for function in manifest.functions:
        properties = template["Resources"][function.function_id]["Properties"]
        assert properties["Code"]["S3Key"] == {"Ref": function.code_key_parameter}
        assert properties["Handler"] == function.handler


@pytest.mark.parametrize("profile", PROFILES)
def test_a_stack_reads_the_exports_of_exactly_the_stacks_its_manifest_names(templates, profile):
    template = templates[profile]
    readers = {p for p in (model.FOUNDATIONS_PARAMETER, model.LITE_PARAMETER) if p in template.get("Parameters", {})}
    assert readers == set(model.manifest(profile).reads_from)


@pytest.mark.parametrize("profile", ["lite", "full"])
def test_services_behind_a_load_balancer_are_checked_on_the_models_health_path(templates, profile):
    """A service without a health path has no load balancer; one behind a load
    balancer (in full, InfluxDB is reached through Cloud Map instead) is checked on its path and port."""
    template, checked = templates[profile], 0
    for spec in model.manifest(profile).services:
        attachments = template["Resources"][spec.service_id]["Properties"].get("LoadBalancers")
        if isinstance(attachments, dict):  # attached only in some branches: Fn::If
            attachments = attachments["Fn::If"][1]
        if spec.health_path is None or not attachments:
            assert spec.health_path is not None or not attachments, spec.name
            continue
        checked += 1
        (attachment,) = attachments
        group = template["Resources"][attachment["TargetGroupArn"]["Ref"]]["Properties"]
        assert group["HealthCheckPath"] == spec.health_path, spec.name
        port = spec.port if isinstance(spec.port, int) else {"Ref": spec.port}
        assert attachment["ContainerPort"] == port, spec.name
    assert checked == {"lite": 2, "full": 2}[profile]


def test_every_application_service_has_a_contract_entry_and_every_entry_a_service():
    from .deploy_checks import contract

    contracted = {s.contract for m in model.MANIFESTS.values() for s in m.services if s.contract}
    assert contracted == set(contract())
