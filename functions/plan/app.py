"""Plan deployment: fetch the source (S3 bundle, git, CodeCommit) and decide how to build and run the app."""

from typing import Any

from hivemind.aws.clients import client
from hivemind.models import WorkflowState
from hivemind.observability import lambda_handler
from hivemind.settings import get_settings
from hivemind.workflow.plan import plan_deployment


@lambda_handler("deployment_id")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = get_settings()
    state = WorkflowState.model_validate(event)
    plan = plan_deployment(
        state,
        s3=client("s3", settings.region),
        codecommit=client("codecommit", settings.region),
        settings=settings,
    )
    return plan.model_dump(mode="json")
