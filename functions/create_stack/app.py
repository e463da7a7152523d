"""Create stack: create the app's stack, or update it through a change set (deployment id as token)."""

from typing import Any

from hivemind.aws.clients import client
from hivemind.models import WorkflowState
from hivemind.observability import lambda_handler
from hivemind.settings import get_settings
from hivemind.workflow.stack import create_stack


@lambda_handler("deployment_id")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = get_settings()
    state = WorkflowState.model_validate(event)
    cfn, ddb = client("cloudformation", settings.region), client("dynamodb", settings.region)
    s3 = client("s3", settings.region)
    return create_stack(state, cfn=cfn, ddb=ddb, s3=s3, settings=settings).model_dump(mode="json")
