"""EventBridge: rules deliver to Lambda targets, and what AWS publishes is published.

On AWS a rule's Lambda target is invoked asynchronously (errors retried, never raised to the
sender). moto raises NotImplementedError for Lambda targets; here they are invoked in-process
(errors logged), with AWS's ISO-8601 `time`. CloudFormation and Step Functions publish their
status changes through `_publish`.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from hivemind.local.functions import _invoke
from hivemind.local.state import _state

log = logging.getLogger("hivemind.local")


_EVENT_TIME = "%Y-%m-%dT%H:%M:%SZ"


def _patch_eventbridge() -> None:
    """Deliver to Lambda targets (moto raises NotImplementedError for them), with AWS's ISO time."""
    import moto.events.models as event_models

    original = event_models.Rule.send_to_targets

    def send_to_targets(self: Any, original_event: dict[str, Any], transform_input: bool = True) -> None:
        if not _state.active:
            return original(self, original_event, transform_input)
        if not self.event_pattern.matches_event(original_event):
            return
        lambdas = [t for t in self.targets if ":lambda:" in t["Arn"]]
        for target in lambdas:
            event = dict(original_event)
            if isinstance(event.get("time"), (int, float)):
                event["time"] = time.strftime(_EVENT_TIME, time.gmtime(event["time"]))
            event.pop("ingestion-time", None)
            if "Input" in target:
                event = json.loads(target["Input"])
            _deliver(target["Arn"], event)
        others = [t for t in self.targets if ":lambda:" not in t["Arn"]]
        if others:
            saved, self.targets = self.targets, others
            try:
                original(self, original_event, transform_input)
            finally:
                self.targets = saved

    event_models.Rule.send_to_targets = send_to_targets


def _deliver(function_arn: str, event: dict[str, Any]) -> None:
    """An asynchronous invocation: errors are logged (EventBridge would retry), never raised."""
    from moto.awslambda.utils import get_backend

    parts = function_arn.split(":")
    fn = get_backend(parts[4], parts[3]).get_function(function_arn)
    with _state.lock:
        _state.in_flight += 1
    try:
        payload, errored, _ = _invoke(fn, event)
    finally:
        with _state.lock:
            _state.in_flight -= 1
    if errored:
        log.error("event target %s failed: %s", fn.function_name, json.loads(payload).get("errorMessage"))


def _publish(
    account: str, region: str, source: str, detail_type: str, resources: list[str], detail: dict[str, Any]
) -> None:
    from moto.events.models import events_backends

    entry = {"Source": source, "DetailType": detail_type, "Resources": resources, "Detail": json.dumps(detail)}
    events_backends[account][region].put_events([entry])
