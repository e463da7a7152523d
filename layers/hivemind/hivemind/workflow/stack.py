"""Create stack, and Wait for stack: the execution waits on a task token that whichever comes
first (the waiting function finding the stack settled, or the stack-status event) hands back."""

from __future__ import annotations

from typing import Any

from hivemind.aws import artifacts, clients, deployments, executions, stacks
from hivemind.errors import StackCreateFailed
from hivemind.models import StackInfo, WaitStackInput, WorkflowState
from hivemind.observability import logger
from hivemind.settings import Settings


def stack_tags(state: WorkflowState) -> dict[str, str]:
    """The stack's tags (CloudFormation gives them to every resource): who made it, for which app."""
    return {
        stacks.DEPLOYMENT_TAG: state.deployment_id,
        "hivemind:app": state.request.app_name,
        "hivemind:managed-by": "hivemind",
    }


def create_stack(state: WorkflowState, *, cfn: Any, ddb: Any, settings: Settings, s3: Any = None) -> StackInfo:
    """Create the app's stack, or update it through a change set when the app is deployed
    already; the deployment id (and attempt) is the idempotency token."""
    if state.template is None or state.plan is None:
        raise ValueError("Create stack needs the template and the plan")
    token = state.deployment_id if state.attempt == 1 else f"{state.deployment_id}-{state.attempt}"
    tags = stack_tags(state)
    name = state.template.stack_name
    existing = stacks.describe(cfn, name)
    if existing is not None and existing["StackStatus"] != "DELETE_COMPLETE":
        return _update_stack(state, existing, tags=tags, token=token, cfn=cfn, ddb=ddb, s3=s3, settings=settings)
    stack_id = stacks.create(
        cfn,
        stack_name=name,
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
        stack_name=name,
        stack_id=stack_id,
        stack_operation="create",
        attempts=state.attempt,
    )
    logger.info(f"creating stack {name}", extra={"stack_id": stack_id})
    return StackInfo(stack_name=name, stack_id=stack_id, status="CREATE_IN_PROGRESS")


def _update_stack(
    state: WorkflowState,
    existing: dict[str, Any],
    *,
    tags: dict[str, str],
    token: str,
    cfn: Any,
    ddb: Any,
    s3: Any,
    settings: Settings,
) -> StackInfo:
    """The app is deployed: keep its previous template (the Medic restores it on failure) and
    apply the new one through a change set."""
    assert state.template is not None
    status, stack_id = existing["StackStatus"], existing["StackId"]
    if status not in stacks.UPDATABLE:
        owner = stacks.tags(existing).get(stacks.DEPLOYMENT_TAG, "unknown")
        raise StackCreateFailed(
            f"stack {state.template.stack_name} of {state.request.app_name} is {status} (deployment {owner}); "
            "wait for it to settle, or destroy that deployment first"
        )
    previous_owner = stacks.tags(existing).get(stacks.DEPLOYMENT_TAG)
    previous_key = artifacts.put(
        s3 or clients.client("s3", settings.region),
        settings.artifacts_bucket,
        artifacts.key(state.deployment_id, "previous-template.json"),
        stacks.template_body(cfn, stack_id),
        "application/json",
    )
    changed = stacks.update(
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
        stack_operation="update" if changed else "unchanged",
        previous_template_key=previous_key,
        previous_deployment_id=previous_owner,
        attempts=state.attempt,
    )
    return StackInfo(
        stack_name=state.template.stack_name, stack_id=stack_id, status="UPDATE_IN_PROGRESS" if changed else status
    )


def wait_for_stack(payload: WaitStackInput, *, cfn: Any, ddb: Any, sfn: Any, settings: Settings) -> None:
    """Park the task token on the deployment, then settle at once if the stack already has."""
    deployments.park_task_token(
        ddb,
        settings.deployments_table,
        payload.stack_id,
        payload.deployment_id,
        payload.task_token,
        for_medic=payload.for_medic,
    )
    description = stacks.describe(cfn, payload.stack_id)
    if description is None or description["StackStatus"] in stacks.SETTLED:
        settle(payload.stack_id, description, cfn=cfn, ddb=ddb, sfn=sfn, settings=settings)


def settle(
    stack_id: str,
    description: dict[str, Any] | None,
    *,
    cfn: Any,
    ddb: Any,
    sfn: Any,
    settings: Settings,
) -> bool:
    """Resume the execution waiting on this stack, once, if the stack has settled now (a late
    event of an earlier operation does not end a wait on a later one). True when this call
    resumed it. A deployment's wait goes on to the next step only from a stack that succeeded;
    the Medic's wait goes on from any settled status (it reads the stack itself next)."""
    status = description["StackStatus"] if description else "DELETE_COMPLETE"
    if status not in stacks.SETTLED:
        return False
    claimed = deployments.claim_waiter(ddb, settings.deployments_table, stack_id)
    if claimed is None:
        return False
    token, for_medic = claimed
    if for_medic:
        resumed = executions.resume(sfn, token, output={"stack_id": stack_id, "status": status})
        logger.info(f"stack settled for the Medic: {status}", extra={"stack_id": stack_id, "resumed": resumed})
        return resumed
    if description is not None and status in stacks.SUCCEEDED:
        resumed = executions.resume(sfn, token, output=stacks.info(description).model_dump(mode="json"))
        logger.info(f"stack settled: {status}", extra={"stack_id": stack_id, "resumed": resumed})
        return resumed
    from hivemind.medic.diagnose import diagnose_stack

    diagnosis = diagnose_stack(cfn, stack_id, status)
    resumed = executions.resume(sfn, token, error="StackCreateFailed", cause=diagnosis.summary)
    logger.error(f"StackCreateFailed: {status}: {diagnosis.summary}", extra={"stack_id": stack_id, "resumed": resumed})
    return resumed
