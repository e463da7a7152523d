"""The report's pieces that are pure logic: the resources' timeline read off stack events, the
step a log line belongs to, and a page that shows what an app printed without running it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hivemind.aws.logs import step_at
from hivemind.models import Diagnosis, Report, StepTiming
from hivemind.workflow.report import resource_timings
from hivemind.workflow.report_page import render

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
STACK = "arn:aws:cloudformation:us-east-1:123456789012:stack/hivemind-app/1"


def event(seconds: float, logical_id: str, status: str, reason: str | None = None, kind: str = "AWS::EC2::VPC"):
    found = {
        "StackId": STACK,
        "LogicalResourceId": logical_id,
        "PhysicalResourceId": STACK if logical_id == "hivemind-app" else f"{logical_id.lower()}-1",
        "ResourceType": "AWS::CloudFormation::Stack" if logical_id == "hivemind-app" else kind,
        "Timestamp": T0 + timedelta(seconds=seconds),
        "ResourceStatus": status,
    }
    if reason:
        found["ResourceStatusReason"] = reason
    return found


def test_resource_timings_span_each_resource_from_its_first_event_to_its_last_settled_one():
    events = [  # newest first, as describe_stack_events lists them
        event(40, "WebInstance", "DELETE_COMPLETE", kind="AWS::EC2::Instance"),
        event(30, "WebInstance", "CREATE_FAILED", "Received FAILURE signal with UniqueId i-1", "AWS::EC2::Instance"),
        event(12, "WebInstance", "CREATE_IN_PROGRESS", "Resource creation Initiated", "AWS::EC2::Instance"),
        event(11, "Vpc", "CREATE_COMPLETE"),
        event(10, "Vpc", "CREATE_IN_PROGRESS"),
        event(9, "hivemind-app", "CREATE_IN_PROGRESS", "User Initiated"),
        event(-600, "OldQueue", "CREATE_COMPLETE"),  # an earlier deployment's
    ]
    found = resource_timings(events, since=T0)
    assert [(r.logical_id, r.status) for r in found] == [("Vpc", "CREATE_COMPLETE"), ("WebInstance", "DELETE_COMPLETE")]
    vpc, instance = found
    assert (vpc.start, vpc.end, vpc.reason) == (T0 + timedelta(seconds=10), T0 + timedelta(seconds=11), None)
    assert instance.reason == "Received FAILURE signal with UniqueId i-1"  # kept once it was deleted
    assert instance.end == T0 + timedelta(seconds=40)


def test_a_log_line_belongs_to_the_step_that_ran_then_and_the_last_holds_what_came_after():
    steps = [
        StepTiming(name="Plan deployment", status="SUCCEEDED", start=T0, end=T0 + timedelta(seconds=1)),
        StepTiming(name="Report", status="SUCCEEDED", start=T0 + timedelta(seconds=2), end=T0 + timedelta(seconds=3)),
    ]
    assert step_at(T0 + timedelta(seconds=0.5), steps) == "Plan deployment"
    assert step_at(T0 + timedelta(seconds=1.5), steps) is None  # between steps: a Choice, a Wait
    assert step_at(T0 + timedelta(seconds=9), steps) == "Report"
    assert step_at(T0 - timedelta(seconds=1), steps) is None


def test_the_page_shows_what_the_app_printed_as_text_never_as_markup():
    printed = "<script>alert('owned')</script> & <b>bold</b>"
    report = Report(
        deployment_id="d-1",
        app_name="app",
        status="FAILED",
        started_at=T0,
        finished_at=T0 + timedelta(seconds=5),
        duration_s=5,
        steps=[StepTiming(name="Wait for stack", status="FAILED", start=T0, end=T0 + timedelta(seconds=4))],
        error=f"StackCreateFailed: {printed}",
        diagnosis=Diagnosis(category="app-failed", summary=printed, instance_log=[printed], fix="see its log"),
    )
    page = render(report)
    assert "<script" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&#x27;owned&#x27;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page
    assert page.count("<rect") == 1  # the one step's bar
