"""Smoke test: GETs through the load balancer's URL (the health path must answer)."""

from typing import Any

from hivemind.models import WorkflowState
from hivemind.observability import lambda_handler
from hivemind.workflow.smoke import smoke_test


@lambda_handler("deployment_id")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    state = WorkflowState.model_validate(event)
    return smoke_test(state).model_dump(mode="json")
