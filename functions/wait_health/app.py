"""Wait for healthy target: one look at the target's health; the state machine retries (bounded)."""

from typing import Any

from hivemind.aws.clients import client
from hivemind.models import WorkflowState
from hivemind.observability import logger, tracer
from hivemind.settings import get_settings
from hivemind.workflow.target import check_health


@logger.inject_lambda_context(correlation_id_path="deployment_id")
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = get_settings()
    state = WorkflowState.model_validate(event)
    return check_health(state, elbv2=client("elbv2", settings.region)).model_dump(mode="json")
