"""EventBridge: rules deliver to Lambda targets, scheduled rules fire, and what AWS publishes is
published.

On AWS a rule's Lambda target is invoked asynchronously (errors retried, never raised to the
sender). moto raises NotImplementedError for Lambda targets; here they are invoked in-process
(errors logged), with AWS's ISO-8601 `time`. CloudFormation and Step Functions publish their
status changes through `_publish`. moto never fires a rule's `rate(...)` schedule; `Schedules`
does, on the runtime's clock (rate(1 minute) is every 0.6 s at the default scale of 0.01).
`cron(...)` schedules are not emulated (HiveMind's own template has none) and are logged so.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
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
        if not self.event_pattern.get_pattern():
            return  # a rule without a pattern is a schedule (moto would match it to every event)
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


_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_S = {"minute": 60, "hour": 3600, "day": 86400}


class Schedules:
    """Fires the enabled scheduled rules of the runtime's account, each at its (scaled) rate."""

    def __init__(self, account: str, region: str, time_scale: float):
        self.account, self.region, self.time_scale = account, region, time_scale
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="hivemind-schedules", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=30)

    def _run(self) -> None:
        from moto.events.models import events_backends

        due: dict[str, float] = {}
        while not self.stopped.wait(0.05):
            backend = events_backends[self.account][self.region]
            for bus in list(backend.event_buses.values()):
                for rule in list(bus.rules.values()):
                    period = self._period(rule)
                    if period is None or rule.state != "ENABLED":
                        continue
                    now = time.monotonic()
                    if rule.arn not in due:
                        due[rule.arn] = now + period  # the first fires one period after the rule exists
                    elif now >= due[rule.arn]:
                        due[rule.arn] = now + period
                        self._fire(rule)

    def _period(self, rule: Any) -> float | None:
        expression = rule.scheduled_expression
        if not expression:
            return None
        match = _RATE.match(expression)
        if match is None:
            log.warning("schedule %s of rule %s is not emulated (only rate(...) is)", expression, rule.name)
            rule.scheduled_expression = None  # say it once
            return None
        return int(match.group(1)) * _UNIT_S[match.group(2).rstrip("s")] * self.time_scale

    def _fire(self, rule: Any) -> None:
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": self.account,
            "time": time.strftime(_EVENT_TIME, time.gmtime()),
            "region": self.region,
            "resources": [rule.arn],
            "detail": {},
        }
        for target in [t for t in rule.targets if ":lambda:" in t["Arn"]]:
            if self.stopped.is_set():
                return
            _deliver(target["Arn"], json.loads(target["Input"]) if "Input" in target else event)
