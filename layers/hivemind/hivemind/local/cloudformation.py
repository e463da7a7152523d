"""CloudFormation: stacks created, updated, rolled back and deleted as AWS does.

On AWS `CreateStack` returns at once (CREATE_IN_PROGRESS); each resource gets its events; an
instance with a CreationPolicy completes only when it signals; a failed resource gives
CREATE_FAILED, then ROLLBACK_IN_PROGRESS → ROLLBACK_COMPLETE with what was created deleted; every
stack status change is published to EventBridge. moto creates synchronously, without events,
signals or roll back, and hides a stack while it deletes it: here stacks are provisioned on a
thread, with those events and texts, and stay describable while they are deleted; the
instance's app runs for real (instances.py) before its resource completes; an UPDATE change set
adds, changes in place and (in its cleanup phase, last) deletes resources as CloudFormation does,
and a failed one rolls back to the previous template the same way (`_converge`).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from typing import Any

from hivemind.aws import clients
from hivemind.local import instances
from hivemind.local.events import _publish
from hivemind.local.faults import _fault_for, block_vpc_delete, lose_event, rollback_fails
from hivemind.local.state import REGION, _state

log = logging.getLogger("hivemind.local")


class ResourceFailed(Exception):
    """A resource CloudFormation could not create (injected, or moto itself raised)."""

    def __init__(self, logical_id: str, resource_type: str, reason: str, physical: str = ""):
        super().__init__(reason)
        self.logical_id, self.resource_type, self.reason = logical_id, resource_type, reason
        self.physical = physical  # it exists (an instance whose signal failed): the roll back deletes it


def _discard_failed(stack: Any, failure: ResourceFailed) -> None:
    """The roll back's first deletion: the resource that failed but exists (an instance whose
    creation policy failed), as CloudFormation deletes it; moto never recorded it in the stack."""
    if not failure.physical or failure.resource_type != "AWS::EC2::Instance":
        return
    kind, physical = failure.resource_type, failure.physical
    _resource_event(stack, failure.logical_id, kind, physical, "DELETE_IN_PROGRESS")
    clients.client("ec2", stack.region_name).terminate_instances(InstanceIds=[physical])
    _resource_event(stack, failure.logical_id, kind, physical, "DELETE_COMPLETE")


# CloudFormation's own texts for a creation policy's outcome
_SIGNAL_SUCCESS_REASON = "Received SUCCESS signal with UniqueId {instance_id}"

_SIGNAL_FAILURE_REASON = "Received FAILURE signal with UniqueId {instance_id}"

_SIGNAL_TIMEOUT_REASON = "Failed to receive 1 resource signal(s) within the specified duration"


def _parse_json_templates_as_json(cfn_models: Any) -> None:
    """moto reads every template with PyYAML's pure-Python loader, JSON ones too (HiveMind sends
    JSON): 0.6 s for HiveMind's own. JSON is YAML, and `json` gives the same dict in milliseconds."""
    yaml_parse = cfn_models.Stack.parse_template

    def parse_template(template: str) -> Any:
        try:
            return json.loads(template)
        except ValueError:
            return yaml_parse(template)

    def change_set_parse(self: Any) -> None:
        self.template_dict = parse_template(self.template)

    cfn_models.Stack.parse_template = staticmethod(parse_template)
    cfn_models.ChangeSet._parse_template = change_set_parse


def _patch_cloudformation() -> None:
    import moto.cloudformation.models as cfn_models
    import moto.cloudformation.parsing as parsing

    _parse_json_templates_as_json(cfn_models)

    original_add_stack_event = cfn_models.Stack._add_stack_event
    original_create_resource = parsing.parse_and_create_resource
    original_create_resources = cfn_models.Stack.create_resources

    def add_stack_event(
        self: Any,
        resource_status: str,
        resource_status_reason: str | None = None,
        resource_properties: str | None = None,
    ) -> None:
        original_add_stack_event(self, resource_status, resource_status_reason, resource_properties)
        if not _state.active or lose_event(self.name, resource_status):
            return
        detail = {
            "stack-id": self.stack_id,
            "status-details": {"status": resource_status, "status-reason": resource_status_reason or ""},
            "client-request-token": "",
        }
        _publish(
            self.account_id,
            self.region_name,
            "aws.cloudformation",
            "CloudFormation Stack Status Change",
            [self.stack_id],
            detail,
        )

    def create_resource(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any, account_id: str, region_name: str
    ) -> Any:
        if not _state.active:
            return original_create_resource(logical_id, resource_json, resources_map, account_id, region_name)
        stack = _stack_of(resources_map)
        kind = resource_json.get("Type", "")
        _resource_event(stack, logical_id, kind, "", "CREATE_IN_PROGRESS")
        fault = _fault_for(kind, resource_json, resources_map)
        if fault:
            raise ResourceFailed(logical_id, kind, fault)
        try:
            resource = original_create_resource(logical_id, resource_json, resources_map, account_id, region_name)
        except ResourceFailed:
            raise
        except Exception as exc:  # moto raised: on AWS this is the resource's CREATE_FAILED
            raise ResourceFailed(logical_id, kind, f"{type(exc).__name__}: {exc}"[:1000]) from exc
        physical = getattr(resource, "physical_resource_id", "") if resource is not None else ""
        if kind == "AWS::EC2::Instance" and "CreationPolicy" in resource_json and resource is not None:
            _await_signal(stack, logical_id, kind, resource, resource_json, resources_map)
        _resource_event(stack, logical_id, kind, str(physical or ""), "CREATE_COMPLETE")
        return resource

    def create_resources(self: Any) -> None:
        if not _state.active:
            return original_create_resources(self)
        self.status = "CREATE_IN_PROGRESS"
        # Outputs resolve lazily and would create resources from the describing thread.
        self.output_map = parsing.OutputMap(self.resource_map, {**self.template_dict, "Outputs": {}}, self.stack_id)
        thread = threading.Thread(target=_provision, args=(self,), name=f"cfn-{self.name}", daemon=True)
        with _state.lock:
            _state.threads.append(thread)
        thread.start()

    original_delete = cfn_models.Stack.delete

    def delete(self: Any) -> None:
        """Delete the stack's resources as CloudFormation does (`delete_resources`); a resource that
        stays makes the stack DELETE_FAILED with its reason, as on AWS, never a DELETE_COMPLETE."""
        if not _state.active:
            return original_delete(self)
        self._add_stack_event("DELETE_IN_PROGRESS", resource_status_reason="User Initiated")
        kept = delete_resources(self)
        if kept:
            for logical_id, kind, physical, reason in kept:
                _resource_event(self, logical_id, kind, physical, "DELETE_FAILED", reason)
            self.status = "DELETE_FAILED"
            listed = ", ".join(k[0] for k in kept)
            self._add_stack_event("DELETE_FAILED", f"The following resource(s) failed to delete: [{listed}]. ")
            return None
        self.status = "DELETE_COMPLETE"
        self._add_stack_event("DELETE_COMPLETE")
        return None

    original_delete_stack = cfn_models.CloudFormationBackend.delete_stack

    def delete_stack(self: Any, name_or_stack_id: str) -> None:
        """moto takes the stack out of its list before deleting it, so the status events of the
        delete name a stack nobody can describe; on AWS it stays describable throughout (and a
        DELETE_FAILED stack stays listed under its name). Here it leaves the list once deleted."""
        if not _state.active:
            return original_delete_stack(self, name_or_stack_id)
        stack = self.stacks.get(name_or_stack_id) or next(
            (s for s in self.stacks.values() if s.name == name_or_stack_id), None
        )
        if stack is None:
            return None
        stack.delete()
        if stack.status == "DELETE_COMPLETE":
            self.stacks.pop(stack.stack_id, None)
            self.deleted_stacks[stack.stack_id] = stack
            for export in stack.exports:
                self.exports.pop(export.name, None)
        return None

    cfn_models.CloudFormationBackend.delete_stack = delete_stack

    original_execute = cfn_models.CloudFormationBackend.execute_change_set

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        """Updates run like creates: asynchronously, with events, and a failed update rolls back
        to the previous template (moto applies change sets synchronously, without tags or roll back)."""
        change_set = self.change_sets.get(change_set_name) or next(
            (c for c in self.change_sets.values() if c.change_set_name == change_set_name), None
        )
        if not _state.active or change_set is None or change_set.change_set_type != "UPDATE":
            return original_execute(self, change_set_name, stack_name)
        stack = self.stacks[change_set.stack_id]
        stack.status = "UPDATE_IN_PROGRESS"
        stack._add_stack_event("UPDATE_IN_PROGRESS", resource_status_reason="User Initiated")
        change_set.execution_status = "EXECUTE_IN_PROGRESS"
        thread = threading.Thread(
            target=_apply_update, args=(stack, change_set), name=f"cfn-update-{stack.name}", daemon=True
        )
        with _state.lock:
            _state.threads.append(thread)
        thread.start()
        return None

    cfn_models.CloudFormationBackend.execute_change_set = execute_change_set

    def stack_resources(self: Any) -> list[Any]:
        """What the stack holds now. moto's lists every resource of the template and creates, from
        the describing thread, any it has not created yet (mid-update, or one whose type it has no
        model for, then listing None); AWS lists what exists."""
        resource_map = self.resource_map
        created = resource_map._parsed_resources
        return [
            created[k]
            for k in resource_map._resource_json_map
            if k in created and hasattr(created[k], "physical_resource_id")
        ]

    original_stack_resources: Any = cfn_models.Stack.stack_resources  # a property

    def stack_resources_when_active(self: Any) -> Any:
        return stack_resources(self) if _state.active else original_stack_resources.fget(self)

    cfn_models.Stack.stack_resources = property(stack_resources_when_active)
    cfn_models.Stack._add_stack_event = add_stack_event
    cfn_models.Stack.create_resources = create_resources
    cfn_models.Stack.delete = delete
    parsing.parse_and_create_resource = create_resource


def _provision(stack: Any) -> None:
    """Create a stack's resources as CloudFormation would, after a (scaled) provisioning delay."""
    time.sleep(_state.provision_delay_s)
    try:
        ready = stack.resource_map.create(stack.template_dict)
        stack.description = stack.template_dict.get("Description")
        if ready:
            stack.output_map = stack._create_output_map()
            stack.mark_creation_complete()
    except ResourceFailed as failure:
        _roll_back(stack, failure)
    except Exception as exc:  # noqa: BLE001  # an emulator bug must still end the stack, as AWS always does
        _roll_back(stack, ResourceFailed(stack.name, "AWS::CloudFormation::Stack", f"{type(exc).__name__}: {exc}"))


def _apply_update(stack: Any, change_set: Any) -> None:
    """Apply a change set as CloudFormation does (`_converge`); on failure roll back to the
    previous template."""
    stack.hivemind_previous = (stack.template, dict(stack.parameters), dict(stack.tags))
    time.sleep(_state.provision_delay_s)
    try:
        _converge(stack, change_set.template, change_set.parameters or stack.parameters, change_set.tags)
        stack.status = "UPDATE_COMPLETE"
        stack._add_stack_event("UPDATE_COMPLETE")
    except Exception as exc:  # noqa: BLE001 - any failure of an update rolls it back, as on AWS
        failure = (
            exc
            if isinstance(exc, ResourceFailed)
            else ResourceFailed(stack.name, "AWS::CloudFormation::Stack", f"{type(exc).__name__}: {exc}")
        )
        log.warning("update of %s failed: %s", stack.name, failure.reason)
        # a resource the update added fails to create; one it changed fails to update
        verb = "update" if failure.logical_id in _applied(stack) else "create"
        status = f"{verb.upper()}_FAILED"
        _resource_event(stack, failure.logical_id, failure.resource_type, failure.physical, status, failure.reason)
        stack.status = "UPDATE_ROLLBACK_IN_PROGRESS"
        stack._add_stack_event(
            "UPDATE_ROLLBACK_IN_PROGRESS", f"The following resource(s) failed to {verb}: [{failure.logical_id}]. "
        )
        _discard_failed(stack, failure)
        if rollback_fails(stack.name):
            # AWS's stack-level text for a roll back that could not finish (convox/rack#525)
            stack.status = "UPDATE_ROLLBACK_FAILED"
            stack._add_stack_event(
                "UPDATE_ROLLBACK_FAILED", f"The following resource(s) failed to update: [{failure.logical_id}]."
            )
        else:
            _restore_previous(stack)
    change_set.execution_status = "EXECUTE_COMPLETE"


def _restore_previous(stack: Any) -> None:
    """Roll an update back to the stack's previous template (UPDATE_ROLLBACK_COMPLETE, or
    UPDATE_ROLLBACK_FAILED when even that fails)."""
    _state.restoring = True
    try:
        _converge(stack, *stack.hivemind_previous, cleanup="UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
    except Exception as exc:  # noqa: BLE001 - the stack must still settle
        log.warning("roll back of %s failed: %s", stack.name, exc)
        stack.status = "UPDATE_ROLLBACK_FAILED"
        stack._add_stack_event("UPDATE_ROLLBACK_FAILED", f"{type(exc).__name__}: {exc}"[:1000])
        return
    finally:
        _state.restoring = False
    stack.status = "UPDATE_ROLLBACK_COMPLETE"
    stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE")


# What the emulator changes in place, by resource type (beyond tags, which every type takes):
# the properties CloudFormation updates with no interruption that HiveMind's stacks change.
_IN_PLACE = {
    "AWS::ElasticLoadBalancingV2::TargetGroup": {
        "HealthCheckPath",
        "HealthCheckIntervalSeconds",
        "HealthCheckTimeoutSeconds",
        "HealthyThresholdCount",
        "UnhealthyThresholdCount",
        "Matcher",
        "TargetGroupAttributes",
    },
    "AWS::ElasticLoadBalancingV2::LoadBalancer": {"LoadBalancerAttributes"},
    "AWS::Logs::LogGroup": {"RetentionInDays"},
}
# resource keys whose change alone updates nothing
_NOT_PROPERTIES = {"Metadata", "DependsOn", "CreationPolicy", "UpdatePolicy", "DeletionPolicy", "UpdateReplacePolicy"}


def _applied(stack: Any) -> dict[str, Any]:
    """Each resource the stack holds, as the template that created or last updated it had it."""
    if not hasattr(stack, "hivemind_applied"):
        stack.hivemind_applied = dict(stack.template_dict.get("Resources", {}))
    return stack.hivemind_applied


def _changed_properties(old: dict[str, Any], new: dict[str, Any]) -> set[str]:
    keys = (set(old) | set(new)) - _NOT_PROPERTIES - {"Properties"}
    changed = {f"@{k}" for k in keys if old.get(k) != new.get(k)}
    old_props, new_props = old.get("Properties", {}), new.get("Properties", {})
    return changed | {k for k in set(old_props) | set(new_props) if old_props.get(k) != new_props.get(k)}


def _converge(
    stack: Any,
    template: Any,
    parameters: dict[str, str],
    tags: dict[str, str] | None,
    *,
    cleanup: str = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
) -> None:
    """Bring the stack's resources to `template` as a CloudFormation update does: resources it adds
    are created (an instance boots and signals), resources it changes are updated in place, and
    the resources it no longer has are deleted last, in the cleanup phase (`cleanup` is the stack
    status then); a cleanup failure is a DELETE_FAILED event, not a failed update, as on AWS.
    A change the emulator cannot make in place (a replacement) rebuilds the whole stack instead,
    which AWS would not do: logged, and said in docs/LOCAL_RUNTIME.md."""
    resource_map = stack.resource_map
    new_dict = type(stack).parse_template(template) if isinstance(template, str) else template
    new_resources = new_dict.get("Resources", {})
    applied = _applied(stack)
    # what moto has no model for (CloudWatch alarms) it never created: held all the same, as on AWS
    live = {
        lid: resource_map._parsed_resources.get(lid)
        for lid in applied
        if lid in resource_map._parsed_resources or _not_modelled(applied[lid])
    }
    old_values = _parameter_values(stack.template_dict, stack.parameters, resource_map)
    new_values = _parameter_values(new_dict, parameters, resource_map)
    moved = {k for k in set(old_values) | set(new_values) if old_values.get(k) != new_values.get(k)}
    from hivemind.templating.releases import references

    modified = {
        lid: _changed_properties(applied[lid], new_resources[lid])
        | ({"(parameters)"} if references(new_resources[lid]) & moved else set())
        for lid in new_resources
        if lid in live
    }
    modified = {lid: keys for lid, keys in modified.items() if keys}
    replaced = [
        lid
        for lid, keys in modified.items()
        if keys - {"Tags"} - _IN_PLACE.get(new_resources[lid].get("Type", ""), set())
        and not _not_modelled(new_resources[lid])
    ]
    if replaced:
        log.warning("the local runtime rebuilds %s: it cannot change %s in place", stack.name, ", ".join(replaced))
        _rebuild(stack, template, parameters, tags)
        stack.hivemind_applied = dict(stack.template_dict.get("Resources", {}))
        return
    removed = [
        (lid, applied[lid], live[lid]) for lid in reversed(list(applied)) if lid in live and lid not in new_resources
    ]
    stack.template = template
    stack._parse_template()
    stack.parameters = parameters
    if tags:
        stack.tags = dict(tags)
    resource_map._template = stack.template_dict
    resource_map.input_parameters = parameters
    resource_map.load_mapping()
    resource_map.load_parameters()
    resource_map.load_conditions()
    resource_map._resource_json_map = {**new_resources}
    for lid in new_resources:
        if lid not in live:
            resource_map[lid]  # creates it (create_resource: its events, an instance's boot and signal)
            applied[lid] = new_resources[lid]
    for lid, keys in modified.items():
        kind = new_resources[lid].get("Type", "")
        physical = str(getattr(live[lid], "physical_resource_id", "") or "")
        _resource_event(stack, lid, kind, physical, "UPDATE_IN_PROGRESS")
        _update_in_place(kind, physical, new_resources[lid].get("Properties", {}), keys, resource_map)
        applied[lid] = new_resources[lid]
        _resource_event(stack, lid, kind, physical, "UPDATE_COMPLETE")
    stack.output_map = stack._create_output_map()
    stack.status = cleanup
    stack._add_stack_event(cleanup)
    _clean_up(stack, removed)


def _not_modelled(resource_json: dict[str, Any]) -> bool:
    """A type moto's CloudFormation skips instead of creating: AWS::CloudWatch::Alarm."""
    from moto.cloudformation.parsing import NULL_MODELS, get_model_map

    kind = str(resource_json.get("Type", ""))
    return kind in NULL_MODELS or (not kind.startswith("Custom::") and kind not in get_model_map())


class _QuietAboutModels(logging.Filter):
    """moto logs "No Moto CloudFormation support for X" each time it skips such a resource; what is
    not emulated is said once, in docs/LOCAL_RUNTIME.md, not on the user's terminal."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("No Moto CloudFormation support")


logging.getLogger("moto").addFilter(_QuietAboutModels())


def _parameter_values(template: dict[str, Any], given: dict[str, str], resource_map: Any) -> dict[str, Any]:
    """Each parameter's value as CloudFormation resolves it (an SSM-typed one: the parameter's value)."""
    values = {}
    for name, slot in template.get("Parameters", {}).items():
        value, kind = given.get(name, slot.get("Default")), str(slot.get("Type", "String"))
        values[name] = resource_map.parse_ssm_parameter(value, kind) if kind.startswith("AWS::SSM::") else value
    return values


def _update_in_place(kind: str, physical: str, properties: dict[str, Any], keys: set[str], resource_map: Any) -> None:
    """What an in-place update of these properties does, through the service's own API."""
    from moto.cloudformation import parsing

    resolved = {k: parsing.clean_json(properties.get(k), resource_map) for k in keys if not k.startswith("(")}
    region = resource_map._region_name
    tags = resolved.pop("Tags", None)
    if kind.startswith("AWS::ElasticLoadBalancingV2::"):
        elbv2 = clients.client("elbv2", region)
        if tags:
            elbv2.add_tags(ResourceArns=[physical], Tags=tags)
        attributes = resolved.pop("TargetGroupAttributes", None)
        if attributes:
            elbv2.modify_target_group_attributes(TargetGroupArn=physical, Attributes=attributes)
        attributes = resolved.pop("LoadBalancerAttributes", None)
        if attributes:
            elbv2.modify_load_balancer_attributes(LoadBalancerArn=physical, Attributes=attributes)
        if resolved and kind.endswith("TargetGroup"):
            elbv2.modify_target_group(TargetGroupArn=physical, **{k: v for k, v in resolved.items() if v is not None})
    elif kind == "AWS::Logs::LogGroup":
        logs = clients.client("logs", region)
        if resolved.get("RetentionInDays"):
            logs.put_retention_policy(logGroupName=physical, retentionInDays=int(resolved["RetentionInDays"]))
    elif kind.startswith("AWS::EC2::") and tags:
        clients.client("ec2", region).create_tags(Resources=[physical], Tags=tags)
    # other types' tags (IAM, logs) are not behaviour here: the stack's own record of them is enough


def _clean_up(stack: Any, removed: list[tuple[str, dict[str, Any], Any]]) -> None:
    """The cleanup phase: delete what the template no longer has, dependents first."""
    from botocore.exceptions import ClientError

    region = stack.region_name
    ec2, elbv2 = clients.client("ec2", region), clients.client("elbv2", region)
    applied = _applied(stack)
    for lid, resource_json, obj in removed:
        kind = resource_json.get("Type", "")
        physical = str(getattr(obj, "physical_resource_id", "") or "")
        _resource_event(stack, lid, kind, physical, "DELETE_IN_PROGRESS")
        try:
            if obj is None:
                pass  # never created here (moto has no model for its type)
            elif kind in _DELETE_ORDER:
                _delete_one(ec2, elbv2, kind, physical)
            else:
                stack.resource_map._delete_resource(obj, resource_json)
        except ClientError as exc:
            if "NotFound" not in exc.response["Error"].get("Code", ""):
                _resource_event(stack, lid, kind, physical, "DELETE_FAILED", exc.response["Error"].get("Message", ""))
                continue
        except Exception as exc:  # noqa: BLE001 - moto's own delete; the update still completes
            _resource_event(stack, lid, kind, physical, "DELETE_FAILED", f"{type(exc).__name__}: {exc}"[:1000])
            continue
        stack.resource_map._parsed_resources.pop(lid, None)
        applied.pop(lid, None)
        _resource_event(stack, lid, kind, physical, "DELETE_COMPLETE")


def _patch_continue_update_rollback() -> None:
    """moto has no ContinueUpdateRollback. On AWS it retries the roll back of a stack in
    UPDATE_ROLLBACK_FAILED (asynchronously: UPDATE_ROLLBACK_IN_PROGRESS, then COMPLETE or FAILED
    again); any other status is refused. Here the previous template is rebuilt on a thread."""
    import moto.cloudformation.models as cfn_models
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core.responses import EmptyResult

    def continue_update_rollback(self: Any, name_or_stack_id: str) -> None:
        stack = self.get_stack(name_or_stack_id)
        if stack.status != "UPDATE_ROLLBACK_FAILED" or not hasattr(stack, "hivemind_previous"):
            raise ValidationError(
                name_or_stack_id,
                message=f"Stack:{stack.stack_id} is in {stack.status} state and can not be continued",
            )
        stack.status = "UPDATE_ROLLBACK_IN_PROGRESS"
        stack._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS")
        thread = threading.Thread(target=_restore_previous, args=(stack,), name=f"cfn-{stack.name}", daemon=True)
        with _state.lock:
            _state.threads.append(thread)
        thread.start()

    def respond(self: Any) -> Any:
        self.cloudformation_backend.continue_update_rollback(self._get_param("StackName"))
        return EmptyResult()

    setattr(cfn_models.CloudFormationBackend, "continue_update_rollback", continue_update_rollback)  # noqa: B010
    setattr(CloudFormationResponse, "continue_update_rollback", respond)  # noqa: B010


def _rebuild(stack: Any, template: Any, parameters: dict[str, str], tags: dict[str, str] | None) -> None:
    try:
        stack.resource_map.delete()
    except Exception as exc:  # noqa: BLE001 - see Stack.delete's patch
        log.debug("moto kept some resources of %s: %s", stack.name, exc)
    stack.template = template
    stack._parse_template()
    stack.parameters = parameters
    if tags:
        stack.tags = dict(tags)
    stack.resource_map = stack._create_resource_map()
    stack.output_map = type(stack.output_map)(
        stack.resource_map, {**stack.template_dict, "Outputs": {}}, stack.stack_id
    )
    stack.resource_map.create(stack.template_dict)
    stack.output_map = stack._create_output_map()


def _roll_back(stack: Any, failure: ResourceFailed) -> None:
    kind = failure.resource_type
    _resource_event(stack, failure.logical_id, kind, failure.physical, "CREATE_FAILED", failure.reason)
    reason = f"The following resource(s) failed to create: [{failure.logical_id}]. Rollback requested by user."
    stack.status = "ROLLBACK_IN_PROGRESS"
    stack._add_stack_event("ROLLBACK_IN_PROGRESS", reason)
    _discard_failed(stack, failure)
    created = _created(stack)
    kept = delete_resources(stack)
    failed = {k[0]: k for k in kept}
    for logical_id, kind, physical, _ in reversed(created):
        if logical_id in failed:
            _resource_event(stack, logical_id, kind, physical, "DELETE_FAILED", failed[logical_id][3])
        else:
            _resource_event(stack, logical_id, kind, physical, "DELETE_COMPLETE")
    stack.template_dict = {**stack.template_dict, "Outputs": {}}
    stack.output_map = stack._create_output_map()
    stack.status = "ROLLBACK_FAILED" if kept else "ROLLBACK_COMPLETE"
    if kept:
        listed = ", ".join(failed)
        stack._add_stack_event("ROLLBACK_FAILED", f"The following resource(s) failed to delete: [{listed}]. ")
    else:
        stack._add_stack_event("ROLLBACK_COMPLETE")


def _created(stack: Any) -> list[tuple[str, str, str, Any]]:
    """(logical id, type, physical id, moto's object) of what the stack holds now, in creation order."""
    resources = stack.template_dict.get("Resources", {})
    return [
        (lid, resources[lid].get("Type", ""), str(r.physical_resource_id), r)
        for lid, r in list(stack.resource_map._parsed_resources.items())
        if hasattr(r, "physical_resource_id") and lid in resources
    ]


# The order CloudFormation's dependency graph gives a HiveMind stack's deletion (dependents first).
_DELETE_ORDER = (
    "AWS::ElasticLoadBalancingV2::Listener",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::ElasticLoadBalancingV2::TargetGroup",
    "AWS::EC2::Instance",
    "AWS::EC2::SubnetRouteTableAssociation",
    "AWS::EC2::RouteTable",
    "AWS::EC2::InternetGateway",
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::Subnet",
    "AWS::EC2::VPC",
)


def delete_resources(stack: Any) -> list[tuple[str, str, str, str]]:
    """Delete a stack's resources; what stays, as (logical id, type, physical id, AWS's reason).

    moto's own delete (it retries while it makes progress) removes some resources and silently
    keeps others whose CloudFormation delete it does not implement (internet gateways, route
    tables, target groups), after which a VPC "has dependencies". So what it kept is deleted
    through the EC2 and ELB APIs in dependency order, as CloudFormation would; anything those
    refuse stays, with the service's own message in CloudFormation's wording."""
    created = _created(stack)
    try:
        stack.resource_map.delete()
    except Exception as exc:  # noqa: BLE001 - what it could not delete is swept below
        log.debug("moto kept some resources of %s: %s", stack.name, exc)
    from botocore.exceptions import ClientError

    region = stack.region_name
    ec2, elbv2 = clients.client("ec2", region), clients.client("elbv2", region)
    kept = []
    ordered = sorted((c for c in created if c[1] in _DELETE_ORDER), key=lambda c: _DELETE_ORDER.index(c[1]))
    for logical_id, kind, physical, _ in ordered:
        try:
            if kind == "AWS::EC2::VPC":
                block_vpc_delete(ec2, physical)
            _delete_one(ec2, elbv2, kind, physical)
        except ClientError as exc:
            error = exc.response["Error"]
            if "NotFound" in error.get("Code", ""):
                continue
            service = "AmazonEC2" if kind.startswith("AWS::EC2::") else "AmazonElasticLoadBalancing"
            reason = (
                f"{error.get('Message')} (Service: {service}; Status Code: "
                f"{exc.response['ResponseMetadata'].get('HTTPStatusCode', 400)}; Error Code: {error.get('Code')}; "
                f"Request ID: {exc.response['ResponseMetadata'].get('RequestId', '')}; Proxy: null)"
            )
            kept.append((logical_id, kind, physical, reason))
    # what the stack still holds is what stayed: moto would otherwise create any other resource of
    # the template again the next time its resources are listed (its resource map builds lazily)
    stays = {k[0] for k in kept}
    resource_map = stack.resource_map
    resource_map._resource_json_map = {k: v for k, v in resource_map._resource_json_map.items() if k in stays}
    template_resources = stack.template_dict.get("Resources", {})
    resource_map._parsed_resources = {
        k: v for k, v in resource_map._parsed_resources.items() if k in stays or k not in template_resources
    }
    return kept


def _delete_one(ec2: Any, elbv2: Any, kind: str, physical: str) -> None:
    if kind == "AWS::ElasticLoadBalancingV2::Listener":
        elbv2.delete_listener(ListenerArn=physical)
    elif kind == "AWS::ElasticLoadBalancingV2::LoadBalancer":
        elbv2.delete_load_balancer(LoadBalancerArn=physical)
    elif kind == "AWS::ElasticLoadBalancingV2::TargetGroup":
        elbv2.delete_target_group(TargetGroupArn=physical)
    elif kind == "AWS::EC2::Instance":
        ec2.terminate_instances(InstanceIds=[physical])
    elif kind == "AWS::EC2::SubnetRouteTableAssociation":
        ec2.disassociate_route_table(AssociationId=physical)
    elif kind == "AWS::EC2::RouteTable":
        ec2.delete_route_table(RouteTableId=physical)
    elif kind == "AWS::EC2::InternetGateway":
        gateway = ec2.describe_internet_gateways(InternetGatewayIds=[physical])["InternetGateways"][0]
        for attachment in gateway.get("Attachments", []):
            ec2.detach_internet_gateway(InternetGatewayId=physical, VpcId=attachment["VpcId"])
        ec2.delete_internet_gateway(InternetGatewayId=physical)
    elif kind == "AWS::EC2::SecurityGroup":
        ec2.delete_security_group(GroupId=physical)
    elif kind == "AWS::EC2::Subnet":
        ec2.delete_subnet(SubnetId=physical)
    elif kind == "AWS::EC2::VPC":
        ec2.delete_vpc(VpcId=physical)


def _stack_of(resources_map: Any) -> Any:
    from moto.cloudformation.models import cloudformation_backends

    backend = cloudformation_backends[resources_map._account_id][resources_map._region_name]
    return backend.stacks.get(resources_map.stack_id)


def _resource_event(stack: Any, logical_id: str, kind: str, physical: str, status: str, reason: str = "") -> None:
    from moto.cloudformation.models import Event

    if stack is None or logical_id == stack.name:
        return
    event = Event(
        stack_id=stack.stack_id,
        stack_name=stack.name,
        logical_resource_id=logical_id,
        physical_resource_id=physical,
        resource_type=kind,
        resource_status=status,
        resource_status_reason=reason or None,
        resource_properties=None,
    )
    stack.events.append(event)


def _await_signal(
    stack: Any, logical_id: str, kind: str, resource: Any, resource_json: dict[str, Any], resources_map: Any
) -> None:
    """The instance's creation policy: its user data runs the app here (instances.py) and the
    resource completes on SUCCESS, or fails with CloudFormation's own reason."""
    from moto.cloudformation import parsing

    def resolve(name: str) -> Any:
        if "." in name:
            resource_name, _, attribute = name.partition(".")
            return parsing.clean_json({"Fn::GetAtt": [resource_name, attribute]}, resources_map)
        return parsing.clean_json({"Ref": name}, resources_map)

    instance_id = str(resource.id)
    script = instances.user_data_script(resource_json, resolve)
    signal = resource_json["CreationPolicy"].get("ResourceSignal", {})
    parameters = {**resources_map.resolved_parameters, "AWS::Region": resources_map._region_name}
    try:
        booted = instances.boot(
            instance_id=instance_id,
            private_ip=str(getattr(resource, "private_ip", "") or "10.0.0.10"),
            script=script or "",
            parameters={k: str(v) for k, v in parameters.items()},
            s3=clients.client("s3", REGION),
            timeout_s=_duration_s(str(signal.get("Timeout", "PT5M"))),
            time_scale=_state.time_scale,
            scratch=_state.scratch,
            cache=_state.cache,
        )
    except instances.BootFailed as failure:
        reason = _SIGNAL_FAILURE_REASON if failure.signalled else _SIGNAL_TIMEOUT_REASON
        raise ResourceFailed(logical_id, kind, reason.format(instance_id=instance_id), physical=instance_id) from None
    if booted.not_rehearsed:
        note = f"HiveMind local runtime: the app was not run: {booted.not_rehearsed}"
        _resource_event(stack, logical_id, kind, instance_id, "CREATE_IN_PROGRESS", note)
    else:
        reason = _SIGNAL_SUCCESS_REASON.format(instance_id=instance_id)
        _resource_event(stack, logical_id, kind, instance_id, "CREATE_IN_PROGRESS", reason)


def _duration_s(iso: str) -> float:
    """An ISO-8601 duration of a creation policy ("PT15M", "PT1H30M", "PT900S") in seconds."""
    match = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?", iso.strip())
    if not match or not any(match.groups()):
        return 300.0
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return float(hours * 3600 + minutes * 60 + seconds)


def _patch_no_value_in_lists() -> None:
    """`!If [cond, x, !Ref AWS::NoValue]` in a list removes the element on AWS; moto leaves None."""
    from moto.cloudformation import parsing

    original = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, list):
            cleaned = [clean_json(item, resources_map) for item in resource_json]
            return [item for item in cleaned if item is not None]
        return original(resource_json, resources_map)

    parsing.clean_json = clean_json  # the module's own recursive calls find it by this name
