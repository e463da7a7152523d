"""Lambda: each HiveMind function's real handler, run in-process.

On AWS a function runs in its own container with its own environment. moto needs Docker for
that; here the handler (functions/<name>/app.py, imported from the source tree at its first
invocation) is called in this process with the function's own environment (a context variable,
not `os.environ`: executions run on threads) and a Lambda-like context object. An exception
becomes Lambda's error payload, so its class name is the `Error` that Retry/Catch match, as on AWS.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import logging
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hivemind.local.faults import crash_for
from hivemind.local.state import _state
from hivemind.settings import invocation_environment

log = logging.getLogger("hivemind.local")


@dataclass
class _Function:
    """A HiveMind function: its handler is imported from the source tree at first invocation."""

    name: str
    logical_id: str
    code_dir: Path
    handler_spec: str
    _handler: Callable[[Any, Any], Any] | None = None

    @property
    def handler(self) -> Callable[[Any, Any], Any]:
        if self._handler is None:
            self._handler = _load_handler(self.logical_id, self.code_dir, self.handler_spec)
        return self._handler


class _Context:
    """The parts of the Lambda context object that handlers and Powertools read."""

    def __init__(self, fn: Any):
        self.function_name = fn.function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = fn.function_arn
        self.memory_limit_in_mb = int(fn.memory_size)
        self.aws_request_id = f"local-{time.monotonic_ns()}"
        self.log_group_name = f"/aws/lambda/{fn.function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + float(fn.timeout)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _invoke(fn: Any, event: Any) -> tuple[str, bool, str]:
    """Run a function's real handler in-process -> (payload json, errored, logs)."""
    registered = _state.functions.get(fn.function_name)
    if registered is None:
        missing = {"errorType": "ResourceNotFoundException", "errorMessage": f"no handler for {fn.function_name}"}
        return json.dumps(missing), True, ""
    if isinstance(event, (str, bytes)):
        event = json.loads(event or "{}")
    started = time.perf_counter()
    crashed = crash_for(registered.logical_id)
    if crashed is not None:
        return json.dumps(crashed), True, ""
    try:
        with invocation_environment({**_lambda_env(fn), **fn.environment_vars}):
            result = registered.handler(copy.deepcopy(event), _Context(fn))
        return json.dumps(result, default=str), False, ""
    except Exception as exc:  # noqa: BLE001  # a Lambda's unhandled error becomes its error payload, as on AWS
        payload: dict[str, Any] = {
            "errorType": type(exc).__name__,
            "errorMessage": str(exc),
            "stackTrace": traceback.format_exception(exc)[-6:],
        }
        return json.dumps(payload), True, traceback.format_exc()
    finally:
        with _state.lock:
            _state.invocations.append((fn.function_name, time.perf_counter() - started))


def _lambda_env(fn: Any) -> dict[str, str]:
    return {
        "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
        "AWS_REGION": fn.region,
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


def _patch_lambda() -> None:
    import moto.awslambda.models as lambda_models

    original = lambda_models.LambdaFunction._invoke_lambda

    def _invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
        if not _state.active:
            return original(self, event)
        return _invoke(self, event)

    lambda_models.LambdaFunction._invoke_lambda = _invoke_lambda


def _load_handler(logical_id: str, code_dir: Path, handler: str) -> Callable[[Any, Any], Any]:
    module_name, _, attr = handler.rpartition(".")
    path = code_dir / f"{module_name.replace('.', '/')}.py"
    spec = importlib.util.spec_from_file_location(f"hivemind_functions.{logical_id}", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"{logical_id}: no handler module at {path}")
    module = sys.modules.get(spec.name)
    if module is None:
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return getattr(module, attr)
