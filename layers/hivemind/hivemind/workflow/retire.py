"""Drain previous release, and Remove previous release: the end of an update's cut-over.

By then the new release is registered, healthy and has passed its smoke test, while the release
that served before still serves beside it (templating/releases.py). Draining deregisters the
old release's targets: the load balancer stops sending them new requests at once and lets the
requests under way finish within the target group's deregistration delay, which the state
machine waits ("Wait for draining"), so no Lambda sleeps through it. Removing updates the stack
with only the new release; CloudFormation deletes the old instance and its resources.
"""

from __future__ import annotations

from typing import Any

import yaml

from hivemind.aws import artifacts, stacks, targets
from hivemind.models import DrainInfo, StackInfo, WorkflowState
from hivemind.observability import logger
from hivemind.settings import Settings
from hivemind.templating import releases, to_yaml
from hivemind.workflow.stack import stack_tags


def drain_previous(state: WorkflowState, *, elbv2: Any) -> DrainInfo:
    if state.target is None:
        raise ValueError("Drain previous release needs the registered target")
    group = state.target.target_group_arn
    gone = targets.deregister_others(elbv2, group, state.target.instance_id)
    seconds = targets.deregistration_delay_s(elbv2, group) if gone else 0
    logger.info("previous release draining", extra={"targets": gone, "seconds": seconds})
    return DrainInfo(targets=gone, seconds=seconds)


def remove_previous(state: WorkflowState, *, cfn: Any, s3: Any, settings: Settings) -> StackInfo:
    """Update the stack to hold only this deployment's release; the stack as it is when it
    holds no other (then "Wait for removal" finds it settled at once)."""
    if state.stack is None or state.template is None:
        raise ValueError("Remove previous release needs the stack and its template")
    current = yaml.safe_load(stacks.template_body(cfn, state.stack.stack_id))
    template, others = releases.without_others(current, state.deployment_id)
    if not others:
        return state.stack
    key = artifacts.put(
        s3,
        settings.artifacts_bucket,
        artifacts.key(state.deployment_id, "template-released.yaml"),
        to_yaml(template),
        "text/yaml",
    )
    stacks.update(
        cfn,
        stack_name=state.stack.stack_name,
        template_url=artifacts.https_url(settings.artifacts_bucket, key, settings.region),
        parameters={},
        tags=stack_tags(state),
        token=f"{state.deployment_id}-released",
        role_arn=settings.stack_role_arn,
    )
    logger.info("removing previous releases", extra={"releases": others})
    return state.stack.model_copy(update={"status": "UPDATE_IN_PROGRESS"})
