"""Drain previous release: deregister the release that served before the new one (its connections drain)."""

from typing import Any

from hivemind.aws.clients import client
from hivemind.models import WorkflowState
from hivemind.observability import lambda_handler
from hivemind.settings import get_settings
from hivemind.workflow.retire import drain_previous


@lambda_handler("deployment_id")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = get_settings()
    state = WorkflowState.model_validate(event)
    return drain_previous(state, elbv2=client("elbv2", settings.region)).model_dump(mode="json")
