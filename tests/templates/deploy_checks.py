"""Checks of what makes a first deploy (or a later update or delete) fail, over a
rendered template evaluated for one set of parameter values.

Each check returns the violations it finds as sentences, so a test asserts an
empty list and `make prove-invariants` can run the same checks over an older
render to show which defects they catch. Sources of each rule are in
docs/architecture.md ("Creation order").
"""

from __future__ import annotations

import json
import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any, Iterator

from streamlines.images import is_docker_hub
from templates_py.evaluate import broken_rules, evaluate, exists, resolve
from templates_py.stacks.foundations import SECRETS

from ..walk import nodes

INTERNET_ROUTE = "PublicDefaultRoute"
GATEWAY_ATTACHMENT = "InternetGatewayAttachment"
CONTRACT_PATH = Path(__file__).resolve().parents[2] / "contracts" / "services.toml"
# Images that are not the application's and must never run twice: InfluxDB (one
# writer of its data on EFS; InfluxData does not support sharing it) and Grafana
# (SQLite on EFS). The application's own single writers are in the contract.
THIRD_PARTY_SINGLE_WRITERS = {"influxdb", "grafana"}


@cache
def contract() -> dict[str, dict]:
    """The application images' contract: container name -> its entry."""
    return tomllib.loads(CONTRACT_PATH.read_text(encoding="utf-8"))["services"]


# --- the dependency graph -----------------------------------------------------------------


def referenced(node: Any, names: set[str]) -> set[str]:
    """Logical IDs in `names` that `node` refers to (Ref, Fn::GetAtt, Fn::Sub)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and value in names:
                found.add(value)
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else str(value).split(".")[0]
                if target in names:
                    found.add(target)
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                for variable in re.findall(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}", text):
                    if variable in names:
                        found.add(variable)
            found |= referenced(value, names)
    elif isinstance(node, list):
        for item in node:
            found |= referenced(item, names)
    return found


def live(template: dict, values: dict[str, str]) -> dict[str, dict]:
    """The resources created for `values`, each with its Fn::If decided."""
    return {
        logical_id: resolve(resource, template, values, parameters=False)
        for logical_id, resource in template["Resources"].items()
        if exists(logical_id, template, values)
    }


def direct_dependencies(resources: dict[str, dict], logical_id: str) -> set[str]:
    resource = resources[logical_id]
    depends = resource.get("DependsOn", [])
    depends = {depends} if isinstance(depends, str) else set(depends)
    names = set(resources)
    return depends | referenced(resource.get("Properties", {}), names) | referenced(resource.get("Metadata", {}), names)


def dependencies(resources: dict[str, dict], logical_id: str) -> set[str]:
    """Everything CloudFormation creates before `logical_id` (and deletes after it)."""
    seen: set[str] = set()
    todo = [logical_id]
    while todo:
        for dependency in direct_dependencies(resources, todo.pop()):
            if dependency not in seen:
                seen.add(dependency)
                todo.append(dependency)
    return seen


def _of_type(resources: dict[str, dict], resource_type: str) -> Iterator[tuple[str, dict]]:
    for logical_id, resource in sorted(resources.items()):
        if resource["Type"] == resource_type:
            yield logical_id, resource


def _group(node: Any) -> str | None:
    """The security group a GroupId / SourceSecurityGroupId points to."""
    if isinstance(node, dict) and "Fn::GetAtt" in node:
        return node["Fn::GetAtt"][0]
    if isinstance(node, dict) and "Ref" in node:
        return node["Ref"]
    return None


def _rules_into(resources: dict[str, dict], group: str, source: str | None = None) -> list[str]:
    return [
        logical_id
        for logical_id, rule in _of_type(resources, "AWS::EC2::SecurityGroupIngress")
        if _group(rule["Properties"].get("GroupId")) == group
        and (source is None or _group(rule["Properties"].get("SourceSecurityGroupId")) == source)
    ]


def _service_group(service: dict) -> str:
    return _group(service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"][0])


def _public_ip(template: dict, values: dict[str, str], service: dict) -> bool:
    value = service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"].get("AssignPublicIp", "DISABLED")
    return value == "ENABLED"


# --- creation and deletion order -------------------------------------------------------------


def public_addresses_wait_for_the_gateway(template: dict, values: dict[str, str]) -> list[str]:
    """Everything holding a public address depends on the public default route,
    which depends on the gateway attachment."""
    resources = live(template, values)
    if INTERNET_ROUTE not in resources:
        return []
    problems = []
    if GATEWAY_ATTACHMENT not in dependencies(resources, INTERNET_ROUTE):
        problems.append(f"{INTERNET_ROUTE} does not wait for {GATEWAY_ATTACHMENT}")
    holders = [
        lid
        for lid, r in _of_type(resources, "AWS::ElasticLoadBalancingV2::LoadBalancer")
        if r["Properties"].get("Scheme") == "internet-facing"
    ]
    holders += [lid for lid, _ in _of_type(resources, "AWS::EC2::NatGateway")] + [
        lid for lid, _ in _of_type(resources, "AWS::EC2::EIP")
    ]
    holders += [lid for lid, r in _of_type(resources, "AWS::ECS::Service") if _public_ip(template, values, r)]
    for holder in holders:
        if INTERNET_ROUTE not in dependencies(resources, holder):
            problems.append(f"{holder} holds a public address but does not wait for {INTERNET_ROUTE}")
    return problems


def services_wait_for_their_first_task(template: dict, values: dict[str, str]) -> list[str]:
    """Each service waits for its mount targets and NFS rule, its listeners and the
    rule admitting its ALB, and, in endpoints mode, every endpoint and the rule
    admitting it to them."""
    resources = live(template, values)
    endpoint_groups = {
        _group(r["Properties"]["SecurityGroupIds"][0])
        for _, r in _of_type(resources, "AWS::EC2::VPCEndpoint")
        if r["Properties"].get("VpcEndpointType") == "Interface"
    }
    endpoints = [lid for lid, _ in _of_type(resources, "AWS::EC2::VPCEndpoint")]
    mount_targets = [lid for lid, _ in _of_type(resources, "AWS::EFS::MountTarget")]
    file_system_groups = {
        _group(r["Properties"]["SecurityGroups"][0]) for _, r in _of_type(resources, "AWS::EFS::MountTarget")
    }
    problems = []
    for logical_id, service in _of_type(resources, "AWS::ECS::Service"):
        needs: dict[str, str] = {}
        group = _service_group(service)
        task = resources[service["Properties"]["TaskDefinition"]["Ref"]]
        if task["Properties"].get("Volumes"):
            needs.update({lid: "mount target" for lid in mount_targets})
            for fs_group in file_system_groups:
                needs.update({lid: "NFS rule" for lid in _rules_into(resources, fs_group, group)})
        for attachment in service["Properties"].get("LoadBalancers", []):
            target_group = attachment["TargetGroupArn"]["Ref"]
            routes = [
                (lid, r["Properties"]["LoadBalancerArn"]["Ref"], r["Properties"].get("DefaultActions", []))
                for lid, r in _of_type(resources, "AWS::ElasticLoadBalancingV2::Listener")
            ]
            routes += [
                (
                    lid,
                    resources[r["Properties"]["ListenerArn"]["Ref"]]["Properties"]["LoadBalancerArn"]["Ref"],
                    r["Properties"].get("Actions", []),
                )
                for lid, r in _of_type(resources, "AWS::ElasticLoadBalancingV2::ListenerRule")
            ]
            found = False
            for route_id, balancer, actions in routes:
                if target_group in referenced(actions, set(resources)):
                    found = True
                    needs[route_id] = "listener or listener rule"
                    balancer_group = _group(resources[balancer]["Properties"]["SecurityGroups"][0])
                    needs.update(
                        {lid: "rule admitting its ALB" for lid in _rules_into(resources, group, balancer_group)}
                    )
            if not found:
                problems.append(
                    f"{logical_id}'s target group {target_group} is on no listener: ECS refuses a target group "
                    "without a load balancer"
                )
        if endpoint_groups:
            needs.update({lid: "VPC endpoint" for lid in endpoints})
            for endpoint_group in endpoint_groups:
                needs.update(
                    {lid: "rule admitting it to the endpoints" for lid in _rules_into(resources, endpoint_group, group)}
                )
        waits = dependencies(resources, logical_id)
        problems += [
            f"{logical_id} does not wait for {what} {lid}" for lid, what in sorted(needs.items()) if lid not in waits
        ]
    return problems


def tokens_wait_for_the_agent_rules(template: dict, values: dict[str, str]) -> list[str]:
    resources = live(template, values)
    problems = []
    for logical_id, _ in _of_type(resources, "Custom::InfluxTokens"):
        waits = dependencies(resources, logical_id)
        for group_id, _group_resource in _of_type(resources, "AWS::EC2::SecurityGroup"):
            if "TokenAgent" not in group_id:
                continue
            for rule_id, rule in _of_type(resources, "AWS::EC2::SecurityGroupIngress"):
                if _group(rule["Properties"].get("SourceSecurityGroupId")) == group_id and rule_id not in waits:
                    problems.append(f"{logical_id} does not wait for {rule_id}, which admits the token agent")
    return problems


# --- conditional wiring ---------------------------------------------------------------------------


def detached_services_say_so(template: dict, values: dict[str, str]) -> list[str]:
    """A service that may be detached from its target group renders LoadBalancers: []."""
    problems = []
    for logical_id, service in template["Resources"].items():
        if service["Type"] != "AWS::ECS::Service" or "LoadBalancers" not in service["Properties"]:
            continue
        value = resolve(service["Properties"]["LoadBalancers"], template, values, parameters=False)
        if value == {"Ref": "AWS::NoValue"} or (
            isinstance(service["Properties"]["LoadBalancers"], dict) and not isinstance(value, list)
        ):
            problems.append(f"{logical_id}.LoadBalancers is {value!r} here; only [] detaches it")
        raw = service["Properties"]["LoadBalancers"]
        if isinstance(raw, dict) and "Fn::If" in raw and {"Ref": "AWS::NoValue"} in raw["Fn::If"][1:]:
            problems.append(f"{logical_id}.LoadBalancers uses AWS::NoValue in a branch; only [] detaches it")
    return problems


def target_group_ports_match_containers(template: dict, values: dict[str, str]) -> list[str]:
    resources = live(template, values)
    problems = []
    for logical_id, service in _of_type(resources, "AWS::ECS::Service"):
        for attachment in service["Properties"].get("LoadBalancers", []):
            group = resources[attachment["TargetGroupArn"]["Ref"]]
            task = resources[service["Properties"]["TaskDefinition"]["Ref"]]
            (container,) = [
                c for c in task["Properties"]["ContainerDefinitions"] if c["Name"] == attachment["ContainerName"]
            ]
            ports = [mapping["ContainerPort"] for mapping in container["PortMappings"]]
            if group["Properties"]["Port"] != attachment["ContainerPort"] or attachment["ContainerPort"] not in ports:
                problems.append(
                    f"{attachment['TargetGroupArn']['Ref']} port {group['Properties']['Port']!r} is not {logical_id}'s "
                    f"container port {attachment['ContainerPort']!r}"
                )
    return problems


# --- TLS and names -----------------------------------------------------------------------------------


def _elb_names(value: Any, resources: set[str]) -> bool:
    """Whether `value` builds a URL from an ALB's own DNS name."""
    return any(
        isinstance(node, dict)
        and "Fn::GetAtt" in node
        and node["Fn::GetAtt"][0] in resources
        and node["Fn::GetAtt"][1] == "DNSName"
        for node in nodes(value)
    )


def https_never_uses_the_alb_name(template: dict, values: dict[str, str]) -> list[str]:
    """With a certificate, no https URL, setting or redirect names *.elb.amazonaws.com."""
    if "CertificateArn" not in template.get("Parameters", {}) or not evaluate(
        {"Ref": "CertificateArn"}, template, values
    ):
        return []
    resources = live(template, values)
    balancers = {
        lid
        for lid, r in resources.items()
        if r["Type"] == "AWS::ElasticLoadBalancingV2::LoadBalancer"
        and r["Properties"].get("Scheme") == "internet-facing"
    }
    problems = []
    places = [
        (f"output {name}", output["Value"])
        for name, output in template.get("Outputs", {}).items()
        if exists_output(template, values, output)
    ]
    for lid, task in _of_type(resources, "AWS::ECS::TaskDefinition"):
        for container in task["Properties"]["ContainerDefinitions"]:
            places += [(f"{lid} {env['Name']}", env["Value"]) for env in container.get("Environment", [])]
    for place, value in places:
        value = resolve(value, template, values, parameters=False)
        text = str(value)
        if "https://" in text and _elb_names(value, balancers):
            problems.append(f"{place} is an https URL on the ALB's own name")
        if "http" in text and _elb_names(value, balancers) and _has_https_listener(resources):
            problems.append(f"{place} names the ALB although HTTPS is on")
    for lid, listener in _of_type(resources, "AWS::ElasticLoadBalancingV2::Listener"):
        for action in listener["Properties"].get("DefaultActions", []):
            redirect = action.get("RedirectConfig")
            if redirect and redirect.get("Host") == "#{host}":
                problems.append(f"{lid} redirects to HTTPS on whatever name the client used (the ALB's own included)")
    return problems


def _has_https_listener(resources: dict[str, dict]) -> bool:
    return any(
        r["Properties"].get("Protocol") == "HTTPS"
        for _, r in _of_type(resources, "AWS::ElasticLoadBalancingV2::Listener")
    )


def exists_output(template: dict, values: dict[str, str], output: dict) -> bool:
    return "Condition" not in output or bool(evaluate({"Condition": output["Condition"]}, template, values))


def rules_refuse(template: dict, values: dict[str, str]) -> list[str]:
    """The AssertDescriptions of the template's Rules that `values` break."""
    return broken_rules(template, values)


# --- images ------------------------------------------------------------------------------------------


def images_need_no_anonymous_docker_hub_pull(template: dict, values: dict[str, str]) -> list[str]:
    resources = live(template, values)
    problems = []
    for lid, task in _of_type(resources, "AWS::ECS::TaskDefinition"):
        for container in task["Properties"]["ContainerDefinitions"]:
            image = resolve(container["Image"], template, values)
            if isinstance(image, str) and is_docker_hub(image):
                problems.append(f"{lid} pulls {image} from Docker Hub")
    return problems


def isolated_tasks_pull_from_own_ecr(template: dict, values: dict[str, str]) -> list[str]:
    """With no internet route (full's endpoints mode), every image comes from an
    ECR repository of the foundations stack (this account and region)."""
    if values.get("NetworkMode", template.get("Parameters", {}).get("NetworkMode", {}).get("Default")) != "endpoints":
        return []
    resources = live(template, values)
    problems = []
    for lid, task in _of_type(resources, "AWS::ECS::TaskDefinition"):
        for container in task["Properties"]["ContainerDefinitions"]:
            image = resolve(container["Image"], template, values)
            if not any(
                re.match(r"^\$\{FoundationsStackName\}-EcrRepository[A-Za-z]+Uri$", name) for name in _imports(image)
            ):
                problems.append(f"{lid} pulls {image!r}, not from the foundations ECR")
    return problems


# --- the images' contract --------------------------------------------------------------------------


def _containers(resources: dict[str, dict]) -> Iterator[tuple[str, dict, dict]]:
    """(service logical ID, service, container definition) for every ECS service."""
    for logical_id, service in _of_type(resources, "AWS::ECS::Service"):
        task = resources[service["Properties"]["TaskDefinition"]["Ref"]]
        for container in task["Properties"]["ContainerDefinitions"]:
            yield logical_id, service, container


def health_checks_the_image_can_pass(template: dict, values: dict[str, str]) -> list[str]:
    """A container health check only where the contract says the image serves one
    (ingest at 878e855 serves none and has no curl or wget: every check fails)."""
    problems = []
    for logical_id, _, container in _containers(live(template, values)):
        spec = contract().get(container["Name"])
        if spec is None or "HealthCheck" not in container:
            continue
        if spec["health"]["kind"] != "container":
            problems.append(
                f"{logical_id} has a container health check, but {container['Name']} serves none "
                f"({spec['health']['source']})"
            )
    return problems


def single_writers_never_overlap(template: dict, values: dict[str, str]) -> list[str]:
    """A service that must never run twice deploys at most 100 % and at least 0 %:
    ECS stops the old task before it starts the new one."""
    writers = THIRD_PARTY_SINGLE_WRITERS | {
        name for name, spec in contract().items() if spec.get("single_writer", {}).get("value")
    }
    problems = []
    for logical_id, service, container in _containers(live(template, values)):
        if container["Name"] not in writers:
            continue
        deployment = service["Properties"].get("DeploymentConfiguration", {})
        if (deployment.get("MaximumPercent"), deployment.get("MinimumHealthyPercent")) != (100, 0):
            problems.append(
                f"{logical_id} deploys {deployment.get('MaximumPercent')} % / "
                f"{deployment.get('MinimumHealthyPercent')} "
                f"%: two {container['Name']} tasks run at once"
            )
    return problems


def containers_listen_where_traffic_goes(template: dict, values: dict[str, str]) -> list[str]:
    """Each application container listens (by the contract's port and address
    variables, or the image's defaults) on the port its target group sends to,
    on an address the load balancer reaches."""
    resources = live(template, values)
    problems = []
    for logical_id, service, container in _containers(resources):
        spec = contract().get(container["Name"], {}).get("port")
        if not spec or spec.get("none"):
            continue
        environment = {e["Name"]: resolve(e["Value"], template, values) for e in container.get("Environment", [])}
        listens = str(environment.get(spec["variable"], spec["default"]))
        address = spec["address"]
        listen_address = environment.get(address["variable"], address["default"])
        ports = {str(resolve(m["ContainerPort"], template, values)) for m in container.get("PortMappings", [])}
        for attachment in service["Properties"].get("LoadBalancers", []):
            port = str(resolve(attachment["ContainerPort"], template, values))
            if port != listens:
                problems.append(
                    f"{logical_id} sends traffic to port {port}, but {container['Name']} listens on {listens} "
                    f"({spec['variable']})"
                )
        if ports and ports != {listens}:
            problems.append(f"{logical_id} maps port(s) {sorted(ports)}, but {container['Name']} listens on {listens}")
        if listen_address != "0.0.0.0":
            problems.append(
                f"{logical_id}: {container['Name']} listens on {listen_address}, which the load balancer cannot reach"
            )
    return problems


# --- routes ------------------------------------------------------------------------------------------


def _subnets_of(resource: dict) -> list[str]:
    properties = resource["Properties"]
    if "NetworkConfiguration" in properties:
        subnets = properties["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"]
    elif "Subnets" in properties:
        subnets = properties["Subnets"]
    elif "SubnetId" in properties:
        subnets = [properties["SubnetId"]]
    else:
        subnets = []
    return [subnet["Ref"] for subnet in subnets if isinstance(subnet, dict) and "Ref" in subnet]


def routes_of(resources: dict[str, dict], subnet: str) -> set[str]:
    """What a subnet's traffic needs before it leaves: its route-table
    associations and the default routes of the tables they name."""
    needed = set()
    for association_id, association in _of_type(resources, "AWS::EC2::SubnetRouteTableAssociation"):
        if association["Properties"]["SubnetId"] == {"Ref": subnet}:
            needed.add(association_id)
            table = association["Properties"]["RouteTableId"]
            needed |= {
                route_id
                for route_id, route in _of_type(resources, "AWS::EC2::Route")
                if route["Properties"]["RouteTableId"] == table
                and route["Properties"].get("DestinationCidrBlock") == "0.0.0.0/0"
            }
    return needed


def placed_resources_wait_for_their_routes(template: dict, values: dict[str, str]) -> list[str]:
    """Every task, internet-facing ALB and NAT gateway waits for its subnets'
    route-table associations and default routes: until an association exists the
    subnet uses the main route table (local only), and a NAT route takes minutes."""
    resources = live(template, values)
    placed = [lid for lid, _ in _of_type(resources, "AWS::ECS::Service")]
    placed += [
        lid
        for lid, r in _of_type(resources, "AWS::ElasticLoadBalancingV2::LoadBalancer")
        if r["Properties"].get("Scheme") == "internet-facing"
    ]
    placed += [lid for lid, _ in _of_type(resources, "AWS::EC2::NatGateway")]
    problems = []
    for logical_id in placed:
        waits = dependencies(resources, logical_id)
        for subnet in _subnets_of(resources[logical_id]):
            missing = sorted(routes_of(resources, subnet) - waits)
            if missing:
                problems.append(f"{logical_id} does not wait for {', '.join(missing)} ({subnet})")
    return problems


# --- images ------------------------------------------------------------------------------------------


PRIVATE_ECR = re.compile(r"^[^/]*\.dkr[.-]ecr[.-]")


def images_pullable_by_their_role(template: dict, values: dict[str, str]) -> list[str]:
    """An image in the foundations ECR needs its repository in the execution
    role's pull grant; an image in any other private ECR registry cannot be pulled
    (the role may pull only from foundations); a public registry needs no grant."""
    resources = live(template, values)
    problems = []
    for lid, task in _of_type(resources, "AWS::ECS::TaskDefinition"):
        role = _role_of(task["Properties"]["ExecutionRoleArn"])
        for container in task["Properties"]["ContainerDefinitions"]:
            image = resolve(container["Image"], template, values)
            for name in _imports(image):
                wanted = {"Fn::ImportValue": {"Fn::Sub": re.sub(r"Uri$", "Arn", name)}}
                if not _allows(resources, role, "ecr:BatchGetImage", wanted):
                    problems.append(f"{lid} pulls from {name}, which its execution role may not pull from")
            if isinstance(image, str) and PRIVATE_ECR.match(image):
                problems.append(f"{lid} pulls {image}, a private ECR repository its execution role may not pull from")
    return problems


def json_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _imports(value: Any) -> list[str]:
    """The Fn::Sub names of every Fn::ImportValue inside `value`."""
    return [
        node["Fn::ImportValue"]["Fn::Sub"]
        for node in nodes(value)
        if isinstance(node, dict) and "Fn::ImportValue" in node
    ]


# Every shape of image reference an operator might give an image parameter:
# public registries, Docker Hub, and private ECR (a repository, a pull-through
# cache, FIPS, China, dual-stack names).
IMAGE_SHAPES = (
    "public.ecr.aws/docker/library/{name}:{tag}",
    "ghcr.io/example/{name}:{tag}",
    "quay.io/example/{name}:{tag}",
    "{name}:{tag}",
    "docker.io/library/{name}:{tag}",
    "123456789012.dkr.ecr.us-east-1.amazonaws.com/{name}:{tag}",
    "123456789012.dkr.ecr.us-east-1.amazonaws.com/docker-hub/library/{name}:{tag}",
    "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com/{name}:{tag}",
    "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/{name}:{tag}",
    "123456789012.dkr-ecr.us-east-1.on.aws/{name}:{tag}",
)
IMAGE_PARAMETERS = {"GrafanaImage": ("grafana", "12.1.1"), "InfluxDbImage": ("influxdb", "2.7.12")}


def accepts(template: dict, name: str, value: str) -> bool:
    """Whether the parameter's AllowedPattern (the whole value must match) takes `value`."""
    pattern = template["Parameters"][name].get("AllowedPattern")
    return pattern is None or re.fullmatch(pattern, value) is not None


def image_shape_branches(template: dict, branches: list[dict[str, str]]) -> list[dict[str, str]]:
    """Each branch again with every image shape the template's own patterns accept
    in each image parameter it has."""
    extra = []
    for parameter, (name, tag) in IMAGE_PARAMETERS.items():
        if parameter not in template.get("Parameters", {}):
            continue
        for shape in IMAGE_SHAPES:
            value = shape.format(name=name, tag=tag)
            if accepts(template, parameter, value):
                extra += [{**values, parameter: value} for values in branches]
    return extra


# --- updates -----------------------------------------------------------------------------------------


def _alarm_names_paused(resources: dict[str, dict]) -> set[str]:
    """The alarm names (Sub patterns) a disableAlarmActions schedule names."""
    names: set[str] = set()
    for _, schedule in _of_type(resources, "AWS::Scheduler::Schedule"):
        target = schedule["Properties"]["Target"]
        if "disableAlarmActions" in json_key(target["Arn"]):
            text = (
                target["Input"]["Fn::Sub"]
                if isinstance(target["Input"]["Fn::Sub"], str)
                else target["Input"]["Fn::Sub"][0]
            )
            names |= set(re.findall(r'"([^"]+)"', text)) - {"AlarmNames"}
    return names


def alarm_actions_come_back_on(template: dict, values: dict[str, str]) -> list[str]:
    """With active hours off, every alarm the stop schedule could have disabled is
    put again by the update that turned them off (its properties differ from the
    scheduled branch) with ActionsEnabled true: DisableAlarmActions outlives the
    schedule, and CloudFormation re-puts only an alarm whose properties change."""
    if "ActiveHours" not in template.get("Parameters", {}) or values.get("ActiveHours") == "scheduled":
        return []
    resources = live(template, values)
    scheduled = live(template, {**values, "ActiveHours": "scheduled"})
    paused = _alarm_names_paused(scheduled)
    problems = []
    for lid, alarm in _of_type(resources, "AWS::CloudWatch::Alarm"):
        name = alarm["Properties"]["AlarmName"]
        pattern = name["Fn::Sub"] if isinstance(name, dict) else name
        if pattern not in paused:
            continue
        now = resolve(alarm["Properties"], template, values)
        before = resolve(scheduled[lid]["Properties"], template, {**values, "ActiveHours": "scheduled"})
        if now == before:
            problems.append(
                f"{lid} is the same with and without active hours: an update that turns them off never re-enables its "
                "actions"
            )
        if now.get("ActionsEnabled") is not True:
            problems.append(f"{lid} does not set ActionsEnabled true")
    return problems


# --- partitions --------------------------------------------------------------------------------------


def arns_name_their_partition(template: dict, values: dict[str, str]) -> list[str]:
    """No ARN in a resource hard-codes the aws partition (aws-cn, aws-us-gov)."""
    problems = []
    for lid, resource in sorted(live(template, values).items()):
        for node in nodes(resource.get("Properties", {})):
            if isinstance(node, str) and re.search(r"\barn:aws:", node):
                problems.append(f"{lid}: {node}")
    return problems


# --- wiring: every path a client takes, every grant an integration needs (issue 24) ---------------


def _statements(resources: dict[str, dict], role: str) -> list[dict]:
    return [
        statement
        for policy in resources[role]["Properties"].get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
        if statement.get("Effect") == "Allow"
    ]


def _allows(resources: dict[str, dict], role: str, action: str, target: Any, condition: Any = None) -> bool:
    """Whether an Allow statement of the role's inline policies grants `action` on `target`
    (and carries `condition`, when given)."""
    for statement in _statements(resources, role):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if action in actions and json_key(target) in {json_key(t) for t in targets}:
            if condition is None or json_key(statement.get("Condition")) == json_key(condition):
                return True
    return False


def _role_of(arn: Any) -> str:
    return arn["Fn::GetAtt"][0]


def clients_reach_the_port_their_target_serves(template: dict, values: dict[str, str]) -> list[str]:
    """For every service behind a load balancer, the rule admitting that ALB into the
    service's group opens exactly the container port the target group sends to; every
    other client admitted into a service's group is admitted on its container port."""
    resources = live(template, values)
    problems = []
    for logical_id, service, _ in _containers(resources):
        for attachment in service["Properties"].get("LoadBalancers", []):
            port = resolve(attachment["ContainerPort"], template, values)
            balancers = [
                lid
                for lid, r in _of_type(resources, "AWS::ElasticLoadBalancingV2::LoadBalancer")
                if attachment["TargetGroupArn"]["Ref"]
                in referenced(resources_routing_to(resources, lid), set(resources))
            ]
            for balancer in balancers:
                balancer_group = _group(resources[balancer]["Properties"]["SecurityGroups"][0])
                rules = _rules_into(resources, _service_group(service), balancer_group)
                opened = {
                    (
                        resolve(resources[r]["Properties"]["FromPort"], template, values),
                        resolve(resources[r]["Properties"]["ToPort"], template, values),
                    )
                    for r in rules
                }
                if (port, port) not in opened:
                    problems.append(f"{logical_id}: {balancer} reaches ports {sorted(opened)}, the target is {port}")
        # Every other client admitted into the service's group (a service, a Lambda)
        # is admitted on a port the container listens on.
        listening = {
            resolve(mapping["ContainerPort"], template, values)
            for definition in _task_definition(resources, service)["Properties"]["ContainerDefinitions"]
            for mapping in definition.get("PortMappings", [])
        }
        for rule in _rules_into(resources, _service_group(service)):
            properties = resources[rule]["Properties"]
            if "SourceSecurityGroupId" not in properties:
                continue
            ports = {resolve(properties[key], template, values) for key in ("FromPort", "ToPort")}
            if len(ports) != 1 or not ports <= listening:
                problems.append(
                    f"{rule} admits a client to {logical_id} on {sorted(ports)}; it listens on {sorted(listening)}"
                )
    return problems


def _task_definition(resources: dict[str, dict], service: dict) -> dict:
    return resources[service["Properties"]["TaskDefinition"]["Ref"]]


def resources_routing_to(resources: dict[str, dict], balancer: str) -> list[Any]:
    """The actions of every listener (and listener rule) of `balancer`."""
    actions: list[Any] = []
    for lid, listener in _of_type(resources, "AWS::ElasticLoadBalancingV2::Listener"):
        if listener["Properties"]["LoadBalancerArn"] == {"Ref": balancer}:
            actions.append(listener["Properties"].get("DefaultActions", []))
            for _, rule in _of_type(resources, "AWS::ElasticLoadBalancingV2::ListenerRule"):
                if rule["Properties"]["ListenerArn"] == {"Ref": lid}:
                    actions.append(rule["Properties"].get("Actions", []))
    return actions


def roles_grant_what_their_integrations_need(template: dict, values: dict[str, str]) -> list[str]:
    """Derived from the resources themselves: an event source mapping's on-failure
    queue (sqs:SendMessage for the function's role); an EFS volume mounted
    read-write (ClientMount and ClientWrite on that file system, under its access
    point); every secret a container reads (GetSecretValue for the execution role);
    every log group a container writes (PutLogEvents for the execution role)."""
    resources = live(template, values)
    problems = []
    for lid, mapping in _of_type(resources, "AWS::Lambda::EventSourceMapping"):
        destination = mapping["Properties"].get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if destination:
            function = resources[mapping["Properties"]["FunctionName"]["Ref"]]
            role = _role_of(function["Properties"]["Role"])
            if not _allows(resources, role, "sqs:SendMessage", destination):
                problems.append(f"{lid}: {role} may not send to its on-failure destination")
    for lid, task in _of_type(resources, "AWS::ECS::TaskDefinition"):
        properties = task["Properties"]
        task_role, execution_role = _role_of(properties["TaskRoleArn"]), _role_of(properties["ExecutionRoleArn"])
        volumes = {v["Name"]: v.get("EFSVolumeConfiguration") for v in properties.get("Volumes", [])}
        for container in properties["ContainerDefinitions"]:
            for mount in container.get("MountPoints", []):
                efs = volumes.get(mount["SourceVolume"])
                if not efs:
                    continue
                file_system = {
                    "Fn::ImportValue": {
                        "Fn::Sub": efs["FilesystemId"]["Fn::ImportValue"]["Fn::Sub"].replace("Id", "Arn")
                    }
                }
                point = efs["AuthorizationConfig"]["AccessPointId"]["Fn::ImportValue"]["Fn::Sub"].replace("Id", "Arn")
                condition = {"ArnEquals": {"elasticfilesystem:AccessPointArn": {"Fn::ImportValue": {"Fn::Sub": point}}}}
                needed = ["elasticfilesystem:ClientMount"] + (
                    [] if mount.get("ReadOnly") else ["elasticfilesystem:ClientWrite"]
                )
                for action in needed:
                    if not _allows(resources, task_role, action, file_system, condition):
                        problems.append(f"{lid}: {task_role} lacks {action} on its file system under its access point")
            for secret in container.get("Secrets", []):
                arn = secret["ValueFrom"]
                arn = arn["Fn::Sub"][1]["SecretArn"] if isinstance(arn, dict) and "Fn::Sub" in arn else arn
                if not _allows(resources, execution_role, "secretsmanager:GetSecretValue", arn):
                    problems.append(f"{lid}: {execution_role} may not read the secret of {secret['Name']}")
            group = container["LogConfiguration"]["Options"]["awslogs-group"]
            if not _allows(resources, execution_role, "logs:PutLogEvents", {"Fn::GetAtt": [group["Ref"], "Arn"]}):
                problems.append(f"{lid}: {execution_role} may not write its log group {group['Ref']}")
    return problems


def parameters_reach_what_they_govern(template: dict, values: dict[str, str]) -> list[str]:
    """The log-retention parameter sets every log group's retention; AlarmEmail's
    topic is every alarm's action when it is set; a service's task-size
    parameters size its task definition; its image-tag parameter is its image's tag."""
    resources = live(template, values)
    problems = []
    params = template.get("Parameters", {})
    if "LogRetentionDays" in params:
        for lid, group in _of_type(resources, "AWS::Logs::LogGroup"):
            if group["Properties"].get("RetentionInDays") != {"Ref": "LogRetentionDays"}:
                problems.append(
                    f"{lid} keeps its logs for {group['Properties'].get('RetentionInDays')!r}, not LogRetentionDays"
                )
    if "AlarmEmail" in params and values.get("AlarmEmail"):
        for lid, alarm in _of_type(resources, "AWS::CloudWatch::Alarm"):
            if alarm["Properties"].get("AlarmActions") != [{"Ref": "AlarmTopic"}]:
                problems.append(f"{lid} does not notify AlarmEmail's topic")
    for lid, task in _of_type(resources, "AWS::ECS::TaskDefinition"):
        name = lid.removesuffix("TaskDefinition")
        for field in ("Cpu", "Memory"):
            if f"{name}{field}" in params and task["Properties"][field] != {"Ref": f"{name}{field}"}:
                problems.append(f"{lid}.{field} is not {name}{field}")
        if f"{name}ImageTag" in params:
            images = [c.get("Image") for c in task["Properties"]["ContainerDefinitions"]]
            tagged = [isinstance(i, dict) and i.get("Fn::Join", [None, [None]])[1][-1] for i in images]
            if tagged != [{"Ref": f"{name}ImageTag"}] * len(images):
                problems.append(f"{lid}'s image is not tagged {name}ImageTag")
    return problems


def _cron_refusal(expression: str) -> str | None:
    """Why EventBridge Scheduler would refuse a cron expression, or None: six fields
    (minutes hours day-of-month month day-of-week year), and one of day-of-month and
    day-of-week a '?' ("You can't specify the Day-of-month and Day-of-week fields in the
    same cron expression": https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html)."""
    match = re.fullmatch(r"cron\((.*)\)", expression)
    if not match:
        return "is not cron(...)"
    fields = match.group(1).split()
    if len(fields) != 6:
        return f"has {len(fields)} fields, not 6"
    if (fields[2] == "?") == (fields[4] == "?"):
        return "must have exactly one of day-of-month and day-of-week as '?'"
    return None


def schedules_are_valid_cron(template: dict, values: dict[str, str]) -> list[str]:
    """Every schedule's expression, as these values make it, is one Scheduler accepts."""
    problems = []
    for lid, schedule in _of_type(live(template, values), "AWS::Scheduler::Schedule"):
        expression = resolve(schedule["Properties"]["ScheduleExpression"], template, values)
        refusal = _cron_refusal(expression) if isinstance(expression, str) else "is not a string"
        if refusal:
            problems.append(f"{lid}: {expression!r} {refusal}")
    return problems


CHECKS = {
    "public addresses wait for the internet gateway": public_addresses_wait_for_the_gateway,
    "services wait for what their first task needs": services_wait_for_their_first_task,
    "the tokens wait for the rules admitting the agent": tokens_wait_for_the_agent_rules,
    "a detached service renders LoadBalancers: []": detached_services_say_so,
    "target group ports are the container ports": target_group_ports_match_containers,
    "HTTPS never uses the ALB's own name": https_never_uses_the_alb_name,
    "no anonymous Docker Hub pull": images_need_no_anonymous_docker_hub_pull,
    "isolated tasks pull from the stack's own ECR": isolated_tasks_pull_from_own_ecr,
    "container health checks only where the image serves one": health_checks_the_image_can_pass,
    "single writers never run twice": single_writers_never_overlap,
    "containers listen where their traffic goes": containers_listen_where_traffic_goes,
    "tasks, public ALBs and NAT wait for their subnets' routes": placed_resources_wait_for_their_routes,
    "every image is pullable by its execution role": images_pullable_by_their_role,
    "alarm actions come back on when active hours go off": alarm_actions_come_back_on,
    "ARNs name their partition": arns_name_their_partition,
    "clients reach the port their target serves": clients_reach_the_port_their_target_serves,
    "roles grant what their integrations need": roles_grant_what_their_integrations_need,
    "parameters reach what they govern": parameters_reach_what_they_govern,
    "schedules are cron expressions Scheduler accepts": schedules_are_valid_cron,
}


def contract_container(resources: dict, service: str) -> dict:
    (definition,) = resources[f"{service.capitalize()}TaskDefinition"]["Properties"]["ContainerDefinitions"]
    return definition


def _secret_export(secret_logical_id: str) -> str:
    return SECRETS[secret_logical_id][0]


def implements_the_contract(template: dict, values: dict, service: str, contracts: dict | None = None) -> None:
    """The service's task definition, ECS service and target group do what its entry in
    contracts/services.toml (or `contracts`) says the image expects."""
    resources = live(template, values)
    entry = (contracts or contract())[service]
    definition = contract_container(resources, service)

    environment = {e["Name"]: e["Value"] for e in definition.get("Environment", [])}
    declared = entry.get("environment", {})
    required = {name for name, spec in declared.items() if not (isinstance(spec, dict) and spec.get("optional"))}
    assert required <= set(environment) <= set(declared), (
        f"{service}: sets {sorted(environment)}, the contract has {sorted(declared)}"
    )
    for name, spec in declared.items():
        if isinstance(spec, dict) and "value" in spec:
            assert environment[name] == spec["value"], name

    secrets = {s["Name"]: s["ValueFrom"] for s in definition.get("Secrets", [])}
    assert set(secrets) == set(entry.get("secrets", {})), service
    for name, spec in entry.get("secrets", {}).items():
        arn = {"Fn::ImportValue": {"Fn::Sub": "${FoundationsStackName}-" + _secret_export(spec["secret"])}}
        assert secrets[name] == {"Fn::Sub": ["${SecretArn}:" + spec["key"] + "::", {"SecretArn": arn}]}, name
    assert not set(secrets) & set(environment)

    port = entry["port"]
    mappings = [m["ContainerPort"] for m in definition.get("PortMappings", [])]
    if port.get("none"):
        assert mappings == [], service
    else:
        assert mappings == [{"Ref": port["parameter"]}]
        assert template["Parameters"][port["parameter"]]["Default"] == str(port["default"])
        assert environment[port["variable"]] == {"Ref": port["parameter"]}
        assert environment.get(port["address"]["variable"], port["address"]["default"]) == port["address"]["value"]

    health = entry["health"]
    service_resource = resources[f"{service.capitalize()}Service"]
    if health["kind"] == "alb":
        (attachment,) = service_resource["Properties"]["LoadBalancers"]
        group = resources[attachment["TargetGroupArn"]["Ref"]]["Properties"]
        assert group["HealthCheckPath"] == health["path"] and group["Matcher"] == {"HttpCode": "200"}
        assert group["Port"] == attachment["ContainerPort"] == {"Ref": port["parameter"]}
    elif health["kind"] == "container":
        command = " ".join(definition["HealthCheck"]["Command"])
        assert f"127.0.0.1:{health['port']}{health['path']}" in command
        assert "LoadBalancers" not in service_resource["Properties"]
    else:
        assert health["kind"] == "none" and health["watch"]
        assert "HealthCheck" not in definition and "LoadBalancers" not in service_resource["Properties"]

    deployment = service_resource["Properties"]["DeploymentConfiguration"]
    single = entry.get("single_writer", {}).get("value", False)
    assert (deployment["MaximumPercent"], deployment["MinimumHealthyPercent"]) == (
        (100, 0) if single else (200, 100)
    ), service
