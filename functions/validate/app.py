"""Validate template: cfn-lint with a runner kept warm across invocations of this container."""

import os
from typing import Any

from hivemind.aws.clients import client
from hivemind.models import WorkflowState
from hivemind.observability import lambda_handler
from hivemind.policy.lint import runner
from hivemind.settings import get_settings
from hivemind.workflow.validate import validate_template

# built during the container's init, not in its first invocation (cfn-lint's rules and schemas);
# Lambda always sets AWS_REGION, the region Validate lints for
runner((os.environ.get("AWS_REGION", "us-east-1"),))


@lambda_handler("deployment_id")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = get_settings()
    state = WorkflowState.model_validate(event)
    return validate_template(state, s3=client("s3", settings.region), settings=settings).model_dump(mode="json")
