"""Create stack, and Wait for stack: the execution waits on a task token that whichever comes
first (the waiting function finding the stack settled, or the stack-status event) hands back."""

from __future__ import annotations

from typing import Any

from hivemind.aws import deployments, executions, stacks
from hivemind.errors import StackCreateFailed
from hivemind.models import StackInfo, WaitStackInput, WorkflowState
from hivemind.observability import logger
from hivemind.settings import Settings


def create_stack(state: WorkflowState, *, cfn: Any, ddb: Any, settings: Settings) -> StackInfo:
    """Create the stack; the deployment id (and attempt) is the idempotency token."""
    if state.template is None or state.plan is None:
        raise ValueError("Create stack needs the template and the plan")
    token = state.deployment_id if state.attempt == 1 else f"{state.deployment_id}-{state.attempt}"
    existing = stacks.describe(cfn, state.template.stack_name)
    if existing is not None and existing["StackStatus"] != "DELETE_COMPLETE":
        owner = stacks.tags(existing).get(stacks.DEPLOYMENT_TAG, "unknown")
        raise StackCreateFailed(
            f"{state.request.app_name} is already deployed as stack {state.template.stack_name} "
            f"({existing['StackStatus']}, deployment {owner}); updating a deployed app is not supported yet: "
            f"destroy that deployment first (DELETE /deployments/{owner})"
        )
    tags = {
        stacks.DEPLOYMENT_TAG: state.deployment_id,
        "hivemind:app": state.request.app_name,
        "hivemind:managed-by": "hivemind",
    }
    stack_id = stacks.create(
        cfn,
        stack_name=state.template.stack_name,
        template_url=state.template.template_url,
        parameters=state.template.parameters,
        tags=tags,
        token=token,
        role_arn=settings.stack_role_arn,
    )
    deployments.update(
        ddb,
        settings.deployments_table,
        state.deployment_id,
        stack_name=state.template.stack_name,
        stack_id=stack_id,
        attempts=state.attempt,
    )
    return StackInfo(stack_name=state.template.stack_name, stack_id=stack_id, status="CREATE_IN_PROGRESS")


def wait_for_stack(payload: WaitStackInput, *, cfn: Any, ddb: Any, sfn: Any, settings: Settings) -> None:
    """Park the task token on the deployment, then settle at once if the stack already has."""
    deployments.store_task_token(
        ddb, settings.deployments_table, payload.deployment_id, payload.stack_id, payload.task_token
    )
    description = stacks.describe(cfn, payload.stack_id)
    if description is None or description["StackStatus"] in stacks.SETTLED:
        settle(payload.deployment_id, payload.stack_id, description, cfn=cfn, ddb=ddb, sfn=sfn, settings=settings)


def settle(
    deployment_id: str,
    stack_id: str,
    description: dict[str, Any] | None,
    *,
    cfn: Any,
    ddb: Any,
    sfn: Any,
    settings: Settings,
) -> bool:
    """Resume the execution waiting on this stack, once. True when this call resumed it."""
    token = deployments.claim_task_token(ddb, settings.deployments_table, deployment_id)
    if token is None:
        return False
    status = description["StackStatus"] if description else "DELETE_COMPLETE"
    if description is not None and status in stacks.SUCCEEDED:
        resumed = executions.resume(sfn, token, output=stacks.info(description).model_dump(mode="json"))
    else:
        from hivemind.medic.diagnose import diagnose_stack

        diagnosis = diagnose_stack(cfn, stack_id, status)
        resumed = executions.resume(sfn, token, error="StackCreateFailed", cause=diagnosis.summary)
    logger.info("stack settled", extra={"stack_id": stack_id, "status": status, "resumed": resumed})
    return resumed
