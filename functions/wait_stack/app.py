"""Wait for stack: park the task token; the stack-status event (or this call) resumes the execution."""

from typing import Any

from hivemind.aws.clients import client
from hivemind.models import WaitStackInput
from hivemind.observability import lambda_handler
from hivemind.settings import get_settings
from hivemind.workflow.stack import wait_for_stack


@lambda_handler("deployment_id")
def handler(event: dict[str, Any], context: Any) -> None:
    settings = get_settings()
    payload = WaitStackInput.model_validate(event)
    wait_for_stack(
        payload,
        cfn=client("cloudformation", settings.region),
        ddb=client("dynamodb", settings.region),
        sfn=client("stepfunctions", settings.region),
        settings=settings,
    )
