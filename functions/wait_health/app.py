"""Wait for healthy target: looks at the target's health until it is healthy or its failure is final,
within one invocation; the state machine invokes it again when the invocation's time runs out."""

from typing import Any

from hivemind.aws.clients import client
from hivemind.models import WorkflowState
from hivemind.observability import lambda_handler
from hivemind.settings import get_settings
from hivemind.workflow.target import wait_for_health


@lambda_handler("deployment_id")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = get_settings()
    state = WorkflowState.model_validate(event)
    elbv2 = client("elbv2", settings.region)
    remaining_s = lambda: context.get_remaining_time_in_millis() / 1000  # noqa: E731
    return wait_for_health(state, elbv2=elbv2, remaining_s=remaining_s).model_dump(mode="json")
