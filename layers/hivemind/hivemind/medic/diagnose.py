"""Root cause and classification of a failure, from CloudFormation's events or the step error.

CloudFormation reports causes only as text; classification keys on the AWS error codes that
text carries (InsufficientInstanceCapacity, InvalidAMIID.NotFound, ...), not on its prose.
"""

from __future__ import annotations

import re
from typing import Any

from hivemind.aws import stacks
from hivemind.models import Diagnosis, ErrorInfo
from hivemind.models.workflow import Category

CANCELLED = ("Resource creation cancelled", "Resource update cancelled")

# category -> error codes (or fixed CloudFormation phrases) that identify it
_CATEGORIES: dict[str, tuple[str, ...]] = {
    "capacity": ("InsufficientInstanceCapacity", "InsufficientCapacity", "Unsupported", "InsufficientHostCapacity"),
    "quota": (
        "LimitExceeded",
        "VcpuLimitExceeded",
        "InstanceLimitExceeded",
        "TooManyLoadBalancers",
        "TooManyTargetGroups",
        "AddressLimitExceeded",
        "VpcLimitExceeded",
        "ServiceQuotaExceeded",
    ),
    "name-conflict": (
        "AlreadyExists",
        "EntityAlreadyExists",
        "DuplicateLoadBalancerName",
        "DuplicateTargetGroupName",
        "InvalidGroup.Duplicate",
    ),
    "permissions": ("AccessDenied", "UnauthorizedOperation", "AuthFailure", "is not authorized"),
    "boot-timeout": ("Failed to receive", "resource signal"),
    # the instance's own bootstrap signalled failure: its build failed or the app never answered
    "app-failed": ("Received FAILURE signal",),
    "invalid-parameter": (
        "InvalidAMIID",
        "InvalidParameterValue",
        "InvalidParameterCombination",
        "InvalidParameter",
        "ValidationError",
        "Template format error",
        "InvalidInstanceType",
        "CertificateNotFound",
        "InvalidSubnetID",
        "InvalidVpcID",
    ),
}
_STEP_ERRORS: dict[str, tuple[str, str]] = {
    "TemplateInvalid": ("template", "Validate template"),
    "SourceError": ("source", "Plan deployment"),
    "PlanError": ("source", "Plan deployment"),
    "TargetNotHealthyYet": ("unhealthy", "Wait for healthy target"),
    "TargetUnhealthy": ("unhealthy", "Wait for healthy target"),
    "TargetRegistrationFailed": ("invalid-parameter", "Register target"),
    "SmokeTestFailed": ("unhealthy", "Smoke test"),
    "States.Timeout": ("boot-timeout", None),  # type: ignore[dict-item]
}


def classify(reason: str) -> Category:
    """The category of a CloudFormation failure reason."""
    for category, markers in _CATEGORIES.items():
        if any(re.search(rf"\b{re.escape(m)}", reason) for m in markers):
            return category  # type: ignore[return-value]
    return "unknown"


def root_cause(events: list[dict[str, Any]], stack_name: str | None = None) -> dict[str, Any] | None:
    """The first resource failure that is not a cancellation caused by another failure."""
    for event in events:  # oldest first
        status = event.get("ResourceStatus", "")
        reason = event.get("ResourceStatusReason") or ""
        if not status.endswith("_FAILED") or any(reason.startswith(c) for c in CANCELLED):
            continue
        if event.get("ResourceType") == "AWS::CloudFormation::Stack" and event.get("LogicalResourceId") == stack_name:
            continue
        return event
    return None


def diagnose_stack(cfn: Any, stack_id: str, status: str | None = None) -> Diagnosis:
    """Read the stack's events and explain why it failed."""
    events = stacks.events(cfn, stack_id)
    stack_name = events[0]["StackName"] if events else None
    cause = root_cause(events, stack_name)
    if cause is None:
        last = next((e for e in reversed(events) if e.get("ResourceStatusReason")), None)
        reason = last["ResourceStatusReason"] if last else f"stack ended {status or 'in an unknown state'}"
        return Diagnosis(
            category=classify(reason),
            summary=f"stack {stack_name or stack_id}: {reason}",
            failed_step="Wait for stack",
            status_reason=reason,
            stack_status=status,
        )
    reason = cause.get("ResourceStatusReason") or "no reason given"
    resource, kind = cause["LogicalResourceId"], cause.get("ResourceType")
    return Diagnosis(
        category=classify(reason),
        summary=f"{resource} ({kind}) failed: {reason}",
        failed_step="Wait for stack",
        resource=resource,
        resource_type=kind,
        status_reason=reason,
        stack_status=status,
    )


def diagnose_error(error: ErrorInfo, message: str) -> Diagnosis:
    """A failure that happened outside CloudFormation (plan, validate, target health, timeouts)."""
    category, step = _STEP_ERRORS.get(error.error, ("unknown", None))
    return Diagnosis(category=category, summary=message, failed_step=step)  # type: ignore[arg-type]
