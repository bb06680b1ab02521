"""Facts about deployed stacks that several commands read: the one reader of
DescribeStacks (`read_stack`), exports, the outputs of a stack in a usable state,
secrets. Errors are one sentence (`StackError`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class StackError(Exception):
    """A stack or secret is missing or unusable; one sentence for the operator."""


# Stack states whose resources and outputs are all in place.
USABLE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE"}


def export_value(cloudformation: Any, export_name: str) -> str | None:
    """The value of one CloudFormation export in the client's region, or None."""
    for page in cloudformation.get_paginator("list_exports").paginate():
        for export in page.get("Exports", []):
            if export["Name"] == export_name:
                return export["Value"]
    return None


@dataclass(frozen=True)
class Stack:
    """One stack as DescribeStacks answers it."""

    name: str
    status: str
    reason: str
    outputs: dict[str, str]
    parameters: dict[str, str]

    @property
    def usable(self) -> bool:
        return self.status in USABLE


def read_stack(cloudformation: Any, name: str) -> Stack | None:
    """The stack called `name`, or None when there is none (a deleted stack is none). Any
    other refusal (access, throttling) is a StackError that says which stack and why."""
    from botocore.exceptions import ClientError

    try:
        described = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as error:
        message = error.response["Error"].get("Message") or str(error)
        if "does not exist" in message:
            return None
        raise StackError(f"cannot read stack {name}: {message}") from None
    if described["StackStatus"] == "DELETE_COMPLETE":
        return None
    return Stack(
        name,
        described["StackStatus"],  # always answered; the reason only sometimes
        described.get("StackStatusReason") or "",
        {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])},
        {p["ParameterKey"]: p.get("ParameterValue", "") for p in described.get("Parameters", [])},
    )


def usable_outputs(cloudformation: Any, stack: str, region: str) -> dict[str, str]:
    """The outputs of `stack`, which must exist in a usable (complete) state."""
    found = read_stack(cloudformation, stack)
    if found is None:
        raise StackError(f"stack {stack} not found in {region}.")
    if not found.usable:
        raise StackError(f"stack {stack} is {found.status}; provision a stack whose create or update completed.")
    return found.outputs


def secret_string(secrets: Any, arn: str, what: str) -> str:
    from botocore.exceptions import ClientError

    try:
        return secrets.get_secret_value(SecretId=arn)["SecretString"]
    except ClientError as error:
        code = error.response["Error"].get("Code", "")
        if code == "ResourceNotFoundException":
            raise StackError(f"the {what} secret {arn} does not exist.") from None
        raise StackError(f"cannot read the {what} secret: {error.response['Error'].get('Message', code)}") from None
