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

import os

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


__all__ = ["OUTCOME_METRICS", "count", "logger", "metrics", "tracer"]
