"""The fault matrix: every local fault, and each step's function throttled or crashed, on one local
runtime per test worker; each row checks the deployment's end state, its diagnosis, that the
fault really fired, and the app's stack left or gone (and, when gone, that nothing carrying the
deployment's tag remains). docs/FAULT_MATRIX.md keeps the table.

The app is Python's own http.server (nothing to install), so a row costs the workflow and a boot,
not an install.
"""

from __future__ import annotations

import pytest

from hivemind.aws.leftovers import left_behind
from hivemind.local.deploy import deploy_on, logs_to
from hivemind.local.faults import STEPS
from hivemind.local.runtime import LocalRuntime
from hivemind.local.state import _state
from tests.conftest import ROOT

APP = ROOT / "tests" / "fixtures" / "apps" / "stdlib-app"
# the smoke test calls no AWS API (it sends HTTP requests to the app): nothing there to throttle
NO_AWS_CALLS = {"smoke"}

# faults (joined by +) -> (end status, diagnosis category or None, whether the app's stack is left)
EXPECTED: dict[str, tuple[str, str | None, bool]] = {
    "capacity": ("SUCCEEDED", "capacity", True),
    "bad-ami": ("FAILED", "invalid-parameter", False),
    "lose-stack-event": ("SUCCEEDED", None, True),
    "quota": ("FAILED", "quota", False),
    **{f"throttle:{step}": ("SUCCEEDED", None, True) for step in STEPS if step not in NO_AWS_CALLS | {"medic"}},
    **{f"crash:{step}": ("SUCCEEDED", None, True) for step in STEPS if step != "medic"},
    # the Medic's first invocation (a stack event, the reconciler or Handle failure) throttled or
    # crashed while a deployment fails: it still rolls back
    "bad-ami+throttle:medic": ("FAILED", "invalid-parameter", False),
    "bad-ami+crash:medic": ("FAILED", "invalid-parameter", False),
    # the rollback cannot delete the VPC (a subnet made by hand sits in it): escalated, not hidden
    "bad-ami+delete-fails": ("FAILED", "invalid-parameter", True),
}


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    with logs_to(tmp_path_factory.mktemp("matrix") / "local.log"), LocalRuntime(ROOT) as aws:
        yield aws


@pytest.mark.slow
@pytest.mark.parametrize("case", list(EXPECTED))
def test_fault_matrix(runtime, tmp_path, case):
    faults = case.split("+")
    runtime.inject(*faults)
    app_name = f"matrix-{list(EXPECTED).index(case)}"
    record, _ = deploy_on(runtime, APP, {"app_name": app_name}, reports_dir=tmp_path, timeout_s=120)

    summaries = runtime.client("cloudformation").list_stacks()["StackSummaries"]
    ours = [s for s in summaries if s["StackName"] == f"hivemind-{app_name}"]
    left = any(s["StackStatus"] != "DELETE_COMPLETE" for s in ours)
    found = record.diagnosis.category if record.diagnosis else None
    assert ours, "the app's stack was never created"
    assert (record.status, found, left) == EXPECTED[case], record.error
    assert set(faults) <= _state.fired, f"did not fire: {set(faults) - _state.fired}"
    if not left:  # rolled back: nothing that carries the deployment's tag may remain
        tagging = runtime.client("resourcegroupstaggingapi")
        assert left_behind(tagging, runtime.client, record.deployment_id) == []
    if "delete-fails" in faults:
        assert record.diagnosis is not None and record.diagnosis.escalation
        assert [line.split()[0] for line in record.diagnosis.left] == ["Vpc"]
        assert "has dependencies and cannot be deleted" in record.diagnosis.left[0]
    retried = sum(max(0, (s.attempts or 1) - 1) for s in record.steps)
    print(f"| `{case}` | {record.status} | {found or '-'} | {'yes' if left else 'no'} | {retried} |")
