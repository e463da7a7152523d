"""Generate template: the plan becomes a CloudFormation template, stored in the artifacts bucket."""

from __future__ import annotations

from typing import Any

import yaml

from hivemind.aws import artifacts, stacks
from hivemind.models import WorkflowState
from hivemind.models.workflow import TemplateArtifact
from hivemind.observability import logger
from hivemind.settings import Settings
from hivemind.templating import releases, render_template, to_yaml


def stack_name_for(app_name: str, settings: Settings) -> str:
    """One stack per app: redeploying an app targets the same stack."""
    return f"{settings.stack_prefix}{app_name}"


def generate_template(
    state: WorkflowState, *, s3: Any, settings: Settings, cfn: Any = None, ec2: Any = None
) -> TemplateArtifact:
    """The plan's template; when the app's stack serves a release already (`cfn` given), that
    release is kept in the template beside the new one (templating/releases.py)."""
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
    kept, warning = (None, None) if cfn is None else _keep_serving(template, stack_name, cfn=cfn, ec2=ec2)
    if kept is not None:
        template = kept[0]
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
        release=state.deployment_id,
        serving_release=kept[1] if kept else None,
        warnings=[warning] if warning else [],
    )


def _keep_serving(
    template: dict[str, Any], stack_name: str, *, cfn: Any, ec2: Any
) -> tuple[tuple[dict[str, Any], str] | None, str | None]:
    """((the template with the stack's serving release added, that release's id) or None, a warning
    when the serving release cannot be kept and the update will replace it in place)."""
    description = stacks.describe(cfn, stack_name)
    if description is None or description["StackStatus"] not in stacks.UPDATABLE:
        return None, None  # a new stack, or one Create stack refuses to update with its own reason
    serving = stacks.info(description).outputs.get("Release")
    replaced = "this update replaces the serving instance in place (no healthy target until the new one is)"
    if not serving:
        return None, f"stack {stack_name} names no serving release (made by an older HiveMind): {replaced}"
    previous = yaml.safe_load(stacks.template_body(cfn, description["StackId"]))
    values = {p["ParameterKey"]: p.get("ResolvedValue", p["ParameterValue"]) for p in description.get("Parameters", [])}
    instance_id = stacks.info(description).outputs.get("InstanceId")
    image_id = None
    if instance_id and ec2 is not None:
        found = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
        image_id = found[0]["Instances"][0].get("ImageId") if found and found[0]["Instances"] else None
    # a shared resource whose change would replace it takes the serving release down with it
    previous_group = previous.get("Resources", {}).get("TargetGroup", {}).get("Properties", {})
    group = template["Resources"].get("TargetGroup", {}).get("Properties", {})
    if previous_group.get("Port") and group:
        group["Port"] = previous_group["Port"]  # targets carry their own port; this one only names a default
    try:
        carried = releases.carry(template, previous, serving, parameter_values=values, image_id=image_id)
    except releases.CannotCarry as why:
        logger.warning("serving release not kept", extra={"release": serving, "why": str(why)})
        return None, f"release {serving} cannot be kept beside the new one ({why}): {replaced}"
    return (carried, serving), None
