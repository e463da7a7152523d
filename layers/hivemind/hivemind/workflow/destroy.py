"""Destroy a deployment: delete its stack. The Medic records the end (DELETED or DELETE_FAILED)
when CloudFormation's stack-status event arrives."""

from __future__ import annotations

from typing import Any

from hivemind.aws import deployments, stacks
from hivemind.errors import DeploymentConflict
from hivemind.models import DeploymentRecord
from hivemind.settings import Settings
from hivemind.workflow.access import check_may_change


def destroy_deployment(
    deployment_id: str, *, ddb: Any, cfn: Any, settings: Settings, caller: str | None = None
) -> DeploymentRecord:
    """Start deleting the deployment's stack; idempotent, refused while the workflow runs and to
    a caller who is neither the app's owner nor an admin."""
    record = deployments.get(ddb, settings.deployments_table, deployment_id)
    owner = deployments.app_owner(ddb, settings.deployments_table, record.app_name)
    check_may_change(record.app_name, owner, caller, settings.admin_principals)
    if record.status in ("PENDING", "RUNNING"):
        raise DeploymentConflict(f"deployment {deployment_id} is still {record.status}; destroy it once it has ended")
    if record.status in ("DELETING", "DELETED"):
        return record
    description = stacks.describe(cfn, record.stack_id) if record.stack_id else None
    if description is None or description["StackStatus"] == "DELETE_COMPLETE":
        status = "DELETED"
    elif (owner := stacks.tags(description).get(stacks.DEPLOYMENT_TAG)) != deployment_id:
        raise DeploymentConflict(
            f"the stack of deployment {deployment_id} now runs deployment {owner}; destroy {owner} to remove the app"
        )
    else:
        # the record says DELETING before the delete starts: the stack's DELETE_COMPLETE event,
        # which may come at once, finds it so (the Medic records only ends of deletes it expects)
        deployments.update(ddb, settings.deployments_table, deployment_id, status="DELETING")
        try:
            cfn.delete_stack(StackName=description["StackId"], ClientRequestToken=f"{deployment_id}-destroy")
        except Exception:
            deployments.update(ddb, settings.deployments_table, deployment_id, status=record.status)
            raise
        return deployments.get(ddb, settings.deployments_table, deployment_id)
    deployments.update(ddb, settings.deployments_table, deployment_id, status=status)
    return deployments.get(ddb, settings.deployments_table, deployment_id)
