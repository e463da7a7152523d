"""Root cause and classification of a failure, from CloudFormation's events or the step error.

The root cause is the first resource failure that is not a cancellation another failure caused
(nor the stack's own summary of its resources' failures); what failed after it (a VPC whose
delete failed during the rollback) is kept as `secondary`. Each text is classified by the one
table in medic/categories.py.
"""

from __future__ import annotations

from typing import Any

from hivemind.aws import stacks
from hivemind.medic.categories import KINDS, classify
from hivemind.models import Diagnosis, ErrorInfo
from hivemind.models.workflow import Failure

# what CloudFormation says of a resource it stopped because another one failed
CANCELLED = ("Resource creation cancelled", "Resource update cancelled")
_STEP_ERRORS: dict[str, tuple[str, str | None]] = {
    "TemplateInvalid": ("template", "Validate template"),
    "SourceError": ("source", "Plan deployment"),
    "PlanError": ("source", "Plan deployment"),
    "TargetNotHealthyYet": ("unhealthy", "Wait for healthy target"),
    "TargetUnhealthy": ("unhealthy", "Wait for healthy target"),
    "TargetRegistrationFailed": ("invalid-parameter", "Register target"),
    "SmokeTestFailed": ("unhealthy", "Smoke test"),
    "States.Timeout": ("boot-failure", None),
}


def oldest_first(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events in the order they happened: describe_stack_events gives them newest first, and events
    of the same second keep their relative order."""
    if len(events) > 1 and str(events[0].get("Timestamp", "")) > str(events[-1].get("Timestamp", "")):
        events = events[::-1]
    return sorted(events, key=lambda e: str(e.get("Timestamp", "")))


def failures(events: list[dict[str, Any]], stack_name: str | None = None) -> list[Failure]:
    """Every resource failure, oldest first, without cancellations and the stack's own summaries."""
    found = []
    for event in oldest_first(events):
        status = event.get("ResourceStatus", "")
        reason = event.get("ResourceStatusReason") or ""
        if not status.endswith("_FAILED") or any(reason.startswith(c) for c in CANCELLED):
            continue
        if event.get("ResourceType") == "AWS::CloudFormation::Stack" and event.get("LogicalResourceId") in (
            stack_name,
            event.get("StackName"),
        ):
            continue
        found.append(
            Failure(
                logical_id=event.get("LogicalResourceId", "?"),
                resource_type=event.get("ResourceType"),
                status=status,
                reason=reason or "no reason given",
                category=classify(reason, status),  # type: ignore[arg-type]
            )
        )
    return found


def root_cause(events: list[dict[str, Any]], stack_name: str | None = None) -> dict[str, Any] | None:
    """The event of the first resource failure that is not a cancellation caused by another failure."""
    first = next(iter(failures(events, stack_name)), None)
    if first is None:
        return None
    return next(
        e
        for e in oldest_first(events)
        if e.get("LogicalResourceId") == first.logical_id and e.get("ResourceStatus") == first.status
    )


def diagnose_events(events: list[dict[str, Any]], status: str | None = None) -> Diagnosis:
    """What a stack's events (as describe_stack_events returns them, any order) say went wrong."""
    stack_name = events[0].get("StackName") if events else None
    found = failures(events, stack_name)
    if not found:
        ordered = oldest_first(events)
        last = next((e for e in reversed(ordered) if e.get("ResourceStatusReason")), None)
        reason = last["ResourceStatusReason"] if last else f"stack ended {status or 'in an unknown state'}"
        category = classify(reason, last.get("ResourceStatus") if last else None)
        return Diagnosis(
            category=category,  # type: ignore[arg-type]
            summary=f"stack {stack_name or '?'}: {reason}",
            failed_step="Wait for stack",
            status_reason=reason,
            stack_status=status,
            fix=KINDS[category].fix,
        )
    cause, later = found[0], found[1:]
    return Diagnosis(
        category=cause.category,
        summary=f"{cause.logical_id} ({cause.resource_type}) failed: {cause.reason}",
        failed_step="Wait for stack",
        resource=cause.logical_id,
        resource_type=cause.resource_type,
        status_reason=cause.reason,
        stack_status=status,
        fix=KINDS[cause.category].fix,
        secondary=later,
    )


def diagnose_stack(cfn: Any, stack_id: str, status: str | None = None) -> Diagnosis:
    """Read the stack's events and explain why it failed."""
    return diagnose_events(stacks.events(cfn, stack_id), status)


# step errors whose own message says what to do: the category's general fix would mislead
_STEP_FIXES = {
    "PlanError": "the Plan stopped before anything was created: do what its error says (give the variables it "
    "names with --env or --secret, set hivemind.toml, or fix the source), then deploy again",
}


def diagnose_error(error: ErrorInfo, message: str) -> Diagnosis:
    """A failure that happened outside CloudFormation (plan, validate, target health, timeouts)."""
    category, step = _STEP_ERRORS.get(error.error, ("unknown", None))
    fix = _STEP_FIXES.get(error.error) or KINDS[category].fix
    return Diagnosis(category=category, summary=message, failed_step=step, fix=fix)  # type: ignore[arg-type]
