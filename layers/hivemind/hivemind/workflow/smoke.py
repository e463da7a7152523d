"""Smoke test (the QA agent): GETs through the load balancer's URL, as a user's browser would.

The health path must answer with a status the target group accepts (the plan's health_codes), or the
deployment fails with a diagnosis; `/` and the routes the planner found are checked too, and
their failures (no answer, or a 5xx) are warnings in the report. Redirects are not followed
(a 3xx is an answer). The ALB's DNS name never matches the certificate of an HTTPS listener,
so certificates are not verified: this checks the app, not the certificate.
"""

from __future__ import annotations

import ssl
import time
import urllib.error
import urllib.request
from typing import Any

from hivemind.errors import SmokeTestFailed
from hivemind.models import QaCheck, QaResult, WorkflowState
from hivemind.observability import logger

MAX_PATHS = 6
TIMEOUT_S = 10.0


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _opener() -> urllib.request.OpenerDirector:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    return urllib.request.build_opener(
        _NoRedirect, urllib.request.HTTPSHandler(context=context), urllib.request.ProxyHandler({})
    )


def get(opener: urllib.request.OpenerDirector, url: str, path: str, *, required: bool = False) -> QaCheck:
    started = time.perf_counter()
    try:
        with opener.open(url.rstrip("/") + path, timeout=TIMEOUT_S) as response:
            response.read(64 * 1024)
            status: int | None = int(response.status)
        error = None
    except urllib.error.HTTPError as exc:
        status, error = int(exc.code), None
    except (OSError, ValueError) as exc:
        status, error = None, f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
    ms = round((time.perf_counter() - started) * 1000, 1)
    return QaCheck(path=path, status_code=status, ms=ms, error=error, required=required)


def _seen(check: QaCheck) -> str:
    return f"HTTP {check.status_code}" if check.status_code is not None else str(check.error)


def smoke_test(state: WorkflowState, *, opener: urllib.request.OpenerDirector | None = None) -> QaResult:
    if state.stack is None or state.plan is None or not state.stack.outputs.get("URL"):
        raise ValueError("Smoke test needs the stack's URL and the plan")
    url = state.stack.outputs["URL"]
    opener = opener or _opener()
    paths = list(dict.fromkeys([state.plan.health_path, "/", *state.plan.routes]))[:MAX_PATHS]
    checks = [get(opener, url, path, required=index == 0) for index, path in enumerate(paths)]
    health = checks[0]
    logger.info("smoke test: " + ", ".join(f"{c.path} {_seen(c)}" for c in checks), extra={"url": url})
    if not state.plan.healthy(health.status_code):
        raise SmokeTestFailed(f"the health path {health.path} answered {_seen(health)} through {url}")
    warnings = [
        f"{c.path} answered {_seen(c)} through the load balancer"
        for c in checks[1:]
        if c.status_code is None or c.status_code >= 500
    ]
    return QaResult(url=url, checks=checks, warnings=warnings)
