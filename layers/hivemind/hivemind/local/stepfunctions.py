"""Step Functions: HiveMind's state machine runs on moto's ASL engine, as AWS runs it.

moto's CloudFormation creates state machines in the backend that does not execute ASL, drops
SendTaskFailure's `cause`, and publishes no Execution Status Change events; here each is fixed.
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
