from datetime import UTC, datetime, timedelta

import pytest

from hivemind.medic.diagnose import classify, diagnose_error, root_cause
from hivemind.medic.handle import alternative_instance_type
from hivemind.models import ErrorInfo

T0 = datetime(2026, 11, 24, tzinfo=UTC)


@pytest.mark.parametrize(
    ("reason", "category"),
    [
        (
            "We currently do not have sufficient t3.micro capacity ... Error Code: InsufficientInstanceCapacity",
            "capacity",
        ),
        ("Your requested instance type (t3.micro) is not supported ... (Error Code: Unsupported)", "capacity"),
        (
            "The image id '[ami-1]' does not exist (Service: Ec2, Status Code: 400) Error Code: InvalidAMIID.NotFound",
            "invalid-parameter",
        ),
        ("You have requested more vCPU capacity than your current vCPU limit ... VcpuLimitExceeded", "quota"),
        ("hivemind-app-tg already exists in stack arn:aws:... (Error Code: DuplicateTargetGroupName)", "name-conflict"),
        ("User: arn:aws:sts::1:assumed-role/x is not authorized to perform: ec2:RunInstances", "permissions"),
        ("Failed to receive 1 resource signal(s) within the specified duration", "boot-timeout"),
        ("Received FAILURE signal with UniqueId i-0123456789abcdef0", "app-failed"),
        ("Something nobody has seen before", "unknown"),
    ],
)
def test_classify_by_error_code(reason, category):
    assert classify(reason) == category


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
        _event(2, "WebInstance", "CREATE_FAILED", "... Error Code: InsufficientInstanceCapacity"),
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
