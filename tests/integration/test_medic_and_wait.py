"""The Medic's event paths and the Wait for stack race, against moto."""

import json

import pytest

from hivemind.aws import clients, deployments
from hivemind.medic.handle import on_execution_ended, on_stack_event, reconcile
from hivemind.models import (
    DeploymentRecord,
    DeploymentRequest,
    ExecutionStatusChange,
    StackStatusChange,
    WaitStackInput,
)
from hivemind.workflow.stack import wait_for_stack

TEMPLATE = json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})


@pytest.fixture
def cfn(hivemind):
    return clients.client("cloudformation")


def _stack(cfn, name="hivemind-app", deployment_id="d-1"):
    tags = [{"Key": "hivemind:deployment-id", "Value": deployment_id}] if deployment_id else []
    return cfn.create_stack(StackName=name, TemplateBody=TEMPLATE, Tags=tags)["StackId"]


def _record(settings, status, stack_id=None, deployment_id="d-1", operation="create"):
    now = deployments.now()
    request = DeploymentRequest(app_name="app", source={"type": "s3", "bucket": "artifacts", "key": "k"})
    record = DeploymentRecord(
        deployment_id=deployment_id,
        app_name="app",
        status=status,
        request=request,
        created_at=now,
        updated_at=now,
        stack_id=stack_id,
        stack_operation=operation if stack_id else None,
    )
    deployments.put_new(clients.client("dynamodb"), settings.deployments_table, record)


def _stack_event(load_event, stack_id, status):
    event = load_event("stack-status-rollback-complete.json")
    event["detail"]["stack-id"] = stack_id
    event["resources"] = [stack_id]
    event["detail"]["status-details"]["status"] = status
    return StackStatusChange.model_validate(event)


def _stacks(cfn):
    return [s["StackName"] for s in cfn.list_stacks()["StackSummaries"] if s["StackStatus"] != "DELETE_COMPLETE"]


def _medic(event, settings, cfn):
    return on_stack_event(
        event,
        cfn=cfn,
        ddb=clients.client("dynamodb"),
        sfn=clients.client("stepfunctions"),
        settings=settings,
    )


def test_stacks_that_are_not_hivemind_s_are_ignored(hivemind, cfn, load_event):
    stack_id = _stack(cfn, "someone-else", deployment_id=None)
    assert _medic(_stack_event(load_event, stack_id, "ROLLBACK_COMPLETE"), hivemind, cfn) == "ignored"
    assert _stacks(cfn) == ["someone-else"]


def test_a_failed_stack_nobody_waits_for_is_rolled_back(hivemind, cfn, load_event):
    stack_id = _stack(cfn)
    _record(hivemind, "FAILED", stack_id)
    outcome = _medic(_stack_event(load_event, stack_id, "ROLLBACK_COMPLETE"), hivemind, cfn)
    assert outcome == "deleting orphan stack"  # started, not waited for: nothing needs its end
    assert _stacks(cfn) == []


def test_a_failed_stack_of_a_running_deployment_is_left_to_its_execution(hivemind, cfn, load_event):
    stack_id = _stack(cfn)
    _record(hivemind, "RUNNING", stack_id)
    assert _medic(_stack_event(load_event, stack_id, "ROLLBACK_COMPLETE"), hivemind, cfn) == "execution will settle"
    assert _stacks(cfn) == ["hivemind-app"]


def test_the_same_event_twice_acts_once(hivemind, cfn, load_event):
    stack_id = _stack(cfn)
    _record(hivemind, "FAILED", stack_id)
    event = _stack_event(load_event, stack_id, "ROLLBACK_COMPLETE")
    assert _medic(event, hivemind, cfn) == "deleting orphan stack"
    assert _medic(event, hivemind, cfn) == "already gone"


def test_an_execution_that_ended_badly_marks_the_record_and_removes_its_stack(hivemind, cfn):
    stack_id = _stack(cfn)
    _record(hivemind, "RUNNING", stack_id)
    event = _execution_ended("TIMED_OUT", error="States.Timeout", cause=None)
    ddb = clients.client("dynamodb")
    outcome = on_execution_ended(event, cfn=cfn, ddb=ddb, settings=hivemind)
    assert outcome == "deleting the stack it created, marked FAILED"  # started, not waited for in a Lambda
    record = deployments.get(ddb, hivemind.deployments_table, "d-1")
    assert record.status == "FAILED" and "TIMED_OUT" in record.error and "States.Timeout" in record.error
    assert _stacks(cfn) == []
    assert on_execution_ended(event, cfn=cfn, ddb=ddb, settings=hivemind) == "nothing left to do"


def test_wait_for_stack_settles_itself_when_the_stack_finished_first(hivemind, cfn):
    stack_id = _stack(cfn)  # moto creates synchronously: already CREATE_COMPLETE, its event long gone
    _record(hivemind, "RUNNING", stack_id)
    ddb = clients.client("dynamodb")
    payload = WaitStackInput(deployment_id="d-1", stack_id=stack_id, task_token="token-1")
    wait_for_stack(payload, cfn=cfn, ddb=ddb, sfn=clients.client("stepfunctions"), settings=hivemind)
    # the token was claimed (and used) at once rather than left for an event that already happened
    assert deployments.claim_task_token(ddb, hivemind.deployments_table, stack_id) is None


def test_a_deployed_app_is_updated_through_a_change_set_keeping_its_previous_template(hivemind, cfn):
    from hivemind.models import TemplateArtifact, WorkflowState
    from hivemind.workflow.stack import create_stack

    _stack(cfn, "hivemind-app", deployment_id="d-old")
    _record(hivemind, "RUNNING", deployment_id="d-new")
    s3 = clients.client("s3")
    new_template = json.dumps(
        {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}, "Queue": {"Type": "AWS::SQS::Queue"}}}
    )
    s3.put_object(Bucket="artifacts", Key="deployments/d-new/template.yaml", Body=new_template.encode())
    state = WorkflowState(
        deployment_id="d-new",
        request=DeploymentRequest(app_name="app", source={"type": "s3", "bucket": "artifacts", "key": "k"}),
        plan={"app_name": "app", "language": "python", "runtime_version": "3.12", "start_command": "x", "port": 80},
        template=TemplateArtifact(
            stack_name="hivemind-app",
            template_key="deployments/d-new/template.yaml",
            template_url="https://artifacts.s3.us-east-1.amazonaws.com/deployments/d-new/template.yaml",
            resource_count=2,
        ),
    )
    ddb = clients.client("dynamodb")
    info = create_stack(state, cfn=cfn, ddb=ddb, s3=s3, settings=hivemind)

    record = deployments.get(ddb, hivemind.deployments_table, "d-new")
    assert (record.stack_operation, record.previous_deployment_id) == ("update", "d-old")
    assert info.stack_id == record.stack_id and _stacks(cfn) == ["hivemind-app"]
    kept = s3.get_object(Bucket="artifacts", Key=record.previous_template_key)["Body"].read()
    assert json.loads(kept) == json.loads(TEMPLATE)
    # (moto does not apply a change set's tags; the e2e tests check ownership on the local runtime)


def test_the_backstop_never_deletes_a_stack_an_update_failed_on(hivemind, cfn):
    stack_id = _stack(cfn, deployment_id="d-1")
    _record(hivemind, "RUNNING", stack_id, operation="update")
    event = _execution_ended("FAILED")
    outcome = on_execution_ended(event, cfn=cfn, ddb=clients.client("dynamodb"), settings=hivemind)
    assert outcome == "marked FAILED"
    assert _stacks(cfn) == ["hivemind-app"]


def test_the_reconciler_resumes_what_a_lost_stack_event_left_waiting_and_nothing_else(hivemind, cfn):
    # Given two executions waiting: one on a stack that settled (its status event never came),
    # one on a stack CloudFormation is still creating
    ddb, sfn = clients.client("dynamodb"), clients.client("stepfunctions")
    settled = _stack(cfn, "hivemind-done", deployment_id="d-done")
    busy = _stack(cfn, "hivemind-busy", deployment_id="d-busy")
    cfn_backend_stack(busy).status = "CREATE_IN_PROGRESS"
    deployments.park_task_token(ddb, hivemind.deployments_table, settled, "d-done", "token-done")
    deployments.park_task_token(ddb, hivemind.deployments_table, busy, "d-busy", "token-busy")
    assert [w[1] for w in deployments.parked(ddb, hivemind.deployments_table)] == ["d-done", "d-busy"]

    # When the scheduled reconciler runs
    outcome = reconcile(cfn=cfn, ddb=ddb, sfn=sfn, settings=hivemind)

    # Then the settled stack's waiter was claimed (moto has no such task: the resume is refused, as
    # AWS refuses a token that timed out) and the busy one is left for its event
    assert outcome["waiting"] == 2
    assert [w[1] for w in deployments.parked(ddb, hivemind.deployments_table)] == ["d-busy"]
    assert deployments.claim_task_token(ddb, hivemind.deployments_table, settled) is None


def cfn_backend_stack(stack_id):
    from moto.cloudformation.models import cloudformation_backends

    return cloudformation_backends["123456789012"]["us-east-1"].stacks[stack_id]


def test_an_execution_event_never_tears_down_a_deployment_its_record_says_succeeded(hivemind, cfn):
    stack_id = _stack(cfn, deployment_id="d-1")
    _record(hivemind, "SUCCEEDED", stack_id)
    for status in ("SUCCEEDED", "ABORTED"):  # a misrouted event, or one that contradicts the record
        event = _execution_ended(status)
        assert on_execution_ended(event, cfn=cfn, ddb=clients.client("dynamodb"), settings=hivemind) == "ignored"
    assert _stacks(cfn) == ["hivemind-app"]


def test_a_wait_for_stack_that_timed_out_is_diagnosed_from_the_stack_itself(hivemind, cfn):
    from hivemind.medic.handle import _diagnose
    from hivemind.models import WorkflowState

    # Given "Wait for stack" timed out while CloudFormation was still creating the stack
    stack_id = _stack(cfn, deployment_id="d-1")
    cfn_backend_stack(stack_id).status = "CREATE_IN_PROGRESS"
    state = WorkflowState(
        deployment_id="d-1",
        request=DeploymentRequest(app_name="app", source={"type": "s3", "bucket": "artifacts", "key": "k"}),
        stack={"stack_name": "hivemind-app", "stack_id": stack_id, "status": "CREATE_IN_PROGRESS"},
        error={"Error": "States.Timeout", "Cause": ""},
    )
    # Then the diagnosis names the stack's status and its latest event, not just "timed out"
    diagnosis = _diagnose(state, cfn)
    assert diagnosis.category == "boot-failure" and diagnosis.stack_status == "CREATE_IN_PROGRESS"
    assert "the stack was CREATE_IN_PROGRESS when the wait ended; its latest event: hivemind-app" in diagnosis.summary

    # And a stack that is gone by then is named so
    cfn.delete_stack(StackName=stack_id)
    assert "the stack was DELETE_COMPLETE when the wait ended" in _diagnose(state, cfn).summary


def _execution_ended(status: str, **detail: object) -> ExecutionStatusChange:
    """Step Functions' execution-status event for d-1, in the shape EventBridge delivers it."""
    return ExecutionStatusChange.model_validate(
        {
            "source": "aws.states",
            "detail-type": "Step Functions Execution Status Change",
            "detail": {
                "executionArn": "arn:aws:states:us-east-1:123456789012:execution:hivemind-deploy:d-1",
                "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:hivemind-deploy",
                "name": "d-1",
                "status": status,
                **detail,
            },
        }
    )
