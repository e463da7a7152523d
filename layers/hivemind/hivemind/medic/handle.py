"""What the Medic does: "Handle failure" in the workflow, and stack-status events from EventBridge."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

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
    delete_timeout_s: float = 840,
) -> MedicDecision:
    """Diagnose the failure, then retry with a fix (bounded) or roll everything back."""
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
        decision = _restore(
            state, record, diagnosis, cfn=cfn, elbv2=elbv2, settings=settings, timeout_s=delete_timeout_s
        )
    elif (retry := _retry_decision(state, diagnosis, state.plan)) is not None:
        decision = retry
        if state.stack is not None:  # the failed stack must be gone before the same name is reused
            _delete(state, cfn, settings, delete_timeout_s)
    else:
        decision = _roll_back(state, diagnosis, cfn=cfn, elbv2=elbv2, settings=settings, timeout_s=delete_timeout_s)
    if decision.action == "escalate" and state.stack is not None:
        left = _why_left(cfn, state.stack.stack_id, decision.resources_left)
        diagnosis = diagnosis.model_copy(update={"left": left, "escalation": decision.fix})
        decision = decision.model_copy(update={"diagnosis": diagnosis})
    deployments.update(
        ddb,
        settings.deployments_table,
        state.deployment_id,
        diagnosis=diagnosis.model_dump(mode="json"),
        attempts=decision.next_attempt,
    )
    logger.warning(
        f"medic: {diagnosis.category}, {decision.action}: {diagnosis.summary}",
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


def _roll_back(
    state: WorkflowState, diagnosis: Diagnosis, *, cfn: Any, elbv2: Any, settings: Settings, timeout_s: float
) -> MedicDecision:
    if state.target is not None:
        t = state.target
        targets.deregister(elbv2, t.target_group_arn, t.instance_id, t.port)
    if state.stack is None:
        return MedicDecision(action="rollback", diagnosis=diagnosis, next_attempt=state.attempt, stack_deleted=True)
    status = _delete(state, cfn, settings, timeout_s)
    if status == "DELETE_COMPLETE":
        # the stack is gone; is everything that carried the deployment's tag gone with it?
        tagged = leftovers.left_behind(
            client("resourcegroupstaggingapi", settings.region),
            lambda service: client(service, settings.region),
            state.deployment_id,
        )
        if not tagged:
            return MedicDecision(action="rollback", diagnosis=diagnosis, next_attempt=state.attempt, stack_deleted=True)
        return MedicDecision(
            action="escalate",
            diagnosis=diagnosis,
            next_attempt=state.attempt,
            stack_deleted=True,
            resources_left=tagged,
            fix=f"the stack is deleted, but these still carry {stacks.DEPLOYMENT_TAG}={state.deployment_id}: "
            "delete them by hand",
        )
    left = [r["LogicalResourceId"] for r in _resources_left(cfn, state.stack.stack_id)]
    return MedicDecision(
        action="escalate",
        diagnosis=diagnosis,
        next_attempt=state.attempt,
        resources_left=left,
        fix=f"stack {state.stack.stack_name} is {status}; delete the listed resources by hand",
    )


def _continue_roll_back(cfn: Any, stack_id: str, deployment_id: str, timeout_s: float) -> str:
    """ContinueUpdateRollback, and wait (bounded) for the stack to settle; its last status."""
    cfn.continue_update_rollback(StackName=stack_id, ClientRequestToken=f"{deployment_id}-continue")
    logger.warning("continued a failed update roll back", extra={"stack_id": stack_id})
    return stacks.wait_settled(cfn, stack_id, timeout_s=timeout_s)


def _restore(
    state: WorkflowState,
    record: DeploymentRecord,
    diagnosis: Diagnosis,
    *,
    cfn: Any,
    elbv2: Any,
    settings: Settings,
    timeout_s: float,
) -> MedicDecision:
    """A failed update never deletes the app: put its previous version back."""
    assert state.stack is not None
    previous = record.previous_deployment_id or "the previous deployment"
    description = stacks.describe(cfn, state.stack.stack_id)
    status = description["StackStatus"] if description else "DELETE_COMPLETE"
    continued = False
    if status == "UPDATE_ROLLBACK_FAILED":
        # the stack takes no update in this state: CloudFormation's own roll back is continued first
        status = _continue_roll_back(cfn, state.stack.stack_id, state.deployment_id, timeout_s)
        continued = True
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
    _serve_previous_first(state, record, cfn=cfn, elbv2=elbv2, settings=settings, timeout_s=timeout_s)
    url = artifacts.https_url(settings.artifacts_bucket, record.previous_template_key, settings.region)
    tags = {stacks.DEPLOYMENT_TAG: previous, "hivemind:app": state.request.app_name, "hivemind:managed-by": "hivemind"}
    stacks.update(
        cfn,
        stack_name=state.stack.stack_name,
        template_url=url,
        parameters={},
        tags=tags,
        token=f"{state.deployment_id}-restore",
        role_arn=settings.stack_role_arn,
    )
    final = stacks.wait_settled(cfn, state.stack.stack_id, timeout_s=timeout_s)
    restored = stacks.describe(cfn, state.stack.stack_id)
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
    _wait_healthy(elbv2, group, serving, port, timeout_s=min(timeout_s, RESTORED_HEALTHY_S))
    targets.deregister_others(elbv2, group, serving)
    return MedicDecision(
        action="rollback",
        diagnosis=diagnosis,
        next_attempt=state.attempt,
        fix=f"restored the previous version ({previous}) of the stack",
    )


# how long a restored release that had been drained may take to be healthy again (the target
# group's 2 checks, 15 s apart, and a margin) before the new one is deregistered anyway
RESTORED_HEALTHY_S = 90.0


def _serve_previous_first(
    state: WorkflowState, record: DeploymentRecord, *, cfn: Any, elbv2: Any, settings: Settings, timeout_s: float
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
    if not _wait_healthy(elbv2, group, instance_id, port, timeout_s=min(timeout_s, RESTORED_HEALTHY_S)):
        return  # the new one keeps serving until the restore replaces it: better than nothing serving
    if targets.deregister_others(elbv2, group, instance_id):
        target_step.pause(min(float(targets.deregistration_delay_s(elbv2, group)), timeout_s))


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


def _delete(state: WorkflowState, cfn: Any, settings: Settings, timeout_s: float) -> str:
    assert state.stack is not None
    token = f"{state.deployment_id}-delete-{state.attempt}"
    return stacks.delete(cfn, state.stack.stack_id, token=token, timeout_s=timeout_s)


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
    event: StackStatusChange, *, cfn: Any, ddb: Any, sfn: Any, settings: Settings, delete_timeout_s: float = 840
) -> str:
    """A HiveMind stack changed status: resume the execution waiting on it, or, for a failed
    stack no execution is waiting on any more (an orphan), roll it back. Idempotent."""
    stack_id = event.detail.stack_id
    status = event.detail.status_details.status
    if status not in stacks.SETTLED:
        return "ignored"
    description = stacks.describe(cfn, stack_id)
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
    if status not in stacks.CREATE_FAILURES:
        return "nothing waiting"  # a settled update (or its CloudFormation roll back) keeps the app
    try:
        record = deployments.get(ddb, settings.deployments_table, deployment_id)
    except DeploymentNotFound:
        record = None
    if record is not None and record.status not in TERMINAL_STATUSES:
        return "execution will settle"  # its waiting state has not parked its token yet
    diagnosis = diagnose_stack(cfn, stack_id, status)
    final = stacks.delete(cfn, stack_id, token=f"medic-{deployment_id}", timeout_s=delete_timeout_s)
    logger.warning("rolled back orphan stack", extra={"stack_id": stack_id, "cause": diagnosis.summary})
    return f"rolled back ({final})"


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
    delete_timeout_s: float = 840,
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
    actions = []
    description = stacks.describe(cfn, record.stack_id) if record.stack_id else None
    owned = description is not None and stacks.tags(description).get(stacks.DEPLOYMENT_TAG) == record.deployment_id
    escalation = None
    if (
        description is not None
        and owned
        and record.stack_operation == "create"
        and (description["StackStatus"] != "DELETE_COMPLETE")
    ):
        final = stacks.delete(
            cfn, description["StackId"], token=f"medic-{record.deployment_id}-end", timeout_s=delete_timeout_s
        )
        actions.append(f"deleted stack ({final})")
    elif description is not None and owned and record.stack_operation == "update" and elbv2 is not None:
        # an update under way finishes (or rolls back) first: CloudFormation takes no other change meanwhile
        status = stacks.wait_settled(cfn, description["StackId"], timeout_s=delete_timeout_s)
        state = WorkflowState(
            deployment_id=record.deployment_id,
            request=record.request,
            stack=StackInfo(stack_name=description["StackName"], stack_id=description["StackId"], status=status),
        )
        why = Diagnosis(category="unknown", summary=f"the workflow ended {detail.status}")
        decision = _restore(state, record, why, cfn=cfn, elbv2=elbv2, settings=settings, timeout_s=delete_timeout_s)
        actions.append(decision.fix or decision.action)
        escalation = decision.fix if decision.action == "escalate" else None
    if record.status not in TERMINAL_STATUSES:  # last: a FAILED record means the app is back as it was
        error, cause = detail.error, detail.cause
        if not (error or cause) and sfn is not None:  # StopExecution's reason: the execution keeps it
            described = sfn.describe_execution(executionArn=detail.execution_arn)
            error, cause = described.get("error"), described.get("cause")
        reason = ": ".join(p for p in (error, cause) if p) or "no cause given"
        done = f"; {', '.join(actions)}" if actions else ""
        fields: dict[str, Any] = {"status": "FAILED", "error": f"the workflow ended {detail.status}: {reason}{done}"}
        if escalation:
            fields["diagnosis"] = Diagnosis(
                category="unknown", summary=f"the workflow ended {detail.status}", escalation=escalation
            ).model_dump(mode="json")
        deployments.update(ddb, settings.deployments_table, record.deployment_id, **fields)
        actions.append("marked FAILED")
    outcome = ", ".join(actions) or "nothing left to do"
    logger.info("execution ended", extra={"status": detail.status, "outcome": outcome})
    return outcome


def reconcile(*, cfn: Any, ddb: Any, sfn: Any, settings: Settings) -> dict[str, Any]:
    """The scheduled backstop of "Wait for stack": every execution still waiting on a stack whose
    status has settled (or that is gone) is resumed from the stack's own status, as its status
    event would have. An event that was lost, or failed into the dead-letter queue, then costs
    at most the schedule's period (one minute), never the state's one-hour timeout."""
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
    return {"waiting": len(waiting), "resumed": resumed}
