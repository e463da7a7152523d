"""Plan deployment: fetch the source and decide how to build and run it."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hivemind.aws import artifacts
from hivemind.errors import SourceError
from hivemind.models import DeploymentPlan, S3Source, WorkflowState
from hivemind.planning import make_plan
from hivemind.planning.bundle import extract_bundle
from hivemind.settings import Settings
from hivemind.templating.cost import estimate

MAX_BUNDLE_BYTES = 200 * 1024 * 1024


def plan_deployment(state: WorkflowState, *, s3: Any, settings: Settings) -> DeploymentPlan:
    """Read the source bundle, plan it, and store the plan next to the deployment's artifacts."""
    source = state.request.source
    if not isinstance(source, S3Source):
        raise SourceError(f"source type '{source.type}' is not supported yet; upload an S3 bundle instead")
    data = artifacts.get_bytes(s3, source.bucket, source.key, max_bytes=MAX_BUNDLE_BYTES)
    with tempfile.TemporaryDirectory(prefix="hivemind-src-") as tmp:
        root = extract_bundle(data, Path(tmp))
        plan = make_plan(
            root,
            app_name=state.request.app_name,
            overrides=state.request.overrides,
            environment=state.request.environment,
            secrets=state.request.secrets,
            source_bundle=f"s3://{source.bucket}/{source.key}",
        )
    plan = plan.model_copy(update={"cost": estimate(plan)})
    artifacts.put_json(
        s3, settings.artifacts_bucket, artifacts.key(state.deployment_id, "plan.json"), plan.model_dump(mode="json")
    )
    return plan
