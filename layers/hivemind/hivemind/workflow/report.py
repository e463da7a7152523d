"""Report: the JSON report in S3 and the deployment record's final state."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from hivemind.aws import artifacts, deployments, executions, stacks
from hivemind.errors import SourceError
from hivemind.models import (
    ErrorInfo,
    Finding,
    HealthInfo,
    Report,
    ReportInput,
    ReportResult,
    ResourceTiming,
    StepTiming,
    WorkflowState,
)
from hivemind.models.record import hidden
from hivemind.observability import logger
from hivemind.settings import Settings
from hivemind.workflow import report_page

REPORT_PAGE = "report.html"  # beside report.json: the same report, for people


def error_message(error: ErrorInfo | None) -> str | None:
    """The human part of a Catch's error: Lambda causes are JSON with a stack trace we drop."""
    if error is None:
        return None
    message = error.cause
    try:
        parsed = json.loads(error.cause)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and "errorMessage" in parsed:
        message = str(parsed["errorMessage"])
    return f"{error.error}: {message}" if message else error.error


def _stored_findings(s3: Any, settings: Settings, deployment_id: str) -> list[Finding]:
    """Findings of a validation that stopped the deployment (they are not in the state then)."""
    try:
        raw = artifacts.get_bytes(s3, settings.artifacts_bucket, artifacts.key(deployment_id, "findings.json"))
    except SourceError:
        return []
    return [Finding.model_validate(f) for f in json.loads(raw)]


def _health(state: WorkflowState, steps: list[StepTiming]) -> HealthInfo | None:
    """The health step's result with how many looks it took and the smoke test's status code."""
    if state.health is None:
        return None
    looks = next((s.attempts for s in steps if s.name == "Wait for healthy target"), None)
    seen = next((c for c in state.qa.checks if c.required), None) if state.qa else None
    return state.health.model_copy(
        update={"checks": looks, "status_code": seen.status_code if seen else state.health.status_code}
    )


def resource_timings(events: list[dict[str, Any]], since: datetime) -> list[ResourceTiming]:
    """Each resource of the stack as CloudFormation worked on it from `since` on (stack events,
    any order): from its first event to its last settled one, in the order work on them began.
    The stack's own events are left out (the steps' bars show them)."""
    found: dict[str, ResourceTiming] = {}
    for event in sorted(events, key=lambda e: e["Timestamp"]):
        when = event["Timestamp"]
        if when < since or event.get("PhysicalResourceId") == event.get("StackId"):
            continue
        name, status = event["LogicalResourceId"], event["ResourceStatus"]
        timing = found.get(name)
        if timing is None:
            timing = found[name] = ResourceTiming(
                logical_id=name, resource_type=event.get("ResourceType", ""), start=when, status=status
            )
        timing.status = status
        timing.end = None if status.endswith("_IN_PROGRESS") else when
        if event.get("ResourceStatusReason") and status.endswith("FAILED"):
            timing.reason = event["ResourceStatusReason"]
    return list(found.values())


def _stack_resources(cfn: Any, state: WorkflowState, since: datetime) -> list[ResourceTiming]:
    if cfn is None or state.stack is None:
        return []
    try:
        return resource_timings(stacks.events_since(cfn, state.stack.stack_id, since), since)
    except ClientError as exc:  # the report is written all the same, without the resources' bars
        logger.warning(f"the stack's events could not be read: {exc}")
        return []


def write_report(
    payload: ReportInput, *, s3: Any, ddb: Any, sfn: Any, settings: Settings, cfn: Any = None
) -> ReportResult:
    state = payload.state
    record = deployments.get(ddb, settings.deployments_table, state.deployment_id)
    steps = executions.step_timings(executions.history(sfn, payload.execution_arn))
    finished = deployments.now()
    for step in steps:  # this Report state itself: done once the report below is written
        if step.status == "RUNNING":
            step.status, step.end = "SUCCEEDED", finished
            step.duration_s = round((finished - step.start).total_seconds(), 3)
    outputs = state.stack.outputs if state.stack and payload.outcome == "SUCCEEDED" else {}
    url = outputs.get("URL")
    diagnosis = state.medic.diagnosis if state.medic else None
    not_rehearsed = error_message(state.error) if payload.outcome == "NOT_REHEARSED" else None
    health = _health(state, steps)
    qa = state.qa.checks if state.qa else []
    warnings = [
        *(state.plan.warnings if state.plan else []),
        *(state.template.warnings if state.template else []),
        *(state.qa.warnings if state.qa else []),
    ]
    if state.cleanup_error is not None:
        why = error_message(state.cleanup_error)
        warnings.append(
            f"the new release serves, but the previous one could not be removed ({why}); "
            "the next deployment of this app removes it"
        )
    report = Report(
        deployment_id=state.deployment_id,
        app_name=state.request.app_name,
        status=payload.outcome,
        started_at=record.created_at,
        finished_at=finished,
        duration_s=round((finished - record.created_at).total_seconds(), 3),
        url=url,
        stack_name=state.stack.stack_name if state.stack else None,
        outputs=outputs,
        steps=steps,
        resources=_stack_resources(cfn, state, record.created_at),
        # the report is read by anyone who may read deployments: the app's environment values stay out
        plan=state.plan.model_copy(update={"environment": hidden(state.plan.environment)}) if state.plan else None,
        findings=state.validation.findings if state.validation else _stored_findings(s3, settings, state.deployment_id),
        health=health,
        qa=qa,
        warnings=warnings,
        alarms=state.template.alarms if state.template and payload.outcome == "SUCCEEDED" else [],
        not_rehearsed=not_rehearsed.removeprefix("AppNotRehearsed: ") if not_rehearsed else None,
        error=error_message(state.error) if payload.outcome == "FAILED" else None,
        diagnosis=diagnosis,
        medic_action=state.medic.action if state.medic else None,
        attempts=state.attempt,
    )
    key = artifacts.put_json(
        s3, settings.artifacts_bucket, artifacts.key(state.deployment_id, "report.json"), report.model_dump(mode="json")
    )
    artifacts.put(
        s3,
        settings.artifacts_bucket,
        artifacts.key(state.deployment_id, REPORT_PAGE),
        report_page.render(report).encode(),
        "text/html; charset=utf-8",
    )
    deployments.update(
        ddb,
        settings.deployments_table,
        state.deployment_id,
        status=payload.outcome,
        outputs=outputs,
        url=url,
        steps=[s.model_dump(mode="json") for s in steps],
        report_key=key,
        error=report.error,
        diagnosis=diagnosis.model_dump(mode="json") if diagnosis else None,
        health=health.model_dump(mode="json") if health else None,
        qa=[c.model_dump(mode="json") for c in qa],
        not_rehearsed=report.not_rehearsed,
        commit=state.plan.source_commit if state.plan else None,
        source_digest=state.plan.source_digest if state.plan else None,
        plan_digest=state.plan.digest() if state.plan else None,
    )
    said = f"deployment {payload.outcome}" + (f": {report.error}" if report.error else "")
    (logger.error if payload.outcome == "FAILED" else logger.info)(said, extra={"url": url})
    return ReportResult(
        deployment_id=state.deployment_id,
        status=payload.outcome,
        report_key=key,
        url=url,
        duration_s=report.duration_s,
    )
