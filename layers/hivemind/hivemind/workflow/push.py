"""A push to a tracked CodeCommit branch starts a deployment of that commit.

Which repositories and which branch are tracked is HiveMind's stack configuration (the
EventBridge rule matches only those); the app is named after the repository (two repositories
never share an app, hence a stack). EventBridge
delivers at least once, so the deployment id comes from the event itself: the same push
delivered twice starts one deployment.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import BaseModel

from hivemind.errors import DeploymentConflict
from hivemind.models import CodeCommitPush, CodeCommitSource, DeploymentRequest
from hivemind.models.request import app_name_from
from hivemind.observability import logger
from hivemind.settings import Settings
from hivemind.workflow.start import start_deployment


class PushOutcome(BaseModel):
    """What a push did: the deployment it started, or why it started none."""

    started: bool
    deployment_id: str | None = None
    reason: str


def deployment_id_for(push: CodeCommitPush) -> str:
    """The same push gives the same id, two repositories' pushes never (time-ordered, valid as an
    execution name)."""
    what = f"{push.detail.repository_name}@{push.detail.commit_id or push.id}"
    return f"d-{push.time:%Y%m%d-%H%M%S}-{hashlib.sha256(what.encode()).hexdigest()[:8]}"


def deploy_push(push: CodeCommitPush, *, branch: str, settings: Settings, ddb: Any, sfn: Any) -> PushOutcome:
    """Start a deployment of the pushed commit when it is a new head of the tracked branch."""
    detail = push.detail
    if detail.event not in ("referenceCreated", "referenceUpdated") or detail.commit_id is None:
        return PushOutcome(started=False, reason=f"{detail.event} of {detail.reference_name} deploys nothing")
    if detail.reference_type != "branch" or detail.reference_name != branch:
        return PushOutcome(
            started=False, reason=f"{detail.reference_type} {detail.reference_name} is not the tracked branch {branch}"
        )
    request = DeploymentRequest(
        app_name=app_name_from(detail.repository_name, distinct=True),
        source=CodeCommitSource(repository=detail.repository_name, commit=detail.commit_id),
    )
    deployment_id = deployment_id_for(push)
    try:
        start_deployment(request, settings=settings, ddb=ddb, sfn=sfn, deployment_id=deployment_id)
    except DeploymentConflict:
        logger.info("push delivered again; its deployment exists", extra={"deployment_id": deployment_id})
        return PushOutcome(started=False, deployment_id=deployment_id, reason="this push was deployed already")
    return PushOutcome(
        started=True,
        deployment_id=deployment_id,
        reason=f"{detail.repository_name}@{detail.commit_id[:12]} pushed to {branch}",
    )
