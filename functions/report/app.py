"""Report: the JSON report in S3 and the deployment record's final state."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from hivemind.aws.clients import client
from hivemind.models import ReportInput
from hivemind.observability import OUTCOME_METRICS, count, lambda_handler
from hivemind.settings import get_settings
from hivemind.workflow.report import write_report


@lambda_handler("state.deployment_id")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = get_settings()
    payload = ReportInput.model_validate(event)
    result = write_report(
        payload,
        s3=client("s3", settings.region),
        ddb=client("dynamodb", settings.region),
        sfn=client("stepfunctions", settings.region),
        settings=settings,
        cfn=client("cloudformation", settings.region),
    )
    app = payload.state.request.app_name
    count(OUTCOME_METRICS[result.status], app=app)
    if result.duration_s is not None:
        count("DeploymentSeconds", value=result.duration_s, unit=MetricUnit.Seconds, app=app)
    return result.model_dump(mode="json")
