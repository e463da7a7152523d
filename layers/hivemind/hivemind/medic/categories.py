"""What kind of failure a CloudFormation status reason describes, what the Medic does about it,
and the one-line fix a user reads.

One table. Each rule names a category with the AWS error codes that identify it (read from the
text's `Error Code: X`, `error code X`, `HandlerErrorCode: X`, or a code standing on its own) and
the fixed phrases AWS prints for it (case-insensitive). Rules are tried in order, the first match
wins, so a precise rule comes before a broad one ("Not authorized for images" is a bad AMI id, not
a missing permission; `InvalidParameterValueException` on "Error occurred while GetObject" is a
missing source artifact). The texts these rules are checked against are real ones, with their
sources: tests/fixtures/cfn_failures/corpus.json. To extend: add the text to the corpus, then a
code or phrase to the rule it belongs to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Action = Literal["retry", "rollback", "escalate"]


@dataclass(frozen=True)
class Kind:
    """A category: what the Medic does (retry with a fix, roll back, escalate) and the user's fix."""

    name: str
    action: Action
    fix: str


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("capacity", "retry", "AWS has no capacity for this instance type here now: retry with another type"),
        Kind(
            "quota",
            "rollback",
            "an account limit is reached: free some of what it counts, or ask for more in Service Quotas",
        ),
        Kind("invalid-parameter", "rollback", "a value in the plan or request is not valid: correct the one named"),
        Kind(
            "name-conflict",
            "rollback",
            "a resource with that name already exists: deploy under another app name, or delete the old one",
        ),
        Kind(
            "permissions",
            "rollback",
            "the stack's role lacks a permission: grant the action named to HiveMind's stack role",
        ),
        Kind(
            "boot-failure",
            "rollback",
            "the instance never reported back in time: read its log; a slow build needs a longer boot timeout",
        ),
        Kind("app-failed", "rollback", "the app's install, build or start failed: its log's last lines say why"),
        Kind(
            "unhealthy",
            "rollback",
            "the app runs but its health checks fail: check the health path (and the statuses that count as up, "
            "health_codes) and that it listens on 0.0.0.0",
        ),
        Kind(
            "dependency",
            "rollback",
            "a resource it needs is missing or not ready (a certificate, two Availability Zones, a target group "
            "already in use): fix that, then deploy again",
        ),
        Kind("throttling", "retry", "AWS throttled the calls: retry later (HiveMind retries once by itself)"),
        Kind(
            "delete-failed",
            "escalate",
            "something still uses or holds the resource: empty or detach it, then delete the stack again",
        ),
        Kind("template", "escalate", "the template itself is wrong: a HiveMind defect unless overridden; report it"),
        Kind("source", "rollback", "the app's source bundle is missing or unreadable: deploy again from the source"),
        Kind("unknown", "rollback", "AWS gave no cause HiveMind knows: the stack's events and the report say more"),
    )
}


@dataclass(frozen=True)
class Rule:
    category: str
    codes: tuple[str, ...] = ()  # AWS error codes, exact (case-insensitive); "X*" for a family
    phrases: tuple[str, ...] = ()  # regular expressions, case-insensitive


RULES: tuple[Rule, ...] = (
    Rule(
        "throttling",
        ("Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException", "SlowDown"),
        (r"\brate exceeded\b", r"\bthrottl", r"\btoo many requests\b", r"\brequest limit exceeded\b"),
    ),
    Rule(
        "source",
        ("NoSuchKey", "NoSuchBucket"),
        (
            r"error occurred while getobject",
            r"could not unzip uploaded file",
            r"uploaded file must be a non-empty zip",
            r"the specified key does not exist",
            r"unzipped size must be smaller than",
        ),
    ),
    Rule(
        "app-failed",
        (),
        (
            r"received (?:\d+ )?failure signal",
            r"waitcondition received failed message",
            r"unparsable waitcondition data",
        ),
    ),
    Rule(
        "boot-failure",
        (),
        (
            r"failed to receive \d+ resource signal",
            r"received 0 success signal",
            r"waitcondition timed out",
            r"timed? ?out waiting for .*signal",
        ),
    ),
    Rule(
        "capacity",
        (
            "InsufficientInstanceCapacity",
            "InsufficientCapacity",
            "InsufficientHostCapacity",
            "InsufficientCapacity*",
            "UnfulfillableCapacity",
        ),
        (r"\bsufficient\b.*\bcapacity\b", r"\binsufficient capacity\b", r"\bno \w+ capacity available\b"),
    ),
    Rule(
        "quota",
        ("*LimitExceeded", "ServiceQuotaExceeded*", "TooManyLoadBalancers", "TooManyTargetGroups", "*CountExceeded"),
        (
            r"maximum number of \S+.* (?:has been|have been) reached",
            r"than your current .*limit",
            r"cannot exceed quota",
            r"\bservice limit\b",
            r"\blimit exceeded\b",
            r"\bquota\b.*\bexceeded\b",
            r"\bexceeded (?:the|your) .*(?:limit|quota)",
            r"\bcount exceeded\b",
            r"unreservedconcurrentexecution below its minimum",
        ),
    ),
    Rule(
        "name-conflict",
        (
            "AlreadyExists",
            "*AlreadyExists",
            "*AlreadyExistsException",
            "BucketAlreadyOwnedByYou",
            "Duplicate*Name",
            "InvalidGroup.Duplicate",
            "ResourceExistsException",
        ),
        (r"\balready exists\b", r"\balready owned by you\b"),
    ),
    # an AMI the account may not use, or that does not exist: a bad id, not a missing permission
    Rule(
        "invalid-parameter",
        ("InvalidAMIID*",),
        (r"not authorized for images", r"the image id '\[?ami-\S*' does not exist"),
    ),
    Rule(
        "permissions",
        (
            "AccessDenied",
            "AccessDeniedException",
            "UnauthorizedOperation",
            "AuthFailure",
            "AuthorizationError",
            "*AccessDenied*",
            "KMSAccessDeniedException",
        ),
        (
            r"\bnot authorized to perform\b",
            r"\bis not authorized\b",
            r"\baccess denied\b",
            r"\bnot authorized to access\b",
            r"\bkey policy\b.*\ballow\b",
            r"\bdid not have (?:\w+ )?permissions?\b",
        ),
    ),
    Rule(
        "delete-failed",
        ("DependencyViolation", "BucketNotEmpty", "DeleteConflict"),
        (
            r"has dependencies and cannot be deleted",
            r"has a dependent object",
            r"bucket you tried to delete is not empty",
            r"failed to delete: \[",
            r"has some mapped public address",
            r"cannot be deleted",
        ),
    ),
    Rule(
        "template",
        (),
        (
            r"template format error",
            r"\btemplate error\b",
            r"unresolved resource dependenc",
            r"circular dependency",
            r"encountered unsupported propert",
            r"properties validation failed",
            r"required property",
            r"\bis not a valid \w+ for the type\b",
            r"#/\w+: ",
            r"extraneous key",
            r"unsupported property",
            r"required key \[\w+\] not found",
            r"do(?:es)? not exist in the template",
        ),
    ),
    # a stack parameter whose value names nothing: the value is wrong, whatever it names
    Rule("invalid-parameter", (), (r"parameter validation failed", r"cannot find version")),
    Rule(
        "dependency",
        ("CertificateNotFound", "DBInstanceNotFound", "TargetGroupNotFound", "LoadBalancerNotFound"),
        (
            r"at least two subnets in two different availability zones",
            r"cannot be attached to multiple subnets in the same availability zone",
            r"does not have an associated load balancer",
            r"cannot be associated with more than one load balancer",
            r"currently in use by a listener or a rule",
            r"not in the state certificatevalidated",
            r"pending validation",
            r"must have a fully-qualified domain name",
            r"no export named",
            r"availability zone coverage",
            r"subnets in the same availability zone",
            r"one subnet per availability.zone",
            r"\b(?:provided|specified) \S+ (?:profile |role |group )?does not exist",
            r"\b\w+ \S+ not found\b",
            r"\bdoes not exist\b",
            r"\bnot found\b",
        ),
    ),
    # AWS's own failure, whatever the resource was doing: nothing the user can act on
    Rule("unknown", (), (r"\binternal failure\W*$", r"\binternal error\W*$")),
    Rule(
        "unhealthy",
        (),
        (
            r"did not stabilize",
            r"failed to stabilize",
            r"circuit breaker was triggered",
            r"health checks? failed",
            r"\bunhealthy\b",
        ),
    ),
    Rule(
        "invalid-parameter",
        (
            "InvalidParameterValue",
            "InvalidParameterValueException",
            "InvalidParameterCombination",
            "InvalidParameter",
            "InvalidParameterException",
            "InvalidInstanceType",
            "InvalidSubnetID*",
            "InvalidVpcID*",
            "InvalidGroupId*",
            "InvalidConfigurationRequest",
            "InvalidRequestException",
            "ValidationError",
            "ValidationException",
            "Unsupported",
            "MalformedPolicyDocument",
            "MissingParameter",
        ),
        (
            r"\bis invalid\b",
            r"\bis not valid\b",
            r"\binvalid\b",
            r"\bnot supported\b",
            r"\bunsupported\b",
            r"\bmalformed\b",
            r"\bmust (?:be|have|contain|specify)\b",
            r"\bdoes not support\b",
            r"\bcannot be specified without\b",
            r"\bis not permitted\b",
        ),
    ),
)

# Where a text names its AWS error code
_CODE = re.compile(
    r"(?:\bError Code:|\berror code|\bHandlerErrorCode:|S3 Error Code:|EC2 Error Code:)\s*\(?(?P<code>[A-Za-z][\w.]*)"
)
# A code standing on its own in prose: InsufficientInstanceCapacity, InvalidAMIID.NotFound
_BARE_CODE = re.compile(r"\b(?P<code>[A-Z][a-z]+(?:[A-Z][a-z0-9]*|ID|\.[A-Z]\w*)+)\b")
# Handler codes that say only that the handler failed, never why
_UNSPECIFIC = {"generalserviceexception", "internalfailure", "notstabilized", "invalidrequest", "serviceinternalerror"}


def codes(reason: str) -> list[str]:
    """The AWS error codes a status reason names, the specific ones first."""
    named = [m.group("code") for m in _CODE.finditer(reason)]
    bare = [m.group("code") for m in _BARE_CODE.finditer(reason)]
    found = list(dict.fromkeys(named + bare))
    return [c for c in found if c.lower() not in _UNSPECIFIC]


def _code_matches(pattern: str, code: str) -> bool:
    pattern, code = pattern.lower(), code.lower()
    if pattern.startswith("*") and pattern.endswith("*"):
        return pattern[1:-1] in code
    if pattern.startswith("*"):
        return code.endswith(pattern[1:])
    if pattern.endswith("*"):
        return code.startswith(pattern[:-1])
    return code == pattern


def classify(reason: str, status: str | None = None) -> str:
    """The category of a CloudFormation status reason (and the event's status, for a failed
    delete that names no cause)."""
    found = codes(reason)
    for rule in RULES:
        if any(_code_matches(p, c) for p in rule.codes for c in found):
            return rule.category
        if any(re.search(p, reason, re.IGNORECASE) for p in rule.phrases):
            return rule.category
    if status == "DELETE_FAILED":
        return "delete-failed"
    return "unknown"
