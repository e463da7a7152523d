"""The janitor: HiveMind's stacks that nothing else will clean up, found (and, applied, removed).

The Medic deletes a failed stack when it hears of it, and the reconciler makes up for a lost
status event while an execution waits; what neither ever hears of stays: a stack whose Medic
failed past its retries into the dead-letter queue, a failed delete nobody retried, stacks
left by a HiveMind that was removed and installed again. The janitor reads every stack carrying
HiveMind's tag and:
- deletes one that cannot serve (its create failed: CREATE_FAILED, ROLLBACK_COMPLETE,
  ROLLBACK_FAILED; or its delete failed: DELETE_FAILED) once the deployment it is tagged with
  no longer runs (it ended, or no record of it is left);
- only reports a stack that serves (CREATE_COMPLETE, UPDATE_*) whose deployment record is gone:
  removing a running app on that evidence would be worse than leaving it, so a person decides
  (`hivemind destroy`, or delete the stack).
Runs every hour (the Medic's Janitor schedule, applied) and on demand (`hivemind janitor
[--apply]`, a dry run by default).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from hivemind.aws import deployments, stacks
from hivemind.errors import DeploymentNotFound
from hivemind.settings import Settings
from hivemind.workflow.start import still_running

MANAGED_TAG = "hivemind:managed-by"
CANNOT_SERVE = frozenset({"CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED"})


class Leftover(BaseModel):
    stack_name: str
    stack_id: str
    status: str
    deployment_id: str | None
    why: str
    action: Literal["delete", "report"]
    done: str | None = None


def find(*, cfn: Any, ddb: Any, sfn: Any, settings: Settings) -> list[Leftover]:
    """Every HiveMind stack nothing else will clean up, with what to do about it."""
    found: list[Leftover] = []
    for description in _hiveminds_stacks(cfn, settings.stack_prefix):
        status = description["StackStatus"]
        if status.endswith("_IN_PROGRESS"):
            continue  # CloudFormation is working on it; whatever asked will hear of its end
        deployment_id = stacks.tags(description).get(stacks.DEPLOYMENT_TAG)
        gone = deployment_id is None or _vanished(ddb, settings.deployments_table, deployment_id)
        if not gone and still_running(ddb, sfn, settings.deployments_table, str(deployment_id)):
            continue
        base = {
            "stack_name": description["StackName"],
            "stack_id": description["StackId"],
            "status": status,
            "deployment_id": deployment_id,
        }
        whose = "no record of its deployment is left" if gone else f"its deployment {deployment_id} has ended"
        if status in CANNOT_SERVE:
            found.append(Leftover(**base, why=f"it cannot serve ({status}) and {whose}", action="delete"))
        elif gone:
            found.append(
                Leftover(
                    **base,
                    why=f"it serves ({status}) but {whose}: HiveMind does not know this app any more; "
                    "delete the stack if nobody uses it",
                    action="report",
                )
            )
    return found


def sweep(*, cfn: Any, ddb: Any, sfn: Any, settings: Settings, apply: bool) -> list[Leftover]:
    """`find`, and with `apply` start deleting what may be deleted (not waiting: each delete's end
    comes as a stack event; a delete that fails again is found again next time)."""
    found = find(cfn=cfn, ddb=ddb, sfn=sfn, settings=settings)
    if not apply:
        return found
    for leftover in found:
        if leftover.action != "delete":
            continue
        token = f"janitor-{leftover.stack_id.rsplit('/', 1)[-1]}"[:128]
        cfn.delete_stack(StackName=leftover.stack_id, ClientRequestToken=token)
        after = stacks.describe(cfn, leftover.stack_id)
        leftover.done = after["StackStatus"] if after else "DELETE_COMPLETE"
    return found


def _hiveminds_stacks(cfn: Any, prefix: str) -> list[dict[str, Any]]:
    found = []
    for page in cfn.get_paginator("describe_stacks").paginate():
        for description in page["Stacks"]:
            if description["StackName"].startswith(prefix) and stacks.tags(description).get(MANAGED_TAG) == "hivemind":
                found.append(description)
    return found


def _vanished(ddb: Any, table: str, deployment_id: str) -> bool:
    try:
        deployments.get(ddb, table, deployment_id)
    except DeploymentNotFound:
        return True
    return False
