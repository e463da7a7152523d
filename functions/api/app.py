"""HTTP API: start, read, roll back and destroy deployments.

Every error is one JSON shape, `{"error": {"code", "message", "field"}, "request_id"}`: the
domain's errors map to statuses here, in one place; a request the API cannot read (too large,
nested too deep, not JSON, invalid fields) is a 4xx naming the field; a known path with another
method is a 405 with `Allow`; anything unexpected is a 500 with the request id to find it in
the logs, never API Gateway's bare 502. API Gateway's own errors (unknown path, missing
signature, throttling) use the same shape through the template's GatewayResponses.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Query
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from hivemind.aws import artifacts, deployments, stacks
from hivemind.aws.clients import client
from hivemind.aws.executions import history as history_events
from hivemind.aws.executions import readable, with_live_steps
from hivemind.aws.logs import deployment_logs
from hivemind.errors import (
    AccessDenied,
    ConfigurationError,
    DeploymentConflict,
    DeploymentNotFound,
    RequestRefused,
    SourceError,
)
from hivemind.models import DeploymentRecord, DeploymentRequest
from hivemind.models.record import DeploymentStatus, without_values
from hivemind.observability import lambda_handler, logger
from hivemind.settings import get_settings
from hivemind.workflow.destroy import destroy_deployment
from hivemind.workflow.report import REPORT_PAGE
from hivemind.workflow.rollback import redeploy_release, rollback_deployment
from hivemind.workflow.start import start_deployment

# A deployment request is a few KiB; these bounds keep every one far inside Step Functions' 256 KB
# input and DynamoDB's 400 KB item, and refuse what json would recurse on before it is parsed.
MAX_BODY_BYTES = 64 * 1024
MAX_DEPTH = 8
IDEMPOTENCY_S = 24 * 3600

app = APIGatewayRestResolver(enable_validation=True)


def _caller() -> str | None:
    """Who signed the request (API Gateway's IAM authorisation puts the principal here)."""
    identity = app.current_event.request_context.identity
    return identity.user_arn or identity.caller


@app.post("/deployments")
def create(
    request: Annotated[DeploymentRequest, Body()],
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$")
    ] = None,
) -> Response[DeploymentRecord]:
    """Start a deployment. The same `Idempotency-Key` from the same caller within 24 hours
    answers with the deployment the first request started (a different body with it: 422)."""
    s = get_settings()
    caller = _caller()

    def start(call: dict[str, Any]) -> dict[str, Any]:
        record = start_deployment(
            DeploymentRequest.model_validate(call["request"]),
            settings=s,
            ddb=client("dynamodb", s.region),
            sfn=client("stepfunctions", s.region),
            created_by=caller,
        )
        return without_values(record).model_dump(mode="json")

    call = {"caller": caller or "", "key": idempotency_key, "request": request.model_dump(mode="json")}
    if idempotency_key is None:
        return Response(status_code=202, body=start(call), content_type=content_types.APPLICATION_JSON)
    persistence = DynamoDBPersistenceLayer(
        table_name=s.deployments_table, key_attr="deployment_id", boto3_client=client("dynamodb", s.region)
    )
    config = IdempotencyConfig(
        event_key_jmespath="[caller, key]",
        payload_validation_jmespath="request",
        expires_after_seconds=IDEMPOTENCY_S,
        raise_on_no_idempotency_key=True,
    )
    config.register_lambda_context(app.lambda_context)
    once = idempotent_function(
        start, data_keyword_argument="call", persistence_store=persistence, config=config, key_prefix="idempotency"
    )
    return Response(status_code=202, body=once(call=call), content_type=content_types.APPLICATION_JSON)


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
def list_deployments(
    app_name: Annotated[str | None, Query(alias="app", pattern=r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")] = None,
    status: Annotated[DeploymentStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> dict[str, Any]:
    """Deployments newest first, a page at a time; `next_token` continues where a page ended."""
    s = get_settings()
    records, after = deployments.page(
        client("dynamodb", s.region),
        s.deployments_table,
        app_name=app_name,
        status=status,
        limit=limit,
        after=_read_token(next_token),
    )
    token = base64.urlsafe_b64encode(json.dumps(after).encode()).decode() if after else None
    return {"deployments": [without_values(r).model_dump(mode="json") for r in records], "next_token": token}


class _BadToken(ValueError):
    pass


def _read_token(token: str | None) -> dict[str, Any] | None:
    if not token:
        return None
    try:
        after = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error):
        raise _BadToken("next_token is not one this API gave") from None
    if not isinstance(after, dict) or not all(isinstance(v, dict) and set(v) == {"S"} for v in after.values()):
        raise _BadToken("next_token is not one this API gave")
    return after


@app.get("/deployments/<deployment_id>")
def get(deployment_id: str) -> DeploymentRecord:
    s = get_settings()
    record = deployments.get(client("dynamodb", s.region), s.deployments_table, deployment_id)
    return without_values(with_live_steps(record, client("stepfunctions", s.region)))


@app.delete("/deployments/<deployment_id>")
def destroy(deployment_id: str) -> Response[DeploymentRecord]:
    s = get_settings()
    record = destroy_deployment(
        deployment_id,
        ddb=client("dynamodb", s.region),
        cfn=client("cloudformation", s.region),
        settings=s,
        caller=_caller(),
    )
    return Response(status_code=202, body=without_values(record), content_type=content_types.APPLICATION_JSON)


@app.post("/deployments/<deployment_id>/rollback")
def rollback(deployment_id: str) -> Response[DeploymentRecord]:
    """Deploy again what the app ran before this deployment (its last good one); stop it if it runs."""
    return _deploy_again(rollback_deployment, deployment_id)


@app.post("/deployments/<deployment_id>/redeploy")
def redeploy(deployment_id: str) -> Response[DeploymentRecord]:
    """Deploy this release of its app again, exactly (its source bundle and settings)."""
    return _deploy_again(redeploy_release, deployment_id)


def _deploy_again(how: Callable[..., DeploymentRecord], deployment_id: str) -> Response[DeploymentRecord]:
    s = get_settings()
    record = how(
        deployment_id,
        settings=s,
        ddb=client("dynamodb", s.region),
        sfn=client("stepfunctions", s.region),
        s3=client("s3", s.region),
        created_by=_caller(),
    )
    return Response(status_code=202, body=without_values(record), content_type=content_types.APPLICATION_JSON)


@app.get("/deployments/<deployment_id>/history")
def history(deployment_id: str) -> list[dict[str, str]]:
    """The deployment's execution history as the console shows it: states, failures, its end."""
    s = get_settings()
    record = deployments.get(client("dynamodb", s.region), s.deployments_table, deployment_id)
    if not record.execution_arn:
        raise DeploymentNotFound(f"deployment {deployment_id} has no execution (status {record.status})")
    return readable(history_events(client("stepfunctions", s.region), record.execution_arn))


@app.get("/deployments/<deployment_id>/logs")
def logs(
    deployment_id: str,
    step: Annotated[str | None, Query(min_length=1, max_length=80)] = None,
    since: Annotated[int | None, Query(ge=0, description="ms since the epoch: only lines from then on")] = None,
) -> dict[str, Any]:
    """The deployment's lines in HiveMind's function logs (of one step, if named), and its app's
    last log lines (CloudWatch, or the failure log its instance left)."""
    s = get_settings()
    record = deployments.get(client("dynamodb", s.region), s.deployments_table, deployment_id)
    record = with_live_steps(record, client("stepfunctions", s.region))
    if step is not None and step.lower() not in {t.name.lower() for t in record.steps}:
        ran = ", ".join(dict.fromkeys(t.name for t in record.steps)) or "none yet"
        raise RequestRefused(f"deployment {deployment_id} has no step {step!r}; its steps: {ran}", field="step")
    if not s.function_log_group:
        raise ConfigurationError("FUNCTION_LOG_GROUP: not set")
    found = deployment_logs(
        record,
        logs=client("logs", s.region),
        cfn=client("cloudformation", s.region),
        group=s.function_log_group,
        step=step,
        since_ms=since,
    )
    return found.model_dump(mode="json")


@app.get("/deployments/<deployment_id>/events")
def stack_events(
    deployment_id: str,
    since: Annotated[datetime | None, Query(description="ISO-8601: only events from then on")] = None,
) -> list[dict[str, Any]]:
    """The CloudFormation events of the deployment's stack since it started (or `since`),
    oldest first, as `describe-stack-events` prints them: what `hivemind status --follow` shows."""
    s = get_settings()
    record = deployments.get(client("dynamodb", s.region), s.deployments_table, deployment_id)
    if not record.stack_id:
        return []
    start = since or record.created_at
    found = stacks.events_since(client("cloudformation", s.region), record.stack_id, start)
    keys = ("EventId", "Timestamp", "LogicalResourceId", "ResourceType", "ResourceStatus", "ResourceStatusReason")
    return [{k: e[k].isoformat() if k == "Timestamp" else e[k] for k in keys if k in e} for e in found]


@app.get("/deployments/<deployment_id>/report")
def report(
    deployment_id: str,
    format: Annotated[
        Literal["json", "html"], Query(description="json, or html: the same report as one self-contained page")
    ] = "json",
) -> Any:
    s = get_settings()
    record = deployments.get(client("dynamodb", s.region), s.deployments_table, deployment_id)
    if not record.report_key:
        raise DeploymentNotFound(f"deployment {deployment_id} has no report yet (status {record.status})")
    key = record.report_key
    if format == "html":
        key = key.rsplit("/", 1)[0] + f"/{REPORT_PAGE}"
    try:
        body = artifacts.get_bytes(client("s3", s.region), s.artifacts_bucket, key).decode()
    except SourceError:
        raise DeploymentNotFound(
            f"deployment {deployment_id} has no {format} report (an older HiveMind wrote its report)"
        ) from None
    return Response(200, "text/html; charset=utf-8" if format == "html" else content_types.APPLICATION_JSON, body)


@app.get("/janitor")
def janitor_preview() -> list[dict[str, Any]]:
    """What the janitor would remove (and report) now: HiveMind's stacks nothing else cleans up."""
    return _janitor(apply=False)


@app.post("/janitor")
def janitor_run() -> list[dict[str, Any]]:
    """Remove now what the hourly janitor would (any caller: it removes only stacks that cannot serve)."""
    return _janitor(apply=True)


def _janitor(*, apply: bool) -> list[dict[str, Any]]:
    from hivemind.medic.janitor import sweep

    s = get_settings()
    found = sweep(
        cfn=client("cloudformation", s.region),
        ddb=client("dynamodb", s.region),
        sfn=client("stepfunctions", s.region),
        settings=s,
        apply=apply,
    )
    return [leftover.model_dump(mode="json") for leftover in found]


@app.get("/openapi.json")
def openapi() -> Response[str]:
    return Response(200, content_types.APPLICATION_JSON, app.get_openapi_json_schema(title="HiveMind API"))


# ------------------------------------------------------------------------------------ errors
def error(status: int, code: str, message: str, field: str | None = None, **more: Any) -> Response[Any]:
    """The one error shape."""
    body = {"error": {"code": code, "message": message, "field": field, **more}, "request_id": _request_id()}
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def _request_id() -> str | None:
    try:
        return app.current_event.request_context.request_id
    except (AttributeError, KeyError, TypeError):
        return None


@app.exception_handler(RequestValidationError)
def _invalid(exc: RequestValidationError) -> Response[Any]:
    if any(e.get("type") == "json_invalid" for e in exc.errors()):
        return error(400, "invalid-request", "the body is not JSON")
    fields = [
        {"field": ".".join(str(p) for p in e["loc"] if p not in ("body", "query")), "message": e["msg"]}
        for e in exc.errors()
    ]
    first = fields[0] if fields else {"field": None, "message": "invalid request"}
    summary = "; ".join(f"{f['field'] or 'request'}: {f['message']}" for f in fields) or "invalid request"
    return error(400, "invalid-request", summary, first["field"] or None, fields=fields)


@app.exception_handler(RequestUnsupportedContentType)
def _not_json(exc: RequestUnsupportedContentType) -> Response[Any]:
    return error(415, "unsupported-media-type", "send the body as JSON (Content-Type: application/json)")


@app.exception_handler(_BadToken)
def _bad_token(exc: _BadToken) -> Response[Any]:
    return error(400, "invalid-request", str(exc), "next_token")


@app.exception_handler(DeploymentNotFound)
def _not_found(exc: DeploymentNotFound) -> Response[Any]:
    return error(404, "not-found", str(exc))


@app.exception_handler(DeploymentConflict)
def _conflict(exc: DeploymentConflict) -> Response[Any]:
    return error(409, "conflict", str(exc), **({"active": exc.active} if exc.active else {}))


@app.exception_handler(RequestRefused)
def _refused_request(exc: RequestRefused) -> Response[Any]:
    return error(400, "invalid-request", str(exc), exc.field)


@app.exception_handler(AccessDenied)
def _forbidden(exc: AccessDenied) -> Response[Any]:
    return error(403, "forbidden", str(exc))


@app.exception_handler(IdempotencyValidationError)
def _key_reused(exc: IdempotencyValidationError) -> Response[Any]:
    return error(422, "idempotency-key-reused", "this Idempotency-Key came with another request", "Idempotency-Key")


@app.exception_handler(IdempotencyAlreadyInProgressError)
def _key_in_use(exc: IdempotencyAlreadyInProgressError) -> Response[Any]:
    return error(409, "in-progress", "a request with this Idempotency-Key is still being handled", "Idempotency-Key")


@app.exception_handler(SourceError)
def _bad_source(exc: SourceError) -> Response[Any]:
    return error(400, "invalid-source", str(exc), "source")


@app.exception_handler(ConfigurationError)
def _misconfigured(exc: ConfigurationError) -> Response[Any]:
    logger.error("misconfigured", extra={"error": str(exc)})
    return error(500, "misconfigured", "HiveMind is misconfigured; see its logs (request id below)")


@app.exception_handler(NotFoundError)
def _no_route(exc: NotFoundError) -> Response[Any]:
    """No route for this method and path: a known path with another method is a 405."""
    path, method = app.current_event.path, app.current_event.http_method.upper()
    allowed = sorted({r.method for r in app._static_routes + app._dynamic_routes if r.rule.match(path)})
    if allowed and method not in allowed:
        response = error(405, "method-not-allowed", f"{method} is not allowed on {path}; use {', '.join(allowed)}")
        response.headers["Allow"] = ", ".join(allowed)
        return response
    return error(404, "not-found", f"no such path: {path}")


@app.exception_handler(Exception)
def _unexpected(exc: Exception) -> Response[Any]:
    logger.exception("unexpected error")
    return error(500, "internal", "HiveMind failed on this request; the request id finds it in the logs")


# ----------------------------------------------------------------------------------- handler
def _too_deep(body: str, limit: int) -> bool:
    """Whether brackets nest deeper than `limit` (strings skipped), without parsing the body."""
    depth, in_string, escaped = 0, False, False
    for ch in body:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def _refused(event: dict[str, Any]) -> dict[str, Any] | None:
    """A body this API will not parse, answered before any route runs."""
    body = event.get("body") or ""
    if not isinstance(body, str):
        return None
    if event.get("isBase64Encoded"):
        return _plain(400, "invalid-request", "the body must be JSON text, not base64-encoded data", event)
    size = len(body.encode())
    if size > MAX_BODY_BYTES:
        return _plain(413, "too-large", f"the body is {size} bytes; at most {MAX_BODY_BYTES}", event)
    if _too_deep(body, MAX_DEPTH):
        return _plain(400, "invalid-request", f"the body nests deeper than {MAX_DEPTH} levels", event)
    return None


def _plain(status: int, code: str, message: str, event: dict[str, Any], field: str | None = None) -> dict[str, Any]:
    """An API Gateway proxy response outside the resolver (before or after it ran)."""
    request_id = (event.get("requestContext") or {}).get("requestId") if isinstance(event, dict) else None
    body = {"error": {"code": code, "message": message, "field": field}, "request_id": request_id}
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


# the deployment a request is about is the correlation id (a new one's is set once it exists);
# API Gateway's request id, which every error body names, is in every line too
@lambda_handler("pathParameters.deployment_id || requestContext.requestId")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if isinstance(event, dict):
        logger.append_keys(api_request_id=(event.get("requestContext") or {}).get("requestId"))
    try:
        refused = _refused(event)
        if refused is not None:
            return refused
        return app.resolve(event, context)
    except Exception:  # noqa: BLE001 - whatever escapes the resolver is still a JSON 500, never a 502
        logger.exception("unexpected error outside the routes")
        return _plain(500, "internal", "HiveMind failed on this request; the request id finds it in the logs", event)
