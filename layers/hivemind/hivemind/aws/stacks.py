"""CloudFormation: create a stack, read its status, outputs and events, delete it."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError, WaiterError

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
UPDATABLE = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE"})
# a failed create leaves these, and only these are safe to delete as orphans
CREATE_FAILURES = frozenset({"CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED"})
DEPLOYMENT_TAG = "hivemind:deployment-id"


def _request(
    stack_name: str, template_url: str, parameters: dict[str, str], tags: dict[str, str], role_arn: str | None
) -> dict[str, Any]:
    """What creating and updating a stack both send."""
    request: dict[str, Any] = {
        "StackName": stack_name,
        "TemplateURL": template_url,
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        "Capabilities": ["CAPABILITY_IAM"],
        "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
    }
    if role_arn:
        request["RoleARN"] = role_arn
    return request


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
    kwargs = _request(stack_name, template_url, parameters, tags, role_arn)
    try:
        return str(cfn.create_stack(**kwargs, OnFailure="ROLLBACK", ClientRequestToken=token)["StackId"])
    except ClientError as exc:
        err = exc.response["Error"]
        raise StackCreateFailed(f"CloudFormation refused the stack: {err['Code']}: {err['Message']}") from exc


def update(
    cfn: Any,
    *,
    stack_name: str,
    template_url: str,
    parameters: dict[str, str],
    tags: dict[str, str],
    token: str,
    role_arn: str | None = None,
    poll_s: int = 2,
    max_attempts: int = 60,
) -> bool:
    """Update a live stack (by name) through a change set: create it, wait, execute it.
    False when there is nothing to change."""
    kwargs = _request(stack_name, template_url, parameters, tags, role_arn)
    try:
        change_set = cfn.create_change_set(
            **kwargs, ChangeSetName=f"hivemind-{token}"[:128], ChangeSetType="UPDATE", ClientToken=token
        )["Id"]
        # a change set is ready in seconds: botocore's waiter, bounded; FAILED (an empty change
        # set among them) or not ready in time, what it says is read next
        with contextlib.suppress(WaiterError):
            cfn.get_waiter("change_set_create_complete").wait(
                ChangeSetName=change_set, WaiterConfig={"Delay": poll_s, "MaxAttempts": max_attempts}
            )
        described = cfn.describe_change_set(ChangeSetName=change_set)
        reason = str(described.get("StatusReason") or "")
        empty = described["Status"] == "FAILED" and ("didn't contain changes" in reason or "No updates" in reason)
        if empty or (described["Status"] == "CREATE_COMPLETE" and not described.get("Changes")):
            # CloudFormation marks an empty change set FAILED ("The submitted information didn't
            # contain changes."): nothing to do. Any other FAILED one is a refusal, said below
            cfn.delete_change_set(ChangeSetName=change_set)
            return False
        if described["Status"] != "CREATE_COMPLETE":
            raise StackCreateFailed(f"the change set was not created: {described.get('StatusReason', 'timed out')}")
        cfn.execute_change_set(ChangeSetName=change_set, ClientRequestToken=token)
    except ClientError as exc:
        err = exc.response["Error"]
        raise StackCreateFailed(f"CloudFormation refused the update: {err['Code']}: {err['Message']}") from exc
    return True


def template_body(cfn: Any, stack_id: str) -> str:
    body = cfn.get_template(StackName=stack_id, TemplateStage="Original")["TemplateBody"]
    return body if isinstance(body, str) else json.dumps(body)


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


def events_since(cfn: Any, stack: str, since: datetime) -> list[dict[str, Any]]:
    """The stack's events from `since` on, oldest first, reading only the pages it needs
    (CloudFormation lists the newest first)."""
    since = since if since.tzinfo else since.replace(tzinfo=UTC)
    found: list[dict[str, Any]] = []
    for page in cfn.get_paginator("describe_stack_events").paginate(StackName=stack):
        fresh = [e for e in page["StackEvents"] if e["Timestamp"] >= since]
        found.extend(fresh)
        if len(fresh) < len(page["StackEvents"]):
            break
    return sorted(found, key=lambda e: e["Timestamp"])


def start_delete(cfn: Any, stack_id: str, *, token: str) -> None:
    """Start deleting a stack. Nothing here waits for it: the state machine does ("Wait for the
    Medic's stack"), or the stack's status event continues whoever needs it gone."""
    cfn.delete_stack(StackName=stack_id, ClientRequestToken=token)
