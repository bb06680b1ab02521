"""`aws.read_stack`, the one reader of DescribeStacks that deploy, preflight, smoke
and provisioning share, against moto's CloudFormation."""

import json

import pytest

from streamlines.aws import StackError, read_stack

TEMPLATE = {
    "Parameters": {"Name": {"Type": "String"}},
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    "Outputs": {"Profile": {"Value": {"Ref": "Name"}}},
}


def test_a_stack_is_read_with_its_status_outputs_and_parameters(aws):
    cloudformation = aws.client("cloudformation")
    cloudformation.create_stack(
        StackName="sl-lite",
        TemplateBody=json.dumps(TEMPLATE),
        Parameters=[{"ParameterKey": "Name", "ParameterValue": "lite"}],
    )
    stack = read_stack(cloudformation, "sl-lite")
    assert (stack.name, stack.status, stack.outputs, stack.parameters) == (
        "sl-lite",
        "CREATE_COMPLETE",
        {"Profile": "lite"},
        {"Name": "lite"},
    )
    assert stack.usable


def test_a_missing_or_deleted_stack_is_none(aws):
    cloudformation = aws.client("cloudformation")
    assert read_stack(cloudformation, "sl-nothing") is None
    cloudformation.create_stack(
        StackName="sl-gone",
        TemplateBody=json.dumps(TEMPLATE),
        Parameters=[{"ParameterKey": "Name", "ParameterValue": "x"}],
    )
    stack_id = cloudformation.describe_stacks(StackName="sl-gone")["Stacks"][0]["StackId"]
    cloudformation.delete_stack(StackName="sl-gone")
    # By name a deleted stack is not there; by its id DescribeStacks still answers DELETE_COMPLETE.
    assert read_stack(cloudformation, "sl-gone") is None
    assert read_stack(cloudformation, stack_id) is None


def test_a_refused_read_says_which_stack_and_why():
    from botocore.exceptions import ClientError

    class Refusing:
        def describe_stacks(self, StackName):
            raise ClientError(
                {
                    "Error": {
                        "Code": "AccessDenied",
                        "Message": "not authorized to perform: cloudformation:DescribeStacks",
                    }
                },
                "DescribeStacks",
            )

    with pytest.raises(StackError) as raised:
        read_stack(Refusing(), "sl-lite")
    assert str(raised.value) == "cannot read stack sl-lite: not authorized to perform: cloudformation:DescribeStacks"


def test_an_unreadable_stack_ends_the_command_in_one_sentence(aws, monkeypatch, capsys):
    from streamlines import cli, deploy

    def refused(session, name):
        raise StackError(f"cannot read stack {name}: not authorized.")

    monkeypatch.setattr(deploy, "stack_exists", refused)
    code = cli.main(["teardown", "--profile", "lite", "--prefix", "sl"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and err == ["streamlines: error: cannot read stack sl-lite: not authorized."]
