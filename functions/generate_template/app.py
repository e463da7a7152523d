"""Generate template: turn the plan into a CloudFormation template in the artifacts bucket."""

from typing import Any

from hivemind.aws.clients import client
from hivemind.models import WorkflowState
from hivemind.observability import lambda_handler
from hivemind.settings import get_settings
from hivemind.workflow.generate import generate_template


@lambda_handler("deployment_id")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = get_settings()
    state = WorkflowState.model_validate(event)
    artifact = generate_template(
        state,
        s3=client("s3", settings.region),
        settings=settings,
        cfn=client("cloudformation", settings.region),
        ec2=client("ec2", settings.region),
    )
    return artifact.model_dump(mode="json")
