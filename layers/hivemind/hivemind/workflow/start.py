"""Start a deployment: record it, then start its execution (API, CLI and pushes all land here)."""

from __future__ import annotations

import secrets
from typing import Any

from hivemind.aws import deployments, executions
from hivemind.errors import DeploymentConflict, DeploymentNotFound
from hivemind.models import DeploymentRecord, DeploymentRequest
from hivemind.observability import count, logger
from hivemind.settings import Settings
from hivemind.workflow.access import check_may_change
from hivemind.workflow.admission import admit

# a start that recorded its deployment but never started the execution holds the app this long
UNSTARTED_HOLD_S = 60
# a destroy holds its app until the Medic records the stack's end, at most this long (a lost
# status event must not lock the app for good)
DELETING_HOLD_S = 3600


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
    redeploy_of: str | None = None,
    ssm: Any = None,
) -> DeploymentRecord:
    """Take the app (one active deployment per app; only its owner or an admin may change it),
    record the deployment as PENDING, start its execution, and mark it RUNNING."""
    if not settings.state_machine_arn:
        from hivemind.errors import ConfigurationError

        raise ConfigurationError("missing environment variable(s): STATE_MACHINE_ARN")
    admit(request, settings)
    deployment_id = deployment_id or new_deployment_id()
    logger.set_correlation_id(deployment_id)  # what the caller's function logs from here on is this deployment's
    deployments.claim_app(
        ddb,
        settings.deployments_table,
        request.app_name,
        deployment_id,
        caller=created_by,
        holds=lambda holder, since: still_running(ddb, sfn, settings.deployments_table, holder, claimed_at=since),
        check_owner=lambda owner: check_may_change(request.app_name, owner, created_by, settings.admin_principals),
    )
    request = stash_environment(request, deployment_id, settings=settings, ssm=ssm)
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
        redeploy_of=redeploy_of,
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
    count("DeploymentsStarted", app=request.app_name)
    return record.model_copy(update={"status": "RUNNING", "execution_arn": arn})


def still_running(ddb: Any, sfn: Any, table: str, deployment_id: str, *, claimed_at: str | None = None) -> bool:
    """Whether a deployment still holds its app: its execution runs (asked of Step Functions, not
    of the record, which a crashed ending may leave RUNNING), the Medic is still putting the app
    back after its execution ended, or its stack is being destroyed. A
    deployment not recorded yet holds the app it claimed for UNSTARTED_HOLD_S (its start is under
    way: the claim comes before the record), then no longer (that start failed)."""
    try:
        record = deployments.get(ddb, table, deployment_id)
    except DeploymentNotFound:
        if claimed_at is None:
            return False
        from datetime import datetime

        return (deployments.now() - datetime.fromisoformat(claimed_at)).total_seconds() < UNSTARTED_HOLD_S
    age = (deployments.now() - record.updated_at).total_seconds()
    if record.status in ("PENDING", "RUNNING"):
        if record.medic_pending is not None:  # its execution ended; the Medic is putting the app back
            return age < DELETING_HOLD_S
        if record.execution_arn:
            return bool(sfn.describe_execution(executionArn=record.execution_arn)["status"] == "RUNNING")
        return age < UNSTARTED_HOLD_S
    return record.status == "DELETING" and age < DELETING_HOLD_S


def stash_environment(
    request: DeploymentRequest, deployment_id: str, *, settings: Settings, ssm: Any
) -> DeploymentRequest:
    """The request's environment values moved into SSM SecureString parameters of the deployment's
    own (under the app's secrets prefix), the request keeping only references: no record, execution
    input or history, template or report ever holds a value. The instance reads them at boot."""
    if not request.environment:
        return request
    from hivemind.aws.clients import client

    ssm = ssm or client("ssm", settings.region)
    refs = dict(request.environment_refs)
    for name, value in sorted(request.environment.items()):
        parameter = f"/{settings.secret_prefix}/{request.app_name}/deployments/{deployment_id}/{name}"
        ssm.put_parameter(
            Name=parameter,
            Value=value,
            Type="SecureString",
            Overwrite=True,  # the same start again (a retried one) writes the same value
            Description=f"HiveMind: {name} of {request.app_name}, deployment {deployment_id}",
        )
        refs[name] = f"ssm:{parameter}"
    return request.model_copy(update={"environment": {}, "environment_refs": refs})
