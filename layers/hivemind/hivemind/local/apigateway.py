"""API Gateway: HiveMind's REST API over HTTP on 127.0.0.1 (`hivemind local serve`).

What AWS does: a REST API matches each request to a resource and method of its OpenAPI body
(specific methods before ANY), checks the SigV4 signature (AWS_IAM), refuses bodies over 10 MB,
and invokes the function with a proxy event (format 1.0) carrying the caller's identity; its own
refusals are gateway responses, which the template shapes.

What this does, from the same OpenAPI body (kept by local/sam.py): the same matching, the same
event, the same gateway responses. Differently:
- the identity is claimed, not proven: no signature is checked; the caller is the ARN in the
  `X-HiveMind-Local-Caller` header, else the server's `--as` principal;
- stage throttling (MethodSettings) and the 29 s integration timeout are not enforced;
- the presigned S3 URLs the API hands out point at this server (`/_local/s3/BUCKET/KEY`), which
  stores the object in the local S3 while the URL's expiry holds (the signature is not checked).
"""

from __future__ import annotations

import collections
import json
import logging
import re
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

log = logging.getLogger("hivemind.local")

STAGE = "v1"
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's REST payload limit
DEFAULT_CALLER = "arn:aws:iam::123456789012:user/local-developer"
CALLER_HEADER = "X-HiveMind-Local-Caller"
S3_PREFIX = "/_local/s3/"
# API Gateway's default status of each gateway response type HiveMind can meet here
_DEFAULT_STATUS = {
    "MISSING_AUTHENTICATION_TOKEN": 403,
    "REQUEST_TOO_LARGE": 413,
    "INTEGRATION_FAILURE": 504,
    "DEFAULT_4XX": 400,
    "DEFAULT_5XX": 500,
}
_DEFAULT_MESSAGE = {
    "MISSING_AUTHENTICATION_TOKEN": "Missing Authentication Token",
    "REQUEST_TOO_LARGE": "Request Too Long",
    "INTEGRATION_FAILURE": "Internal server error",
}
_PRESIGNED = re.compile(r"https://([a-z0-9][a-z0-9.-]+)\.s3(?:\.[a-z0-9-]+)?\.amazonaws\.com/")


class _Route:
    def __init__(self, path: str, methods: dict[str, str]):
        self.path, self.methods = path, methods
        parts = [re.escape(p) if not p.startswith("{") else f"(?P<{p[1:-1]}>[^/]+)" for p in path.split("/")]
        self.pattern = re.compile("^" + "/".join(parts) + "$")
        self.params = path.count("{")


class LocalApi:
    """One REST API of the local runtime, served until `stop()`."""

    def __init__(self, runtime: Any, *, api: str = "Api", port: int = 0, caller: str = DEFAULT_CALLER):
        if api not in runtime.apis:
            raise ValueError(f"HiveMind's template has no REST API {api}; it has: {', '.join(runtime.apis) or 'none'}")
        definition = runtime.apis[api]
        self.runtime, self.caller = runtime, caller
        # literal segments win over parameters, as in API Gateway
        self.routes = sorted((_Route(p, m) for p, m in definition["routes"].items()), key=lambda r: r.params)
        self.gateway_responses: dict[str, Any] = definition["gateway_responses"]
        self.api_id = uuid.uuid5(uuid.NAMESPACE_URL, api).hex[:10]
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self._server.daemon_threads = True
        self._server.api = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None
        # A Lambda process serves one request at a time, and Powertools' resolver keeps the one it
        # serves in module state (`app.context["_route"]`); this server's threads would share it
        # (seen in CI: KeyError '_route', a 500), so each function takes one request at a time here
        self._serving: collections.defaultdict[str, threading.Lock] = collections.defaultdict(threading.Lock)

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        """The API's base URL (its stage), as the stack's ApiUrl output is on AWS."""
        return f"{self.root}/{STAGE}"

    def start(self) -> str:
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-api", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LocalApi:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # one request -----------------------------------------------------------------------------
    def handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        request_id = str(uuid.uuid4())
        split = urlsplit(target)
        path = unquote(split.path)
        if path.startswith(S3_PREFIX):
            return self._put_object(method, path[len(S3_PREFIX) :], parse_qs(split.query), headers, body)
        if not path.startswith(f"/{STAGE}/"):
            return self._gateway("MISSING_AUTHENTICATION_TOKEN", request_id)
        path = path[len(STAGE) + 1 :]
        found = self._match(method, path)
        if found is None:
            return self._gateway("MISSING_AUTHENTICATION_TOKEN", request_id)
        route, function, params = found
        if len(body) > MAX_PAYLOAD_BYTES:
            return self._gateway("REQUEST_TOO_LARGE", request_id)
        event = self._event(method, path, split.query, headers, body, route, params, request_id)
        lam = self.runtime.client("lambda")
        with self._serving[function]:
            answer = lam.invoke(FunctionName=self.runtime.function_names[function], Payload=json.dumps(event).encode())
        payload = answer["Payload"].read()
        try:
            response = json.loads(payload or b"null")
        except ValueError:
            response = None
        if answer.get("FunctionError") or not isinstance(response, dict) or "statusCode" not in response:
            # API Gateway's answer to a function that failed or returned no proxy response: a 502
            log.error(
                "local api: %s %s: the function failed or answered no proxy response: %s", method, path, payload[:2000]
            )
            return self._gateway("DEFAULT_5XX", request_id, status=502, message="Internal server error")
        out_headers = {str(k): str(v) for k, v in (response.get("headers") or {}).items()}
        for name, values in (response.get("multiValueHeaders") or {}).items():
            out_headers[str(name)] = ", ".join(str(v) for v in values)
        text = response.get("body") or ""
        data = _b64(text) if response.get("isBase64Encoded") else str(text).encode()
        if method == "POST" and route.path == "/uploads":
            data = _PRESIGNED.sub(lambda m: f"{self.root}{S3_PREFIX}{m.group(1)}/", data.decode()).encode()
        out_headers["x-amzn-RequestId"] = request_id
        return int(response["statusCode"]), out_headers, data

    def _match(self, method: str, path: str) -> tuple[_Route, str, dict[str, str]] | None:
        for route in self.routes:
            matched = route.pattern.match(path)
            if matched is None:
                continue
            function = route.methods.get(method) or route.methods.get("ANY")
            if function is None:
                return None
            return route, function, {k: unquote(v) for k, v in matched.groupdict().items()}
        return None

    def _event(
        self,
        method: str,
        path: str,
        query: str,
        headers: dict[str, str],
        body: bytes,
        route: _Route,
        params: dict[str, str],
        request_id: str,
    ) -> dict[str, Any]:
        multi_query = parse_qs(query, keep_blank_values=True)
        caller = headers.get(CALLER_HEADER.lower()) or self.caller
        account = caller.split(":")[4] if caller.count(":") >= 5 else "123456789012"
        try:
            text: str | None = body.decode() if body else None
            encoded = False
        except UnicodeDecodeError:
            import base64

            text, encoded = base64.b64encode(body).decode(), True
        now = datetime.now(UTC)
        return {
            "resource": route.path,
            "path": path,
            "httpMethod": method,
            "headers": dict(headers) or None,
            "multiValueHeaders": {k: [v] for k, v in headers.items()} or None,
            "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": params or None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": route.path,
                "httpMethod": method,
                "path": f"/{STAGE}{path}",
                "stage": STAGE,
                "requestId": request_id,
                "extendedRequestId": request_id,
                "accountId": account,
                "apiId": self.api_id,
                "protocol": "HTTP/1.1",
                "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "requestTimeEpoch": int(now.timestamp() * 1000),
                "domainName": "127.0.0.1",
                "identity": {
                    "sourceIp": "127.0.0.1",
                    "userArn": caller,
                    "caller": caller.rsplit("/", 1)[-1],
                    "user": caller.rsplit("/", 1)[-1],
                    "accountId": account,
                    "accessKey": "local",
                    "userAgent": headers.get("user-agent"),
                    "cognitoIdentityId": None,
                    "cognitoIdentityPoolId": None,
                    "cognitoAuthenticationType": None,
                    "cognitoAuthenticationProvider": None,
                    "principalOrgId": None,
                    "apiKey": None,
                    "apiKeyId": None,
                },
            },
            "body": text,
            "isBase64Encoded": encoded,
        }

    def _gateway(
        self, kind: str, request_id: str, *, status: int | None = None, message: str | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """A gateway response as the template shapes it (the type's own, else DEFAULT_4XX/5XX)."""
        default_status = status or _DEFAULT_STATUS.get(kind, 500)
        family = "DEFAULT_4XX" if default_status < 500 else "DEFAULT_5XX"
        shaped = self.gateway_responses.get(kind) or self.gateway_responses.get(family) or {}
        text = message or _DEFAULT_MESSAGE.get(kind, kind)
        template = (shaped.get("responseTemplates") or {}).get("application/json")
        if template is None:
            body = json.dumps({"message": text})
        else:
            body = (
                template.replace("$context.error.messageString", json.dumps(text))
                .replace("$context.error.message", text)
                .replace("$context.error.responseType", kind)
                .replace("$context.requestId", request_id)
            )
        headers = {"Content-Type": "application/json", "x-amzn-RequestId": request_id, "x-amzn-ErrorType": kind}
        for name, value in (shaped.get("responseParameters") or {}).items():
            if name.startswith("gatewayresponse.header."):
                headers[name.removeprefix("gatewayresponse.header.")] = value.strip("'")
        return int(shaped.get("statusCode") or default_status), headers, body.encode()

    # the presigned upload ----------------------------------------------------------------------
    def _put_object(
        self, method: str, where: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        bucket, _, key = where.partition("/")
        settings = self.runtime.settings
        if method != "PUT" or bucket != settings.artifacts_bucket or not key.startswith("uploads/"):
            return _s3_error(403, "AccessDenied", "only PUTs of source bundles under uploads/ are served here")
        try:
            signed = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            expires = int(query["X-Amz-Expires"][0])
        except (KeyError, ValueError):
            return _s3_error(403, "AccessDenied", "not a presigned URL (X-Amz-Date and X-Amz-Expires missing)")
        if time.time() > signed.timestamp() + expires:
            return _s3_error(403, "AccessDenied", "Request has expired")
        self.runtime.client("s3").put_object(
            Bucket=bucket, Key=key, Body=body, ContentType=headers.get("content-type", "application/octet-stream")
        )
        return 200, {"ETag": '"local"'}, b""


def _s3_error(status: int, code: str, message: str) -> tuple[int, dict[str, str], bytes]:
    xml = f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
    return status, {"Content-Type": "application/xml"}, xml.encode()


def _b64(text: str) -> bytes:
    import base64

    return base64.b64decode(text)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hivemind-local-apigateway"

    def _serve(self) -> None:
        api: LocalApi = self.server.api  # type: ignore[attr-defined]
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            length = int(headers.get("content-length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_PAYLOAD_BYTES:
            status, out, data = api._gateway("REQUEST_TOO_LARGE", str(uuid.uuid4()))
            self.close_connection = True
        else:
            body = self.rfile.read(length) if length else b""
            try:
                status, out, data = api.handle(self.command, self.path, headers, body)
            except Exception:
                log.exception("local api: %s %s failed", self.command, self.path)
                status, out, data = api._gateway("DEFAULT_5XX", str(uuid.uuid4()), message="Internal server error")
        self.send_response(status)
        for name, value in out.items():
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("local api: " + format, *args)
