"""`streamlines residue`: after a teardown, what of a profile stack is still there.

Found by the project's tags (every taggable resource carries Project, Profile
and Name = <stack>-<logical id>; CloudFormation adds aws:cloudformation:stack-name):
through the Resource Groups Tagging API, which sees every tagged resource of the
region, and through each service's own listing (the tagging API does not cover
every type everywhere); for what AWS creates untagged on the stack's behalf, by
the stack's generated names (log groups) or by its VPC (network interfaces).
Every listing reads every page. A resource belongs to the stack when its
stack-name tag is the stack, or its Name is the stack's name followed by one of
the profile's logical IDs: `app-full` does not claim `app-full-staging`'s
resources. The foundations resources, retained on purpose, are listed apart.
Read-only: it only lists and describes.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, Iterator

from templates_py.model import kebab

STACK_TAG = "aws:cloudformation:stack-name"

# DescribeClusters takes at most 100 clusters a call; Elastic Load Balancing's DescribeTags 20 ARNs.
DESCRIBE_CLUSTERS_AT_MOST = 100
DESCRIBE_TAGS_AT_MOST = 20
# The smallest page some EC2 listings accept (MaxResults).
MIN_PAGE_SIZE = {
    "describe_vpcs": 5,
    "describe_network_interfaces": 5,
    "describe_nat_gateways": 5,
    "describe_vpc_endpoints": 5,
}

# ARN (service, resource type) -> what the report calls it, for the tagging API's findings.
ARN_KINDS = {
    ("ec2", "vpc"): "VPC",
    ("ec2", "natgateway"): "NAT gateway",
    ("ec2", "elastic-ip"): "Elastic IP",
    ("ec2", "vpc-endpoint"): "VPC endpoint",
    ("ec2", "network-interface"): "ENI",
    ("elasticloadbalancing", "loadbalancer"): "load balancer",
    ("elasticloadbalancing", "targetgroup"): "target group",
    ("ecs", "cluster"): "ECS cluster",
    ("ecs", "service"): "ECS service",
    ("kinesis", "stream"): "Kinesis stream",
    ("lambda", "function"): "Lambda function",
    ("logs", "log-group"): "log group",
    ("apigateway", "apis"): "API Gateway API",
    ("cloudfront", "distribution"): "CloudFront distribution",
}


def arn_finding(arn: str) -> Finding | None:
    """A Finding named as the service listings name it, from a resource ARN."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return None
    service, resource = parts[2], parts[5]
    if service == "apigateway" and resource.startswith("/apis/"):
        return Finding("API Gateway API", resource.split("/")[2])
    kind_name, _, rest = resource.partition("/") if "/" in resource.split(":")[0] else resource.partition(":")
    kind = ARN_KINDS.get((service, kind_name))
    if kind is None:
        return None
    pieces = rest.split("/")
    if kind in ("load balancer", "target group"):
        identifier = pieces[1] if kind == "load balancer" else pieces[0]
    elif kind == "log group":
        identifier = rest.split(":")[0]
    else:
        identifier = pieces[-1]
    return Finding(kind, identifier)


@dataclass(frozen=True)
class Finding:
    kind: str
    id: str
    detail: str = ""


def _tags(pairs: Iterable[dict] | dict | None) -> dict[str, str]:
    if not pairs:
        return {}
    if isinstance(pairs, dict):
        return dict(pairs)
    return {pair.get("Key", pair.get("key")): pair.get("Value", pair.get("value")) for pair in pairs}


def profile_logical_ids(profile: str) -> set[str]:
    """The logical IDs the profile's template declares (its Name tags and generated names end with them)."""
    from templates_py.config import BuildConfig
    from templates_py.render import render

    rendered = render("all", BuildConfig().validated())
    return set(json.loads(rendered[f"{profile}.json"])["Resources"])


@dataclass
class Residue:
    session: Any
    project: str
    profile: str
    stack: str
    # The stack's VPCs still there; filled by vpcs(), which runs first.
    vpc_ids: list[str] = field(default_factory=list)
    # Page size for every listing (None: each API's default); tests make it small.
    page_size: int | None = None
    logical_ids: set[str] = field(default_factory=set)
    clients: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.logical_ids:
            self.logical_ids = profile_logical_ids(self.profile)

    def client(self, service: str) -> Any:
        """One client per service for the whole report (making one reads its model)."""
        if service not in self.clients:
            self.clients[service] = self.session.client(service)
        return self.clients[service]

    def pages(self, client: Any, operation: str, **arguments: Any) -> Iterator[dict]:
        config = {"PageSize": max(self.page_size, MIN_PAGE_SIZE.get(operation, 1))} if self.page_size else {}
        yield from client.get_paginator(operation).paginate(**arguments, PaginationConfig=config)

    def items(self, client: Any, operation: str, key: str, **arguments: Any) -> Iterator[Any]:
        """Every item of a listing, from every page. The service models make most list
        members optional: a page may leave out an empty list."""
        for page in self.pages(client, operation, **arguments):
            yield from page.get(key, [])

    def named(self, name: str) -> bool:
        """`<stack>-<kebab logical id>`, exactly: a longer stack name sharing the prefix is another stack."""
        prefix = f"{self.stack}-"
        return name.startswith(prefix) and name[len(prefix) :] in {kebab(lid) for lid in self.logical_ids}

    def generated(self, name: str) -> bool:
        """A name CloudFormation generated for one of the stack's resources: `<stack>-<LogicalId>-<suffix>`."""
        match = re.fullmatch(re.escape(self.stack) + r"-([A-Za-z0-9]+)-[A-Za-z0-9]+", name)
        return bool(match) and match.group(1) in self.logical_ids

    def ours(self, tags: dict[str, str]) -> bool:
        """Tagged by this project, for this stack (and profile, when the tag says)."""
        if tags.get("Project") != self.project:
            return False
        if tags.get("Profile") not in (None, self.profile):
            return False
        if STACK_TAG in tags:
            return tags[STACK_TAG] == self.stack
        return "Name" in tags and self.named(tags["Name"])

    def kept(self, tags: dict[str, str]) -> bool:
        return tags.get("Project") == self.project and tags.get("Profile") == "foundations"

    # --- leftovers ------------------------------------------------------------------
    def leftovers(self) -> list[Finding]:
        found: list[Finding] = []
        for finder in (
            self.vpcs,
            self.network,
            self.load_balancers,
            self.ecs,
            self.streams,
            self.functions,
            self.log_groups,
            self.apis,
            self.mount_targets,
            self.distributions,
            self.tagged,
        ):
            for finding in finder():
                if not any(known.kind == finding.kind and known.id == finding.id for known in found):
                    found.append(finding)
        return found

    def tagged(self) -> Iterator[Finding]:
        """Everything of the project's the Resource Groups Tagging API sees, whatever its type."""
        tagging = self.client("resourcegroupstaggingapi")
        for mapping in self.items(
            tagging,
            "get_resources",
            "ResourceTagMappingList",
            TagFilters=[{"Key": "Project", "Values": [self.project]}],
        ):
            if self.ours(_tags(mapping.get("Tags"))):
                finding = arn_finding(mapping["ResourceARN"])
                yield finding or Finding("resource", mapping["ResourceARN"], "tagged")

    def vpcs(self) -> Iterator[Finding]:
        self.vpc_ids.clear()
        for vpc in self.items(self.client("ec2"), "describe_vpcs", "Vpcs"):
            if self.ours(_tags(vpc.get("Tags"))):
                self.vpc_ids.append(vpc["VpcId"])
                yield Finding("VPC", vpc["VpcId"], vpc["CidrBlock"])

    def network(self) -> Iterator[Finding]:
        ec2 = self.client("ec2")
        vpc_ids = set(self.vpc_ids)
        for interface in self.items(ec2, "describe_network_interfaces", "NetworkInterfaces"):
            if interface.get("VpcId") in vpc_ids or self.ours(_tags(interface.get("TagSet"))):
                yield Finding(
                    "ENI", interface["NetworkInterfaceId"], interface.get("Description") or interface["Status"]
                )
        for gateway in self.items(ec2, "describe_nat_gateways", "NatGateways"):
            # A NAT gateway's states are lower case; a deleted one stays listed for about an hour.
            state = gateway["State"]
            if state not in ("deleted", "deleting") and (
                self.ours(_tags(gateway.get("Tags"))) or gateway.get("VpcId") in vpc_ids
            ):
                yield Finding("NAT gateway", gateway["NatGatewayId"], state)
        # DescribeAddresses has no pages: it answers every address at once.
        for address in ec2.describe_addresses().get("Addresses", []):
            if self.ours(_tags(address.get("Tags"))):
                yield Finding("Elastic IP", address["AllocationId"], address["PublicIp"])
        for endpoint in self.items(ec2, "describe_vpc_endpoints", "VpcEndpoints"):
            # An endpoint's states are capitalized ("Deleted"); moto answers them in lower case.
            if endpoint["State"].lower() != "deleted" and (
                self.ours(_tags(endpoint.get("Tags"))) or endpoint.get("VpcId") in vpc_ids
            ):
                yield Finding("VPC endpoint", endpoint["VpcEndpointId"], endpoint["ServiceName"])

    def load_balancers(self) -> Iterator[Finding]:
        elb = self.client("elbv2")
        balancers = list(self.items(elb, "describe_load_balancers", "LoadBalancers"))
        groups = list(self.items(elb, "describe_target_groups", "TargetGroups"))
        arns = [b["LoadBalancerArn"] for b in balancers] + [g["TargetGroupArn"] for g in groups]
        tags = {}
        for start in range(0, len(arns), DESCRIBE_TAGS_AT_MOST):
            for description in elb.describe_tags(ResourceArns=arns[start : start + DESCRIBE_TAGS_AT_MOST])[
                "TagDescriptions"
            ]:
                tags[description["ResourceArn"]] = description.get("Tags")
        for balancer in balancers:
            if self.ours(_tags(tags.get(balancer["LoadBalancerArn"]))):
                yield Finding("load balancer", balancer["LoadBalancerName"], balancer.get("Scheme") or "")
        for group in groups:
            if self.ours(_tags(tags.get(group["TargetGroupArn"]))):
                yield Finding("target group", group["TargetGroupName"])

    def ecs(self) -> Iterator[Finding]:
        ecs = self.client("ecs")
        arns = list(self.items(ecs, "list_clusters", "clusterArns"))
        for start in range(0, len(arns), DESCRIBE_CLUSTERS_AT_MOST):
            for cluster in ecs.describe_clusters(
                clusters=arns[start : start + DESCRIBE_CLUSTERS_AT_MOST], include=["TAGS"]
            ).get("clusters", []):
                if cluster.get("status") == "INACTIVE" or not self.ours(_tags(cluster.get("tags"))):
                    continue
                yield Finding("ECS cluster", cluster["clusterName"], f"{cluster['runningTasksCount']} running tasks")
                for service in self.items(ecs, "list_services", "serviceArns", cluster=cluster["clusterArn"]):
                    yield Finding("ECS service", service.rpartition("/")[2], cluster["clusterName"])

    def streams(self) -> Iterator[Finding]:
        kinesis = self.client("kinesis")
        for name in self.stream_names(kinesis):
            if self.ours(_tags(kinesis.list_tags_for_stream(StreamName=name).get("Tags"))):
                yield Finding("Kinesis stream", name)

    def stream_names(self, kinesis: Any) -> Iterator[str]:
        """Every stream name, a page at a time by ExclusiveStartStreamName and
        HasMoreStreams, which every Kinesis endpoint answers (NextToken is newer). Both
        StreamNames and HasMoreStreams are required members of the answer."""
        arguments: dict[str, Any] = {"Limit": self.page_size} if self.page_size else {}
        while True:
            page = kinesis.list_streams(**arguments)
            yield from page["StreamNames"]
            if not page["HasMoreStreams"]:
                return
            arguments["ExclusiveStartStreamName"] = page["StreamNames"][-1]

    def functions(self) -> Iterator[Finding]:
        lambdas = self.client("lambda")
        for function in self.items(lambdas, "list_functions", "Functions"):
            if self.ours(_tags(lambdas.list_tags(Resource=function["FunctionArn"]).get("Tags"))):
                # A function deployed as a container image has no Runtime.
                yield Finding("Lambda function", function["FunctionName"], function.get("Runtime") or "container image")

    def log_groups(self) -> Iterator[Finding]:
        logs = self.client("logs")
        for group in self.items(logs, "describe_log_groups", "logGroups"):
            name = group["logGroupName"]
            named = self.generated(name) or self.generated(name.removeprefix("/aws/lambda/"))
            if named or self.ours(_tags(logs.list_tags_log_group(logGroupName=name).get("tags"))):
                yield Finding("log group", name, f"{group.get('storedBytes') or 0} bytes")

    def apis(self) -> Iterator[Finding]:
        for api in self.items(self.client("apigatewayv2"), "get_apis", "Items"):
            if self.ours(_tags(api.get("Tags"))):
                yield Finding("API Gateway API", api["ApiId"], api["Name"])

    def mount_targets(self) -> Iterator[Finding]:
        efs = self.client("efs")
        vpc_ids = set(self.vpc_ids)
        for file_system in self.items(efs, "describe_file_systems", "FileSystems"):
            if not self.kept(_tags(file_system.get("Tags"))):
                continue
            for target in self.items(
                efs, "describe_mount_targets", "MountTargets", FileSystemId=file_system["FileSystemId"]
            ):
                where = "in this stack's VPC" if target.get("VpcId") in vpc_ids else f"in {target.get('VpcId')}"
                yield Finding("EFS mount target", target["MountTargetId"], f"{file_system['FileSystemId']} {where}")

    def distributions(self) -> Iterator[Finding]:
        cloudfront = self.client("cloudfront")
        # CloudFront leaves Items out of an empty list (Quantity 0): of the distributions, and of a resource's tags.
        items = [
            d
            for page in self.pages(cloudfront, "list_distributions")
            for d in page["DistributionList"].get("Items", [])
        ]
        for distribution in items:
            tags = cloudfront.list_tags_for_resource(Resource=distribution["ARN"])["Tags"].get("Items")
            if self.ours(_tags(tags)):
                yield Finding("CloudFront distribution", distribution["Id"], distribution["DomainName"])

    # --- kept on purpose ----------------------------------------------------------------
    def kept_on_purpose(self) -> list[Finding]:
        found = []
        s3 = self.client("s3")
        from botocore.exceptions import ClientError

        for bucket in self.items(s3, "list_buckets", "Buckets"):
            try:
                tags = _tags(s3.get_bucket_tagging(Bucket=bucket["Name"]).get("TagSet"))
            except ClientError:
                continue
            if self.kept(tags):
                found.append(Finding("S3 bucket", bucket["Name"], "app bucket (versioned)"))
        ecr = self.client("ecr")
        for repository in self.items(ecr, "describe_repositories", "repositories"):
            if self.kept(_tags(ecr.list_tags_for_resource(resourceArn=repository["repositoryArn"]).get("tags"))):
                found.append(Finding("ECR repository", repository["repositoryName"]))
        for file_system in self.items(self.client("efs"), "describe_file_systems", "FileSystems"):
            if self.kept(_tags(file_system.get("Tags"))):
                found.append(
                    Finding(
                        "EFS file system", file_system["FileSystemId"], f"{file_system['SizeInBytes']['Value']} bytes"
                    )
                )
        dynamodb = self.client("dynamodb")
        for name in self.items(dynamodb, "list_tables", "TableNames"):
            arn = dynamodb.describe_table(TableName=name)["Table"]["TableArn"]
            if self.kept(_tags(dynamodb.list_tags_of_resource(ResourceArn=arn).get("Tags"))):
                found.append(Finding("DynamoDB table", name))
        for secret in self.items(self.client("secretsmanager"), "list_secrets", "SecretList"):
            if self.kept(_tags(secret.get("Tags"))):
                found.append(Finding("secret", secret["Name"]))
        return found


def report(residue: Residue, as_json: bool, emit: Callable[[str], None]) -> int:
    leftovers, kept = residue.leftovers(), residue.kept_on_purpose()
    if as_json:
        emit(
            json.dumps(
                {
                    "stack": residue.stack,
                    "profile": residue.profile,
                    "leftovers": [asdict(f) for f in leftovers],
                    "kept": [asdict(f) for f in kept],
                },
                indent=2,
            )
        )
    else:
        emit(f"residue of {residue.profile} stack {residue.stack} (project {residue.project}):")
        if leftovers:
            emit(f"still there, and costing money or in the way ({len(leftovers)}):")
            for finding in leftovers:
                emit(f"  {finding.kind:<24} {finding.id:<40} {finding.detail}")
        else:
            emit("nothing left of the stack")
        emit(f"kept on purpose (foundations, retained) ({len(kept)}):")
        for finding in kept:
            emit(f"  {finding.kind:<24} {finding.id:<40} {finding.detail}")
    return 1 if leftovers else 0
