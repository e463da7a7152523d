"""Faults: what only AWS can do to a deployment, injected by name.

A crashing app, a health path that 404s or an app bound to 127.0.0.1 are real apps now (the
instance runs them); faults stay for what this machine cannot produce: no capacity in an
Availability Zone, an image that does not exist. Their texts are AWS's own.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from hivemind.local.state import REGION, _state

log = logging.getLogger("hivemind.local")


# name -> what it does; see Fault
FAULTS: dict[str, str] = {
    "capacity": "the first EC2 instance fails with InsufficientInstanceCapacity (the Medic retries)",
    "bad-ami": "every EC2 instance fails with InvalidAMIID.NotFound (the Medic rolls back)",
    "lose-stack-event": "the first app stack's settled-status event never reaches the Medic (the reconciler resumes)",
}

# EC2's own message for InsufficientInstanceCapacity (as EC2 returns it: hashicorp/terraform-provider-aws#1496),
# in the shape CloudFormation gives AWS::EC2::Instance failures with an error code (the corpus's
# doccano/doccano#190: "... (Service: AmazonEC2; Status Code: 400; Error Code: InvalidAMIID.NotFound; Request ID: ...)")
_CAPACITY_REASON = (
    "We currently do not have sufficient {itype} capacity in the Availability Zone you requested ({az}). "
    "Our system will be working on provisioning additional capacity. You can currently get {itype} capacity "
    "by not specifying an Availability Zone in your request or choosing {others}. (Service: AmazonEC2; "
    "Status Code: 500; Error Code: InsufficientInstanceCapacity; Request ID: {request_id})"
)
# exactly as F5Networks/f5-aws-cloudformation-v2#58 shows it for an AWS::EC2::Instance (no error code)
_AMI_REASON = (
    "Resource handler returned message: \"The image id '[{ami}]' does not exist (Service: Ec2, Status Code: 400, "
    'Request ID: {request_id}) (SDK Attempt Count: 1)" (RequestToken: {token}, HandlerErrorCode: InvalidRequest)'
)


def _fault_for(kind: str, resource_json: dict[str, Any], resources_map: Any) -> str | None:
    if kind != "AWS::EC2::Instance" or _state.restoring:
        return None
    if "bad-ami" in _state.faults:
        return _AMI_REASON.format(ami="ami-0badc0ffee0000000", request_id=uuid.uuid4(), token=uuid.uuid4())
    if "capacity" in _state.faults and "capacity" not in _state.fired:
        _state.fired.add("capacity")
        itype = resource_json.get("Properties", {}).get("InstanceType", "t3.micro")
        return _CAPACITY_REASON.format(
            itype=itype, az=f"{REGION}a", others=f"{REGION}b, {REGION}c", request_id=uuid.uuid4()
        )
    return None


def lose_event(stack_name: str, status: str) -> bool:
    """Whether the `lose-stack-event` fault swallows this stack-status event: the first settled
    status of an app's stack (never HiveMind's own), once a runtime."""
    from hivemind.aws import stacks

    if "lose-stack-event" not in _state.faults or "lose-stack-event" in _state.fired:
        return False
    if status not in stacks.SETTLED or stack_name == "hivemind":
        return False
    _state.fired.add("lose-stack-event")
    log.warning("fault lose-stack-event: the %s event of stack %s is not delivered", status, stack_name)
    return True
