"""Push: a push to a tracked CodeCommit branch (EventBridge) starts a deployment of that commit."""

from typing import Any

from hivemind.aws.clients import client
from hivemind.models import CodeCommitPush
from hivemind.observability import lambda_handler, logger
from hivemind.settings import get_settings
from hivemind.workflow.push import deploy_push, deployment_id_for


@lambda_handler()
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = get_settings()
    push = CodeCommitPush.model_validate(event)
    logger.set_correlation_id(deployment_id_for(push))  # the deployment this push starts (or started)
    outcome = deploy_push(
        push,
        branch=settings.tracked_branch,
        settings=settings,
        ddb=client("dynamodb", settings.region),
        sfn=client("stepfunctions", settings.region),
    )
    logger.info(outcome.reason, extra={"deployment_id": outcome.deployment_id, "started": outcome.started})
    return outcome.model_dump(mode="json")
