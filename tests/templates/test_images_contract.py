"""The third-party images the templates run (Grafana OSS, InfluxDB 2.7) are
configured as their images read it (contracts/images.toml, every entry cited):
environment names the image reads, secrets as ECS secrets, the port it serves,
where its data lives, a health check it can run, a target group checking its
health endpoint, and an EFS access point with the uid/gid it runs as. In every
parameter branch of lite and full."""

from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path

import pytest

from . import deploy_checks
from .branches import BRANCHES, FULL_REQUIRED, LITE_REQUIRED

ROOT = Path(__file__).resolve().parents[2]
IMAGES = tomllib.loads((ROOT / "contracts" / "images.toml").read_text(encoding="utf-8"))
CITATION = re.compile(r"^(https://\S+|[A-Za-z0-9_.+/\-]+:\d+(-\d+)?(,\d+(-\d+)?)*( \(.*\))?)$")


def cited(node, where=""):
    """(where, source) for every entry that carries one; entries are tables with a `source`."""
    if isinstance(node, dict):
        if "source" in node:
            yield where, node["source"]
        for key, value in node.items():
            if isinstance(value, dict):
                yield from cited(value, f"{where}.{key}".lstrip("."))


def test_every_image_contract_entry_cites_its_source():
    entries = list(cited(IMAGES))
    assert len(entries) >= 20
    for image, spec in IMAGES.items():
        for key in ("port", "health", "data_path", "user", "tools"):
            assert "source" in spec[key], f"{image}.{key} cites no source"
        for name, entry in spec["environment"].items():
            assert entry.get("source"), f"{image} {name} cites no source"
    for where, source in entries:
        for part in source.split(";"):
            assert CITATION.match(part.strip()), f"{where}: {part!r}"


def access_points(foundations: dict) -> dict[str, dict]:
    """Foundations export name of each access point's id -> its properties."""
    found = {}
    for output in foundations["Outputs"].values():
        value = output["Value"]
        if isinstance(value, dict) and "Ref" in value:
            resource = foundations["Resources"][value["Ref"]]
            if resource["Type"] == "AWS::EFS::AccessPoint":
                found[output["Export"]["Name"]["Fn::Sub"].removeprefix("${AWS::StackName}-")] = resource["Properties"]
    return found


def violations(template: dict, foundations: dict, values: dict[str, str]) -> list[str]:
    resources = deploy_checks.live(template, values)
    points = access_points(foundations)
    problems = []
    for _, service, container in deploy_checks._containers(resources):
        spec = IMAGES.get(container["Name"])
        if spec is None:
            continue
        name = container["Name"]
        environment = {e["Name"] for e in container.get("Environment", [])}
        secrets = {s["Name"] for s in container.get("Secrets", [])}
        for variable in sorted(environment | secrets):
            entry = spec["environment"].get(variable)
            if entry is None:
                problems.append(f"{name} does not read {variable}")
            elif entry.get("secret") and variable not in secrets:
                problems.append(f"{name}'s {variable} is a plain value, not an ECS secret")
        ports = [m["ContainerPort"] for m in container.get("PortMappings", [])]
        if ports != [spec["port"]["value"]]:
            problems.append(f"{name} maps {ports}, it serves {spec['port']['value']}")
        paths = [m["ContainerPath"] for m in container.get("MountPoints", [])]
        if paths != [spec["data_path"]["value"]]:
            problems.append(f"{name} mounts its volume at {paths}, its data is at {spec['data_path']['value']}")
        command = " ".join(container.get("HealthCheck", {}).get("Command", []))
        tool = command.removeprefix("CMD-SHELL ").split(" ")[0]
        if tool not in spec["tools"]["value"] or str(spec["port"]["value"]) not in command:
            problems.append(f"{name}'s health check {command!r} is not one its image can run on its port")
        for attachment in service["Properties"].get("LoadBalancers", []):
            group = resources[attachment["TargetGroupArn"]["Ref"]]["Properties"]
            if group["HealthCheckPath"] != spec["health"]["path"] or group["Port"] != spec["port"]["value"]:
                problems.append(f"{name}'s target group checks {group['HealthCheckPath']} on {group['Port']}")
        task = resources[service["Properties"]["TaskDefinition"]["Ref"]]["Properties"]
        for volume in task.get("Volumes", []):
            export = volume["EFSVolumeConfiguration"]["AuthorizationConfig"]["AccessPointId"]["Fn::ImportValue"]
            point = points[export["Fn::Sub"].removeprefix("${FoundationsStackName}-")]
            user = (int(point["PosixUser"]["Uid"]), int(point["PosixUser"]["Gid"]))
            info = point["RootDirectory"]["CreationInfo"]
            owner = (int(info["OwnerUid"]), int(info["OwnerGid"]))
            wanted = (spec["user"]["uid"], spec["user"]["gid"])
            if user != wanted or owner != wanted:
                problems.append(f"{name}'s access point is {user} owning {owner}; the image runs as {wanted}")
    return problems


CASES = [(stack, index) for stack in ("lite", "full") for index in range(len(BRANCHES[stack]))]


@pytest.mark.parametrize("stack, index", CASES, ids=[f"{s}-{i}" for s, i in CASES])
def test_third_party_containers_are_configured_as_their_images_read_it(templates, stack, index):
    template = templates[stack]
    names = {c["Name"] for _, _, c in deploy_checks._containers(deploy_checks.live(template, BRANCHES[stack][index]))}
    assert "influxdb" in names
    assert violations(template, templates["foundations"], BRANCHES[stack][index]) == []


def _rename(resources, old, new):
    for secret in resources["GrafanaTaskDefinition"]["Properties"]["ContainerDefinitions"][0]["Secrets"]:
        if secret["Name"] == old:
            secret["Name"] = new


FAULTS = {
    "Grafana's admin password under a name Grafana does not read": (
        "lite",
        lambda r: _rename(r, "GF_SECURITY_ADMIN_PASSWORD", "GF_ADMIN_PASSWORD"),
    ),
    "a target group health path the service does not serve": (
        "lite",
        lambda r: r["GrafanaTargetGroup"]["Properties"].update(HealthCheckPath="/healthz"),
    ),
    "an access point whose POSIX user is not the image's": (
        "foundations",
        lambda r: r["GrafanaAccessPoint"]["Properties"]["PosixUser"].update(Uid="1000"),
    ),
    "InfluxDB's data mounted where it does not keep it": (
        "full",
        lambda r: r["InfluxDbTaskDefinition"]["Properties"]["ContainerDefinitions"][0]["MountPoints"][0].update(
            ContainerPath="/var/lib/influxdb"
        ),
    ),
    "a health check with a tool the image lacks": (
        "lite",
        lambda r: r["InfluxDbTaskDefinition"]["Properties"]["ContainerDefinitions"][0]["HealthCheck"].update(
            Command=["CMD-SHELL", "curl -f http://localhost:8086/health || exit 1"]
        ),
    ),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_planted_image_fault_is_caught(templates, fault):
    where, plant = FAULTS[fault]
    stack = "lite" if where == "foundations" else where
    values = {**LITE_REQUIRED, "AllowedCidr": "198.18.7.10/32"} if stack == "lite" else FULL_REQUIRED
    template, foundations = copy.deepcopy(templates[stack]), copy.deepcopy(templates["foundations"])
    plant((foundations if where == "foundations" else template)["Resources"])
    assert violations(templates[stack], templates["foundations"], values) == []
    assert violations(template, foundations, values), fault
