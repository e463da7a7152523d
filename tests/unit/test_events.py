"""events/: a realistic event for every function, each one its handler's model accepts (what
`sam local invoke FUNCTION -e events/FILE` replays), and env.json for the variables they read."""

import json
from pathlib import Path

import pytest

from hivemind.models import CodeCommitPush, ReportInput, StackStatusChange, WaitStackInput, WorkflowState
from tests.conftest import ROOT

EVENTS = ROOT / "events"
# function folder -> (its event files, the model its handler validates them with)
BY_FUNCTION = {
    "plan": (["plan.json"], WorkflowState),
    "generate_template": (["generate-template.json"], WorkflowState),
    "validate": (["validate.json"], WorkflowState),
    "create_stack": (["create-stack.json"], WorkflowState),
    "wait_stack": (["wait-stack.json"], WaitStackInput),
    "register_target": (["register-target.json"], WorkflowState),
    "wait_health": (["wait-health.json"], WorkflowState),
    "smoke_test": (["smoke-test.json"], WorkflowState),
    "drain_previous": (["drain-previous.json"], WorkflowState),
    "remove_previous": (["remove-previous.json"], WorkflowState),
    "report": (["report-succeeded.json", "report-failed.json"], ReportInput),
    "medic": (["medic-handle-failure.json"], WorkflowState),
    "push": (["codecommit-push.json"], CodeCommitPush),
    "api": (["api-create-deployment.json", "api-get-deployment.json", "api-create-deployment-invalid.json"], None),
}


def test_every_function_has_an_event():
    functions = {p.parent.name for p in (ROOT / "functions").glob("*/app.py")}
    assert functions == set(BY_FUNCTION)
    named = {name for files, _ in BY_FUNCTION.values() for name in files}
    stack_events = {"stack-status-create-complete.json", "stack-status-rollback-complete.json"}
    assert {p.name for p in EVENTS.glob("*.json")} - {"env.json"} == named | stack_events


@pytest.mark.parametrize("function", sorted(BY_FUNCTION))
def test_each_event_is_what_its_handler_accepts(function):
    files, model = BY_FUNCTION[function]
    for name in files:
        event = json.loads((EVENTS / name).read_text())
        if model is not None:
            model.model_validate(event)
        else:  # API Gateway's proxy event, format 1.0
            assert {"resource", "httpMethod", "requestContext"} <= set(event)


def test_the_stack_events_and_the_failure_are_the_medics_shapes():
    for name in ("stack-status-create-complete.json", "stack-status-rollback-complete.json"):
        StackStatusChange.model_validate(json.loads((EVENTS / name).read_text()))
    failure = WorkflowState.model_validate(json.loads((EVENTS / "medic-handle-failure.json").read_text()))
    assert failure.error is not None and failure.stack is not None, "a real failure, with its stack"
    assert ReportInput.model_validate(json.loads((EVENTS / "report-failed.json").read_text())).outcome == "FAILED"


def test_env_json_sets_every_variable_the_functions_read():
    given = json.loads((EVENTS / "env.json").read_text())["Parameters"]
    template = (ROOT / "template.yaml").read_text()
    globals_block = template.split("Globals:", 1)[1].split("Resources:", 1)[0]
    names = [line.split(":")[0].strip() for line in globals_block.splitlines() if line.startswith("        ")]
    variables = {n for n in names if n.isupper()}
    assert {"DEPLOYMENTS_TABLE", "ARTIFACTS_BUCKET", "ALARM_TOPIC_ARN"} <= variables <= set(given)
    assert not any("s3cr" in v for v in given.values())
    assert Path(EVENTS / "capture.py").is_file()
