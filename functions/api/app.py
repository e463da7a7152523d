"""HTTP API: start and read deployments. Domain errors map to HTTP statuses here, in one place."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body

from hivemind.aws import artifacts, deployments
from hivemind.aws.clients import client
from hivemind.aws.executions import with_live_steps
from hivemind.errors import ConfigurationError, DeploymentConflict, DeploymentNotFound, SourceError
from hivemind.models import DeploymentRecord, DeploymentRequest
from hivemind.observability import logger, tracer
from hivemind.settings import get_settings
from hivemind.workflow.destroy import destroy_deployment
from hivemind.workflow.start import start_deployment

app = APIGatewayRestResolver(enable_validation=True)


@app.post("/deployments")
def create(request: Annotated[DeploymentRequest, Body()]) -> Response[DeploymentRecord]:
    s = get_settings()
    record = start_deployment(
        request, settings=s, ddb=client("dynamodb", s.region), sfn=client("stepfunctions", s.region)
    )
    return Response(status_code=202, body=record, content_type=content_types.APPLICATION_JSON)


@app.post("/uploads")
def create_upload() -> Response[dict[str, Any]]:
    """Where to PUT a source bundle (a zip, Content-Type application/zip), and the source to deploy it."""
    import uuid

    s = get_settings()
    key = f"uploads/{uuid.uuid4().hex}/source.zip"
    body = {
        "upload_url": artifacts.upload_url(client("s3", s.region), s.artifacts_bucket, key),
        "expires_in": 900,
        "source": {"type": "s3", "bucket": s.artifacts_bucket, "key": key},
    }
    return Response(status_code=201, body=body, content_type=content_types.APPLICATION_JSON)


@app.get("/deployments")
def list_deployments() -> list[DeploymentRecord]:
    s = get_settings()
    return deployments.list_recent(client("dynamodb", s.region), s.deployments_table)


@app.get("/deployments/<deployment_id>")
def get(deployment_id: str) -> DeploymentRecord:
    s = get_settings()
    record = deployments.get(client("dynamodb", s.region), s.deployments_table, deployment_id)
    return with_live_steps(record, client("stepfunctions", s.region))


@app.delete("/deployments/<deployment_id>")
def destroy(deployment_id: str) -> Response[DeploymentRecord]:
    s = get_settings()
    record = destroy_deployment(
        deployment_id, ddb=client("dynamodb", s.region), cfn=client("cloudformation", s.region), settings=s
    )
    return Response(status_code=202, body=record, content_type=content_types.APPLICATION_JSON)


@app.get("/deployments/<deployment_id>/report")
def report(deployment_id: str) -> Any:
    s = get_settings()
    record = deployments.get(client("dynamodb", s.region), s.deployments_table, deployment_id)
    if not record.report_key:
        raise DeploymentNotFound(f"deployment {deployment_id} has no report yet (status {record.status})")
    return Response(
        200,
        content_types.APPLICATION_JSON,
        artifacts.get_bytes(client("s3", s.region), s.artifacts_bucket, record.report_key).decode(),
    )


def _error(status: int, message: str, fields: list[dict[str, str]] | None = None) -> Response[Any]:
    body: dict[str, Any] = {"error": message}
    if fields:
        body["fields"] = fields
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


@app.exception_handler(RequestValidationError)
def _invalid(exc: RequestValidationError) -> Response[Any]:
    fields = [{"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"]} for e in exc.errors()]
    return _error(400, "invalid request", fields)


@app.exception_handler(DeploymentNotFound)
def _not_found(exc: DeploymentNotFound) -> Response[Any]:
    return _error(404, str(exc))


@app.exception_handler(DeploymentConflict)
def _conflict(exc: DeploymentConflict) -> Response[Any]:
    return _error(409, str(exc))


@app.exception_handler(SourceError)
def _bad_source(exc: SourceError) -> Response[Any]:
    return _error(400, str(exc))


@app.exception_handler(ConfigurationError)
def _misconfigured(exc: ConfigurationError) -> Response[Any]:
    logger.error("misconfigured", extra={"error": str(exc)})
    return _error(500, "HiveMind is misconfigured; see its logs")


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
