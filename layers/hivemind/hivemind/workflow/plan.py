"""Plan deployment: fetch the source and decide how to build and run it."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Any

from hivemind.aws import artifacts
from hivemind.errors import PlanError, SourceError
from hivemind.models import CodeCommitSource, DeploymentPlan, GitSource, S3Source, WorkflowState
from hivemind.observability import logger
from hivemind.planning import make_plan, missing_secret
from hivemind.planning.bundle import bundle_directory, extract_bundle
from hivemind.planning.sources import fetch_codecommit, fetch_git
from hivemind.settings import Settings
from hivemind.templating.cost import estimate
from hivemind.workflow.admission import instance_type_refusal


def plan_deployment(state: WorkflowState, *, s3: Any, settings: Settings, codecommit: Any = None) -> DeploymentPlan:
    """Fetch the source, plan it, and store the plan next to the deployment's artifacts. A git
    or CodeCommit source is bundled into the artifacts bucket, where the instance fetches it."""
    source = state.request.source
    limit = settings.max_source_bytes
    commit: str | None = None
    with tempfile.TemporaryDirectory(prefix="hivemind-src-") as tmp:
        root = Path(tmp) / "src"
        if isinstance(source, S3Source):
            data = artifacts.get_bytes(s3, source.bucket, source.key, max_bytes=limit)
            extract_bundle(data, root, max_bytes=limit)
            bundle_uri = f"s3://{source.bucket}/{source.key}"
            if source.key.startswith("uploads/"):  # uploads expire after a day; the deployment's copy stays
                key = artifacts.put(
                    s3,
                    settings.artifacts_bucket,
                    artifacts.key(state.deployment_id, "source.zip"),
                    data,
                    "application/zip",
                )
                bundle_uri = f"s3://{settings.artifacts_bucket}/{key}"
        else:
            if isinstance(source, GitSource):
                commit = fetch_git(
                    source.url,
                    source.ref,
                    root,
                    max_bytes=limit,
                    hosts=tuple(settings.git_hosts),
                    allow_loopback=settings.git_loopback,
                )
            elif isinstance(source, CodeCommitSource) and codecommit is not None:
                if source.repository not in settings.codecommit_repositories:
                    raise SourceError(
                        f"CodeCommit repository {source.repository} is not one HiveMind deploys: add it to the "
                        "stack's TrackedRepositories parameter"
                    )
                fetch_codecommit(codecommit, source.repository, source.commit, root, max_bytes=limit)
                commit = source.commit
            else:
                raise SourceError(f"source type '{source.type}' cannot be fetched here")
            data = bundle_directory(root, max_bytes=limit)
            key = artifacts.put(
                s3,
                settings.artifacts_bucket,
                artifacts.key(state.deployment_id, "source.zip"),
                data,
                "application/zip",
            )
            bundle_uri = f"s3://{settings.artifacts_bucket}/{key}"
        plan = make_plan(
            root,
            app_name=state.request.app_name,
            overrides=state.request.overrides,
            environment=state.request.environment,
            environment_refs=state.request.environment_refs,
            secrets=state.request.secrets,
            source_bundle=bundle_uri,
        )
        missing = missing_secret(plan, root)
        if missing:
            raise PlanError(missing)
    digest = hashlib.sha256(data).hexdigest()
    plan = plan.model_copy(update={"cost": estimate(plan), "source_commit": commit, "source_digest": digest})
    assert plan.cost is not None
    refusal = instance_type_refusal(plan.instance_type, settings, plan.cost.monthly_usd if plan.cost.complete else None)
    if refusal:
        raise PlanError(refusal)
    artifacts.put_json(
        s3, settings.artifacts_bucket, artifacts.key(state.deployment_id, "plan.json"), plan.model_dump(mode="json")
    )
    logger.info(
        f"planned {plan.language} ({plan.framework or 'no framework'}): port {plan.port}, health {plan.health_path}",
        extra={"start": plan.start_command, "instance_type": plan.instance_type, "commit": commit},
    )
    return plan
