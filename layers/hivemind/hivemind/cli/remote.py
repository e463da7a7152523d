"""The CLI's way to a running HiveMind: its HTTP API, served by `hivemind local serve` on this
machine or deployed on AWS (SigV4-signed with the caller's credentials, as API Gateway's
AWS_IAM authorisation requires).

Which one, first found: `--endpoint URL`; `HIVEMIND_ENDPOINT`; the local server this folder
started (`.hivemind/serve.json`, while its process lives); the `ApiUrl` output of the stack
named by `HIVEMIND_STACK_NAME`.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from hivemind.errors import HiveMindError

SERVE_FILE = Path(".hivemind/serve.json")
LOCAL_CALLER_ENV = "HIVEMIND_LOCAL_CALLER"
_LOCAL_HOSTS = ("127.0.0.1", "localhost")


class ApiError(HiveMindError):
    """The API refused or failed a request; the message is its own."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None):
        super().__init__(f"{message} (HTTP {status}{', ' + field if field else ''})")
        self.status, self.code, self.field = status, code, field


@dataclass
class Api:
    url: str
    region: str | None = None

    @property
    def local(self) -> bool:
        return urlsplit(self.url).hostname in _LOCAL_HOSTS

    def call(self, method: str, path: str, *, body: Any = None, query: dict[str, Any] | None = None) -> Any:
        """One request; the JSON answer (a text one as text), or ApiError with the API's message."""
        wanted = {k: v for k, v in (query or {}).items() if v is not None}
        url = f"{self.url.rstrip('/')}{path}" + (f"?{urlencode(wanted)}" if wanted else "")
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "hivemind-cli"}
        if self.local:
            caller = os.environ.get(LOCAL_CALLER_ENV)
            if caller:
                headers["X-HiveMind-Local-Caller"] = caller
        else:
            headers = self._signed(method, url, data, headers)
        status, text = _send(method, url, data, headers)
        try:
            answer = json.loads(text) if text else None
        except ValueError:  # not JSON: a page (the HTML report), or an error's text
            answer = text if status < 400 else None
        if status >= 400:
            problem = (answer or {}).get("error") if isinstance(answer, dict) else None
            if isinstance(problem, dict):
                raise ApiError(status, str(problem.get("code")), str(problem.get("message")), problem.get("field"))
            message = (answer or {}).get("message") if isinstance(answer, dict) else None
            raise ApiError(status, "http", str(message or text[:300] or "no answer"))
        return answer

    def put(self, url: str, data: bytes, content_type: str) -> None:
        """PUT a bundle to a presigned upload URL (signed already)."""
        status, text = _send("PUT", url, data, {"Content-Type": content_type})
        if status >= 300:
            raise ApiError(status, "upload", f"the upload of the source bundle failed: {text[:300]}")

    def _signed(self, method: str, url: str, data: bytes | None, headers: dict[str, str]) -> dict[str, str]:
        import boto3
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        session = boto3.session.Session()
        credentials = session.get_credentials()
        if credentials is None:
            raise HiveMindError(f"no AWS credentials to sign requests to {self.url}: configure a profile or keys")
        region = self.region or _region_of(self.url) or session.region_name or "us-east-1"
        request = AWSRequest(method=method, url=url, data=data, headers=headers)
        SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(request)
        return dict(request.headers.items())


def _send(method: str, url: str, data: bytes | None, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise HiveMindError(f"cannot reach the HiveMind API at {url.split('?')[0]}: {reason}") from None


def _region_of(url: str) -> str | None:
    host = urlsplit(url).hostname or ""
    parts = host.split(".")
    return parts[2] if len(parts) > 3 and parts[1] == "execute-api" else None


def find_api(endpoint: str | None = None) -> Api:
    """The API to talk to (see the module's docstring), or an error saying how to get one."""
    if endpoint or os.environ.get("HIVEMIND_ENDPOINT"):
        return Api(str(endpoint or os.environ["HIVEMIND_ENDPOINT"]))
    served = served_here()
    if served:
        return Api(served)
    stack = os.environ.get("HIVEMIND_STACK_NAME")
    if stack:
        from hivemind.aws.clients import client

        try:
            outputs = client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
        except Exception as exc:  # noqa: BLE001 - any failure to read the stack is the same sentence
            raise HiveMindError(f"cannot read HiveMind's stack {stack}: {exc}") from None
        url = next((o["OutputValue"] for o in outputs if o["OutputKey"] == "ApiUrl"), None)
        if url is None:
            raise HiveMindError(f"stack {stack} has no ApiUrl output: is it HiveMind's stack?")
        return Api(url)
    raise HiveMindError(
        "no HiveMind to talk to: run `hivemind local serve` (in another terminal, from this folder), "
        "pass --endpoint URL, or set HIVEMIND_STACK_NAME to your installed HiveMind's stack "
        "(or use `deploy --local` for a one-off local deployment)"
    )


def served_here() -> str | None:
    """The URL of the local server started from this folder, if its process still runs."""
    try:
        served = json.loads(SERVE_FILE.read_text())
        os.kill(int(served["pid"]), 0)
        return str(served["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def follow(
    api: Api,
    deployment_id: str,
    *,
    until: Callable[[dict[str, Any]], bool],
    on_step: Callable[[str, str, float | None, str | None], None] | None,
    timeout_s: float,
) -> dict[str, Any]:
    """Read the deployment until `until(record)`, reporting each state as it starts and ends."""
    deadline = time.monotonic() + timeout_s
    seen: dict[int, str] = {}
    pause = 0.2 if api.local else 2.0
    while True:
        record = api.call("GET", f"/deployments/{deployment_id}")
        if on_step is not None:
            for index, step in enumerate(record.get("steps") or []):
                if seen.get(index) != step["status"]:
                    seen[index] = step["status"]
                    on_step(step["name"], step["status"], step.get("duration_s"), step.get("error"))
        if until(record):
            return dict(record)
        if time.monotonic() > deadline:
            raise HiveMindError(
                f"deployment {deployment_id} is still {record['status']} after {timeout_s:.0f} s; "
                f"`hivemind status {deployment_id}` reads it later"
            )
        time.sleep(pause)
