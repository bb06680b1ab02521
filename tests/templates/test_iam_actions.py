"""Every IAM action the templates grant exists, each resource it is granted on
is of a type the action accepts, and each condition key is one the action
supports, checked offline against policy_sentry's copy of AWS's Service
Authorization Reference. A `*` resource is allowed only where AWS defines none
for the action, or with a reason below."""

from __future__ import annotations

import re
from typing import Any, Iterator

import pytest
from policy_sentry.querying.actions import get_action_data

ACCOUNT, REGION, PARTITION = "123456789012", "us-east-1", "aws"
PSEUDO = {
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": REGION,
    "AWS::Partition": PARTITION,
    "AWS::StackName": "sl-stack",
    "AWS::URLSuffix": "amazonaws.com",
}

# What an attribute or Ref of each resource type looks like.
ARN_OF = {
    "AWS::Kinesis::Stream": "arn:aws:kinesis:us-east-1:123456789012:stream/sl-stack-UpstreamStream-X1",
    "AWS::Lambda::Function": "arn:aws:lambda:us-east-1:123456789012:function:sl-stack-agent",
    "AWS::SQS::Queue": "arn:aws:sqs:us-east-1:123456789012:sl-stack-queue",
    "AWS::Logs::LogGroup": "arn:aws:logs:us-east-1:123456789012:log-group:sl-stack-logs:*",
    "AWS::ECR::Repository": "arn:aws:ecr:us-east-1:123456789012:repository/sl-ingest",
    "AWS::EFS::FileSystem": "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-12345678",
    "AWS::EFS::AccessPoint": "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0123456789abcdef0",
    "AWS::DynamoDB::Table": "arn:aws:dynamodb:us-east-1:123456789012:table/sl-connections",
    "AWS::S3::Bucket": "arn:aws:s3:::sl-app-bucket",
}
REF_OF = {
    "AWS::SecretsManager::Secret": "arn:aws:secretsmanager:us-east-1:123456789012:secret:sl-token-AbCdEf",
    "AWS::ECS::Service": "arn:aws:ecs:us-east-1:123456789012:service/sl-cluster/sl-influxdb",
    "AWS::ApiGatewayV2::Api": "a1b2c3d4e5",
    "AWS::Logs::LogGroup": "sl-stack-logs",
    "AWS::S3::Bucket": "sl-app-bucket",
    "AWS::Kinesis::Stream": "sl-stack-UpstreamStream-X1",
}

# `*` where AWS does define a resource type, and why it must stay.
STAR_ALLOWED = {
    # AWSLambdaVPCAccessExecutionRole's actions: Lambda manages the interfaces, whose IDs are not known in advance.
    "ec2:CreateNetworkInterface": "Lambda creates the VPC function's interfaces in subnets and groups it picks at "
    "run time.",
    "ec2:DeleteNetworkInterface": "the interfaces Lambda made, whose IDs are not known in advance.",
    "ec2:AssignPrivateIpAddresses": "the interfaces Lambda made.",
    "ec2:UnassignPrivateIpAddresses": "the interfaces Lambda made.",
}


def sample(node: Any, template: dict, foundations: dict) -> str:
    """A concrete value for an intrinsic-function expression in `template`."""
    resources = template["Resources"]
    if isinstance(node, str):
        return node
    if isinstance(node, list):
        return [sample(n, template, foundations) for n in node]  # type: ignore[return-value]
    ((function, argument),) = node.items()
    if function == "Ref":
        if argument in PSEUDO:
            return PSEUDO[argument]
        if argument in resources:
            return REF_OF[resources[argument]["Type"]]
        return template["Parameters"][argument].get("Default") or f"param-{argument}"
    if function == "Fn::GetAtt":
        logical_id, attribute = argument
        assert attribute == "Arn", node
        return ARN_OF[resources[logical_id]["Type"]]
    if function == "Fn::ImportValue":
        name = argument["Fn::Sub"].split("}-", 1)[1]
        return sample(foundations["Outputs"][name]["Value"], foundations, foundations)
    if function == "Fn::Join":
        return argument[0].join(sample(part, template, foundations) for part in argument[1])
    if function == "Fn::Sub":
        text, variables = (argument, {}) if isinstance(argument, str) else argument

        def fill(match: re.Match) -> str:
            name = match.group(1)
            if name in variables:
                return sample(variables[name], template, foundations)
            return sample(
                {"Ref": name} if "." not in name else {"Fn::GetAtt": name.split(".", 1)}, template, foundations
            )

        return re.sub(r"\$\{([A-Za-z0-9:.]+)\}", fill, text)
    raise AssertionError(f"cannot sample {node}")


def arn_pattern(arn_format: str) -> re.Pattern:
    parts = re.split(r"\$\{[^}]+\}", arn_format)
    return re.compile("^" + ".+".join(re.escape(part) for part in parts) + "$")


def accepts(arn_format: str, resource: str) -> bool:
    """Whether a resource ARN, whose `*` is IAM's wildcard, can name a resource of
    this format: each `*` is tried as the format's own text (`log-group:g:*`
    covers `log-group:g:log-stream:s`)."""
    pattern = arn_pattern(arn_format)
    literals = [part for part in re.split(r"\$\{[^}]+\}", arn_format) if part]
    fillers = {"x"} | {part.lstrip(":/") + "x" for part in literals} | {"x" + part + "x" for part in literals}
    candidates = [resource]
    for _ in range(resource.count("*")):
        candidates = [c.replace("*", filler, 1) for c in candidates for filler in fillers]
    return any(pattern.match(candidate) for candidate in candidates)


def statements(template: dict) -> Iterator[tuple[str, dict]]:
    for logical_id, resource in sorted(template["Resources"].items()):
        if resource["Type"] == "AWS::IAM::Role":
            for policy in resource["Properties"].get("Policies", []):
                for statement in policy["PolicyDocument"]["Statement"]:
                    yield logical_id, statement


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def action_data(action: str) -> list[dict]:
    service, name = action.split(":", 1)
    found = get_action_data(service, name)
    return found.get(service, []) if isinstance(found, dict) else []


def findings(template: dict, foundations: dict) -> list[str]:
    problems = []
    for role, statement in statements(template):
        for action in as_list(statement["Action"]):
            data = action_data(action)
            if not data:
                problems.append(f"{role}: {action} is not an IAM action")
                continue
            formats = [entry["resource_arn_format"] for entry in data]
            keys = {key for entry in data for key in entry.get("condition_keys", [])}
            for resource in as_list(statement["Resource"]):
                value = sample(resource, template, foundations)
                if value == "*":
                    if "*" not in formats and action not in STAR_ALLOWED:
                        problems.append(f"{role}: {action} on * although it has resource types {formats}")
                elif not any(fmt != "*" and accepts(fmt, value) for fmt in formats):
                    problems.append(f"{role}: {action} does not act on {value} (it takes {formats})")
            for operator, tests in statement.get("Condition", {}).items():
                for key in tests:
                    if not key.startswith("aws:") and key not in keys:
                        problems.append(f"{role}: {action} has no condition key {key}")
                    if key.endswith("Arn") and not operator.startswith("Arn"):
                        problems.append(
                            f"{role}: {key} is an ARN, compared with {operator} instead of ArnEquals/ArnLike"
                        )
    return problems


@pytest.mark.parametrize("stack", ["foundations", "lite", "full", "cloudfront"])
def test_every_grant_names_a_real_action_on_a_resource_it_accepts(templates, stack):
    assert findings(templates[stack], templates["foundations"]) == []


def test_the_check_catches_what_it_is_for(templates):
    """The defects this check was written for, planted into a copy of the full template."""
    import copy

    full = copy.deepcopy(templates["full"])
    role = full["Resources"]["RipplesTaskRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    role.append(
        {
            "Effect": "Allow",
            "Action": ["kinesis:SubscribeToShard"],
            "Resource": [{"Fn::GetAtt": ["UpstreamStream", "Arn"]}],
        }
    )
    role.append({"Effect": "Allow", "Action": ["kinesis:PutRecordz"], "Resource": ["*"]})
    role.append({"Effect": "Allow", "Action": ["kinesis:GetRecords"], "Resource": ["*"]})
    efs = full["Resources"]["InfluxDbTaskRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    for statement in efs:
        if "Condition" in statement:
            statement["Condition"] = {"StringEquals": statement["Condition"]["ArnEquals"]}
    found = findings(full, templates["foundations"])
    assert any("kinesis:SubscribeToShard does not act on arn:aws:kinesis" in f for f in found)
    assert any("kinesis:PutRecordz is not an IAM action" in f for f in found)
    assert any("kinesis:GetRecords on *" in f for f in found)
    assert any("compared with StringEquals instead of ArnEquals" in f for f in found)
