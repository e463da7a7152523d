"""Generate template: the plan becomes a CloudFormation template, stored in the artifacts bucket."""

from __future__ import annotations

from typing import Any

from hivemind.aws import artifacts
from hivemind.models import WorkflowState
from hivemind.models.workflow import TemplateArtifact
from hivemind.settings import Settings
from hivemind.templating import render_template, to_yaml


def stack_name_for(app_name: str, settings: Settings) -> str:
    """One stack per app: redeploying an app targets the same stack."""
    return f"{settings.stack_prefix}{app_name}"


def generate_template(state: WorkflowState, *, s3: Any, settings: Settings) -> TemplateArtifact:
    if state.plan is None:
        raise ValueError("Generate template needs the plan")
    plan = state.plan
    stack_name = stack_name_for(plan.app_name, settings)
    failure_log = artifacts.key(state.deployment_id, artifacts.instance_log_name(state.attempt))
    template = render_template(
        plan,
        deployment_id=state.deployment_id,
        stack_name=stack_name,
        options=state.request.stack,
        failure_log=f"s3://{settings.artifacts_bucket}/{failure_log}",
        permissions_boundary=settings.instance_role_boundary,
    )
    name = "template.yaml" if state.attempt == 1 else f"template-{state.attempt}.yaml"
    key = artifacts.put(
        s3, settings.artifacts_bucket, artifacts.key(state.deployment_id, name), to_yaml(template), "text/yaml"
    )
    return TemplateArtifact(
        stack_name=stack_name,
        template_key=key,
        template_url=artifacts.https_url(settings.artifacts_bucket, key, settings.region),
        parameters={},
        resource_count=len(template["Resources"]),
    )
