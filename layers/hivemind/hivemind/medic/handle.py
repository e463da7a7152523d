"""What the Medic does: "Handle failure" in the workflow, and stack-status events from EventBridge."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Any, Literal

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import ClientError

from hivemind.aws import artifacts, deployments, leftovers, stacks, targets
from hivemind.aws.clients import client
from hivemind.errors import DeploymentNotFound, HiveMindError
from hivemind.medic.categories import KINDS
from hivemind.medic.diagnose import diagnose_error, diagnose_events, diagnose_stack, failures
from hivemind.models import (
    TERMINAL_STATUSES,
    DeploymentPlan,
    DeploymentRecord,
    Diagnosis,
    Evidence,
    MedicDecision,
    StackInfo,
    WorkflowState,
)
from hivemind.models.events import ExecutionStatusChange, StackStatusChange
from hivemind.observability import count, logger
from hivemind.settings import Settings
from hivemind.templating import releases
from hivemind.templating.cost import estimate
from hivemind.workflow import target as target_step
from hivemind.workflow.report import error_message
from hivemind.workflow.stack import settle

MAX_ATTEMPTS = 3
# What the diagnosis keeps of an instance's failure log: it travels in the execution's state
# (256 KiB in all) and the deployment record (400 KB), so it is bounded by lines, line and total.
INSTANCE_LOG_LINES, INSTANCE_LOG_LINE_CHARS, INSTANCE_LOG_BYTES = 120, 400, 16 * 1024


def log_tail(lines: list[str]) -> list[str]:
    """The last lines of a log, each cut short, within INSTANCE_LOG_BYTES."""
    kept: list[str] = []
    size = 0
    for line in reversed(lines[-INSTANCE_LOG_LINES:]):
        line = line[:INSTANCE_LOG_LINE_CHARS]
        size += len(line.encode()) + 1
        if size > INSTANCE_LOG_BYTES:
            break
        kept.append(line)
    return kept[::-1]


def boot_failure_line(lines: list[str]) -> str | None:
    """The bootstrap's own last line before the app's log (what stopped it), if any."""
    if "--- app log ---" not in lines:
        return None
    before = [line for line in lines[: lines.index("--- app log ---")] if line.strip()]
    return before[-1] if before else None


# Same size, another family: the usual way around InsufficientInstanceCapacity.
_ALTERNATIVES = {
    "t3": ("t3a", "t2"),
    "t3a": ("t3", "t2"),
    "t2": ("t3", "t3a"),
    "m5": ("m5a", "m6i"),
    "m6i": ("m5", "m6a"),
    "c5": ("c5a", "c6i"),
    "c6i": ("c5", "c6a"),
}


def alternative_instance_type(current: str, tried: int) -> str | None:
    family, _, size = current.partition(".")
    options = _ALTERNATIVES.get(family, ())
    return f"{options[tried]}.{size}" if tried < len(options) else None


def handle_failure(
    state: WorkflowState,
    *,
    cfn: Any,
    elbv2: Any,
    ddb: Any,
    settings: Settings,
    s3: Any = None,
) -> MedicDecision:
    """Diagnose the failure, then retry with a fix (bounded) or roll everything back. What takes
    CloudFormation minutes (deleting the stack, restoring the previous version) is only started
    here: the state machine waits for the stack ("Wait for the Medic's stack", resumed by its
    status event) and `finish_failure` concludes. No Lambda polls CloudFormation."""
    diagnosis = _diagnose(state, cfn)
    if s3 is not None and diagnosis.category in ("app-failed", "boot-failure", "unknown"):
        lines = artifacts.text_lines(
            s3,
            settings.artifacts_bucket,
            artifacts.key(state.deployment_id, artifacts.instance_log_name(state.attempt)),
        )
        kept = log_tail(lines)
        said = boot_failure_line(kept)
        summary = f"{diagnosis.summary}; the instance said: {said}" if said else diagnosis.summary
        diagnosis = diagnosis.model_copy(update={"instance_log": kept, "summary": summary})
    record = deployments.get(ddb, settings.deployments_table, state.deployment_id)
    if state.stack is not None and record.stack_operation in ("update", "unchanged"):
        decision = _restore(state, record, diagnosis, cfn=cfn, elbv2=elbv2, settings=settings)
    elif (retry := _retry_decision(state, diagnosis, state.plan)) is not None:
        decision = retry
        if state.stack is not None:  # the failed stack must be gone before the same name is reused
            decision = _start_delete(state, decision, cfn)
    else:
        decision = _roll_back(state, diagnosis, cfn=cfn, elbv2=elbv2)
    if decision.pending:
        deployments.update(
            ddb, settings.deployments_table, state.deployment_id, diagnosis=diagnosis.model_dump(mode="json")
        )
        return _pending(state, decision, ddb=ddb, settings=settings)
    return _conclude(state, decision, cfn=cfn, ddb=ddb, settings=settings)


def _pending(state: WorkflowState, decision: MedicDecision, *, ddb: Any, settings: Settings) -> MedicDecision:
    """A step started on the stack: the record says so (should the execution end meanwhile, a
    cancel, the Medic finishes it from the stack's events: on_execution_ended)."""
    deployments.set_medic_pending(ddb, settings.deployments_table, state.deployment_id, decision.pending)
    logger.info(
        f"medic: {decision.diagnosis.category}: {decision.pending} started, the state machine waits for the stack",
        extra={"action": decision.action, "stack_id": decision.waiting_on},
    )
    return decision


def finish_failure(state: WorkflowState, *, cfn: Any, elbv2: Any, ddb: Any, settings: Settings) -> MedicDecision:
    """ "Finish handling failure": the stack the Medic started working on has settled (or the
    wait ran out); read it and conclude what "Handle failure" started."""
    started = state.medic
    if started is None or started.pending is None:
        raise ValueError("Finish handling failure needs what Handle failure started")
    record = deployments.get(ddb, settings.deployments_table, state.deployment_id)
    if not _begun(cfn, started):  # the wait ended on the stack's status from before the Medic's call
        if started.waits < MAX_WAITS:
            return started.model_copy(update={"waits": started.waits + 1})
        decision = started.model_copy(
            update={
                "action": "escalate",
                "fix": f"the stack shows no sign of the Medic's {started.pending} after {started.waits} waits; "
                "see its events",
            }
        )
    else:
        decision = _finish(state, record, started, cfn=cfn, elbv2=elbv2, settings=settings)
    if decision.pending:  # a next step on the stack (a restore once an update settled): wait again
        return _pending(state, decision, ddb=ddb, settings=settings)
    return _conclude(state, decision, cfn=cfn, ddb=ddb, settings=settings)


# how many times the state machine waits again when the stack's status is still the one from
# before the Medic's call (CloudFormation changes it a moment after the call returns)
MAX_WAITS = 20


def _begun(cfn: Any, started: MedicDecision) -> bool:
    """Whether CloudFormation has begun what the Medic started: a stack-level event since the
    call (a wait to settle needs none)."""
    if started.pending == "settle" or started.started_at is None or started.waiting_on is None:
        return True
    since = started.started_at - timedelta(seconds=1)
    try:
        found = stacks.events_since(cfn, started.waiting_on, since)
    except ClientError:
        return True  # the stack is gone (and its events with it): what the Medic started happened
    return any(e.get("PhysicalResourceId") == e.get("StackId") for e in found)


def _finish(
    state: WorkflowState, record: DeploymentRecord, started: MedicDecision, *, cfn: Any, elbv2: Any, settings: Settings
) -> MedicDecision:
    if started.pending == "settle":
        return _restore(state, record, started.diagnosis, cfn=cfn, elbv2=elbv2, settings=settings)
    if started.pending == "delete":
        return _after_delete(state, started, cfn=cfn, settings=settings)
    if started.pending == "continue":
        return _after_continue(state, record, started.diagnosis, cfn=cfn, elbv2=elbv2, settings=settings)
    return _restore_finished(state, record, started.diagnosis, cfn=cfn, elbv2=elbv2, settings=settings)


def _conclude(
    state: WorkflowState, decision: MedicDecision, *, cfn: Any, ddb: Any, settings: Settings
) -> MedicDecision:
    """The decision made final: what escalation left (with CloudFormation's reasons), the
    diagnosis on the record, the decision logged and counted."""
    diagnosis = decision.diagnosis
    if decision.action == "escalate" and state.stack is not None:
        left = _why_left(cfn, state.stack.stack_id, decision.resources_left)
        diagnosis = diagnosis.model_copy(update={"left": left, "escalation": decision.fix})
    decision = decision.model_copy(
        update={"diagnosis": diagnosis, "pending": None, "waiting_on": None, "started_at": None, "waits": 0}
    )
    deployments.update(
        ddb,
        settings.deployments_table,
        state.deployment_id,
        diagnosis=diagnosis.model_dump(mode="json"),
        attempts=decision.next_attempt,
        clear=deployments.PENDING_FIELDS,
    )
    logger.warning(
        f"medic: {diagnosis.category}, {decision.action}: {decision.fix or diagnosis.summary}",
        extra={"action": decision.action, "category": diagnosis.category},
    )
    count("MedicActions", action=decision.action, category=diagnosis.category)
    return decision


def _diagnose(state: WorkflowState, cfn: Any) -> Diagnosis:
    message = error_message(state.error) or "unknown failure"
    if state.error is not None and state.error.error == "StackCreateFailed" and state.stack is not None:
        description = stacks.describe(cfn, state.stack.stack_id)
        return diagnose_stack(cfn, state.stack.stack_id, description["StackStatus"] if description else None)
    if state.error is None:
        return Diagnosis(category="unknown", summary="the workflow failed without an error")
    if state.error.error == "States.Timeout" and state.stack is not None and state.stack.status not in stacks.SETTLED:
        return _waited_too_long(state.stack.stack_id, message, cfn)
    return diagnose_error(state.error, message)


def _waited_too_long(stack_id: str, message: str, cfn: Any) -> Diagnosis:
    """ "Wait for stack" ran out of time: the stack itself, not the timeout, says what happened. A
    stack that failed has its own root cause; one still working (or done, its event lost and the
    reconciler not running) is named with its status and its latest event."""
    description = stacks.describe(cfn, stack_id)
    status = description["StackStatus"] if description else "DELETE_COMPLETE"
    events = stacks.events(cfn, stack_id) if description else []
    if failures(events):
        return diagnose_events(events, status)
    latest = events[-1] if events else None
    said = (
        f"; its latest event: {latest['LogicalResourceId']} {latest['ResourceStatus']}"
        + (f" ({latest['ResourceStatusReason']})" if latest.get("ResourceStatusReason") else "")
        if latest
        else ""
    )
    return Diagnosis(
        category="boot-failure",
        summary=f"{message}; the stack was {status} when the wait ended{said}",
        failed_step="Wait for stack",
        stack_status=status,
        fix=KINDS["boot-failure"].fix,
    )


def _retry_decision(state: WorkflowState, diagnosis: Diagnosis, plan: DeploymentPlan | None) -> MedicDecision | None:
    if plan is None or state.attempt >= MAX_ATTEMPTS or KINDS[diagnosis.category].action != "retry":
        return None
    if diagnosis.category == "throttling":  # the same plan again: AWS throttled the calls, nothing was wrong
        return MedicDecision(
            action="retry",
            diagnosis=diagnosis,
            next_attempt=state.attempt + 1,
            plan=plan,
            fix="the same plan again (AWS throttled the calls)",
        )
    other = alternative_instance_type(plan.instance_type, state.attempt - 1)
    if other is None:
        return None
    fix = f"instance type {plan.instance_type} -> {other} (capacity)"
    evidence = [e for e in plan.evidence if e.field != "instance_type"] + [
        Evidence(field="instance_type", value=other, source="medic", reason=f"retry after: {diagnosis.summary}")
    ]
    fixed = plan.model_copy(update={"instance_type": other, "evidence": evidence})
    fixed = fixed.model_copy(update={"cost": estimate(fixed)})
    return MedicDecision(action="retry", diagnosis=diagnosis, next_attempt=state.attempt + 1, plan=fixed, fix=fix)


def _roll_back(state: WorkflowState, diagnosis: Diagnosis, *, cfn: Any, elbv2: Any) -> MedicDecision:
    if state.target is not None:
        t = state.target
        targets.deregister(elbv2, t.target_group_arn, t.instance_id, t.port)
    decision = MedicDecision(action="rollback", diagnosis=diagnosis, next_attempt=state.attempt)
    if state.stack is None:
        return decision.model_copy(update={"stack_deleted": True})
    return _start_delete(state, decision, cfn)


def _start_delete(state: WorkflowState, decision: MedicDecision, cfn: Any) -> MedicDecision:
    """DeleteStack, and say so: the state machine waits for the stack to be gone."""
    assert state.stack is not None
    started = deployments.now()
    stacks.start_delete(cfn, state.stack.stack_id, token=f"{state.deployment_id}-delete-{state.attempt}")
    return decision.model_copy(update={"pending": "delete", "waiting_on": state.stack.stack_id, "started_at": started})


def _after_delete(state: WorkflowState, started: MedicDecision, *, cfn: Any, settings: Settings) -> MedicDecision:
    """The deletion ended: a retry goes on; a roll back checks that nothing carrying the
    deployment's tag outlived the stack; a stack that could not be deleted is escalated."""
    assert state.stack is not None
    status = _status(cfn, state.stack.stack_id)
    done = started.model_copy(update={"pending": None, "waiting_on": None})
    if status == "DELETE_COMPLETE":
        if started.action == "retry":
            return done.model_copy(update={"stack_deleted": True})
        tagged = leftovers.left_behind(
            client("resourcegroupstaggingapi", settings.region),
            lambda service: client(service, settings.region),
            state.deployment_id,
        )
        if not tagged:
            return done.model_copy(update={"stack_deleted": True})
        return done.model_copy(
            update={
                "action": "escalate",
                "stack_deleted": True,
                "resources_left": tagged,
                "fix": f"the stack is deleted, but these still carry {stacks.DEPLOYMENT_TAG}={state.deployment_id}: "
                "delete them by hand",
            }
        )
    left = [r["LogicalResourceId"] for r in _resources_left(cfn, state.stack.stack_id)]
    return done.model_copy(
        update={
            "action": "escalate",
            "resources_left": left,
            "fix": f"stack {state.stack.stack_name} is {status}; delete the listed resources by hand",
        }
    )


def _status(cfn: Any, stack_id: str) -> str:
    description = stacks.describe(cfn, stack_id)
    return str(description["StackStatus"]) if description else "DELETE_COMPLETE"


def _restore(
    state: WorkflowState, record: DeploymentRecord, diagnosis: Diagnosis, *, cfn: Any, elbv2: Any, settings: Settings
) -> MedicDecision:
    """A failed update never deletes the app: put its previous version back. A roll back
    CloudFormation could not finish is continued first (the stack takes no update until then)."""
    assert state.stack is not None
    status = _status(cfn, state.stack.stack_id)
    if status not in stacks.SETTLED:  # CloudFormation takes no other change until this one ends
        return _waiting(state, diagnosis, "settle")
    if status == "UPDATE_ROLLBACK_FAILED":
        started = deployments.now()
        cfn.continue_update_rollback(
            StackName=state.stack.stack_id, ClientRequestToken=f"{state.deployment_id}-continue"
        )
        logger.warning("continued a failed update roll back", extra={"stack_id": state.stack.stack_id})
        return _waiting(state, diagnosis, "continue", started)
    return _restore_from(state, record, diagnosis, status, cfn=cfn, elbv2=elbv2, settings=settings)


def _after_continue(
    state: WorkflowState, record: DeploymentRecord, diagnosis: Diagnosis, *, cfn: Any, elbv2: Any, settings: Settings
) -> MedicDecision:
    assert state.stack is not None
    status = _status(cfn, state.stack.stack_id)
    if status != "UPDATE_ROLLBACK_COMPLETE":
        failed = [
            e["LogicalResourceId"]
            for e in stacks.events(cfn, state.stack.stack_id)
            if e["ResourceStatus"] == "UPDATE_FAILED" and e["LogicalResourceId"] != state.stack.stack_name
        ]
        skip = f" --resources-to-skip {' '.join(dict.fromkeys(failed))}" if failed else ""
        return MedicDecision(
            action="escalate",
            diagnosis=diagnosis,
            next_attempt=state.attempt,
            fix=(
                f"CloudFormation's roll back failed, and again when continued ({status}); skip what blocks it: "
                f"aws cloudformation continue-update-rollback --stack-name {state.stack.stack_name}{skip}"
            ),
        )
    return _restore_from(state, record, diagnosis, status, cfn=cfn, elbv2=elbv2, settings=settings, continued=True)


def _restore_from(
    state: WorkflowState,
    record: DeploymentRecord,
    diagnosis: Diagnosis,
    status: str,
    *,
    cfn: Any,
    elbv2: Any,
    settings: Settings,
    continued: bool = False,
) -> MedicDecision:
    assert state.stack is not None
    previous = record.previous_deployment_id or "the previous deployment"
    if status == "UPDATE_ROLLBACK_COMPLETE" or record.stack_operation == "unchanged":
        fix = (
            f"CloudFormation restored the previous version ({previous})"
            if record.stack_operation == "update"
            else "the stack was unchanged; the previous version still runs"
        )
        if continued:
            fix = f"CloudFormation's failed roll back was continued (ContinueUpdateRollback) and restored {previous}"
        return MedicDecision(action="rollback", diagnosis=diagnosis, next_attempt=state.attempt, fix=fix)
    if record.previous_template_key is None:
        return MedicDecision(
            action="escalate",
            diagnosis=diagnosis,
            next_attempt=state.attempt,
            fix="the update failed and no previous template was kept; redeploy the last good version",
        )
    _serve_previous_first(state, record, cfn=cfn, elbv2=elbv2, settings=settings)
    url = artifacts.https_url(settings.artifacts_bucket, record.previous_template_key, settings.region)
    tags = {stacks.DEPLOYMENT_TAG: previous, "hivemind:app": state.request.app_name, "hivemind:managed-by": "hivemind"}
    started = deployments.now()
    changed = stacks.update(
        cfn,
        stack_name=state.stack.stack_name,
        template_url=url,
        parameters={},
        tags=tags,
        token=f"{state.deployment_id}-restore",
        role_arn=settings.stack_role_arn,
    )
    if not changed:  # the stack runs the previous template already
        return _restore_finished(state, record, diagnosis, cfn=cfn, elbv2=elbv2, settings=settings)
    return _waiting(state, diagnosis, "restore", started)


def _waiting(
    state: WorkflowState,
    diagnosis: Diagnosis,
    pending: Literal["settle", "restore", "continue"],
    started: datetime | None = None,
) -> MedicDecision:
    """A roll back that goes on once the stack settles (what was started on it, and when)."""
    assert state.stack is not None
    return MedicDecision(
        action="rollback",
        diagnosis=diagnosis,
        next_attempt=state.attempt,
        pending=pending,
        waiting_on=state.stack.stack_id,
        started_at=started,
    )


def _restore_finished(
    state: WorkflowState, record: DeploymentRecord, diagnosis: Diagnosis, *, cfn: Any, elbv2: Any, settings: Settings
) -> MedicDecision:
    """The stack runs the previous template again: its instance serves alone."""
    assert state.stack is not None
    previous = record.previous_deployment_id or "the previous deployment"
    restored = stacks.describe(cfn, state.stack.stack_id)
    final = restored["StackStatus"] if restored else "DELETE_COMPLETE"
    outputs = stacks.info(restored).outputs if restored else {}
    if final not in stacks.SUCCEEDED or not outputs.get("InstanceId"):
        return MedicDecision(
            action="escalate",
            diagnosis=diagnosis,
            next_attempt=state.attempt,
            fix=f"restoring the previous version left the stack {final}; see its events",
        )
    group, serving = outputs["TargetGroupArn"], outputs["InstanceId"]
    registered = {t["Id"]: int(t["Port"]) for t in targets.registered(elbv2, group)}
    port = registered.get(serving) or _previous_port(state, record, settings)
    if serving not in registered:  # it was drained already: it serves again before the others leave
        targets.register(elbv2, group, serving, port)
    _wait_healthy(elbv2, group, serving, port, timeout_s=RESTORED_HEALTHY_S)
    targets.deregister_others(elbv2, group, serving)
    return MedicDecision(
        action="rollback",
        diagnosis=diagnosis,
        next_attempt=state.attempt,
        fix=f"restored the previous version ({previous}) of the stack",
    )


# how long a restored release that had been drained may take to be healthy again (the target
# group's 2 checks, 15 s apart, and a margin) before the new one is deregistered anyway; the
# drain after it waits the target group's deregistration delay (30 s in HiveMind's stacks)
RESTORED_HEALTHY_S = 90.0
MAX_DRAIN_S = 300.0


def _serve_previous_first(
    state: WorkflowState, record: DeploymentRecord, *, cfn: Any, elbv2: Any, settings: Settings
) -> None:
    """When the previous release's instance is still in the stack (kept beside the new one), it
    alone takes requests before the restore deletes the new one: registered again if it was
    drained, healthy, then the new one deregistered and drained (an instance deleted while it
    still takes requests fails them)."""
    assert state.stack is not None
    if not record.previous_deployment_id:
        return
    logical_id = f"WebInstance{releases.suffix(record.previous_deployment_id)}"
    try:
        found = cfn.describe_stack_resources(StackName=state.stack.stack_id, LogicalResourceId=logical_id)
    except ClientError:
        return  # not in the stack: the previous release was not kept beside this one
    instance_id = next((r.get("PhysicalResourceId") for r in found["StackResources"]), None)
    description = stacks.describe(cfn, state.stack.stack_id)
    group = stacks.info(description).outputs.get("TargetGroupArn") if description else None
    if not instance_id or not group:
        return
    registered = {t["Id"]: int(t["Port"]) for t in targets.registered(elbv2, group)}
    port = registered.get(instance_id) or _previous_port(state, record, settings)
    if instance_id not in registered:
        targets.register(elbv2, group, instance_id, port)
    if not _wait_healthy(elbv2, group, instance_id, port, timeout_s=RESTORED_HEALTHY_S):
        return  # the new one keeps serving until the restore replaces it: better than nothing serving
    if targets.deregister_others(elbv2, group, instance_id):
        target_step.pause(min(float(targets.deregistration_delay_s(elbv2, group)), MAX_DRAIN_S))


def _previous_port(state: WorkflowState, record: DeploymentRecord, settings: Settings) -> int:
    """The app port of the release being restored: its plan's, else this deployment's."""
    if record.previous_deployment_id:
        try:
            s3 = client("s3", settings.region)
            key = artifacts.key(record.previous_deployment_id, "plan.json")
            return int(json.loads(artifacts.get_bytes(s3, settings.artifacts_bucket, key))["port"])
        except (HiveMindError, KeyError, ValueError, TypeError):
            pass
    return state.target.port if state.target else (state.plan.port if state.plan else 80)


def _wait_healthy(elbv2: Any, group: str, instance_id: str, port: int, *, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while True:
        if targets.health(elbv2, group, instance_id, port).state == "healthy":
            return True
        if time.monotonic() > deadline:
            return False
        target_step.pause(5.0)  # scaled by the local runtime, like Wait for healthy target's looks


def _resources_left(cfn: Any, stack_id: str) -> list[dict[str, Any]]:
    found = cfn.describe_stack_resources(StackName=stack_id)["StackResources"]
    return [r for r in found if r["ResourceStatus"] != "DELETE_COMPLETE"]


def _why_left(cfn: Any, stack_id: str, logical_ids: list[str]) -> list[str]:
    """Each resource the rollback left, with the reason of its latest failed delete (its events)."""
    reasons: dict[str, str] = {}
    for event in stacks.events(cfn, stack_id):  # oldest first: the latest reason wins
        if event.get("ResourceStatus") == "DELETE_FAILED" and event.get("ResourceStatusReason"):
            kind, physical = event.get("ResourceType", ""), event.get("PhysicalResourceId", "")
            reasons[event["LogicalResourceId"]] = f"({kind} {physical}): {event['ResourceStatusReason']}"
    return [f"{lid} {reasons[lid]}" if lid in reasons else lid for lid in logical_ids]


def on_stack_event(
    event: StackStatusChange, *, cfn: Any, ddb: Any, sfn: Any, settings: Settings, elbv2: Any = None
) -> str:
    """A HiveMind stack changed status: resume the execution waiting on it; continue the end of
    a deployment whose execution ended while the stack was busy (on_execution_ended); or, for a
    failed stack nothing waits on any more (an orphan), start deleting it. Idempotent."""
    stack_id = event.detail.stack_id
    status = event.detail.status_details.status
    if status not in stacks.SETTLED:
        return "ignored"
    description = stacks.describe(cfn, stack_id)
    if status in ("DELETE_COMPLETE", "DELETE_FAILED") and settle(
        stack_id, description, cfn=cfn, ddb=ddb, sfn=sfn, settings=settings
    ):
        return "resumed"  # the Medic's wait for a deletion
    deployment_id = stacks.tags(description).get(stacks.DEPLOYMENT_TAG) if description else None
    if deployment_id is None:
        return "ignored"
    logger.set_correlation_id(deployment_id)  # the event names the stack only; its tag names the deployment
    if status in ("DELETE_COMPLETE", "DELETE_FAILED"):
        return _deletion_ended(deployment_id, status, event.detail.status_details.status_reason, ddb, settings)
    if description is not None and description["StackStatus"].startswith("DELETE_"):
        return "already gone"  # a repeated or late event: the stack was dealt with
    if settle(stack_id, description, cfn=cfn, ddb=ddb, sfn=sfn, settings=settings):
        return "resumed"
    ended = _ended_unfinished(description, deployment_id, ddb=ddb, sfn=sfn, settings=settings)
    if ended is not None:
        unfinished, execution = ended
        logger.set_correlation_id(unfinished.deployment_id)
        return _end_of(unfinished, execution, cfn=cfn, ddb=ddb, settings=settings, elbv2=elbv2)
    if status not in stacks.CREATE_FAILURES:
        return "nothing waiting"  # a settled update (or its CloudFormation roll back) keeps the app
    try:
        record = deployments.get(ddb, settings.deployments_table, deployment_id)
    except DeploymentNotFound:
        record = None
    if record is not None and record.status not in TERMINAL_STATUSES:
        return "execution will settle"  # its waiting state has not parked its token yet
    diagnosis = diagnose_stack(cfn, stack_id, status)
    stacks.start_delete(cfn, stack_id, token=f"medic-{deployment_id}")
    logger.warning("deleting orphan stack", extra={"stack_id": stack_id, "cause": diagnosis.summary})
    return "deleting orphan stack"


def _ended_unfinished(
    description: dict[str, Any] | None, deployment_id: str, *, ddb: Any, sfn: Any, settings: Settings
) -> tuple[DeploymentRecord, dict[str, Any]] | None:
    """The deployment whose execution ended while the Medic still had its stack to settle: the
    one the stack's tag names, or (after a restore re-tagged the stack with the previous
    deployment) the app's active one. (record, its execution's description), or None."""
    app = stacks.tags(description).get("hivemind:app") if description else None
    candidates = [deployment_id]
    active = deployments.active_deployment(ddb, settings.deployments_table, app) if app else None
    if active and active != deployment_id:
        candidates.append(active)
    for candidate in candidates:
        try:
            record = deployments.get(ddb, settings.deployments_table, candidate)
        except DeploymentNotFound:
            continue
        if record.status in TERMINAL_STATUSES or not record.execution_arn or sfn is None:
            continue
        execution = sfn.describe_execution(executionArn=record.execution_arn)
        if execution["status"] != "RUNNING":
            return record, execution
    return None


def _deletion_ended(deployment_id: str, status: str, reason: str, ddb: Any, settings: Settings) -> str:
    """A destroyed deployment's stack is gone (or could not be deleted): say so on its record."""
    try:
        record = deployments.get(ddb, settings.deployments_table, deployment_id)
    except DeploymentNotFound:
        return "ignored"
    if record.status != "DELETING":
        return "ignored"  # a roll back or a retry deleted it; the workflow records that itself
    if status == "DELETE_COMPLETE":
        deployments.update(ddb, settings.deployments_table, deployment_id, status="DELETED")
        return "deleted"
    deployments.update(
        ddb,
        settings.deployments_table,
        deployment_id,
        status="DELETE_FAILED",
        error=f"the stack could not be deleted: {reason or 'see its events'}",
    )
    return "delete failed"


def on_execution_ended(
    event: ExecutionStatusChange,
    *,
    cfn: Any,
    ddb: Any,
    settings: Settings,
    elbv2: Any = None,
    sfn: Any = None,
) -> str:
    """An execution ended FAILED, TIMED_OUT or ABORTED: whatever path it took, its record ends
    FAILED, a stack it created does not outlive it, and a stack it updated serves the previous
    version again (an update stopped by `hivemind rollback ID`, a cancel). Idempotent (a no-op
    after a normal failure, whose Medic already did all this)."""
    detail = event.detail
    if detail.status not in ("FAILED", "TIMED_OUT", "ABORTED"):
        return "ignored"  # the rule sends only these; anything else never tears an app down
    try:
        record = deployments.get(ddb, settings.deployments_table, detail.name)
    except DeploymentNotFound:
        return "ignored"
    if record.status == "SUCCEEDED":
        return "ignored"  # the record, not the event, says how the deployment ended
    execution = {"status": detail.status, "error": detail.error, "cause": detail.cause}
    if not (detail.error or detail.cause) and sfn is not None:  # StopExecution's reason: the execution keeps it
        described = sfn.describe_execution(executionArn=detail.execution_arn)
        execution.update(error=described.get("error"), cause=described.get("cause"))
    return _end_of(record, execution, cfn=cfn, ddb=ddb, settings=settings, elbv2=elbv2)


def _end_of(
    record: DeploymentRecord, execution: dict[str, Any], *, cfn: Any, ddb: Any, settings: Settings, elbv2: Any
) -> str:
    """The end of a deployment whose execution ended, one step at a time, never waiting on
    CloudFormation: each step the Medic starts on the stack is continued by the stack's next
    settled status event (on_stack_event), or the reconciler's minute. The record is marked
    FAILED last: a FAILED record means the app is back as it was (or its stack is going)."""
    table = settings.deployments_table
    actions: list[str] = []
    escalation = None
    description = stacks.describe(cfn, record.stack_id) if record.stack_id else None
    status = description["StackStatus"] if description else "DELETE_COMPLETE"
    owned = description is not None and stacks.tags(description).get(stacks.DEPLOYMENT_TAG) == record.deployment_id
    if owned and record.stack_operation == "create" and status != "DELETE_COMPLETE":
        if not status.startswith("DELETE_"):
            stacks.start_delete(cfn, record.stack_id or "", token=f"medic-{record.deployment_id}-end")
        actions.append("deleting the stack it created")
    elif description is not None and record.stack_operation == "update" and elbv2 is not None:
        if status not in stacks.SETTLED:
            # an update under way finishes (or rolls back) first: CloudFormation takes no other change meanwhile
            return "waiting for the stack to settle; its status event continues"
        state = WorkflowState(
            deployment_id=record.deployment_id,
            request=record.request,
            stack=StackInfo(stack_name=description["StackName"], stack_id=description["StackId"], status=status),
        )
        why = Diagnosis(category="unknown", summary=f"the workflow ended {execution['status']}")
        why = record.diagnosis or why
        decision = None
        if record.medic_pending == "continue":
            decision = _after_continue(state, record, why, cfn=cfn, elbv2=elbv2, settings=settings)
        elif record.medic_pending == "restore":
            decision = _restore_finished(state, record, why, cfn=cfn, elbv2=elbv2, settings=settings)
        elif owned or record.medic_pending == "settle":
            decision = _restore(state, record, why, cfn=cfn, elbv2=elbv2, settings=settings)
        if decision is not None and decision.pending:
            deployments.set_medic_pending(ddb, table, record.deployment_id, decision.pending)
            return f"{decision.pending} started; the stack's status event continues"
        if decision is not None:
            actions.append(decision.fix or decision.action)
            escalation = decision.fix if decision.action == "escalate" else None
    if record.status not in TERMINAL_STATUSES:  # last: a FAILED record means the app is back as it was
        reason = ": ".join(p for p in (execution.get("error"), execution.get("cause")) if p) or "no cause given"
        done = f"; {', '.join(actions)}" if actions else ""
        fields: dict[str, Any] = {
            "status": "FAILED",
            "error": f"the workflow ended {execution['status']}: {reason}{done}",
        }
        if escalation:
            fields["diagnosis"] = Diagnosis(
                category="unknown", summary=f"the workflow ended {execution['status']}", escalation=escalation
            ).model_dump(mode="json")
        deployments.update(ddb, table, record.deployment_id, clear=deployments.PENDING_FIELDS, **fields)
        actions.append("marked FAILED")
    outcome = ", ".join(actions) or "nothing left to do"
    logger.info("execution ended", extra={"status": execution["status"], "outcome": outcome})
    return outcome


def reconcile(*, cfn: Any, ddb: Any, sfn: Any, settings: Settings, elbv2: Any = None) -> dict[str, Any]:
    """The scheduled backstop of every wait on a stack: each execution still waiting on a stack
    whose status has settled (or that is gone) is resumed from the stack's own status, as its
    status event would have; each ended deployment the Medic is still putting back is continued.
    An event that was lost, or failed into the dead-letter queue, then costs at most the
    schedule's period (one minute), never a state's timeout."""
    waiting = deployments.parked(ddb, settings.deployments_table)
    resumed: list[str] = []
    now = deployments.now()
    oldest = max((now - datetime.fromisoformat(at)).total_seconds() for _, _, at in waiting) if waiting else 0.0
    count("OldestStackWaitSeconds", value=round(max(oldest, 0.0), 1), unit=MetricUnit.Seconds)
    for stack_id, deployment_id, parked_at in waiting:
        description = stacks.describe(cfn, stack_id)
        if description is not None and description["StackStatus"] not in stacks.SETTLED:
            continue  # CloudFormation is still working; its event may yet come
        if settle(stack_id, description, cfn=cfn, ddb=ddb, sfn=sfn, settings=settings):
            resumed.append(deployment_id)
            status = description["StackStatus"] if description else "DELETE_COMPLETE"
            logger.warning(
                "resumed from the stack's status: its status event did not come",
                extra={"deployment_id": deployment_id, "stack_id": stack_id, "status": status, "parked_at": parked_at},
            )
    continued = []
    for deployment_id in deployments.pending_ends(ddb, settings.deployments_table):
        record = deployments.get(ddb, settings.deployments_table, deployment_id)
        if record.medic_pending is None or not record.execution_arn:
            continue
        execution = sfn.describe_execution(executionArn=record.execution_arn)
        if execution["status"] != "RUNNING" and _status(cfn, record.stack_id or "") in stacks.SETTLED:
            done = _end_of(record, execution, cfn=cfn, ddb=ddb, settings=settings, elbv2=elbv2)
            continued.append(f"{record.deployment_id}: {done}")
    return {"waiting": len(waiting), "resumed": resumed, "continued": continued}
