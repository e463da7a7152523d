"""CloudFormation: create a stack, read its status, outputs and events, delete it."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from hivemind.errors import StackCreateFailed
from hivemind.models import StackInfo

SUCCEEDED = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"})
FAILED = frozenset(
    {
        "CREATE_FAILED",
        "ROLLBACK_COMPLETE",
        "ROLLBACK_FAILED",
        "UPDATE_ROLLBACK_COMPLETE",
        "UPDATE_ROLLBACK_FAILED",
        "UPDATE_FAILED",
        "DELETE_COMPLETE",
        "DELETE_FAILED",
        "IMPORT_ROLLBACK_COMPLETE",
        "IMPORT_ROLLBACK_FAILED",
    }
)
SETTLED = SUCCEEDED | FAILED
DEPLOYMENT_TAG = "hivemind:deployment-id"


def create(
    cfn: Any,
    *,
    stack_name: str,
    template_url: str,
    parameters: dict[str, str],
    tags: dict[str, str],
    token: str,
    role_arn: str | None = None,
) -> str:
    """Start creating a stack and return its id; CloudFormation's refusal is StackCreateFailed."""
    kwargs: dict[str, Any] = {
        "StackName": stack_name,
        "TemplateURL": template_url,
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        "Capabilities": ["CAPABILITY_IAM"],
        "OnFailure": "ROLLBACK",
        "ClientRequestToken": token,
        "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
    }
    if role_arn:
        kwargs["RoleARN"] = role_arn
    try:
        return str(cfn.create_stack(**kwargs)["StackId"])
    except ClientError as exc:
        err = exc.response["Error"]
        raise StackCreateFailed(f"CloudFormation refused the stack: {err['Code']}: {err['Message']}") from exc


def describe(cfn: Any, stack: str) -> dict[str, Any] | None:
    """The stack's description, or None when it does not exist (any more)."""
    try:
        stacks = cfn.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ValidationError":
            return None
        raise
    return stacks[0] if stacks else None


def info(description: dict[str, Any]) -> StackInfo:
    outputs = {o["OutputKey"]: o["OutputValue"] for o in description.get("Outputs", [])}
    return StackInfo(
        stack_name=description["StackName"],
        stack_id=description["StackId"],
        status=description["StackStatus"],
        outputs=outputs,
    )


def tags(description: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in description.get("Tags", [])}


def events(cfn: Any, stack: str) -> list[dict[str, Any]]:
    """All events of a stack, oldest first."""
    pages = cfn.get_paginator("describe_stack_events").paginate(StackName=stack)
    found = [e for page in pages for e in page["StackEvents"]]
    return sorted(found, key=lambda e: e["Timestamp"])


def delete(cfn: Any, stack_id: str, *, token: str, timeout_s: float, poll_s: float = 5.0) -> str:
    """Delete a stack and wait (bounded) until it is gone; returns the last status seen."""
    cfn.delete_stack(StackName=stack_id, ClientRequestToken=token)
    deadline = time.monotonic() + timeout_s
    status = "DELETE_IN_PROGRESS"
    while time.monotonic() < deadline:
        desc = describe(cfn, stack_id)
        status = desc["StackStatus"] if desc else "DELETE_COMPLETE"
        if status in ("DELETE_COMPLETE", "DELETE_FAILED"):
            return status
        time.sleep(poll_s)
    return status
