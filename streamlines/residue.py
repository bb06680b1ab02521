"""`streamlines residue`: after a teardown, what of a profile stack is still there.

Found by the project's tags (every taggable resource carries Project, Profile
and Name = <stack>-...; CloudFormation adds aws:cloudformation:stack-name) and,
for what AWS creates untagged on the stack's behalf, by the stack's name (log
groups) or by its VPC (network interfaces). The foundations resources, retained
on purpose, are listed apart. Read-only: it only lists and describes.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, Iterator

STACK_TAG = "aws:cloudformation:stack-name"


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


@dataclass
class Residue:
    session: Any
    project: str
    profile: str
    stack: str
    # The stack's VPCs still there; filled by vpcs(), which runs first.
    vpc_ids: list[str] = field(default_factory=list)

    def client(self, service: str) -> Any:
        return self.session.client(service)

    def ours(self, tags: dict[str, str]) -> bool:
        """Tagged by this project, for this stack (and profile, when the tag says)."""
        if tags.get("Project") != self.project:
            return False
        if tags.get("Profile") not in (None, self.profile):
            return False
        return tags.get(STACK_TAG) == self.stack or str(tags.get("Name", "")).startswith(f"{self.stack}-")

    def kept(self, tags: dict[str, str]) -> bool:
        return tags.get("Project") == self.project and tags.get("Profile") == "foundations"

    # --- leftovers ------------------------------------------------------------------
    def leftovers(self) -> list[Finding]:
        found: list[Finding] = []
        for finder in (self.vpcs, self.network, self.load_balancers, self.ecs, self.streams, self.functions, self.log_groups, self.apis, self.mount_targets, self.distributions):
            found.extend(finder())
        return found

    def vpcs(self) -> Iterator[Finding]:
        self.vpc_ids.clear()
        for vpc in self.client("ec2").describe_vpcs()["Vpcs"]:
            if self.ours(_tags(vpc.get("Tags"))):
                self.vpc_ids.append(vpc["VpcId"])
                yield Finding("VPC", vpc["VpcId"], vpc.get("CidrBlock", ""))

    def network(self) -> Iterator[Finding]:
        ec2 = self.client("ec2")
        vpc_ids = set(self.vpc_ids)
        for interface in ec2.describe_network_interfaces()["NetworkInterfaces"]:
            if interface.get("VpcId") in vpc_ids or self.ours(_tags(interface.get("TagSet"))):
                yield Finding("ENI", interface["NetworkInterfaceId"], interface.get("Description", "") or interface.get("Status", ""))
        for gateway in ec2.describe_nat_gateways()["NatGateways"]:
            if gateway.get("State") not in ("deleted", "deleting") and (self.ours(_tags(gateway.get("Tags"))) or gateway.get("VpcId") in vpc_ids):
                yield Finding("NAT gateway", gateway["NatGatewayId"], gateway.get("State", ""))
        for address in ec2.describe_addresses()["Addresses"]:
            if self.ours(_tags(address.get("Tags"))):
                yield Finding("Elastic IP", address.get("AllocationId", address.get("PublicIp", "")), address.get("PublicIp", ""))
        for endpoint in ec2.describe_vpc_endpoints()["VpcEndpoints"]:
            if endpoint.get("State", "").lower() != "deleted" and (self.ours(_tags(endpoint.get("Tags"))) or endpoint.get("VpcId") in vpc_ids):
                yield Finding("VPC endpoint", endpoint["VpcEndpointId"], endpoint.get("ServiceName", ""))

    def load_balancers(self) -> Iterator[Finding]:
        elb = self.client("elbv2")
        balancers = elb.describe_load_balancers().get("LoadBalancers", [])
        groups = elb.describe_target_groups().get("TargetGroups", [])
        arns = [b["LoadBalancerArn"] for b in balancers] + [g["TargetGroupArn"] for g in groups]
        tags = {}
        for start in range(0, len(arns), 20):
            for description in elb.describe_tags(ResourceArns=arns[start : start + 20])["TagDescriptions"]:
                tags[description["ResourceArn"]] = _tags(description.get("Tags"))
        for balancer in balancers:
            if self.ours(tags.get(balancer["LoadBalancerArn"], {})):
                yield Finding("load balancer", balancer["LoadBalancerName"], balancer.get("Scheme", ""))
        for group in groups:
            if self.ours(tags.get(group["TargetGroupArn"], {})):
                yield Finding("target group", group["TargetGroupName"], "")

    def ecs(self) -> Iterator[Finding]:
        ecs = self.client("ecs")
        arns = ecs.list_clusters().get("clusterArns", [])
        for start in range(0, len(arns), 100):
            for cluster in ecs.describe_clusters(clusters=arns[start : start + 100], include=["TAGS"])["clusters"]:
                if cluster.get("status") == "INACTIVE" or not self.ours(_tags(cluster.get("tags"))):
                    continue
                yield Finding("ECS cluster", cluster["clusterName"], f"{cluster.get('runningTasksCount', 0)} running tasks")
                for service in ecs.list_services(cluster=cluster["clusterArn"]).get("serviceArns", []):
                    yield Finding("ECS service", service.rsplit("/", 1)[-1], cluster["clusterName"])

    def streams(self) -> Iterator[Finding]:
        kinesis = self.client("kinesis")
        for name in kinesis.list_streams().get("StreamNames", []):
            if self.ours(_tags(kinesis.list_tags_for_stream(StreamName=name).get("Tags"))):
                yield Finding("Kinesis stream", name, "")

    def functions(self) -> Iterator[Finding]:
        lambdas = self.client("lambda")
        for page in lambdas.get_paginator("list_functions").paginate():
            for function in page["Functions"]:
                if self.ours(_tags(lambdas.list_tags(Resource=function["FunctionArn"]).get("Tags"))):
                    yield Finding("Lambda function", function["FunctionName"], function.get("Runtime", ""))

    def log_groups(self) -> Iterator[Finding]:
        logs = self.client("logs")
        for page in logs.get_paginator("describe_log_groups").paginate():
            for group in page["logGroups"]:
                name = group["logGroupName"]
                named = name.startswith(f"{self.stack}-") or name.startswith(f"/aws/lambda/{self.stack}-")
                if named or self.ours(_tags(logs.list_tags_log_group(logGroupName=name).get("tags"))):
                    yield Finding("log group", name, f"{group.get('storedBytes', 0)} bytes")

    def apis(self) -> Iterator[Finding]:
        for api in self.client("apigatewayv2").get_apis().get("Items", []):
            if self.ours(_tags(api.get("Tags"))):
                yield Finding("API Gateway API", api["ApiId"], api.get("Name", ""))

    def mount_targets(self) -> Iterator[Finding]:
        efs = self.client("efs")
        vpc_ids = set(self.vpc_ids)
        for file_system in efs.describe_file_systems()["FileSystems"]:
            if not self.kept(_tags(file_system.get("Tags"))):
                continue
            for target in efs.describe_mount_targets(FileSystemId=file_system["FileSystemId"])["MountTargets"]:
                where = "in this stack's VPC" if target.get("VpcId") in vpc_ids else f"in {target.get('VpcId')}"
                yield Finding("EFS mount target", target["MountTargetId"], f"{file_system['FileSystemId']} {where}")

    def distributions(self) -> Iterator[Finding]:
        cloudfront = self.client("cloudfront")
        items = cloudfront.list_distributions().get("DistributionList", {}).get("Items", [])
        for distribution in items:
            tags = cloudfront.list_tags_for_resource(Resource=distribution["ARN"]).get("Tags", {}).get("Items", [])
            if self.ours(_tags(tags)):
                yield Finding("CloudFront distribution", distribution["Id"], distribution.get("DomainName", ""))

    # --- kept on purpose ----------------------------------------------------------------
    def kept_on_purpose(self) -> list[Finding]:
        found = []
        s3 = self.client("s3")
        from botocore.exceptions import ClientError

        for bucket in s3.list_buckets().get("Buckets", []):
            try:
                tags = _tags(s3.get_bucket_tagging(Bucket=bucket["Name"]).get("TagSet"))
            except ClientError:
                continue
            if self.kept(tags):
                found.append(Finding("S3 bucket", bucket["Name"], "app bucket (versioned)"))
        ecr = self.client("ecr")
        for repository in ecr.describe_repositories().get("repositories", []):
            if self.kept(_tags(ecr.list_tags_for_resource(resourceArn=repository["repositoryArn"]).get("tags"))):
                found.append(Finding("ECR repository", repository["repositoryName"], ""))
        for file_system in self.client("efs").describe_file_systems()["FileSystems"]:
            if self.kept(_tags(file_system.get("Tags"))):
                found.append(Finding("EFS file system", file_system["FileSystemId"], f"{file_system.get('SizeInBytes', {}).get('Value', 0)} bytes"))
        dynamodb = self.client("dynamodb")
        for name in dynamodb.list_tables().get("TableNames", []):
            arn = dynamodb.describe_table(TableName=name)["Table"]["TableArn"]
            if self.kept(_tags(dynamodb.list_tags_of_resource(ResourceArn=arn).get("Tags"))):
                found.append(Finding("DynamoDB table", name, ""))
        for page in self.client("secretsmanager").get_paginator("list_secrets").paginate():
            for secret in page["SecretList"]:
                if self.kept(_tags(secret.get("Tags"))):
                    found.append(Finding("secret", secret["Name"], ""))
        return found


def report(residue: Residue, as_json: bool, emit: Callable[[str], None]) -> int:
    leftovers, kept = residue.leftovers(), residue.kept_on_purpose()
    if as_json:
        emit(json.dumps({"stack": residue.stack, "profile": residue.profile, "leftovers": [asdict(f) for f in leftovers], "kept": [asdict(f) for f in kept]}, indent=2))
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
