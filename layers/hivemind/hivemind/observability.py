"""Logger, Tracer and Metrics, built once. Service name and log level come from SAM Globals
(POWERTOOLS_SERVICE_NAME, POWERTOOLS_LOG_LEVEL); the deployment id is the correlation id.

Metrics have fixed names (template.yaml's alarms and dashboard read them), each emitted at once
as an embedded-metric log line (`count`):
- DeploymentsStarted, DeploymentsSucceeded, DeploymentsFailed, DeploymentsNotRehearsed (by app),
  DeploymentSeconds (by app): the workflow's outcomes;
- MedicActions (by action and category): what the Medic decided;
- OldestStackWaitSeconds: how long the oldest deployment has waited on its stack (the reconciler,
  each minute; the stuck-deployment alarm).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric

NAMESPACE = "HiveMind"
logger = Logger(service="hivemind")
tracer = Tracer(service="hivemind")
metrics = Metrics(namespace=NAMESPACE, service="hivemind")

# a deployment's outcome -> its metric
OUTCOME_METRICS = {
    "SUCCEEDED": "DeploymentsSucceeded",
    "FAILED": "DeploymentsFailed",
    "NOT_REHEARSED": "DeploymentsNotRehearsed",
}


def count(name: str, *, value: float = 1, unit: MetricUnit = MetricUnit.Count, **dimensions: str) -> None:
    """One data point of metric `name` now, with the service dimension and these; nothing when
    POWERTOOLS_METRICS_DISABLED is true (the local runtime: its functions share the CLI's stdout,
    where single_metric prints, unlike Metrics, regardless of that setting)."""
    if os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() == "true":
        return
    with single_metric(
        name=name, unit=unit, value=value, namespace=NAMESPACE, default_dimensions={"service": "hivemind"}
    ) as metric:
        for key, dimension in dimensions.items():
            metric.add_dimension(name=key, value=dimension)


Handler = Callable[[Any, Any], Any]


def lambda_handler(correlation_id_path: str | None = None) -> Callable[[Handler], Handler]:
    """What every HiveMind function's handler wears: the Logger's Lambda context with the
    deployment id as its correlation id, the Tracer, and one line for a failure. Lambda's own
    record of an unhandled error carries no correlation id, so without this line `hivemind logs`
    would show a failed step's decisions and not its failure. A failure the state machine waits
    out (TargetNotHealthyYet) is INFO; one HiveMind explains is ERROR without a traceback; any
    other is ERROR with its traceback."""
    from hivemind.errors import HiveMindError, TargetNotHealthyYet

    def wear(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def logged(event: Any, context: Any) -> Any:
            try:
                return handler(event, context)
            except TargetNotHealthyYet as exc:
                logger.info(f"not healthy yet: {exc}")
                raise
            except HiveMindError as exc:
                logger.error(f"{type(exc).__name__}: {exc}")
                raise
            except Exception as exc:
                logger.exception(f"{type(exc).__name__}: {exc}")
                raise

        traced = tracer.capture_lambda_handler(logged, capture_response=False)
        return logger.inject_lambda_context(traced, correlation_id_path=correlation_id_path)

    return wear


__all__ = ["OUTCOME_METRICS", "count", "lambda_handler", "logger", "metrics", "tracer"]
