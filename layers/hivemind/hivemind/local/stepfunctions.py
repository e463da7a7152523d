"""Step Functions: HiveMind's state machine runs on moto's ASL engine, as AWS runs it.

moto's CloudFormation creates state machines in the backend that does not execute ASL, drops
SendTaskFailure's `cause` and StopExecution's `error` and `cause`, and publishes no Execution
Status Change events; here each is fixed.
"""

from __future__ import annotations

import logging
from typing import Any

from hivemind.local.events import _publish
from hivemind.local.state import _state

log = logging.getLogger("hivemind.local")


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
            _keep_stop_reason(self.execution)
            _publish_execution_ended(self.execution)
        finally:
            with _state.lock:
                _state.in_flight -= 1

    BaseExecutionWorkerCommunication.terminated = terminated


def _patch_stop_execution_reason() -> None:
    """moto's StopExecution passes neither `error` nor `cause` on to the execution it stops."""
    from moto.core.utils import utcnow
    from moto.stepfunctions.exceptions import ExecutionDoesNotExist
    from moto.stepfunctions.models import StateMachine

    def stop_execution(self: Any, execution_arn: str, error: str = "", cause: str = "") -> Any:
        execution = next((x for x in self.executions if x.execution_arn == execution_arn), None)
        if not execution:
            raise ExecutionDoesNotExist("Execution Does Not Exist: '" + execution_arn + "'")
        execution.stop(stop_date=utcnow(), error=error, cause=cause)
        return execution

    from moto.stepfunctions.models import StepFunctionBackend
    from moto.stepfunctions.responses import StepFunctionResponse

    def backend_stop(self: Any, execution_arn: str, error: str = "", cause: str = "") -> Any:
        self._validate_execution_arn(execution_arn)
        return self._get_state_machine_for_execution(execution_arn).stop_execution(execution_arn, error, cause)

    original_response = StepFunctionResponse.stop_execution

    def respond(self: Any) -> Any:
        if not _state.active:
            return original_response(self)
        from moto.core.responses import ActionResult

        execution = self.stepfunction_backend.stop_execution(
            self._get_param("executionArn"), self._get_param("error") or "", self._get_param("cause") or ""
        )
        return ActionResult({"stopDate": execution.stop_date})

    StateMachine.stop_execution = stop_execution
    StepFunctionBackend.stop_execution = backend_stop
    StepFunctionResponse.stop_execution = respond


def _keep_stop_reason(execution: Any) -> None:
    """moto drops the `error` and `cause` given to StopExecution; AWS's DescribeExecution (and the
    ABORTED execution's history) keeps them."""
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped

    ended = execution.exec_worker.env.program_state() if execution.exec_worker else None
    if isinstance(ended, ProgramStopped):
        execution.error = execution.error or ended.error
        execution.cause = execution.cause or ended.cause


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
