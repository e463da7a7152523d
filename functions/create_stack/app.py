"""Create stack: start CloudFormation with the deployment id as ClientRequestToken."""

from typing import Any

from hivemind.aws.clients import client
from hivemind.models import WorkflowState
from hivemind.observability import logger, tracer
from hivemind.settings import get_settings
from hivemind.workflow.stack import create_stack


@logger.inject_lambda_context(correlation_id_path="deployment_id")
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = get_settings()
    state = WorkflowState.model_validate(event)
    cfn, ddb = client("cloudformation", settings.region), client("dynamodb", settings.region)
    return create_stack(state, cfn=cfn, ddb=ddb, settings=settings).model_dump(mode="json")
