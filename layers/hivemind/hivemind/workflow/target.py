"""Register target and Wait for healthy target."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from hivemind.aws import targets
from hivemind.errors import AppNotRehearsed, TargetNotHealthyYet, TargetRegistrationFailed, TargetUnhealthy
from hivemind.models import HealthInfo, TargetInfo, WorkflowState
from hivemind.observability import logger

# The generated target group checks every 15 s and needs 2 successes (templating/generate.py);
# past this grace the target is declared unhealthy even if the state machine would retry more.
HEALTH_GRACE = timedelta(minutes=10)
# Only a target still in its first checks may yet turn healthy: `unhealthy` comes after the target
# group's UnhealthyThresholdCount failures in a row, from an instance that had already signalled
# that its app answered, so waiting longer only delays the diagnosis.
# (and a registration not visible yet, Target.NotRegistered, may still appear)
_STILL_WAITING = {"initial"}
# Wait for healthy target looks this often within one invocation (a look is one
# DescribeTargetHealth call); it returns before its Lambda timeout leaves less than the margin,
# and the state machine invokes it again (few times: it is the grace that bounds the wait).
LOOK_EVERY_S = 5.0
LOOKS_PER_INVOCATION = 50
MARGIN_S = 15.0
# the local runtime scales this pause as it scales Wait states (local/clock.py)
pause: Callable[[float], None] = time.sleep
# Only HiveMind's local runtime gives this reason (AWS never does): its instance could not run the app.
NOT_REHEARSED = "HiveMind.NotRehearsed"


def register_target(state: WorkflowState, *, elbv2: Any) -> TargetInfo:
    if state.stack is None or state.plan is None:
        raise ValueError("Register target needs the stack and the plan")
    outputs = state.stack.outputs
    missing = [k for k in ("TargetGroupArn", "InstanceId") if not outputs.get(k)]
    if missing:
        raise TargetRegistrationFailed(f"stack {state.stack.stack_name} has no output(s) {', '.join(missing)}")
    plan = state.plan
    # an update's previous release keeps serving beside the new one until "Drain previous release"
    serving = targets.registered(elbv2, outputs["TargetGroupArn"], but=outputs["InstanceId"])
    targets.register(elbv2, outputs["TargetGroupArn"], outputs["InstanceId"], plan.port)
    logger.info(f"registered {outputs['InstanceId']}:{plan.port}", extra={"serving": [t["Id"] for t in serving]})
    return TargetInfo(
        target_group_arn=outputs["TargetGroupArn"],
        instance_id=outputs["InstanceId"],
        port=plan.port,
        registered_at=datetime.now(UTC),
        serving=[t["Id"] for t in serving],
    )


def wait_for_health(state: WorkflowState, *, elbv2: Any, remaining_s: Callable[[], float]) -> HealthInfo:
    """Look at the target's health until it is healthy, its failure is final, or this invocation's
    time is nearly up (then TargetNotHealthyYet, and the state machine invokes it again): one
    state transition for a target that turns healthy within minutes, where retrying the state
    every 15 s cost one per look."""
    for _ in range(LOOKS_PER_INVOCATION - 1):
        try:
            return check_health(state, elbv2=elbv2)
        except TargetNotHealthyYet:
            if remaining_s() < LOOK_EVERY_S + MARGIN_S:
                raise
        pause(LOOK_EVERY_S)
    return check_health(state, elbv2=elbv2)


def check_health(state: WorkflowState, *, elbv2: Any, now: datetime | None = None) -> HealthInfo:
    """Healthy returns; not yet raises TargetNotHealthyYet (the state machine retries, bounded);
    past the grace period, or a target that cannot become healthy, raises TargetUnhealthy."""
    if state.target is None:
        raise ValueError("Wait for healthy target needs a registered target")
    target = state.target
    health = targets.health(elbv2, target.target_group_arn, target.instance_id, target.port)
    now = now or datetime.now(UTC)
    if health.state == "healthy":
        waited = round((now - target.registered_at).total_seconds(), 3)
        path = state.plan.health_path if state.plan else None
        logger.info(f"target {target.instance_id}:{target.port} healthy after {waited:.1f} s")
        return health.model_copy(update={"path": path, "seconds_to_healthy": waited})
    if health.reason == NOT_REHEARSED:
        raise AppNotRehearsed(health.description or "the app could not run on this machine")
    why = ": ".join(p for p in (health.reason, health.description) if p) or "no reason given"
    detail = f"target {target.instance_id}:{target.port} is {health.state} ({why})"
    if health.state not in _STILL_WAITING and health.reason != "Target.NotRegistered":
        raise TargetUnhealthy(detail)
    if now - target.registered_at > HEALTH_GRACE:
        raise TargetUnhealthy(f"{detail} after {HEALTH_GRACE}")
    raise TargetNotHealthyYet(detail)
