"""Faults: what only AWS can do to a deployment, injected by name.

A crashing app, a health path that 404s or an app bound to 127.0.0.1 are real apps now (the
instance runs them); faults stay for what this machine cannot produce: no capacity in an
Availability Zone, an image that does not exist. Their texts are AWS's own.
"""

from __future__ import annotations

import json
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
    "quota": "the account has reached its VPC limit: the stack's VPC fails (the Medic rolls back, naming the limit)",
    "delete-fails": "a subnet made by hand in the app's VPC keeps the VPC from being deleted (the Medic escalates)",
    "rollback-fails": "the first failed update's roll back fails too (UPDATE_ROLLBACK_FAILED: the Medic continues it)",
    "throttle:STEP": "the first AWS call of that step's function is throttled (botocore retries it with backoff)",
    "crash:STEP": "that step's function crashes once, as a runtime killed for memory does (the workflow retries)",
}
# STEP in throttle:STEP and crash:STEP -> the function that runs it (template.yaml)
STEPS = {
    "plan": "PlanFunction",
    "generate": "GenerateTemplateFunction",
    "validate": "ValidateFunction",
    "create-stack": "CreateStackFunction",
    "wait-stack": "WaitStackFunction",
    "register": "RegisterTargetFunction",
    "wait-health": "WaitHealthFunction",
    "smoke": "SmokeTestFunction",
    "report": "ReportFunction",
    "medic": "MedicFunction",
}
_STEP_OF = {logical_id: step for step, logical_id in STEPS.items()}


def unknown(faults: tuple[str, ...] | list[str] | set[str]) -> list[str]:
    """The faults that name nothing known: neither a fault nor throttle:/crash: with a known STEP."""
    return sorted(
        f
        for f in faults
        if f not in FAULTS and not (f.partition(":")[0] in ("throttle", "crash") and f.partition(":")[2] in STEPS)
    )


def known_faults() -> str:
    """One line naming every fault, for error messages and --help."""
    return f"{', '.join(n for n in FAULTS if ':' not in n)}, throttle:STEP, crash:STEP (STEP: {', '.join(STEPS)})"


def _fires(fault: str) -> bool:
    """Whether a once-only fault is injected and has not fired yet; marks it fired."""
    with _state.lock:
        if fault not in _state.faults or fault in _state.fired:
            return False
        _state.fired.add(fault)
        return True


def crash_for(logical_id: str) -> dict[str, str] | None:
    """The error payload of a crashed invocation, when `crash:STEP` is injected for this function:
    what Lambda returns when the runtime process dies (here: killed, as on running out of memory)."""
    if not _fires(f"crash:{_STEP_OF.get(logical_id)}"):
        return None
    log.warning("fault crash:%s: the %s runtime exited", _STEP_OF[logical_id], logical_id)
    return {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {uuid.uuid4()} Error: Runtime exited with error: signal: killed",
    }


def throttle(request: Any, **kwargs: Any) -> Any:
    """botocore `before-send` handler: the first AWS call of a function with `throttle:STEP` gets
    the service's own throttling answer, which botocore's standard retry mode retries."""
    if not _state.active or not any(f.startswith("throttle:") for f in _state.faults):
        return None
    from hivemind.settings import environ

    function = _state.functions.get(environ().get("AWS_LAMBDA_FUNCTION_NAME", ""))
    if function is None or not _fires(f"throttle:{_STEP_OF.get(function.logical_id)}"):
        return None
    from botocore.awsrequest import AWSResponse, HTTPHeaders
    from moto.core.botocore_stubber import MockRawResponse

    content_type = request.headers.get("Content-Type", b"")
    content_type = content_type.decode() if isinstance(content_type, bytes) else str(content_type)
    request_id = uuid.uuid4()
    target = request.headers.get("X-Amz-Target", b"")
    target = target.decode() if isinstance(target, bytes) else str(target)
    if target.startswith("DynamoDB_"):  # its namespaced type and its own sentence (awslabs/dynein#195)
        kind = "com.amazon.coral.availability#ThrottlingException"
        status, headers = 400, {"Content-Type": content_type, "x-amzn-ErrorType": kind}
        body = json.dumps(
            {"__type": kind, "message": "Throughput exceeds the current capacity of your table or index."}
        )
    elif "json" in content_type:  # Step Functions and other JSON protocols (HumanCellAtlas/data-store#1061)
        status, headers = 400, {"Content-Type": content_type, "x-amzn-ErrorType": "ThrottlingException"}
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"})
    elif "//ec2." in request.url:
        status, headers = 503, {}
        body = (
            "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded."
            f"</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
        )
    elif "x-www-form-urlencoded" in content_type:  # CloudFormation, ELBv2: query protocol
        status, headers = 400, {}
        body = (
            "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
    else:  # S3
        status, headers = 503, {}
        body = (
            "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>"
            f"<RequestId>{request_id}</RequestId></Error>"
        )
    log.warning("fault throttle:%s: %s throttled", _STEP_OF[function.logical_id], kwargs.get("event_name", "a call"))
    answer_headers = HTTPHeaders()
    for name, value in headers.items():
        answer_headers[name] = value
    return AWSResponse(request.url, status, answer_headers, MockRawResponse(body.encode()))


def install_throttle() -> None:
    """Put `throttle` before moto's own `before-send` handler in every new botocore Session."""
    from botocore.handlers import BUILTIN_HANDLERS

    if any(handler is throttle for _, handler, *_ in BUILTIN_HANDLERS):
        return
    moto_at = next(
        (i for i, (event, *_) in enumerate(BUILTIN_HANDLERS) if event == "before-send"), len(BUILTIN_HANDLERS)
    )
    BUILTIN_HANDLERS.insert(moto_at, ("before-send", throttle))


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


# exactly as awslabs/landing-zone-accelerator-on-aws#241 shows it for an AWS::EC2::VPC (the corpus's quota class)
_VPC_QUOTA_REASON = (
    'Resource handler returned message: "The maximum number of VPCs has been reached. (Service: Ec2, Status Code: '
    '400, Request ID: {request_id})" (RequestToken: {token}, HandlerErrorCode: GeneralServiceException)'
)


def _fault_for(kind: str, resource_json: dict[str, Any], resources_map: Any) -> str | None:
    if _state.restoring:
        return None
    if kind == "AWS::EC2::VPC" and "quota" in _state.faults:
        _state.fired.add("quota")
        return _VPC_QUOTA_REASON.format(request_id=uuid.uuid4(), token=uuid.uuid4())
    if kind != "AWS::EC2::Instance":
        return None
    if "bad-ami" in _state.faults:
        _state.fired.add("bad-ami")  # every time: the image never exists
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

    if status not in stacks.SETTLED or stack_name == "hivemind" or not _fires("lose-stack-event"):
        return False
    log.warning("fault lose-stack-event: the %s event of stack %s is not delivered", status, stack_name)
    return True


def rollback_fails(stack_name: str) -> bool:
    """Whether `rollback-fails` makes this update's roll back fail (once a runtime)."""
    if stack_name == "hivemind" or not _fires("rollback-fails"):
        return False
    log.warning("fault rollback-fails: the roll back of stack %s fails", stack_name)
    return True


def block_vpc_delete(ec2: Any, vpc_id: str) -> None:
    """`delete-fails`: before the stack's VPC is deleted, someone has added a subnet to it by hand,
    a real dependency EC2 refuses to delete the VPC over (DependencyViolation)."""
    if not _fires("delete-fails"):
        return
    import ipaddress

    cidr = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]["CidrBlock"]
    last = list(ipaddress.ip_network(cidr).subnets(new_prefix=28))[-1]
    ec2.create_subnet(VpcId=vpc_id, CidrBlock=str(last))
    log.warning("fault delete-fails: a subnet made by hand (%s) now sits in %s", last, vpc_id)
