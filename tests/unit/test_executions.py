from datetime import UTC, datetime, timedelta

from hivemind.aws.executions import step_timings

T0 = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)


def _events(*spec):
    """(seconds, type, details) -> history events with ids."""
    out = []
    for i, (sec, kind, details) in enumerate(spec, start=1):
        event = {"id": i, "previousEventId": i - 1, "type": kind, "timestamp": T0 + timedelta(seconds=sec)}
        if details:
            key = (
                "stateEnteredEventDetails"
                if kind.endswith("StateEntered")
                else ("stateExitedEventDetails" if kind.endswith("StateExited") else "taskFailedEventDetails")
            )
            event[key] = details
        out.append(event)
    return out


def test_steps_read_from_history_with_durations_retries_and_caught_failures():
    # Given: a plan that succeeds, a health check retried twice, and a create that fails into a Catch
    history = _events(
        (0, "ExecutionStarted", None),
        (0, "TaskStateEntered", {"name": "Plan deployment"}),
        (0.1, "LambdaFunctionScheduled", None),
        (1.5, "LambdaFunctionSucceeded", None),
        (1.5, "TaskStateExited", {"name": "Plan deployment"}),
        (1.5, "TaskStateEntered", {"name": "Wait for healthy target"}),
        (1.6, "LambdaFunctionScheduled", None),
        (1.7, "LambdaFunctionFailed", {"error": "TargetNotHealthyYet"}),
        (16.7, "LambdaFunctionScheduled", None),
        (16.8, "LambdaFunctionSucceeded", None),
        (16.8, "TaskStateExited", {"name": "Wait for healthy target"}),
        (16.8, "TaskStateEntered", {"name": "Create stack"}),
        (16.9, "LambdaFunctionScheduled", None),
        (17.0, "LambdaFunctionFailed", {"error": "StackCreateFailed"}),
        (17.0, "TaskStateExited", {"name": "Create stack"}),
        (17.0, "TaskStateEntered", {"name": "Report failure"}),
        (18.0, "ExecutionFailed", None),
    )
    # When
    steps = step_timings(history)
    # Then
    assert [s.name for s in steps] == ["Plan deployment", "Wait for healthy target", "Create stack", "Report failure"]
    plan, health, create, report = steps
    assert (plan.status, plan.duration_s, plan.attempts) == ("SUCCEEDED", 1.5, 1)
    assert (health.status, health.attempts, health.error) == ("SUCCEEDED", 2, None)
    assert health.duration_s == 15.3
    assert (create.status, create.error) == ("FAILED", "StackCreateFailed")
    assert (report.status, report.duration_s) == ("FAILED", 1.0)


def test_a_state_still_running_has_no_end():
    steps = step_timings(_events((0, "TaskStateEntered", {"name": "Wait for stack"}), (1, "TaskScheduled", None)))
    assert steps[0].status == "RUNNING" and steps[0].end is None and steps[0].duration_s is None
