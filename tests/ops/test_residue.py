"""`streamlines residue` against moto: planted leftovers are found; untagged
resources and other projects' or stacks' are not; foundations is "kept"."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from streamlines.residue import Residue, report

REGION = "us-east-1"
STACK = "sl-lite"


def tags(project="streamlines", profile="lite", stack=STACK, name="grafana-service"):
    # As tag_everything sets them (aws:cloudformation:* tags cannot be set by hand).
    values = {"Project": project, "Profile": profile, "Name": f"{stack}-{name}"}
    return {k: v for k, v in values.items() if v is not None}


def pairs(mapping):
    return [{"Key": k, "Value": v} for k, v in mapping.items()]


VARIANTS = {
    "ours": tags(),
    "other project": tags(project="someone-else"),
    "other stack": tags(stack="sl-other"),
    "untagged": {},
}


def zip_bytes():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(e, c):\n    return 1\n")
    return buffer.getvalue()


@pytest.fixture
def planted(aws):
    """One of each kind per variant; returns the ids of 'ours'."""
    ec2, elb, ecs, kinesis, lambdas, logs, api, efs, s3 = (
        aws.client(n) for n in ("ec2", "elbv2", "ecs", "kinesis", "lambda", "logs", "apigatewayv2", "efs", "s3")
    )
    role = aws.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    ours = {}
    for index, (variant, tagset) in enumerate(VARIANTS.items()):
        spec = [{"ResourceType": "vpc", "Tags": pairs(tagset)}] if tagset else []
        vpc = ec2.create_vpc(CidrBlock=f"10.{index}.0.0/16", TagSpecifications=spec)["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.{index}.1.0/24", AvailabilityZone=f"{REGION}a")["Subnet"][
            "SubnetId"
        ]
        subnet_b = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.{index}.2.0/24", AvailabilityZone=f"{REGION}b")[
            "Subnet"
        ]["SubnetId"]
        interface = ec2.create_network_interface(SubnetId=subnet, Description="AWS Lambda VPC ENI")["NetworkInterface"][
            "NetworkInterfaceId"
        ]
        allocation = ec2.allocate_address(
            Domain="vpc", TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": pairs(tagset)}] if tagset else []
        )["AllocationId"]
        endpoint = ec2.create_vpc_endpoint(
            VpcId=vpc,
            ServiceName=f"com.amazonaws.{REGION}.logs",
            VpcEndpointType="Interface",
            SubnetIds=[subnet],
            TagSpecifications=[{"ResourceType": "vpc-endpoint", "Tags": pairs(tagset)}] if tagset else [],
        )["VpcEndpoint"]["VpcEndpointId"]
        balancer = elb.create_load_balancer(
            Name=f"lb{index}", Subnets=[subnet, subnet_b], Tags=pairs(tagset) or [{"Key": "x", "Value": "y"}]
        )["LoadBalancers"][0]["LoadBalancerName"]
        group = elb.create_target_group(
            Name=f"tg{index}",
            Protocol="HTTP",
            Port=80,
            VpcId=vpc,
            TargetType="ip",
            Tags=pairs(tagset) or [{"Key": "x", "Value": "y"}],
        )["TargetGroups"][0]["TargetGroupName"]
        cluster = ecs.create_cluster(
            clusterName=f"cluster{index}", tags=[{"key": k, "value": v} for k, v in tagset.items()]
        )["cluster"]["clusterName"]
        definition = ecs.register_task_definition(
            family=f"f{index}", containerDefinitions=[{"name": "c", "image": "i", "memory": 512}]
        )["taskDefinition"]["taskDefinitionArn"]
        ecs.create_service(cluster=cluster, serviceName=f"service{index}", taskDefinition=definition, desiredCount=0)
        kinesis.create_stream(StreamName=f"stream{index}", ShardCount=1)
        if tagset:
            kinesis.add_tags_to_stream(StreamName=f"stream{index}", Tags=tagset)
        function = lambdas.create_function(
            FunctionName=f"function{index}",
            Runtime="python3.12",
            Role=role,
            Handler="handler.handler",
            Code={"ZipFile": zip_bytes()},
            Tags=tagset,
        )["FunctionName"]
        logs.create_log_group(logGroupName=f"/streamlines/group{index}", tags=tagset)
        api_id = api.create_api(
            Name=f"api{index}", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action", Tags=tagset
        )["ApiId"]
        nat = ec2.create_nat_gateway(
            SubnetId=subnet,
            AllocationId=ec2.allocate_address(Domain="vpc")["AllocationId"],
            TagSpecifications=[{"ResourceType": "natgateway", "Tags": pairs(tagset)}] if tagset else [],
        )["NatGateway"]["NatGatewayId"]
        distribution = aws.client("cloudfront").create_distribution_with_tags(
            DistributionConfigWithTags={
                "DistributionConfig": {
                    "CallerReference": f"ref{index}",
                    "Comment": "",
                    "Enabled": True,
                    "Origins": {
                        "Quantity": 1,
                        "Items": [
                            {
                                "Id": "o",
                                "DomainName": "example.s3.amazonaws.com",
                                "S3OriginConfig": {"OriginAccessIdentity": ""},
                            }
                        ],
                    },
                    "DefaultCacheBehavior": {
                        "TargetOriginId": "o",
                        "ViewerProtocolPolicy": "redirect-to-https",
                        "MinTTL": 0,
                        "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
                    },
                },
                "Tags": {"Items": pairs(tagset)},
            }
        )["Distribution"]["Id"]
        if variant == "ours":
            ours = {
                "NAT gateway": nat,
                "CloudFront distribution": distribution,
                "VPC": vpc,
                "ENI": interface,
                "Elastic IP": allocation,
                "VPC endpoint": endpoint,
                "load balancer": balancer,
                "target group": group,
                "ECS cluster": cluster,
                "ECS service": f"service{index}",
                "Kinesis stream": f"stream{index}",
                "Lambda function": function,
                "log group": f"/streamlines/group{index}",
                "API Gateway API": api_id,
            }
    # Untagged, but named by CloudFormation after the stack.
    logs.create_log_group(logGroupName=f"{STACK}-GrafanaLogGroup-AbCdEf123456")
    ours["named log group"] = f"{STACK}-GrafanaLogGroup-AbCdEf123456"
    # A mount target left on the foundations file system, and what foundations keeps.
    file_system = efs.create_file_system(
        CreationToken="fs", Tags=pairs(tags(profile="foundations", stack="sl-foundations", name="fs"))
    )["FileSystemId"]
    vpc_ids = [
        v["VpcId"]
        for v in ec2.describe_vpcs()["Vpcs"]
        if any(t["Value"] == f"{STACK}-grafana-service" for t in v.get("Tags", []))
    ]
    subnet = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": vpc_ids}])["Subnets"][0]["SubnetId"]
    ours["EFS mount target"] = efs.create_mount_target(FileSystemId=file_system, SubnetId=subnet)["MountTargetId"]
    s3.create_bucket(
        Bucket="a-untagged"
    )  # listed before sl-app (by name, and by moto in creation order): it does not end the listing
    s3.create_bucket(Bucket="sl-app")
    s3.put_bucket_tagging(
        Bucket="sl-app", Tagging={"TagSet": pairs(tags(profile="foundations", stack="sl-foundations"))}
    )
    s3.create_bucket(Bucket="unrelated")
    ecr, dynamodb = aws.client("ecr"), aws.client("dynamodb")
    ecr.create_repository(
        repositoryName="sl-grafana",
        tags=pairs(tags(profile="foundations", stack="sl-foundations", name="ecr-repository-grafana")),
    )
    ecr.create_repository(repositoryName="someone-elses")
    for table, tagset in (
        ("sl-connections", tags(profile="foundations", stack="sl-foundations", name="connections-table")),
        ("other-table", {}),
    ):
        arn = dynamodb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )["TableDescription"]["TableArn"]
        if tagset:
            dynamodb.tag_resource(ResourceArn=arn, Tags=pairs(tagset))
    aws.client("secretsmanager").create_secret(
        Name="sl-admin", SecretString="x", Tags=pairs(tags(profile="foundations", stack="sl-foundations"))
    )
    aws.client("secretsmanager").create_secret(Name="other-secret", SecretString="x")
    return ours


def run(aws, as_json=False):
    lines = []
    code = report(Residue(aws, "streamlines", "lite", STACK), as_json, lines.append)
    return code, "\n".join(lines)


def test_finds_the_planted_leftovers_and_nothing_else(aws, planted):
    code, output = run(aws, as_json=True)
    assert code == 1
    result = json.loads(output)
    found = {(f["kind"], f["id"]) for f in result["leftovers"]}
    expected = {(kind if kind != "named log group" else "log group", value) for kind, value in planted.items()}
    # Every interface in the stack's VPC is residue: the planted one and those of the ALB, endpoint and mount target.
    in_vpc = aws.client("ec2").describe_network_interfaces(Filters=[{"Name": "vpc-id", "Values": [planted["VPC"]]}])[
        "NetworkInterfaces"
    ]
    assert len(in_vpc) >= 2
    expected |= {("ENI", interface["NetworkInterfaceId"]) for interface in in_vpc}
    assert expected <= found
    assert found - expected == set()
    assert {(f["kind"], f["id"]) for f in result["kept"] if f["kind"] != "EFS file system"} == {
        ("S3 bucket", "sl-app"),
        ("secret", "sl-admin"),
        ("ECR repository", "sl-grafana"),
        ("DynamoDB table", "sl-connections"),
    }
    assert [f["kind"] for f in result["kept"]].count("EFS file system") == 1
    assert (result["stack"], result["profile"]) == (STACK, "lite")
    assert output.splitlines()[1].startswith('  "stack": '), "indented for a reader"


def test_text_report_lists_both_groups(aws, planted):
    code, output = run(aws)
    assert code == 1
    assert "still there" in output and "kept on purpose" in output
    assert planted["load balancer"] in output


def test_clean_account_reports_nothing_left(aws):
    code, output = run(aws)
    assert code == 0
    assert "nothing left of the stack" in output


def test_a_stack_whose_name_starts_with_this_ones_is_not_ours(aws):
    """`sl-lite` must not list what `sl-lite-staging`, alive, has: its VPC, stream and log groups."""
    other = "sl-lite-staging"
    ec2, kinesis, logs = (aws.client(n) for n in ("ec2", "kinesis", "logs"))
    ec2.create_vpc(
        CidrBlock="10.7.0.0/16",
        TagSpecifications=[{"ResourceType": "vpc", "Tags": pairs(tags(stack=other, name="vpc"))}],
    )
    kinesis.create_stream(StreamName="staging-stream", ShardCount=1)
    kinesis.add_tags_to_stream(StreamName="staging-stream", Tags=tags(stack=other, name="grafana-service"))
    logs.create_log_group(logGroupName=f"{other}-GrafanaLogGroup-AbCdEf123456")
    logs.create_log_group(
        logGroupName=f"{other}-InfluxDbLogGroup-XyZ", tags=tags(stack=other, name="influx-db-log-group")
    )
    code, output = run(aws)
    assert code == 0, output
    code, output = report_for(aws, other)
    assert code == 1 and "staging-stream" in output and f"{other}-GrafanaLogGroup-AbCdEf123456" in output


def report_for(aws, stack):
    lines = []
    code = report(Residue(aws, "streamlines", "lite", stack), False, lines.append)
    return code, "\n".join(lines)


def test_every_page_is_read(aws):
    """More resources than one page holds: with pages of one, all are found, a page at a time."""
    kinesis, logs, ecs = (aws.client(n) for n in ("kinesis", "logs", "ecs"))
    for index in range(3):
        kinesis.create_stream(StreamName=f"stream{index}", ShardCount=1)
        kinesis.add_tags_to_stream(StreamName=f"stream{index}", Tags=tags())
        logs.create_log_group(logGroupName=f"/streamlines/group{index}", tags=tags())
        ecs.create_cluster(clusterName=f"cluster{index}", tags=[{"key": k, "value": v} for k, v in tags().items()])
    calls = {}

    def count(event_name, **kwargs):
        operation = event_name.split(".")[-1]
        calls[operation] = calls.get(operation, 0) + 1

    aws.events.register("before-call.*.*", count)
    lines = []
    report(Residue(aws, "streamlines", "lite", STACK, page_size=1), True, lines.append)
    found = {(f["kind"], f["id"]) for f in json.loads(lines[0])["leftovers"]}
    for index in range(3):
        assert {
            ("Kinesis stream", f"stream{index}"),
            ("log group", f"/streamlines/group{index}"),
            ("ECS cluster", f"cluster{index}"),
        } <= found
    # moto pages these three as AWS does (ListClusters it answers whole, whatever the page size).
    assert calls["ListStreams"] >= 3 and calls["DescribeLogGroups"] >= 3 and calls["GetResources"] >= 3


def test_tagging_api_findings_are_named_as_the_listings_name_them():
    from streamlines.residue import arn_finding

    cases = {
        "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-0abc": ("VPC", "vpc-0abc"),
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/sl-lite-Grafa-1A2B/50dc6c495c0c9188": (
            "load balancer",
            "sl-lite-Grafa-1A2B",
        ),
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/sl-lite-tg/73e2d6bc24d8a067": (
            "target group",
            "sl-lite-tg",
        ),
        "arn:aws:ecs:us-east-1:123456789012:service/sl-cluster/sl-lite-grafana": ("ECS service", "sl-lite-grafana"),
        "arn:aws:kinesis:us-east-1:123456789012:stream/sl-full-UpstreamStream-X1": (
            "Kinesis stream",
            "sl-full-UpstreamStream-X1",
        ),
        "arn:aws:lambda:us-east-1:123456789012:function:sl-full-agent": ("Lambda function", "sl-full-agent"),
        "arn:aws:logs:us-east-1:123456789012:log-group:/streamlines/group0": ("log group", "/streamlines/group0"),
        "arn:aws:logs:us-east-1:123456789012:log-group:/streamlines/group0:*": ("log group", "/streamlines/group0"),
        "arn:aws:apigateway:us-east-1::/apis/a1b2c3": ("API Gateway API", "a1b2c3"),
        "arn:aws:cloudfront::123456789012:distribution/E2QWRUHAPOMQZL": ("CloudFront distribution", "E2QWRUHAPOMQZL"),
    }
    for arn, (kind, identifier) in cases.items():
        finding = arn_finding(arn)
        assert (finding.kind, finding.id) == (kind, identifier), arn
    assert arn_finding("arn:aws:sqs:us-east-1:123456789012:queue") is None


def test_each_finding_says_what_it_is(aws, planted):
    """Not only which resources: what the report says of each, from what AWS answers."""
    ec2 = aws.client("ec2")
    result = {(f.kind, f.id): f.detail for f in Residue(aws, "streamlines", "lite", STACK).leftovers()}
    assert result[("VPC", planted["VPC"])] == ec2.describe_vpcs(VpcIds=[planted["VPC"]])["Vpcs"][0]["CidrBlock"]
    assert result[("ENI", planted["ENI"])] == "AWS Lambda VPC ENI"
    assert (
        result[("NAT gateway", planted["NAT gateway"])]
        == ec2.describe_nat_gateways(NatGatewayIds=[planted["NAT gateway"]])["NatGateways"][0]["State"]
    )
    address = ec2.describe_addresses(AllocationIds=[planted["Elastic IP"]])["Addresses"][0]["PublicIp"]
    assert result[("Elastic IP", planted["Elastic IP"])] == address
    assert result[("VPC endpoint", planted["VPC endpoint"])] == f"com.amazonaws.{REGION}.logs"
    # (moto answers no Scheme for a load balancer, the report's detail for it.)
    assert result[("target group", planted["target group"])] == ""
    assert result[("ECS cluster", planted["ECS cluster"])] == "0 running tasks"
    assert result[("ECS service", planted["ECS service"])] == planted["ECS cluster"]
    assert result[("Lambda function", planted["Lambda function"])] == "python3.12"
    assert result[("log group", planted["log group"])] == "0 bytes"
    assert result[("log group", planted["named log group"])] == "0 bytes"
    assert result[("API Gateway API", planted["API Gateway API"])] == "api0"
    assert result[("EFS mount target", planted["EFS mount target"])].endswith(" in this stack's VPC")
    domain = aws.client("cloudfront").get_distribution(Id=planted["CloudFront distribution"])["Distribution"][
        "DomainName"
    ]
    assert result[("CloudFront distribution", planted["CloudFront distribution"])] == domain
    kept = {(f.kind, f.id): f.detail for f in Residue(aws, "streamlines", "lite", STACK).kept_on_purpose()}
    assert kept[("S3 bucket", "sl-app")] == "app bucket (versioned)"
    assert (
        kept[("secret", "sl-admin")]
        == kept[("ECR repository", "sl-grafana")]
        == kept[("DynamoDB table", "sl-connections")]
        == ""
    )
    (file_system,) = [detail for (kind, _), detail in kept.items() if kind == "EFS file system"]
    assert file_system.endswith(" bytes") and file_system.split()[0].isdigit()


def test_a_tagged_interface_outside_the_stacks_vpc_is_found_by_its_tags(aws):
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    tagged = ec2.create_network_interface(
        SubnetId=subnet, TagSpecifications=[{"ResourceType": "network-interface", "Tags": pairs(tags())}]
    )["NetworkInterface"]["NetworkInterfaceId"]
    other = ec2.create_network_interface(
        SubnetId=subnet,
        TagSpecifications=[{"ResourceType": "network-interface", "Tags": pairs(tags(stack="sl-other"))}],
    )["NetworkInterface"]["NetworkInterfaceId"]
    found = {(f.kind, f.id) for f in Residue(aws, "streamlines", "lite", STACK).leftovers()}
    assert ("ENI", tagged) in found and ("ENI", other) not in found
    assert ("VPC", vpc) not in found
    # EC2's own listing finds it too (not only the tagging API).
    residue = Residue(aws, "streamlines", "lite", STACK)
    assert list(residue.vpcs()) == [] and {(f.kind, f.id) for f in residue.network()} == {("ENI", tagged)}


def test_network_pieces_are_the_stacks_by_their_vpc_or_by_their_tags(aws):
    """Untagged in the stack's VPC, or tagged in another: both are the stack's."""
    ec2 = aws.client("ec2")
    ours = ec2.create_vpc(
        CidrBlock="10.5.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": pairs(tags(name="vpc"))}]
    )["Vpc"]["VpcId"]
    elsewhere = ec2.create_vpc(CidrBlock="10.6.0.0/16")["Vpc"]["VpcId"]
    made = {}
    for vpc, tagset in ((ours, {}), (elsewhere, tags(name="vpc"))):
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=vpc == ours and "10.5.1.0/24" or "10.6.1.0/24")["Subnet"][
            "SubnetId"
        ]
        nat_tags = [{"ResourceType": "natgateway", "Tags": pairs(tagset)}] if tagset else []
        endpoint_tags = [{"ResourceType": "vpc-endpoint", "Tags": pairs(tagset)}] if tagset else []
        made[vpc] = (
            ec2.create_nat_gateway(
                SubnetId=subnet,
                AllocationId=ec2.allocate_address(Domain="vpc")["AllocationId"],
                TagSpecifications=nat_tags,
            )["NatGateway"]["NatGatewayId"],
            ec2.create_vpc_endpoint(
                VpcId=vpc,
                ServiceName=f"com.amazonaws.{REGION}.logs",
                VpcEndpointType="Interface",
                SubnetIds=[subnet],
                TagSpecifications=endpoint_tags,
            )["VpcEndpoint"]["VpcEndpointId"],
        )
    ec2.create_nat_gateway(
        SubnetId=ec2.create_subnet(VpcId=elsewhere, CidrBlock="10.6.2.0/24")["Subnet"]["SubnetId"],
        AllocationId=ec2.allocate_address(Domain="vpc")["AllocationId"],
    )
    residue = Residue(aws, "streamlines", "lite", STACK)
    assert [f.id for f in residue.vpcs()] == [ours]
    found = {(f.kind, f.id) for f in residue.network() if f.kind in ("NAT gateway", "VPC endpoint")}
    assert found == {
        (kind, made[vpc][n]) for vpc in (ours, elsewhere) for n, kind in enumerate(("NAT gateway", "VPC endpoint"))
    }


def test_the_text_report_lines(aws, planted):
    code, output = run(aws)
    lines = output.splitlines()
    assert lines[0] == f"residue of lite stack {STACK} (project streamlines):"
    leftovers = Residue(aws, "streamlines", "lite", STACK).leftovers()
    assert lines[1] == f"still there, and costing money or in the way ({len(leftovers)}):"
    first = leftovers[0]
    assert lines[2] == f"  {first.kind:<24} {first.id:<40} {first.detail}"
    kept_header = next(line for line in lines if line.startswith("kept on purpose"))
    assert kept_header == "kept on purpose (foundations, retained) (5):"


def test_a_resource_only_the_tagging_api_sees_is_reported_by_its_arn(aws):
    """A queue has no listing of its own here: the Resource Groups Tagging API finds it."""
    sqs = aws.client("sqs")
    ours = sqs.create_queue(QueueName="sl-lite-failed", tags=tags(name="grafana-service"))["QueueUrl"]
    sqs.create_queue(QueueName="sl-other-failed", tags=tags(stack="sl-other"))
    arn = sqs.get_queue_attributes(QueueUrl=ours, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    found = Residue(aws, "streamlines", "lite", STACK).leftovers()
    assert [(f.kind, f.id, f.detail) for f in found] == [("resource", arn, "tagged")]


def test_which_tags_make_a_resource_this_stacks():
    residue = Residue(None, "streamlines", "lite", STACK, logical_ids={"GrafanaService"})
    assert residue.ours(tags())
    assert not residue.ours(tags(profile="full")), "another profile's resource"
    assert residue.ours({k: v for k, v in tags().items() if k != "Profile"}), "no Profile tag: the Name decides"
    assert not residue.ours(tags(project="other"))
    assert not residue.ours({"Project": "streamlines", "Profile": "lite"}), "no Name, no stack tag"
    assert residue.ours({**tags(stack="sl-other"), "aws:cloudformation:stack-name": STACK}), (
        "the stack tag decides over the Name"
    )
    assert not residue.ours({**tags(), "aws:cloudformation:stack-name": "sl-other"})
    assert residue.kept({"Project": "streamlines", "Profile": "foundations"})
    assert not residue.kept({"Project": "other", "Profile": "foundations"}) and not residue.kept(
        {"Project": "streamlines", "Profile": "lite"}
    )


def test_the_same_id_of_two_kinds_is_two_findings(monkeypatch):
    from streamlines.residue import Finding

    residue = Residue(None, "streamlines", "lite", STACK, logical_ids={"X"})
    finders = (
        "vpcs",
        "network",
        "load_balancers",
        "ecs",
        "streams",
        "functions",
        "log_groups",
        "apis",
        "mount_targets",
        "distributions",
        "tagged",
    )
    for name in finders:
        monkeypatch.setattr(residue, name, lambda: iter(()))
    monkeypatch.setattr(
        residue, "streams", lambda: iter([Finding("Kinesis stream", "same"), Finding("Kinesis stream", "same")])
    )
    monkeypatch.setattr(residue, "functions", lambda: iter([Finding("Lambda function", "same")]))
    assert residue.leftovers() == [Finding("Kinesis stream", "same"), Finding("Lambda function", "same")]


def test_each_profile_is_known_by_its_own_logical_ids():
    from streamlines.residue import profile_logical_ids

    pipeline, lite, full = (profile_logical_ids(p) for p in ("lite-pipeline", "lite", "full"))
    assert "IngestService" in pipeline and "GrafanaService" not in pipeline
    assert "GrafanaService" in lite and "IngestService" not in lite
    assert {"BackendService", "IngestService"} <= full


def test_only_an_apis_arn_is_an_api():
    from streamlines.residue import arn_finding

    assert arn_finding("arn:aws:apigateway:us-east-1::/restapis/abc") is None
    assert arn_finding("not an arn") is None


def test_each_lookup_finds_the_stacks_resources_by_itself(aws, planted):
    """The Resource Groups Tagging API finds most of these again, and the report keeps the
    first finding of each resource: so each service's own listing is held to its kinds by
    itself, details included (the tagging API does not cover every type everywhere)."""
    ec2, elb = aws.client("ec2"), aws.client("elbv2")
    residue = Residue(aws, "streamlines", "lite", STACK)
    finders = (
        "vpcs",
        "network",
        "load_balancers",
        "ecs",
        "streams",
        "functions",
        "log_groups",
        "apis",
        "mount_targets",
        "distributions",
    )
    found = {
        name: {(f.kind, f.id, f.detail) for f in getattr(residue, name)()} for name in finders
    }  # vpcs first: network reads its VPCs
    vpc = planted["VPC"]
    interfaces = ec2.describe_network_interfaces(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["NetworkInterfaces"]
    (nat,) = ec2.describe_nat_gateways(NatGatewayIds=[planted["NAT gateway"]])["NatGateways"]
    (address,) = ec2.describe_addresses(AllocationIds=[planted["Elastic IP"]])["Addresses"]
    (balancer,) = elb.describe_load_balancers(Names=[planted["load balancer"]])["LoadBalancers"]
    file_system = aws.client("efs").describe_mount_targets(MountTargetId=planted["EFS mount target"])["MountTargets"][
        0
    ]["FileSystemId"]
    domain = aws.client("cloudfront").get_distribution(Id=planted["CloudFront distribution"])["Distribution"][
        "DomainName"
    ]
    assert found == {
        "vpcs": {("VPC", vpc, "10.0.0.0/16")},
        "network": {("ENI", i["NetworkInterfaceId"], i.get("Description") or i["Status"]) for i in interfaces}
        | {
            ("NAT gateway", planted["NAT gateway"], nat["State"]),
            ("Elastic IP", planted["Elastic IP"], address["PublicIp"]),
            ("VPC endpoint", planted["VPC endpoint"], f"com.amazonaws.{REGION}.logs"),
        },
        "load_balancers": {
            ("load balancer", planted["load balancer"], balancer.get("Scheme", "")),
            ("target group", planted["target group"], ""),
        },
        "ecs": {
            ("ECS cluster", planted["ECS cluster"], "0 running tasks"),
            ("ECS service", planted["ECS service"], planted["ECS cluster"]),
        },
        "streams": {("Kinesis stream", planted["Kinesis stream"], "")},
        "functions": {("Lambda function", planted["Lambda function"], "python3.12")},
        "log_groups": {
            ("log group", planted["log group"], "0 bytes"),
            ("log group", planted["named log group"], "0 bytes"),
        },
        "apis": {("API Gateway API", planted["API Gateway API"], "api0")},
        "mount_targets": {("EFS mount target", planted["EFS mount target"], f"{file_system} in this stack's VPC")},
        "distributions": {("CloudFront distribution", planted["CloudFront distribution"], domain)},
    }
    assert any(i.get("Description") for i in interfaces) and any(not i.get("Description") for i in interfaces), (
        "both kinds of ENI detail"
    )


def test_the_tagging_api_is_asked_for_the_projects_resources_only(aws):
    asked = []
    aws.events.register(
        "before-parameter-build.resource-groups-tagging-api.GetResources",
        lambda params, **_: asked.append(params.get("TagFilters")),
    )
    list(Residue(aws, "streamlines", "lite", STACK).tagged())
    assert asked == [[{"Key": "Project", "Values": ["streamlines"]}]]


class Pages:
    def __init__(self, *pages):
        self.pages = pages

    def paginate(self, **_):
        return list(self.pages)


def test_clusters_are_described_a_hundred_at_a_time_and_inactive_ones_are_gone():
    arns = [f"arn:aws:ecs:us-east-1:123456789012:cluster/c{n}" for n in range(150)]

    class Ecs:
        described = []

        def get_paginator(self, operation):
            return (
                Pages({"clusterArns": arns[:100]}, {"clusterArns": arns[100:]})
                if operation == "list_clusters"
                else Pages({"serviceArns": []})
            )

        def describe_clusters(self, clusters, include):
            if len(clusters) > 100:  # as AWS: at most 100
                raise ValueError("clusters: at most 100")
            self.described.append(len(clusters))
            name = lambda arn: arn.rsplit("/", 1)[-1]  # noqa: E731
            return {
                "clusters": [
                    {
                        "clusterArn": arn,
                        "clusterName": name(arn),
                        "status": "INACTIVE" if arn.endswith("/c7") else "ACTIVE",
                        "runningTasksCount": 0,
                        "tags": [{"key": k, "value": v} for k, v in tags().items()],
                    }
                    for arn in clusters
                ]
            }

    residue = Residue(None, "streamlines", "lite", STACK, clients={"ecs": Ecs()})
    found = [f.id for f in residue.ecs()]
    assert Ecs.described == [100, 50]
    assert len(found) == 149 and "c7" not in found


def test_a_functions_log_group_is_the_stacks_by_its_generated_name(aws):
    logs = aws.client("logs")
    logs.create_log_group(logGroupName=f"/aws/lambda/{STACK}-GrafanaService-AbC123")
    logs.create_log_group(logGroupName=f"/aws/lambda/{STACK}-staging-GrafanaService-AbC123")
    found = [f.id for f in Residue(aws, "streamlines", "lite", STACK).log_groups()]
    assert found == [f"/aws/lambda/{STACK}-GrafanaService-AbC123"]


def test_load_balancer_tags_are_asked_twenty_arns_at_a_time(aws):
    ec2, elb = aws.client("ec2"), aws.client("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    for index in range(21):
        elb.create_target_group(
            Name=f"tg{index}", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip", Tags=pairs(tags())
        )

    asked = []
    aws.events.register(
        "before-parameter-build.elastic-load-balancing-v2.DescribeTags",
        lambda params, **_: asked.append(len(params["ResourceArns"])),
    )
    assert len(list(Residue(aws, "streamlines", "lite", STACK).load_balancers())) == 21
    assert asked == [20, 1], "DescribeTags takes at most 20 ARNs a call"


def test_deleted_nat_gateways_are_gone_and_foreign_mount_targets_say_where(aws):
    ec2, efs = aws.client("ec2"), aws.client("efs")
    ours = ec2.create_vpc(
        CidrBlock="10.4.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": pairs(tags(name="vpc"))}]
    )["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=ours, CidrBlock="10.4.1.0/24")["Subnet"]["SubnetId"]
    nat = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=ec2.allocate_address(Domain="vpc")["AllocationId"])[
        "NatGateway"
    ]["NatGatewayId"]
    ec2.delete_nat_gateway(NatGatewayId=nat)
    other = ec2.create_vpc(CidrBlock="10.3.0.0/16")["Vpc"]["VpcId"]
    efs.create_file_system(CreationToken="listed-first")  # not foundations': the listing goes on past it
    file_system = efs.create_file_system(
        CreationToken="fs", Tags=pairs(tags(profile="foundations", stack="sl-foundations", name="fs"))
    )["FileSystemId"]
    target = efs.create_mount_target(
        FileSystemId=file_system, SubnetId=ec2.create_subnet(VpcId=other, CidrBlock="10.3.1.0/24")["Subnet"]["SubnetId"]
    )["MountTargetId"]
    residue = Residue(aws, "streamlines", "lite", STACK)
    list(residue.vpcs())
    assert [f for f in residue.network() if f.kind == "NAT gateway"] == []
    assert [(f.id, f.detail) for f in residue.mount_targets()] == [(target, f"{file_system} in {other}")]


def test_details_moto_leaves_at_their_defaults_are_read_from_the_answer(aws, planted):
    """moto answers no Scheme, no running tasks and no stored bytes; AWS answers them."""
    aws.events.register(
        "after-call.elastic-load-balancing-v2.DescribeLoadBalancers",
        lambda parsed, **_: [b.update(Scheme="internal") for b in parsed["LoadBalancers"]],
    )
    aws.events.register(
        "after-call.ecs.DescribeClusters",
        lambda parsed, **_: [c.update(runningTasksCount=3) for c in parsed["clusters"]],
    )
    aws.events.register(
        "after-call.cloudwatch-logs.DescribeLogGroups",
        lambda parsed, **_: [g.update(storedBytes=2048) for g in parsed["logGroups"]],
    )
    found = {(f.kind, f.id): f.detail for f in Residue(aws, "streamlines", "lite", STACK).leftovers()}
    assert found[("load balancer", planted["load balancer"])] == "internal"
    assert found[("ECS cluster", planted["ECS cluster"])] == "3 running tasks"
    assert (
        found[("log group", planted["log group"])] == found[("log group", planted["named log group"])] == "2048 bytes"
    )


def test_a_function_from_a_container_image_and_a_group_without_stored_bytes(aws, planted):
    """An image function has no Runtime; storedBytes is optional in the logs model."""
    aws.events.register(
        "after-call.lambda.ListFunctions", lambda parsed, **_: [f.pop("Runtime") for f in parsed["Functions"]]
    )
    aws.events.register(
        "after-call.cloudwatch-logs.DescribeLogGroups",
        lambda parsed, **_: [g.pop("storedBytes", None) for g in parsed["logGroups"]],
    )
    residue = Residue(aws, "streamlines", "lite", STACK)
    assert [f.detail for f in residue.functions()] == ["container image"]
    assert {f.detail for f in residue.log_groups()} == {"0 bytes"}


def sparsest(parsed, model, **_):
    """The answer as the service model allows it at its sparsest: every empty list that
    is not a required member left out (as EC2, ELB and API Gateway may answer)."""
    required = set(model.output_shape.metadata.get("required", [])) if model.output_shape else set()
    for key in [k for k, v in parsed.items() if v == [] and k not in required]:
        del parsed[key]


def test_pages_that_leave_out_their_empty_lists_are_empty(aws):
    aws.events.register("after-call.*.*", sparsest)
    aws.client("ec2").create_vpc(
        CidrBlock="10.7.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": pairs(tags(name="vpc"))}]
    )
    # A cluster deleted between ListClusters and DescribeClusters: described as a failure, with no clusters.
    gone = f"arn:aws:ecs:{REGION}:123456789012:cluster/gone"
    aws.events.register(
        "after-call.ecs.ListClusters", lambda parsed, **_: parsed.update(clusterArns=[gone]), unique_id="gone"
    )
    residue = Residue(aws, "streamlines", "lite", STACK)
    assert {f.kind for f in residue.leftovers()} == {"VPC"}
    assert residue.kept_on_purpose() == []


def test_nat_gateways_being_deleted_and_deleted_endpoints_are_gone(aws):
    """A NAT gateway's states are lower case, an endpoint's capitalized ("Deleted"):
    both stay listed for a while after they are deleted."""
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(
        CidrBlock="10.6.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": pairs(tags(name="vpc"))}]
    )["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.6.1.0/24")["Subnet"]["SubnetId"]
    ec2.create_nat_gateway(SubnetId=subnet, AllocationId=ec2.allocate_address(Domain="vpc")["AllocationId"])
    ec2.create_vpc_endpoint(
        VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.logs", VpcEndpointType="Interface", SubnetIds=[subnet]
    )
    residue = Residue(aws, "streamlines", "lite", STACK)
    list(residue.vpcs())
    assert {f.kind for f in residue.network() if f.kind != "ENI"} == {"NAT gateway", "VPC endpoint"}
    aws.events.register(
        "after-call.ec2.DescribeNatGateways",
        lambda parsed, **_: [g.update(State="deleting") for g in parsed["NatGateways"]],
    )
    aws.events.register(
        "after-call.ec2.DescribeVpcEndpoints",
        lambda parsed, **_: [e.update(State="Deleted") for e in parsed["VpcEndpoints"]],
    )
    residue = Residue(aws, "streamlines", "lite", STACK)
    list(residue.vpcs())
    assert [f for f in residue.network() if f.kind != "ENI"] == []
