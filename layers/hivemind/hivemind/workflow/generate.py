"""Generate template: the plan becomes a CloudFormation template, stored in the artifacts bucket."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml

from hivemind.aws import artifacts, stacks
from hivemind.errors import HiveMindError
from hivemind.models import WorkflowState
from hivemind.models.workflow import TemplateArtifact
from hivemind.observability import logger
from hivemind.settings import Settings
from hivemind.templating import releases, render_template, to_yaml


def stack_name_for(app_name: str, settings: Settings) -> str:
    """One stack per app: redeploying an app targets the same stack."""
    return f"{settings.stack_prefix}{app_name}"


@dataclass
class _Kept:
    """What an update's template does with the release serving."""

    template: dict[str, Any]
    serving: str | None = None  # kept beside the new release until the cut-over
    in_place: str | None = None  # kept as this deployment's release: nothing it runs changed
    warning: str | None = None


def generate_template(
    state: WorkflowState, *, s3: Any, settings: Settings, cfn: Any = None, ec2: Any = None
) -> TemplateArtifact:
    """The plan's template; when the app's stack serves a release already (`cfn` given), that
    release is kept in the template beside the new one, or instead of it when the new one would
    run exactly what it runs (templating/releases.py)."""
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
        alarm_topic=state.request.stack.alarm_topic_arn or settings.alarm_topic_arn,
    )
    kept = (
        _Kept(template)
        if cfn is None
        else _keep_serving(state, template, stack_name, cfn=cfn, ec2=ec2, s3=s3, settings=settings)
    )
    name = "template.yaml" if state.attempt == 1 else f"template-{state.attempt}.yaml"
    logger.info(
        f"template of {len(kept.template['Resources'])} resources for stack {stack_name}",
        extra={"release": kept.in_place or state.deployment_id, "serving_release": kept.serving},
    )
    key = artifacts.put(
        s3, settings.artifacts_bucket, artifacts.key(state.deployment_id, name), to_yaml(kept.template), "text/yaml"
    )
    return TemplateArtifact(
        stack_name=stack_name,
        template_key=key,
        template_url=artifacts.https_url(settings.artifacts_bucket, key, settings.region),
        parameters={},
        resource_count=len(kept.template["Resources"]),
        release=kept.in_place or state.deployment_id,
        serving_release=kept.serving,
        warnings=[kept.warning] if kept.warning else [],
        alarms=_alarms(kept.template),
    )


def _alarms(template: dict[str, Any]) -> list[str]:
    """The stack's alarms as people read them: name, what it means, whom it tells."""
    found = []
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::CloudWatch::Alarm":
            continue
        properties = resource["Properties"]
        notifies = template.get("Parameters", {}).get("AlarmTopicArn", {}).get("Default")
        told = f" -> {notifies}" if notifies and properties.get("AlarmActions") else " (notifies nobody)"
        found.append(f"{logical_id}: {properties['AlarmDescription']}{told}")
    return found


def _keep_serving(
    state: WorkflowState,
    template: dict[str, Any],
    stack_name: str,
    *,
    cfn: Any,
    ec2: Any,
    s3: Any,
    settings: Settings,
) -> _Kept:
    description = stacks.describe(cfn, stack_name)
    if description is None or description["StackStatus"] not in stacks.UPDATABLE:
        return _Kept(template)  # a new stack, or one Create stack refuses to update with its own reason
    outputs = stacks.info(description).outputs
    serving = outputs.get("Release")
    replaced = "this update replaces the serving instance in place (no healthy target until the new one is)"
    if not serving:
        return _Kept(
            template, warning=f"stack {stack_name} names no serving release (made by an older HiveMind): {replaced}"
        )
    previous = yaml.safe_load(stacks.template_body(cfn, description["StackId"]))
    values = {p["ParameterKey"]: p.get("ResolvedValue", p["ParameterValue"]) for p in description.get("Parameters", [])}
    image_id = None
    if outputs.get("InstanceId") and ec2 is not None:
        found = ec2.describe_instances(InstanceIds=[outputs["InstanceId"]])["Reservations"]
        image_id = found[0]["Instances"][0].get("ImageId") if found and found[0]["Instances"] else None
    # a shared resource whose change would replace it takes the serving release down with it
    previous_group = previous.get("Resources", {}).get("TargetGroup", {}).get("Properties", {})
    group = template["Resources"].get("TargetGroup", {}).get("Properties", {})
    if previous_group.get("Port") and group:
        group["Port"] = previous_group["Port"]  # targets carry their own port; this one only names a default
    same = releases.same_instance(template, state.deployment_id, previous, serving) and _same_source(
        state, serving, s3=s3, settings=settings
    )
    base = releases.in_place(template, state.deployment_id, serving) if same else template
    try:
        carried = releases.carry(base, previous, serving, parameter_values=values, image_id=image_id)
    except releases.CannotCarry as why:
        logger.warning("serving release not kept", extra={"release": serving, "why": str(why)})
        return _Kept(template, warning=f"release {serving} cannot be kept beside the new one ({why}): {replaced}")
    if same:
        logger.info("nothing the instance runs changed: applied in place", extra={"release": serving})
        return _Kept(carried, in_place=serving)
    return _Kept(carried, serving=serving)


def _same_source(state: WorkflowState, serving: str, *, s3: Any, settings: Settings) -> bool:
    """Whether this deployment's source bundle holds the same bytes as the serving release's."""
    if state.plan is None or not state.plan.source_digest:
        return False
    try:
        raw = artifacts.get_bytes(s3, settings.artifacts_bucket, artifacts.key(serving, "plan.json"))
        return bool(json.loads(raw).get("source_digest") == state.plan.source_digest)
    except (HiveMindError, ValueError):
        return False
