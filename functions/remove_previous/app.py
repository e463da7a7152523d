"""Remove previous release: update the stack to hold only the new release."""

from typing import Any

from hivemind.aws.clients import client
from hivemind.models import WorkflowState
from hivemind.observability import lambda_handler
from hivemind.settings import get_settings
from hivemind.workflow.retire import remove_previous


@lambda_handler("deployment_id")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = get_settings()
    state = WorkflowState.model_validate(event)
    cfn, s3 = client("cloudformation", settings.region), client("s3", settings.region)
    return remove_previous(state, cfn=cfn, s3=s3, settings=settings).model_dump(mode="json")
