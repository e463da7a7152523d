"""Start a deployment: record it, then start its execution (API, CLI and pushes all land here)."""

from __future__ import annotations

import secrets
from typing import Any

from hivemind.aws import deployments, executions
from hivemind.errors import DeploymentConflict
from hivemind.models import DeploymentRecord, DeploymentRequest
from hivemind.settings import Settings


def new_deployment_id() -> str:
    """Time-ordered, unique, valid as an execution name and a ClientRequestToken."""
    return f"d-{deployments.now():%Y%m%d-%H%M%S}-{secrets.token_hex(4)}"


def start_deployment(
    request: DeploymentRequest,
    *,
    settings: Settings,
    ddb: Any,
    sfn: Any,
    deployment_id: str | None = None,
    created_by: str | None = None,
    rollback_of: str | None = None,
) -> DeploymentRecord:
    """Record the deployment as PENDING, start its execution, and mark it RUNNING."""
    if not settings.state_machine_arn:
        from hivemind.errors import ConfigurationError

        raise ConfigurationError("missing environment variable(s): STATE_MACHINE_ARN")
    deployment_id = deployment_id or new_deployment_id()
    created = deployments.now()
    record = DeploymentRecord(
        deployment_id=deployment_id,
        app_name=request.app_name,
        status="PENDING",
        request=request,
        created_at=created,
        updated_at=created,
        created_by=created_by,
        rollback_of=rollback_of,
    )
    try:
        deployments.put_new(ddb, settings.deployments_table, record)
    except DeploymentConflict:
        # the same id again: a start that recorded the deployment but failed before its execution
        # began (say, throttled) is finished now; anything else is a real conflict
        existing = deployments.get(ddb, settings.deployments_table, deployment_id)
        if existing.status != "PENDING" or existing.execution_arn or existing.request != request:
            raise
        record = existing
    document = {"deployment_id": deployment_id, "request": request.model_dump(mode="json")}
    arn = executions.start(sfn, settings.state_machine_arn, deployment_id, document)
    deployments.update(ddb, settings.deployments_table, deployment_id, status="RUNNING", execution_arn=arn)
    return record.model_copy(update={"status": "RUNNING", "execution_arn": arn})
