"""Logger, Tracer and Metrics, built once. Service name and log level come from SAM Globals
(POWERTOOLS_SERVICE_NAME, POWERTOOLS_LOG_LEVEL); the deployment id is the correlation id."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="hivemind")
tracer = Tracer(service="hivemind")
metrics = Metrics(namespace="HiveMind", service="hivemind")

__all__ = ["logger", "metrics", "tracer"]
