"""Roll an app back: deploy again, exactly, what its last good deployment before this one ran.

"Exactly" means the same source bytes (the bundle that deployment's plan read, not its git
branch, which may have moved since), the same environment, secrets, overrides and network. It
is a new deployment through the whole workflow (plan, validate, update the stack, health, smoke
test), so a roll back is checked like any deployment and shows in the history as one.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from hivemind.aws import artifacts, deployments, executions
from hivemind.errors import DeploymentConflict, SourceError
from hivemind.models import DeploymentRecord, S3Source
from hivemind.settings import Settings
from hivemind.workflow.access import check_may_change
from hivemind.workflow.start import start_deployment


def last_good_before(ddb: Any, table: str, record: DeploymentRecord) -> DeploymentRecord | None:
    """The newest SUCCEEDED deployment of the same app created before `record`."""
    after = None
    while True:
        found, after = deployments.page(ddb, table, app_name=record.app_name, status="SUCCEEDED", after=after)
        for earlier in found:
            if earlier.created_at < record.created_at:
                return earlier
        if after is None:
            return None


def rollback_deployment(
    deployment_id: str, *, settings: Settings, ddb: Any, sfn: Any, s3: Any, created_by: str | None = None
) -> DeploymentRecord:
    """Start the deployment that returns `deployment_id`'s app to its previous good version; a
    deployment still under way is cancelled instead (`cancel`)."""
    record = deployments.get(ddb, settings.deployments_table, deployment_id)
    owner = deployments.app_owner(ddb, settings.deployments_table, record.app_name)
    check_may_change(record.app_name, owner, created_by, settings.admin_principals)
    if record.status in ("PENDING", "RUNNING"):
        return cancel(record, sfn=sfn, caller=created_by)
    good = last_good_before(ddb, settings.deployments_table, record)
    if good is None:
        raise DeploymentConflict(
            f"app {record.app_name} has no successful deployment before {deployment_id} to roll back to"
        )
    return _deploy_again(
        good, settings=settings, ddb=ddb, sfn=sfn, s3=s3, created_by=created_by, rollback_of=deployment_id
    )


CANCELLED = "HiveMind.Cancelled"


def cancel(record: DeploymentRecord, *, sfn: Any, caller: str | None) -> DeploymentRecord:
    """Stop a deployment under way. The Medic, on its execution's end (ABORTED), puts the app back
    as it was: an update's stack serves the previous release again, a new app's stack is deleted
    (medic/handle.py `on_execution_ended`). The record is returned as it is; it ends FAILED."""
    if not record.execution_arn:
        raise DeploymentConflict(f"deployment {record.deployment_id} has not started yet; try again in a moment")
    entered = {
        e["stateEnteredEventDetails"]["name"]
        for e in executions.history(sfn, record.execution_arn)
        if e["type"] == "TaskStateEntered"
    }
    if "Remove previous release" in entered:
        raise DeploymentConflict(
            f"deployment {record.deployment_id} serves alone already and is removing the previous release; "
            "roll it back once it has ended (the previous release then starts beside it)"
        )
    try:
        sfn.stop_execution(
            executionArn=record.execution_arn, error=CANCELLED, cause=f"rolled back by {caller or 'unknown caller'}"
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ExecutionDoesNotExist":
            raise
    return record


def redeploy_release(
    release_id: str, *, settings: Settings, ddb: Any, sfn: Any, s3: Any, created_by: str | None = None
) -> DeploymentRecord:
    """Start a deployment of an earlier release of an app, exactly (`hivemind rollback APP --to ID`)."""
    release = deployments.get(ddb, settings.deployments_table, release_id)
    owner = deployments.app_owner(ddb, settings.deployments_table, release.app_name)
    check_may_change(release.app_name, owner, created_by, settings.admin_principals)
    if release.status != "SUCCEEDED":
        raise DeploymentConflict(
            f"deployment {release_id} is {release.status}: only a release that succeeded can be deployed again"
        )
    return _deploy_again(
        release, settings=settings, ddb=ddb, sfn=sfn, s3=s3, created_by=created_by, redeploy_of=release_id
    )


def _deploy_again(
    good: DeploymentRecord,
    *,
    settings: Settings,
    ddb: Any,
    sfn: Any,
    s3: Any,
    created_by: str | None,
    rollback_of: str | None = None,
    redeploy_of: str | None = None,
) -> DeploymentRecord:
    """A new deployment of exactly what `good` ran: its source bundle and its request's settings."""
    try:
        plan = json.loads(
            artifacts.get_bytes(s3, settings.artifacts_bucket, artifacts.key(good.deployment_id, "plan.json"))
        )
        bucket, key = artifacts.parse_s3_uri(plan["source_bundle"])
        s3.head_object(Bucket=bucket, Key=key)
    except (SourceError, ClientError, KeyError, TypeError, ValueError) as exc:
        raise DeploymentConflict(
            f"the source of {good.deployment_id} (the version to deploy again) is no longer stored: {exc}"
        ) from None
    request = good.request.model_copy(update={"source": S3Source(bucket=bucket, key=key)})
    return start_deployment(
        request,
        settings=settings,
        ddb=ddb,
        sfn=sfn,
        created_by=created_by,
        rollback_of=rollback_of,
        redeploy_of=redeploy_of,
    )
