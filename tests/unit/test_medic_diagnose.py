import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import get_args

import pytest

from hivemind.medic.categories import KINDS, classify, codes
from hivemind.medic.diagnose import diagnose_error, diagnose_events, root_cause
from hivemind.medic.handle import alternative_instance_type
from hivemind.models import ErrorInfo
from hivemind.models.workflow import Category

T0 = datetime(2026, 11, 24, tzinfo=UTC)


FAILURES = Path(__file__).parents[1] / "fixtures" / "cfn_failures"
CORPUS = json.loads((FAILURES / "corpus.json").read_text())
HOLDOUT = json.loads((FAILURES / "holdout.json").read_text())


def test_real_failure_texts_are_classified_as_their_sources_show():
    # 248 status reasons exactly as AWS printed them, each with its public source (see the README)
    texts = CORPUS + HOLDOUT
    missed = [
        (e["category"], classify(e["reason"], e["status"]), e["reason"][:120])
        for e in texts
        if classify(e["reason"], e["status"]) != e["category"]
    ]
    assert len(CORPUS) >= 120 and {e["category"] for e in CORPUS} == set(KINDS)
    assert len(missed) <= 0.05 * len(texts), missed


def test_every_category_says_what_the_medic_does_and_the_users_fix():
    assert all(k.action in ("retry", "rollback", "escalate") and k.fix for k in KINDS.values())
    assert set(KINDS) == set(get_args(Category))


def test_codes_are_read_where_the_text_names_them():
    reason = next(e["reason"] for e in CORPUS if "Error Code: DependencyViolation" in e["reason"])
    assert "DependencyViolation" in codes(reason)
    assert "GeneralServiceException" not in codes('x" (RequestToken: 1, HandlerErrorCode: GeneralServiceException)')


def _event(sec, logical, status, reason=None, kind="AWS::EC2::Instance"):
    return {
        "Timestamp": T0 + timedelta(seconds=sec),
        "LogicalResourceId": logical,
        "ResourceStatus": status,
        "ResourceStatusReason": reason,
        "ResourceType": kind,
        "StackName": "hivemind-app",
    }


def test_root_cause_is_the_first_failure_that_is_not_a_cancellation():
    events = [
        _event(0, "hivemind-app", "CREATE_IN_PROGRESS", "User Initiated", "AWS::CloudFormation::Stack"),
        _event(
            1,
            "LoadBalancer",
            "CREATE_FAILED",
            "Resource creation cancelled",
            "AWS::ElasticLoadBalancingV2::LoadBalancer",
        ),
        _event(2, "WebInstance", "CREATE_FAILED", _text("capacity", "AWS::AutoScaling::AutoScalingGroup")),
        _event(
            3,
            "hivemind-app",
            "ROLLBACK_IN_PROGRESS",
            "The following resource(s) failed to create: [WebInstance].",
            "AWS::CloudFormation::Stack",
        ),
        _event(4, "TargetGroup", "DELETE_FAILED", "still in use", "AWS::ElasticLoadBalancingV2::TargetGroup"),
    ]
    assert root_cause(events, "hivemind-app")["LogicalResourceId"] == "WebInstance"


def test_no_resource_failure_means_no_root_cause():
    assert root_cause([_event(0, "Vpc", "CREATE_COMPLETE")], "hivemind-app") is None


def test_step_errors_are_diagnosed_by_their_error_name():
    d = diagnose_error(ErrorInfo(Error="TemplateInvalid", Cause="x"), "TemplateInvalid: 1 blocking finding")
    assert (d.category, d.failed_step) == ("template", "Validate template")
    assert diagnose_error(ErrorInfo(Error="Weird", Cause=""), "Weird").category == "unknown"
    # a Plan that stopped is not a missing source bundle: its own error says what to give
    stopped = diagnose_error(ErrorInfo(Error="PlanError", Cause="x"), "PlanError: the app cannot start without X")
    assert stopped.failed_step == "Plan deployment" and "source bundle" not in stopped.fix
    assert "--env" in stopped.fix


def test_alternative_instance_types_keep_the_size_and_run_out():
    assert alternative_instance_type("t3.micro", 0) == "t3a.micro"
    assert alternative_instance_type("t3.micro", 1) == "t2.micro"
    assert alternative_instance_type("t3.micro", 2) is None
    assert alternative_instance_type("x9.huge", 0) is None


def test_an_instance_log_is_kept_short_enough_for_the_execution_state():
    from hivemind.medic.handle import INSTANCE_LOG_BYTES, log_tail

    minified = ["x" * 100_000] * 10 + ["TypeError: undefined is not a function"]
    kept = log_tail(minified)
    assert kept[-1] == "TypeError: undefined is not a function"
    assert len("\n".join(kept).encode()) <= INSTANCE_LOG_BYTES and all(len(line) <= 400 for line in kept)
    assert log_tail([f"line {i}" for i in range(500)]) == [f"line {i}" for i in range(380, 500)]


def _text(category: str, resource_type: str) -> str:
    """A real text of the corpus for that category and resource type."""
    return next(e["reason"] for e in CORPUS if e["category"] == category and e["resource_type"] == resource_type)


def _stack(sec, status, reason=None):
    return _event(sec, "hivemind-app", status, reason, "AWS::CloudFormation::Stack")


def _as_described(events):
    """describe_stack_events' order: newest first."""
    return events[::-1]


def test_capacity_with_a_cancelled_load_balancer():
    capacity = _text("capacity", "AWS::AutoScaling::AutoScalingGroup")  # the EC2 text, as ASGs relay it
    events = [
        _stack(0, "CREATE_IN_PROGRESS", "User Initiated"),
        _event(20, "Vpc", "CREATE_COMPLETE", kind="AWS::EC2::VPC"),
        _event(40, "WebInstance", "CREATE_FAILED", capacity),
        _event(41, "LoadBalancer", "CREATE_FAILED", "Resource creation cancelled", LB),
        _stack(
            42,
            "ROLLBACK_IN_PROGRESS",
            "The following resource(s) failed to create: [LoadBalancer, WebInstance]. Rollback requested by user.",
        ),
        _event(60, "Vpc", "DELETE_COMPLETE", kind="AWS::EC2::VPC"),
        _stack(61, "ROLLBACK_COMPLETE"),
    ]
    found = diagnose_events(_as_described(events), "ROLLBACK_COMPLETE")
    assert (found.resource, found.category, found.secondary) == ("WebInstance", "capacity", [])
    assert KINDS["capacity"].action == "retry" and found.fix == KINDS["capacity"].fix


def test_a_boot_signal_timeout():
    events = [
        _stack(0, "CREATE_IN_PROGRESS", "User Initiated"),
        _event(10, "WebInstance", "CREATE_IN_PROGRESS", "Resource creation Initiated"),
        _event(910, "WebInstance", "CREATE_FAILED", _text("boot-failure", "AWS::EC2::Instance")),
        _stack(
            911,
            "ROLLBACK_IN_PROGRESS",
            "The following resource(s) failed to create: [WebInstance]. Rollback requested by user.",
        ),
        _stack(990, "ROLLBACK_COMPLETE"),
    ]
    found = diagnose_events(_as_described(events), "ROLLBACK_COMPLETE")
    assert (found.resource, found.category) == ("WebInstance", "boot-failure")


def test_a_name_conflict():
    events = [
        _stack(0, "CREATE_IN_PROGRESS", "User Initiated"),
        _event(5, "AppLogGroup", "CREATE_FAILED", _text("name-conflict", "AWS::Logs::LogGroup"), "AWS::Logs::LogGroup"),
        _event(6, "Vpc", "CREATE_FAILED", "Resource creation cancelled", "AWS::EC2::VPC"),
        _stack(
            7,
            "ROLLBACK_IN_PROGRESS",
            "The following resource(s) failed to create: [Vpc, AppLogGroup]. Rollback requested by user.",
        ),
        _stack(30, "ROLLBACK_COMPLETE"),
    ]
    found = diagnose_events(_as_described(events), "ROLLBACK_COMPLETE")
    assert (found.resource, found.category) == ("AppLogGroup", "name-conflict")


def test_a_rollback_whose_subnet_delete_fails_is_a_secondary_failure():
    events = [
        _stack(0, "CREATE_IN_PROGRESS", "User Initiated"),
        _event(300, "WebInstance", "CREATE_FAILED", _text("app-failed", "AWS::EC2::Instance")),
        _stack(
            301,
            "ROLLBACK_IN_PROGRESS",
            "The following resource(s) failed to create: [WebInstance]. Rollback requested by user.",
        ),
        _event(400, "PublicSubnetA", "DELETE_FAILED", _text("delete-failed", "AWS::EC2::Subnet"), "AWS::EC2::Subnet"),
        _stack(401, "ROLLBACK_FAILED", "The following resource(s) failed to delete: [PublicSubnetA]. "),
    ]
    found = diagnose_events(_as_described(events), "ROLLBACK_FAILED")
    assert (found.resource, found.category) == ("WebInstance", "app-failed")
    assert [(f.logical_id, f.category) for f in found.secondary] == [("PublicSubnetA", "delete-failed")]


LB = "AWS::ElasticLoadBalancingV2::LoadBalancer"


@pytest.mark.parametrize(("category", "action"), [("throttling", "retry"), ("capacity", "retry"), ("quota", None)])
def test_the_medic_retries_what_its_category_says_to(category, action):
    from hivemind.medic.handle import _retry_decision
    from hivemind.models import DeploymentRequest, Diagnosis, WorkflowState
    from tests.fixtures.plans import plan

    request = DeploymentRequest(app_name="shop", source={"type": "s3", "bucket": "artifacts", "key": "k"})
    state = WorkflowState(deployment_id="d-1", request=request)
    reason = next(e["reason"] for e in CORPUS if e["category"] == category)
    decision = _retry_decision(state, Diagnosis(category=classify(reason), summary=reason), plan())
    assert (decision.action if decision else None) == action
    if category == "throttling":  # nothing was wrong with the plan: the same one again
        assert decision.plan == plan() and decision.next_attempt == 2
