"""Wait for healthy target: one invocation looks until healthy, a final failure, or its time is up.

The TargetHealth states, reasons and descriptions are those the ELB API returns, as listed in
"Health checks for Application Load Balancer target groups", section "Health check reason codes"
(docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from hivemind.errors import TargetNotHealthyYet, TargetUnhealthy
from hivemind.models import DeploymentRequest, WorkflowState
from hivemind.workflow import target

INITIAL = {
    "State": "initial",
    "Reason": "Elb.InitialHealthChecking",
    "Description": "Initial health checks in progress",
}
HEALTHY = {"State": "healthy"}
MISMATCH = {
    "State": "unhealthy",
    "Reason": "Target.ResponseCodeMismatch",
    "Description": "Health checks failed with these codes: [404]",
}


class _ELB:
    """DescribeTargetHealth answering with the given TargetHealth values in turn (the last repeats)."""

    def __init__(self, *answers: dict[str, Any]):
        self.answers, self.calls = list(answers), 0

    def describe_target_health(self, TargetGroupArn: str, Targets: list[dict[str, Any]]) -> dict[str, Any]:
        answer = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        return {"TargetHealthDescriptions": [{"Target": Targets[0], "HealthCheckPort": "8000", "TargetHealth": answer}]}


@pytest.fixture
def state() -> WorkflowState:
    return WorkflowState(
        deployment_id="d-1",
        request=DeploymentRequest(app_name="app", source={"type": "s3", "bucket": "artifacts", "key": "up/app.zip"}),
        plan={"app_name": "app", "language": "python", "runtime_version": "3.12", "start_command": "x", "port": 8000},
        target={
            "target_group_arn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/app/0123456789abcdef",
            "instance_id": "i-0123456789abcdef0",
            "port": 8000,
            "registered_at": datetime.now(UTC),
        },
    )


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    seen: list[float] = []
    monkeypatch.setattr(target, "pause", seen.append)
    return seen


def test_one_invocation_waits_through_the_initial_checks_until_healthy(state, pauses):
    elb = _ELB(INITIAL, INITIAL, HEALTHY)
    health = target.wait_for_health(state, elbv2=elb, remaining_s=lambda: 300.0)
    assert health.state == "healthy" and elb.calls == 3
    assert pauses == [target.LOOK_EVERY_S, target.LOOK_EVERY_S]


def test_an_unhealthy_target_ends_the_wait_at_once_naming_the_reason(state, pauses):
    elb = _ELB(MISMATCH, HEALTHY)
    with pytest.raises(
        TargetUnhealthy, match=r"Target.ResponseCodeMismatch: Health checks failed with these codes: \[404\]"
    ):
        target.wait_for_health(state, elbv2=elb, remaining_s=lambda: 300.0)
    assert elb.calls == 1 and pauses == []


def test_the_invocation_returns_before_its_timeout_for_the_state_machine_to_invoke_it_again(state, pauses):
    left = iter([200.0, 30.0, 19.0])
    elb = _ELB(INITIAL)
    with pytest.raises(TargetNotHealthyYet, match="initial"):
        target.wait_for_health(state, elbv2=elb, remaining_s=lambda: next(left))
    assert elb.calls == 3 and len(pauses) == 2


def test_the_looks_of_one_invocation_are_bounded(state, pauses):
    elb = _ELB(INITIAL)
    with pytest.raises(TargetNotHealthyYet):
        target.wait_for_health(state, elbv2=elb, remaining_s=lambda: 10_000.0)
    assert elb.calls == target.LOOKS_PER_INVOCATION
