"""The clock: Wait states, Retry intervals and the pauses of Wait for healthy target are scaled
(they are real sleeps in moto's engine and in the function).

On AWS "Wait for healthy target" looks every 5 s; here every 0.05 s at the default scale of
0.01. Task timeouts and the apps' own time (installs, builds) are real.
"""

from __future__ import annotations

import logging
import time
import types
from typing import Any

from hivemind.local.state import _state

log = logging.getLogger("hivemind.local")


def _patch_time() -> None:
    """Scale Wait states and Retry intervals (real sleeps in moto's engine)."""
    import moto.stepfunctions.parser.asl.component.common.retry.retrier_decl as retrier
    import moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function as wait_fn

    from hivemind.workflow import target

    def wait_interval(self: Any, env: Any, wait_seconds: float) -> None:
        if wait_seconds > 0:
            env.program_state_event.wait(wait_seconds * (_state.time_scale if _state.active else 1.0))

    def scaled_sleep(seconds: float) -> None:
        time.sleep(seconds * (_state.time_scale if _state.active else 1.0))

    wait_fn.WaitFunction._wait_interval = wait_interval
    retrier.time = types.SimpleNamespace(sleep=scaled_sleep, time=time.time)
    target.pause = scaled_sleep  # Wait for healthy target's pause between looks
