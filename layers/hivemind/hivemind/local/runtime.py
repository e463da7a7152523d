"""The local AWS runtime: moto made faithful enough to run HiveMind's real workflow offline.

What it adds to moto 5.2.5 (gaps measured in shared/spikes/local-aws/NOTES.md):
- Lambda runs in-process: each function's real handler (functions/<name>/app.py) is called
  with that function's own environment, for Step Functions tasks, `lambda.invoke` and
  EventBridge targets (moto needs Docker for the first and raises for the last).
- CloudFormation creates stacks asynchronously, as AWS does: CREATE_IN_PROGRESS at once,
  per-resource events, then CREATE_COMPLETE, or CREATE_FAILED on the failing resource →
  ROLLBACK_IN_PROGRESS → ROLLBACK_COMPLETE with the created resources deleted. Every stack
  status change is published to EventBridge as AWS does (moto publishes none).
- Faults can be injected by name (`FAULTS`) and target health follows a script.
- Wait and Retry intervals of the state machine are scaled (they are real sleeps in moto).
- HiveMind's own resources are created from template.yaml, translated by aws-sam-translator
  and created by moto's CloudFormation: what runs here is what `sam deploy` creates.
"""

from __future__ import annotations

import copy
import importlib.util
import io
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import traceback
import types
import warnings
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hivemind.aws import clients
from hivemind.local import instances, loadbalancer
from hivemind.settings import Settings, invocation_environment

log = logging.getLogger("hivemind.local")

REGION = "us-east-1"
ACCOUNT = "123456789012"
STACK_NAME = "hivemind"
CODE_BUCKET = "hivemind-local-code"
_EVENT_TIME = "%Y-%m-%dT%H:%M:%SZ"

# name -> what it does; see Fault
FAULTS: dict[str, str] = {
    "capacity": "the first EC2 instance fails with InsufficientInstanceCapacity (the Medic retries)",
    "bad-ami": "every EC2 instance fails with InvalidAMIID.NotFound (the Medic rolls back)",
}

_CAPACITY_REASON = (
    "We currently do not have sufficient {itype} capacity in the Availability Zone you requested "
    "({az}). Our system will be working on provisioning additional capacity. (Service: Ec2, Status Code: 500, "
    'Request ID: 6f1c2a4e-local) (SDK Attempt Count: 1)" (RequestToken: local, HandlerErrorCode: '
    "GeneralServiceException) Error Code: InsufficientInstanceCapacity"
)
# CloudFormation's own texts for a creation policy's outcome
_SIGNAL_SUCCESS_REASON = "Received SUCCESS signal with UniqueId {instance_id}"
_SIGNAL_FAILURE_REASON = "Received FAILURE signal with UniqueId {instance_id}"
_SIGNAL_TIMEOUT_REASON = "Failed to receive 1 resource signal(s) within the specified duration"
_AMI_REASON = (
    "The image id '[{ami}]' does not exist (Service: Ec2, Status Code: 400, Request ID: 0c9d-local) "
    "(RequestToken: local, HandlerErrorCode: InvalidRequest) Error Code: InvalidAMIID.NotFound"
)


class ResourceFailed(Exception):
    """A resource CloudFormation could not create (injected, or moto itself raised)."""

    def __init__(self, logical_id: str, resource_type: str, reason: str):
        super().__init__(reason)
        self.logical_id, self.resource_type, self.reason = logical_id, resource_type, reason


@dataclass
class _Function:
    """A HiveMind function: its handler is imported from the source tree at first invocation."""

    name: str
    logical_id: str
    code_dir: Path
    handler_spec: str
    _handler: Callable[[Any, Any], Any] | None = None

    @property
    def handler(self) -> Callable[[Any, Any], Any]:
        if self._handler is None:
            self._handler = _load_handler(self.logical_id, self.code_dir, self.handler_spec)
        return self._handler


@dataclass
class _State:
    """What the patches consult; one per process (moto's backends are process-global too)."""

    active: bool = False  # patches fall through to moto's own behaviour unless a runtime runs
    functions: dict[str, _Function] = field(default_factory=dict)
    faults: set[str] = field(default_factory=set)
    fired: set[str] = field(default_factory=set)
    time_scale: float = 0.01
    provision_delay_s: float = 0.2
    scratch: Path = field(default_factory=lambda: Path(tempfile.gettempdir()))
    cache: Path = field(default_factory=lambda: Path(tempfile.gettempdir()))
    threads: list[threading.Thread] = field(default_factory=list)
    in_flight: int = 0  # event deliveries running now
    restoring: bool = False  # an update is rolling back: the previous version builds as it did
    invocations: list[tuple[str, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


_state = _State()
_installed = False


# ------------------------------------------------------------------------------------------ Lambda
class _Context:
    """The parts of the Lambda context object that handlers and Powertools read."""

    def __init__(self, fn: Any):
        self.function_name = fn.function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = fn.function_arn
        self.memory_limit_in_mb = int(fn.memory_size)
        self.aws_request_id = f"local-{time.monotonic_ns()}"
        self.log_group_name = f"/aws/lambda/{fn.function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + float(fn.timeout)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _invoke(fn: Any, event: Any) -> tuple[str, bool, str]:
    """Run a function's real handler in-process -> (payload json, errored, logs)."""
    registered = _state.functions.get(fn.function_name)
    if registered is None:
        missing = {"errorType": "ResourceNotFoundException", "errorMessage": f"no handler for {fn.function_name}"}
        return json.dumps(missing), True, ""
    if isinstance(event, (str, bytes)):
        event = json.loads(event or "{}")
    started = time.perf_counter()
    try:
        with invocation_environment({**_lambda_env(fn), **fn.environment_vars}):
            result = registered.handler(copy.deepcopy(event), _Context(fn))
        return json.dumps(result, default=str), False, ""
    except Exception as exc:  # noqa: BLE001  # a Lambda's unhandled error becomes its error payload, as on AWS
        payload: dict[str, Any] = {
            "errorType": type(exc).__name__,
            "errorMessage": str(exc),
            "stackTrace": traceback.format_exception(exc)[-6:],
        }
        return json.dumps(payload), True, traceback.format_exc()
    finally:
        with _state.lock:
            _state.invocations.append((fn.function_name, time.perf_counter() - started))


def _lambda_env(fn: Any) -> dict[str, str]:
    return {
        "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
        "AWS_REGION": fn.region,
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


def _patch_lambda() -> None:
    import moto.awslambda.models as lambda_models

    original = lambda_models.LambdaFunction._invoke_lambda

    def _invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
        if not _state.active:
            return original(self, event)
        return _invoke(self, event)

    lambda_models.LambdaFunction._invoke_lambda = _invoke_lambda


# ------------------------------------------------------------------------------------- EventBridge
def _patch_eventbridge() -> None:
    """Deliver to Lambda targets (moto raises NotImplementedError for them), with AWS's ISO time."""
    import moto.events.models as event_models

    original = event_models.Rule.send_to_targets

    def send_to_targets(self: Any, original_event: dict[str, Any], transform_input: bool = True) -> None:
        if not _state.active:
            return original(self, original_event, transform_input)
        if not self.event_pattern.matches_event(original_event):
            return
        lambdas = [t for t in self.targets if ":lambda:" in t["Arn"]]
        for target in lambdas:
            event = dict(original_event)
            if isinstance(event.get("time"), (int, float)):
                event["time"] = time.strftime(_EVENT_TIME, time.gmtime(event["time"]))
            event.pop("ingestion-time", None)
            if "Input" in target:
                event = json.loads(target["Input"])
            _deliver(target["Arn"], event)
        others = [t for t in self.targets if ":lambda:" not in t["Arn"]]
        if others:
            saved, self.targets = self.targets, others
            try:
                original(self, original_event, transform_input)
            finally:
                self.targets = saved

    event_models.Rule.send_to_targets = send_to_targets


def _deliver(function_arn: str, event: dict[str, Any]) -> None:
    """An asynchronous invocation: errors are logged (EventBridge would retry), never raised."""
    from moto.awslambda.utils import get_backend

    parts = function_arn.split(":")
    fn = get_backend(parts[4], parts[3]).get_function(function_arn)
    with _state.lock:
        _state.in_flight += 1
    try:
        payload, errored, _ = _invoke(fn, event)
    finally:
        with _state.lock:
            _state.in_flight -= 1
    if errored:
        log.error("event target %s failed: %s", fn.function_name, json.loads(payload).get("errorMessage"))


def _publish(
    account: str, region: str, source: str, detail_type: str, resources: list[str], detail: dict[str, Any]
) -> None:
    from moto.events.models import events_backends

    entry = {"Source": source, "DetailType": detail_type, "Resources": resources, "Detail": json.dumps(detail)}
    events_backends[account][region].put_events([entry])


# ---------------------------------------------------------------------------------- CloudFormation
def _patch_cloudformation() -> None:
    import moto.cloudformation.models as cfn_models
    import moto.cloudformation.parsing as parsing

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
        if not _state.active:
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
        """AWS deletes in dependency order; moto's delete can stop on a VPC it thinks is still in use
        (a terminated instance's interface), so what it leaves behind is logged, not raised."""
        if not _state.active:
            return original_delete(self)
        self._add_stack_event("DELETE_IN_PROGRESS", resource_status_reason="User Initiated")
        try:
            self.resource_map.delete()
        except Exception as exc:  # noqa: BLE001 - emulator limitation, see docs/LOCAL_RUNTIME.md
            log.debug("moto kept some resources of %s: %s", self.name, exc)
        self.status = "DELETE_COMPLETE"
        self._add_stack_event("DELETE_COMPLETE")
        return None

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
    """Replace the stack's resources with the change set's template (a coarse but faithful enough
    update: what changed is new, outputs follow); on failure restore the previous template."""
    previous = (stack.template, dict(stack.parameters), dict(stack.tags))
    time.sleep(_state.provision_delay_s)
    try:
        _rebuild(stack, change_set.template, change_set.parameters or stack.parameters, change_set.tags)
        stack.status = "UPDATE_COMPLETE"
        stack._add_stack_event("UPDATE_COMPLETE")
    except Exception as exc:  # noqa: BLE001 - any failure of an update rolls it back, as on AWS
        failure = (
            exc
            if isinstance(exc, ResourceFailed)
            else ResourceFailed(stack.name, "AWS::CloudFormation::Stack", f"{type(exc).__name__}: {exc}")
        )
        log.warning("update of %s failed: %s", stack.name, failure.reason)
        _resource_event(stack, failure.logical_id, failure.resource_type, "", "UPDATE_FAILED", failure.reason)
        stack.status = "UPDATE_ROLLBACK_IN_PROGRESS"
        stack._add_stack_event(
            "UPDATE_ROLLBACK_IN_PROGRESS", f"The following resource(s) failed to update: [{failure.logical_id}]."
        )
        _state.restoring = True
        try:
            _rebuild(stack, *previous)
        except Exception as exc:  # noqa: BLE001 - the stack must still settle
            log.warning("roll back of %s failed: %s", stack.name, exc)
            stack.status = "UPDATE_ROLLBACK_FAILED"
            stack._add_stack_event("UPDATE_ROLLBACK_FAILED", f"{type(exc).__name__}: {exc}"[:1000])
            return
        finally:
            _state.restoring = False
        stack.status = "UPDATE_ROLLBACK_COMPLETE"
        stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE")
    change_set.execution_status = "EXECUTE_COMPLETE"


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
    _resource_event(stack, failure.logical_id, failure.resource_type, "", "CREATE_FAILED", failure.reason)
    reason = f"The following resource(s) failed to create: [{failure.logical_id}]. Rollback requested by user."
    stack.status = "ROLLBACK_IN_PROGRESS"
    stack._add_stack_event("ROLLBACK_IN_PROGRESS", reason)
    created = [
        (lid, r)
        for lid, r in list(stack.resource_map._parsed_resources.items())
        if hasattr(r, "physical_resource_id") and lid in stack.template_dict.get("Resources", {})
    ]
    try:
        stack.resource_map.delete()
    except Exception as exc:  # noqa: BLE001  # moto's delete is partial; the stack still ends ROLLBACK_COMPLETE on AWS
        log.debug("moto could not delete everything while rolling back %s: %s", stack.name, exc)
    for logical_id, resource in reversed(created):
        kind = stack.template_dict["Resources"][logical_id].get("Type", "")
        _resource_event(stack, logical_id, kind, str(resource.physical_resource_id), "DELETE_COMPLETE")
    stack.template_dict = {**stack.template_dict, "Outputs": {}}
    stack.output_map = stack._create_output_map()
    stack.status = "ROLLBACK_COMPLETE"
    stack._add_stack_event("ROLLBACK_COMPLETE")


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


def _fault_for(kind: str, resource_json: dict[str, Any], resources_map: Any) -> str | None:
    if kind != "AWS::EC2::Instance" or _state.restoring:
        return None
    if "bad-ami" in _state.faults:
        return _AMI_REASON.format(ami="ami-0badc0ffee0000000")
    if "capacity" in _state.faults and "capacity" not in _state.fired:
        _state.fired.add("capacity")
        itype = resource_json.get("Properties", {}).get("InstanceType", "t3.micro")
        return _CAPACITY_REASON.format(itype=itype, az=f"{REGION}a")
    return None


# ------------------------------------------------------------------------------------------- EC2
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
        raise ResourceFailed(logical_id, kind, reason.format(instance_id=instance_id)) from None
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


def _patch_instance_termination() -> None:
    """A terminated instance's app stops (its process group ends)."""
    from moto.ec2.models.instances import Instance

    original = Instance.terminate

    def terminate(self: Any) -> Any:
        instances.stop(self.id)
        return original(self)

    Instance.terminate = terminate


# ---------------------------------------------------------------------------------- Step Functions
def _patch_state_machines_from_cloudformation() -> None:
    """moto's CloudFormation creates state machines in the backend that does not execute ASL."""
    import moto.stepfunctions.models as sfn_models
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends
    from moto.utilities.tagging_service import TaggingService

    original = sfn_models.StateMachine.create_from_cloudformation_json

    def create(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        if not _state.active:
            return original(resource_name, cloudformation_json, account_id, region_name, **kwargs)
        props = cloudformation_json["Properties"]
        tags = TaggingService.convert_dict_to_tags_input({t["Key"]: t["Value"] for t in props.get("Tags", [])})
        return stepfunctions_parser_backends[account_id][region_name].create_state_machine(
            name=props.get("StateMachineName", resource_name),
            definition=props.get("DefinitionString", ""),
            roleArn=props.get("RoleArn", ""),
            tags=[{"key": t["Key"], "value": t["Value"]} for t in tags],
        )

    sfn_models.StateMachine.create_from_cloudformation_json = classmethod(create)


def _patch_execution_events() -> None:
    """Publish "Step Functions Execution Status Change" when an execution ends (moto publishes none)."""
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

    original = BaseExecutionWorkerCommunication.terminated

    def terminated(self: Any) -> None:
        if not _state.active:
            return original(self)
        with _state.lock:  # counted before the status flips, so drain() waits for the event's delivery
            _state.in_flight += 1
        try:
            original(self)
            _publish_execution_ended(self.execution)
        finally:
            with _state.lock:
                _state.in_flight -= 1

    BaseExecutionWorkerCommunication.terminated = terminated


def _publish_execution_ended(execution: Any) -> None:
    detail = {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine.arn,
        "name": execution.name,
        "status": execution.exec_status.value if execution.exec_status else "UNKNOWN",
        "error": execution.error,
        "cause": execution.cause,
    }
    _publish(
        execution.account_id,
        execution.region_name,
        "aws.states",
        "Step Functions Execution Status Change",
        [execution.exec_arn],
        detail,
    )


def _patch_send_task_failure_cause() -> None:
    """moto's SendTaskFailure drops `cause`; the Catch then sees none."""
    from moto.core.responses import EmptyResult
    from moto.stepfunctions.responses import StepFunctionResponse

    original = StepFunctionResponse.send_task_failure

    def send_task_failure(self: Any) -> Any:
        if not _state.active:
            return original(self)
        self.stepfunction_backend.send_task_failure(
            self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
        )
        return EmptyResult()

    StepFunctionResponse.send_task_failure = send_task_failure


def _patch_time() -> None:
    """Scale Wait states and Retry intervals (real sleeps in moto's engine)."""
    import moto.stepfunctions.parser.asl.component.common.retry.retrier_decl as retrier
    import moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function as wait_fn

    def wait_interval(self: Any, env: Any, wait_seconds: float) -> None:
        if wait_seconds > 0:
            env.program_state_event.wait(wait_seconds * (_state.time_scale if _state.active else 1.0))

    def scaled_sleep(seconds: float) -> None:
        time.sleep(seconds * (_state.time_scale if _state.active else 1.0))

    wait_fn.WaitFunction._wait_interval = wait_interval
    retrier.time = types.SimpleNamespace(sleep=scaled_sleep, time=time.time)


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


def install_patches() -> None:
    """Install every patch once per process (they consult `_state`, reset per runtime)."""
    global _installed
    if _installed:
        return
    _patch_lambda()
    _patch_eventbridge()
    _patch_cloudformation()
    _patch_instance_termination()
    loadbalancer.install_patches(lambda: _state.active)
    _patch_state_machines_from_cloudformation()
    _patch_send_task_failure_cause()
    _patch_execution_events()
    _patch_time()
    _patch_no_value_in_lists()
    _installed = True


# ------------------------------------------------------------------------- HiveMind from template.yaml
def translate_template(root: Path, code_uri: str) -> tuple[dict[str, Any], dict[str, tuple[Path, str]]]:
    """template.yaml → plain CloudFormation moto can create, and each function's handler source.

    Local CodeUri/ContentUri point at a placeholder S3 object (the code runs in-process), and
    the state machine's DefinitionUri + DefinitionSubstitutions become one `Fn::Join`, which
    is what CloudFormation's substitution means.
    """
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    sam = yaml_parse((root / "template.yaml").read_text())
    handlers: dict[str, tuple[Path, str]] = {}
    definitions: dict[str, str] = {}
    for logical_id, resource in sam["Resources"].items():
        props = resource.setdefault("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            handlers[logical_id] = (root / props["CodeUri"], props["Handler"])
            props["CodeUri"] = code_uri
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            props["ContentUri"] = code_uri
        elif resource["Type"] == "AWS::Serverless::StateMachine" and "DefinitionUri" in props:
            definitions[logical_id] = (root / props.pop("DefinitionUri")).read_text()
            props["Definition"] = {"StartAt": "Placeholder", "States": {"Placeholder": {"Type": "Succeed"}}}

    class _NoManagedPolicyLookups:
        def load(self) -> dict[str, str]:
            raise RuntimeError("template.yaml must not need IAM managed-policy lookups")

    logging.getLogger("samtranslator.metrics.metrics").setLevel(logging.ERROR)  # "unpublished metrics"
    with _env(AWS_DEFAULT_REGION=REGION):
        cfn = transform(sam, {}, _NoManagedPolicyLookups())
    for logical_id, text in definitions.items():
        props = cfn["Resources"][logical_id]["Properties"]
        props["DefinitionString"] = _join_substitutions(text, props.pop("DefinitionSubstitutions", {}))
    _drop_not_emulated(cfn)
    return cfn, handlers


# moto creates a RestApi without importing its OpenAPI body, so its deployment fails; the API
# function itself is kept and is invoked with API Gateway events instead.
NOT_EMULATED = frozenset({"AWS::ApiGateway::RestApi", "AWS::ApiGateway::Deployment", "AWS::ApiGateway::Stage"})


def _drop_not_emulated(template: dict[str, Any]) -> None:
    """Remove resource types not emulated, and everything that references them."""
    resources, outputs = template["Resources"], template.get("Outputs", {})
    dropped = {lid for lid, r in resources.items() if r["Type"] in NOT_EMULATED}
    while True:
        more = {lid for lid, r in resources.items() if lid not in dropped and _references(r, dropped)}
        if not more:
            break
        dropped |= more
    for lid in dropped:
        resources.pop(lid)
    for name in [n for n, o in outputs.items() if _references(o, dropped)]:
        outputs.pop(name)


def _references(node: Any, logical_ids: set[str]) -> bool:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and value in logical_ids:
                return True
            if key == "Fn::GetAtt" and isinstance(value, list) and value and value[0] in logical_ids:
                return True
            if key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                names = {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text)}
                if names & logical_ids:
                    return True
            if key == "DependsOn" and set([value] if isinstance(value, str) else value) & logical_ids:
                return True
            if _references(value, logical_ids):
                return True
    elif isinstance(node, list):
        return any(_references(v, logical_ids) for v in node)
    return False


def _join_substitutions(text: str, substitutions: dict[str, Any]) -> Any:
    parts: list[Any] = []
    last = 0
    for match in re.finditer(r"\$\{([A-Za-z0-9_]+)\}", text):
        if match.group(1) in substitutions:
            parts += [text[last : match.start()], substitutions[match.group(1)]]
            last = match.end()
    parts.append(text[last:])
    return {"Fn::Join": ["", parts]}


@contextmanager
def _env(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _load_handler(logical_id: str, code_dir: Path, handler: str) -> Callable[[Any, Any], Any]:
    module_name, _, attr = handler.rpartition(".")
    path = code_dir / f"{module_name.replace('.', '/')}.py"
    spec = importlib.util.spec_from_file_location(f"hivemind_functions.{logical_id}", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"{logical_id}: no handler module at {path}")
    module = sys.modules.get(spec.name)
    if module is None:
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return getattr(module, attr)


def _placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "HiveMind local runtime: handlers run in-process from the source tree.\n")
    return buffer.getvalue()


# ------------------------------------------------------------------------------------ the runtime
class LocalRuntime:
    """HiveMind on moto, in this process. Use as a context manager:

    >>> with LocalRuntime(repo_root) as aws:           # doctest: +SKIP
    ...     record = aws.start(request)
    """

    def __init__(
        self, root: Path, *, time_scale: float = 0.01, provision_delay_s: float = 0.2, faults: tuple[str, ...] = ()
    ):
        unknown = sorted(set(faults) - set(FAULTS))
        if unknown:
            raise ValueError(f"unknown fault(s) {', '.join(unknown)}; known: {', '.join(FAULTS)}")
        self.root = root
        self.time_scale = time_scale
        self.provision_delay_s = provision_delay_s
        self.faults = set(faults)
        self.outputs: dict[str, str] = {}
        self._mock: Any = None
        self._scratch: Path | None = None
        self._saved_env: dict[str, str | None] = {}

    # lifecycle -----------------------------------------------------------------------------
    def __enter__(self) -> LocalRuntime:
        self.start_runtime()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_runtime()

    def start_runtime(self) -> None:
        from moto import mock_aws

        env = {
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_SESSION_TOKEN": "local",
            "MOTO_ACCOUNT_ID": ACCOUNT,
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_DEV": "false",
            # Powertools reads these from the process environment: no X-Ray daemon, and EMF metric
            # lines (which CloudWatch reads on AWS) would land on stdout
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
        self._saved_env = {k: os.environ.get(k) for k in env}
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
            self._saved_env[name] = os.environ.pop(name, None)
        os.environ.update(env)
        install_patches()
        # e.g. AWS::S3::BucketPolicy: moto skips it (and says so); it has no effect offline anyway
        warnings.filterwarnings("ignore", message=".*not supported by moto's CloudFormation")
        logging.getLogger("moto.cloudformation.parsing").setLevel(logging.ERROR)
        _state.functions.clear()
        _state.faults, _state.fired = set(self.faults), set()
        _state.time_scale, _state.provision_delay_s = self.time_scale, self.provision_delay_s
        _state.invocations.clear()
        self._scratch = Path(tempfile.mkdtemp(prefix="hivemind-instances-"))
        self._scratch.chmod(0o755)  # nginx's workers (nobody, when run as root) read the site
        _state.scratch, _state.cache = self._scratch, package_cache()
        loadbalancer.settings.time_scale = self.time_scale
        clients.reset()
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        self._mock.start()
        _state.active = True
        try:
            self._deploy_hivemind()
        except BaseException:
            self.stop_runtime()
            raise

    def stop_runtime(self) -> None:
        self.drain(timeout_s=30)
        instances.stop_all()
        loadbalancer.stop_all()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None
        _state.active = False
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        clients.reset()
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def drain(self, timeout_s: float) -> None:
        """Wait for stack provisioning and event deliveries still running (leaving moto while
        they run would break them), bounded by `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        with _state.lock:
            threads = list(_state.threads)
            _state.threads.clear()
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        while _state.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)

    # HiveMind itself ---------------------------------------------------------------------------
    def _deploy_hivemind(self) -> None:
        s3, cfn = clients.client("s3", REGION), clients.client("cloudformation", REGION)
        s3.create_bucket(Bucket=CODE_BUCKET)
        s3.put_object(Bucket=CODE_BUCKET, Key="placeholder.zip", Body=_placeholder_zip())
        template, handlers = translate_template(self.root, f"s3://{CODE_BUCKET}/placeholder.zip")
        stack_id = cfn.create_stack(
            StackName=STACK_NAME,
            TemplateBody=json.dumps(template),
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
        )["StackId"]
        description = self._wait_stack(cfn, stack_id)
        if description["StackStatus"] != "CREATE_COMPLETE":
            events = cfn.describe_stack_events(StackName=stack_id)["StackEvents"]
            failed = [
                f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason')}"
                for e in events
                if e["ResourceStatus"].endswith("FAILED")
            ]
            raise RuntimeError(f"HiveMind's own stack failed on the local runtime: {failed}")
        self.outputs = {o["OutputKey"]: o["OutputValue"] for o in description.get("Outputs", [])}
        physical = {
            r.get("LogicalResourceId"): r.get("PhysicalResourceId")
            for r in cfn.describe_stack_resources(StackName=stack_id)["StackResources"]
        }
        # a function whose Condition is false (say, PushFunction with no tracked repositories) is not created
        created = {lid: source for lid, source in handlers.items() if lid in physical}
        for logical_id, (code_dir, handler) in created.items():
            name = physical[logical_id]
            _state.functions[name] = _Function(name, logical_id, code_dir, handler)
        self.function_names = {lid: physical[lid] for lid in created}

    def _wait_stack(self, cfn: Any, stack_id: str, timeout_s: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            description = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
            if not description["StackStatus"].endswith("IN_PROGRESS"):
                return dict(description)
            time.sleep(0.02)
        raise TimeoutError(f"stack {stack_id} did not settle within {timeout_s} s")

    # what callers use ------------------------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        return Settings(
            deployments_table=self.outputs["DeploymentsTableName"],
            artifacts_bucket=self.outputs["ArtifactsBucketName"],
            state_machine_arn=self.outputs["DeployStateMachineArn"],
            region=REGION,
        )

    def client(self, service: str) -> Any:
        return clients.client(service, REGION)

    def invoke(self, logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
        """Invoke one HiveMind function through the Lambda API (as `sam local invoke` would)."""
        response = self.client("lambda").invoke(
            FunctionName=self.function_names[logical_id], Payload=json.dumps(event).encode()
        )
        payload = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            raise RuntimeError(f"{logical_id} failed: {payload}")
        return payload

    def inject(self, *faults: str) -> None:
        """Change the faults of a running runtime (say, between two deployments)."""
        unknown = sorted(set(faults) - set(FAULTS))
        if unknown:
            raise ValueError(f"unknown fault(s) {', '.join(unknown)}; known: {', '.join(FAULTS)}")
        self.faults = set(faults)
        _state.faults, _state.fired = set(faults), set()

    @staticmethod
    def invocations() -> list[tuple[str, float]]:
        with _state.lock:
            return list(_state.invocations)


def package_cache() -> Path:
    """Where instances share package caches (pip, npm, Node builds): an unchanged app installs
    from it in seconds. `HIVEMIND_CACHE` moves it."""
    folder = Path(os.environ.get("HIVEMIND_CACHE") or Path.home() / ".cache" / "hivemind")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def template_summary(root: Path) -> dict[str, int]:
    """Resource types in HiveMind's translated template (used by docs and tests)."""
    template, _ = translate_template(root, f"s3://{CODE_BUCKET}/placeholder.zip")
    counts: dict[str, int] = {}
    for resource in template["Resources"].values():
        counts[resource["Type"]] = counts.get(resource["Type"], 0) + 1
    return counts
