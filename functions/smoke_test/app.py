"""Smoke test: GETs through the load balancer's URL (the health path must answer)."""

from typing import Any

from hivemind.models import WorkflowState
from hivemind.observability import logger, tracer
from hivemind.workflow.smoke import smoke_test


@logger.inject_lambda_context(correlation_id_path="deployment_id")
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    state = WorkflowState.model_validate(event)
    return smoke_test(state).model_dump(mode="json")
