"""Step Functions: start a deployment's execution, resume a waiting task, read the history."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from hivemind.models import DeploymentRecord, StepTiming


def start(sfn: Any, state_machine_arn: str, deployment_id: str, document: dict[str, Any]) -> str:
    """Start the execution named after the deployment (so a retried start cannot run twice)."""
    try:
        out = sfn.start_execution(
            stateMachineArn=state_machine_arn, name=deployment_id, input=json.dumps(document, default=str)
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ExecutionAlreadyExists":
            raise
        return f"{state_machine_arn.replace(':stateMachine:', ':execution:')}:{deployment_id}"
    return str(out["executionArn"])


def resume(sfn: Any, token: str, *, output: dict[str, Any] | None = None, error: str = "", cause: str = "") -> bool:
    """Resume a `.waitForTaskToken` task; False when the task is gone (timed out, aborted)."""
    try:
        if output is not None:
            sfn.send_task_success(taskToken=token, output=json.dumps(output, default=str))
        else:
            sfn.send_task_failure(taskToken=token, error=error, cause=cause[:32768])
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("TaskTimedOut", "TaskDoesNotExist", "InvalidToken"):
            return False
        raise
    return True


def history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
    return [e for page in pages for e in page["events"]]


_SCHEDULED = ("TaskScheduled", "LambdaFunctionScheduled")
_SUCCEEDED = ("TaskSucceeded", "LambdaFunctionSucceeded")
_FAILED = ("TaskFailed", "LambdaFunctionFailed", "TaskTimedOut", "LambdaFunctionTimedOut", "TaskStartFailed")
_EXECUTION_ENDED = ("ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut")


def step_timings(events: list[dict[str, Any]]) -> list[StepTiming]:
    """One StepTiming per state entered, in order, from an execution's history events.

    The workflow is sequential, so task events belong to the state entered last. A state
    whose last task attempt failed is FAILED even when a Catch moved the execution on.
    """
    steps: list[StepTiming] = []
    current: StepTiming | None = None
    scheduled = 0
    for event in events:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            current = StepTiming(
                name=event["stateEnteredEventDetails"]["name"], status="RUNNING", start=event["timestamp"]
            )
            steps.append(current)
            scheduled = 0
        elif current is None:
            continue
        elif kind in _SCHEDULED:
            scheduled += 1
            current.attempts = scheduled
        elif kind in _SUCCEEDED:
            current.error = None
        elif kind in _FAILED:
            details: dict[str, Any] = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            current.error = details.get("error") or kind
        elif kind.endswith("StateExited"):
            _close(current, event["timestamp"], "FAILED" if current.error else "SUCCEEDED")
            current = None
        elif kind in _EXECUTION_ENDED:
            _close(current, event["timestamp"], "FAILED")
            current = None
    return steps


def _close(step: StepTiming, end: datetime, status: str) -> None:
    step.end = end
    step.status = status  # type: ignore[assignment]
    step.duration_s = round((end - step.start).total_seconds(), 3)


def with_live_steps(record: DeploymentRecord, sfn: Any) -> DeploymentRecord:
    """A running deployment's record with its steps so far, read from the execution's history."""
    if record.status != "RUNNING" or not record.execution_arn:
        return record
    return record.model_copy(update={"steps": step_timings(history(sfn, record.execution_arn))})


def readable(events: list[dict[str, Any]], *, cause_chars: int = 400) -> list[dict[str, str]]:
    """An execution's history as people read it in the console: each state entered and exited,
    each failure with its error and cause, and the execution's own start and end; the task
    scheduling in between is left out."""
    lines: list[dict[str, str]] = []
    state = ""
    for event in events:
        kind = str(event["type"])
        entered = event.get("stateEnteredEventDetails") or event.get("stateExitedEventDetails")
        if entered:
            state = str(entered.get("name", ""))
        failure = next(
            (v for k, v in event.items() if k.endswith("FailedEventDetails") or k.endswith("TimedOutEventDetails")),
            None,
        )
        if not (entered or failure or kind.startswith("Execution")):
            continue
        detail = ""
        if isinstance(failure, dict):
            cause = str(failure.get("cause", ""))
            detail = f"{failure.get('error', '')}: {cause[:cause_chars]}".strip(": ")
        when = event["timestamp"]
        lines.append(
            {
                "time": when.isoformat() if hasattr(when, "isoformat") else str(when),
                "event": kind,
                "state": state if not kind.startswith("Execution") else "",
                "detail": detail,
            }
        )
    return lines
