"""Facts about deployed stacks that several commands read: exports, the outputs
of a stack in a usable state, secrets. Errors are one sentence (`StackError`)."""

from __future__ import annotations

from typing import Any


# Stack states whose resources and outputs are all in place.
class StackError(Exception):
    """A stack or secret is missing or unusable; one sentence for the operator."""


USABLE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE"}


def export_value(cloudformation: Any, export_name: str) -> str | None:
    """The value of one CloudFormation export in the client's region, or None."""
    for page in cloudformation.get_paginator("list_exports").paginate():
        for export in page.get("Exports", []):
            if export["Name"] == export_name:
                return export["Value"]
    return None


def usable_outputs(cloudformation: Any, stack: str, region: str) -> dict[str, str]:
    """The outputs of `stack`, which must exist in a usable (complete) state."""
    from botocore.exceptions import ClientError

    try:
        described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    except ClientError as error:
        if "does not exist" in str(error):
            raise StackError(f"stack {stack} not found in {region}.") from None
        raise StackError(f"cannot read stack {stack}: {error.response['Error'].get('Message', error)}") from None
    status = described.get("StackStatus", "")
    if status not in USABLE:
        raise StackError(f"stack {stack} is {status}; provision a stack whose create or update completed.")
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def secret_string(secrets: Any, arn: str, what: str) -> str:
    from botocore.exceptions import ClientError

    try:
        return secrets.get_secret_value(SecretId=arn)["SecretString"]
    except ClientError as error:
        code = error.response["Error"].get("Code", "")
        if code == "ResourceNotFoundException":
            raise StackError(f"the {what} secret {arn} does not exist.") from None
        raise StackError(f"cannot read the {what} secret: {error.response['Error'].get('Message', code)}") from None
