"""Lambda: each HiveMind function's real handler, run in-process.

On AWS a function runs in its own container with its own environment. moto needs Docker for
that; here the handler (functions/<name>/app.py, imported from the source tree at its first
invocation) is called in this process with the function's own environment (a context variable,
not `os.environ`: executions run on threads) and a Lambda-like context object. An exception
becomes Lambda's error payload, so its class name is the `Error` that Retry/Catch match, as on AWS.
"""

from __future__ import annotations

import contextvars
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
from hivemind.local.state import _state, logs_lock
from hivemind.settings import invocation_environment

log = logging.getLogger("hivemind.local")


@dataclass
class _Function:
    """A HiveMind function: its handler is imported from the source tree at first invocation."""

    name: str
    logical_id: str
    code_dir: Path
    handler_spec: str
    log_group: str = ""  # its LoggingConfig's group (HiveMind's functions share one), else /aws/lambda/NAME
    log_stream: str = ""  # made at its first line, named as Lambda names streams in a shared group
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
    running = _running.set(registered)
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
        _running.reset(running)
        with _state.lock:
            _state.invocations.append((fn.function_name, time.perf_counter() - started))


# the function whose handler runs on this thread (executions and deliveries run on threads)
_running: contextvars.ContextVar[_Function | None] = contextvars.ContextVar("hivemind_function", default=None)


class CloudWatchLogs(logging.Handler):
    """What Lambda does with a function's output: each line the handler logs (Powertools' JSON)
    lands in the function's log group, in a stream of its own, where `hivemind logs` reads it
    with FilterLogEvents as on AWS. Lines the local runtime logs for itself stay out."""

    def emit(self, record: logging.LogRecord) -> None:
        fn = _running.get()
        if fn is None or not fn.log_group or record.name.startswith("hivemind.local"):
            return
        try:
            with logs_lock:
                self._put(fn, record)
        except Exception:  # noqa: BLE001 - a line that cannot be kept never fails the function
            pass

    def _put(self, fn: _Function, record: logging.LogRecord) -> None:
        from moto.logs.models import logs_backends

        from hivemind.local.state import ACCOUNT, REGION

        backend = logs_backends[ACCOUNT][REGION]
        if fn.log_group not in backend.groups:
            backend.create_log_group(fn.log_group, tags={})
        if not fn.log_stream:
            day = time.strftime("%Y/%m/%d", time.gmtime())
            fn.log_stream = f"{day}/{fn.name}[$LATEST]{time.monotonic_ns():032x}"
            backend.create_log_stream(fn.log_group, fn.log_stream)
        event = {"timestamp": int(record.created * 1000), "message": self.format(record)}
        backend.put_log_events(fn.log_group, fn.log_stream, [event])


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


def _patch_log_keys() -> None:
    """Powertools keeps a Logger's keys (the correlation id, the function's name) in its
    formatter, one set a process. On AWS a process runs one invocation at a time; here
    executions and deliveries run side by side on threads, and one function's keys landed on
    another's lines. So each thread keeps its own keys, starting from those the formatter was
    built with, as each Lambda process would."""
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    keys: contextvars.ContextVar[tuple[Any, dict[str, Any]] | None] = contextvars.ContextVar(
        "hivemind_log_keys", default=None
    )
    built = LambdaPowertoolsFormatter.__init__

    def get(self: Any) -> dict[str, Any]:
        held = keys.get()
        if held is None or held[0] is not self:
            held = (self, dict(self.__dict__.get("log_format") or {}))
            keys.set(held)
        return held[1]

    def set_(self: Any, value: dict[str, Any]) -> None:
        keys.set((self, value))

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        built(self, *args, **kwargs)
        self.__dict__["log_format"] = dict(self.log_format)  # what every thread starts from

    LambdaPowertoolsFormatter.log_format = property(get, set_)
    LambdaPowertoolsFormatter.__init__ = init


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
