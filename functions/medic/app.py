"""Medic: "Handle failure" in the workflow; stack-status and execution-ended events from EventBridge;
every minute, the reconciler of executions still waiting on settled stacks; every hour, the janitor."""

from typing import Any

from hivemind.aws.clients import client
from hivemind.medic.handle import finish_failure, handle_failure, on_execution_ended, on_stack_event, reconcile
from hivemind.medic.janitor import sweep
from hivemind.models import ExecutionStatusChange, StackStatusChange, WorkflowState
from hivemind.observability import lambda_handler
from hivemind.settings import get_settings


# the workflow's state names the deployment (wrapped in "Finish handling failure"); an execution's end
# event names it as the execution's name; a stack-status event names only the stack (on_stack_event
# reads the deployment off its tag)
@lambda_handler("deployment_id || state.deployment_id || detail.name")
def handler(event: dict[str, Any], context: Any) -> Any:
    settings = get_settings()
    cfn, ddb = client("cloudformation", settings.region), client("dynamodb", settings.region)
    if event.get("task") == "janitor":  # the hourly Janitor schedule's input
        found = sweep(cfn=cfn, ddb=ddb, sfn=client("stepfunctions", settings.region), settings=settings, apply=True)
        return [leftover.model_dump(mode="json") for leftover in found]
    if event.get("detail-type") == "Scheduled Event":
        sfn, elbv2 = client("stepfunctions", settings.region), client("elbv2", settings.region)
        return reconcile(cfn=cfn, ddb=ddb, sfn=sfn, settings=settings, elbv2=elbv2)
    if event.get("detail-type") == "Step Functions Execution Status Change":
        ended = ExecutionStatusChange.model_validate(event)
        return on_execution_ended(
            ended,
            cfn=cfn,
            ddb=ddb,
            elbv2=client("elbv2", settings.region),
            sfn=client("stepfunctions", settings.region),
            settings=settings,
        )
    if "detail-type" in event:
        change = StackStatusChange.model_validate(event)
        sfn, elbv2 = client("stepfunctions", settings.region), client("elbv2", settings.region)
        return on_stack_event(change, cfn=cfn, ddb=ddb, sfn=sfn, settings=settings, elbv2=elbv2)
    if event.get("finish"):  # "Finish handling failure": the stack the Medic started on has settled
        finished = finish_failure(
            WorkflowState.model_validate(event["state"]),
            cfn=cfn,
            elbv2=client("elbv2", settings.region),
            ddb=ddb,
            settings=settings,
        )
        return finished.model_dump(mode="json")
    state = WorkflowState.model_validate(event)
    decision = handle_failure(
        state,
        cfn=cfn,
        elbv2=client("elbv2", settings.region),
        ddb=ddb,
        s3=client("s3", settings.region),
        settings=settings,
    )
    return decision.model_dump(mode="json")
