"""CloudWatch Logs: what one deployment left in logs.

- HiveMind's functions all log to one group (template.yaml's FunctionLogs), as Powertools JSON
  lines that carry the deployment id as their correlation id; FilterLogEvents finds them by that
  id. Each line is labelled with its function and with the step the deployment was in then (the
  workflow runs one step at a time, so a line's time names its step).
- The app's own log: the instance's CloudWatch agent ships it to its stack's AppLogGroup, stream
  `<instance id>/app`. When that group is gone (a new stack's failure deletes it), the last lines
  the instance left in its failure log (the Medic's diagnosis keeps them) stand in, and say so.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, Field

from hivemind.models import DeploymentRecord, StepTiming
from hivemind.templating.releases import suffix

MAX_LINES = 5000  # of one deployment's function lines in one answer
APP_LINES = 50
_FUNCTION = re.compile(r"-(?P<name>[A-Za-z0-9]+?)Function-[A-Za-z0-9]+$")


class LogLine(BaseModel):
    time: datetime
    function: str = Field(description="the HiveMind function that logged it (Plan, Medic, ...)")
    step: str | None = Field(default=None, description="the step the deployment was in at that time")
    level: str
    message: str
    detail: dict[str, Any] = Field(default_factory=dict, description="the line's own keys (not Lambda's)")
    id: str = Field(description="CloudWatch's event id")


class AppLog(BaseModel):
    source: str = Field(description="cloudwatch, failure-log, or none")
    where: str | None = None
    instance_id: str | None = None
    lines: list[str] = Field(default_factory=list)
    note: str | None = Field(default=None, description="why there are no lines, or where they come from")


class DeploymentLogs(BaseModel):
    deployment_id: str
    status: str
    lines: list[LogLine]
    app: AppLog
    next_since: int = Field(
        description="since= for the next read (ms since the epoch): it repeats the last millisecond, so skip ids seen"
    )


# Lambda's and Powertools' own keys, not what the line says
_CONTEXT_KEYS = {
    "level",
    "location",
    "message",
    "timestamp",
    "service",
    "correlation_id",
    "cold_start",
    "function_name",
    "function_memory_size",
    "function_arn",
    "function_request_id",
    "xray_trace_id",
    "sampling_rate",
}


def function_lines(
    logs: Any, group: str, deployment_id: str, *, since_ms: int, steps: list[StepTiming] | None = None
) -> list[LogLine]:
    """The deployment's lines in the functions' group from `since_ms` on, oldest first."""
    found: list[LogLine] = []
    pages = logs.get_paginator("filter_log_events").paginate(
        logGroupName=group, filterPattern=f'"{deployment_id}"', startTime=since_ms
    )
    for page in pages:
        for event in page["events"]:
            found.append(_line(event, steps or []))
        if len(found) >= MAX_LINES:
            break
    found.sort(key=lambda line: (line.time, line.id))
    return found[:MAX_LINES]


def _line(event: dict[str, Any], steps: list[StepTiming]) -> LogLine:
    when = datetime.fromtimestamp(event["timestamp"] / 1000, UTC)
    try:
        body = json.loads(event["message"])
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {"level": "INFO", "message": str(event["message"]).rstrip("\n")}
    name = str(body.get("function_name") or "")
    match = _FUNCTION.search(name)
    message = str(body.get("message", ""))
    if body.get("exception"):
        message += "\n" + str(body["exception"])
    return LogLine(
        time=when,
        function=match.group("name") if match else (name or "-"),
        step=step_at(when, steps),
        level=str(body.get("level", "INFO")),
        message=message,
        detail={k: v for k, v in body.items() if k not in _CONTEXT_KEYS and k != "exception" and v is not None},
        id=str(event.get("eventId", "")),
    )


def step_at(when: datetime, steps: list[StepTiming]) -> str | None:
    """The step whose run holds `when` (the last entered one when steps touch). The last step
    holds what came after it too: a Report's own record ends before its function returns, and
    the Medic's lines on the execution's end come after it."""
    held = None
    for index, step in enumerate(steps):
        start = step.start if step.start.tzinfo else step.start.replace(tzinfo=UTC)
        end = step.end if step.end is None or step.end.tzinfo else step.end.replace(tzinfo=UTC)
        if start <= when and (end is None or when <= end or index == len(steps) - 1):
            held = step.name
    return held


def app_log(logs: Any, cfn: Any, record: DeploymentRecord, *, lines: int = APP_LINES) -> AppLog:
    """The app's last `lines` log lines, from CloudWatch while its stack's log group exists, else
    from the failure log its instance left."""
    found = _from_cloudwatch(logs, cfn, record, lines) if record.stack_id else None
    if found is not None and found.lines:
        return found
    failure = record.diagnosis.instance_log if record.diagnosis else []
    if failure:
        return AppLog(
            source="failure-log",
            lines=failure[-lines:],
            note="from the failure log the instance left before it was terminated"
            + (f"; {found.note}" if found is not None and found.note else ""),
        )
    if found is not None:
        return found
    return AppLog(source="none", note="no stack, so no app log: the deployment ended before Create stack")


def _from_cloudwatch(logs: Any, cfn: Any, record: DeploymentRecord, lines: int) -> AppLog:
    group = _physical(cfn, record.stack_id, "AppLogGroup")
    instance = record.outputs.get("InstanceId") or _physical(
        cfn, record.stack_id, f"WebInstance{suffix(record.deployment_id)}"
    )
    if group is None or instance is None:
        return AppLog(source="none", note="its stack holds no app log group or instance now")
    stream = f"{instance}/app"
    try:
        events = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=lines, startFromHead=False)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        return AppLog(
            source="none",
            where=f"{group}/{stream}",
            instance_id=instance,
            note="the app log group or its stream is gone, or the instance's agent never shipped a line",
        )
    return AppLog(
        source="cloudwatch",
        where=f"{group}/{stream}",
        instance_id=instance,
        lines=[str(e["message"]).rstrip("\n") for e in events["events"]],
        note=None if events["events"] else "the instance has logged nothing yet",
    )


def _physical(cfn: Any, stack_id: str | None, logical_id: str) -> str | None:
    try:
        found = cfn.describe_stack_resource(StackName=stack_id, LogicalResourceId=logical_id)
    except ClientError:
        return None
    return found["StackResourceDetail"].get("PhysicalResourceId") or None


def deployment_logs(
    record: DeploymentRecord, *, logs: Any, cfn: Any, group: str, step: str | None = None, since_ms: int | None = None
) -> DeploymentLogs:
    """What `hivemind logs` shows: the deployment's function lines (of one step, if named) and
    its app's last lines. `since_ms`: only lines from then on (following a running deployment)."""
    start = record.created_at if record.created_at.tzinfo else record.created_at.replace(tzinfo=UTC)
    since = since_ms if since_ms is not None else int((start - timedelta(minutes=1)).timestamp() * 1000)
    found = function_lines(logs, group, record.deployment_id, since_ms=since, steps=record.steps)
    if step is not None:
        found = [line for line in found if (line.step or "").lower() == step.lower()]
    last = max((int(line.time.timestamp() * 1000) for line in found), default=since)
    return DeploymentLogs(
        deployment_id=record.deployment_id,
        status=record.status,
        lines=found,
        app=app_log(logs, cfn, record),
        next_since=last,
    )
