"""Elastic Load Balancing v2: register the instance and read its health."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from hivemind.errors import TargetRegistrationFailed
from hivemind.models import HealthInfo


def register(elbv2: Any, target_group_arn: str, instance_id: str, port: int) -> None:
    try:
        elbv2.register_targets(TargetGroupArn=target_group_arn, Targets=[{"Id": instance_id, "Port": port}])
    except ClientError as exc:
        err = exc.response["Error"]
        raise TargetRegistrationFailed(f"{err['Code']}: {err['Message']}") from exc


def deregister(elbv2: Any, target_group_arn: str, instance_id: str, port: int) -> None:
    try:
        elbv2.deregister_targets(TargetGroupArn=target_group_arn, Targets=[{"Id": instance_id, "Port": port}])
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("TargetGroupNotFound", "InvalidTarget"):
            raise


def health(elbv2: Any, target_group_arn: str, instance_id: str, port: int) -> HealthInfo:
    found = elbv2.describe_target_health(TargetGroupArn=target_group_arn, Targets=[{"Id": instance_id, "Port": port}])[
        "TargetHealthDescriptions"
    ]
    if not found:
        return HealthInfo(state="unavailable", reason="Target.NotRegistered")
    th = found[0]["TargetHealth"]
    return HealthInfo(state=th["State"], reason=th.get("Reason"), description=th.get("Description"))


def registered(elbv2: Any, target_group_arn: str, *, but: str | None = None) -> list[dict[str, Any]]:
    """The targets registered with a group (each {"Id", "Port"}), but one."""
    found = elbv2.describe_target_health(TargetGroupArn=target_group_arn)["TargetHealthDescriptions"]
    return [d["Target"] for d in found if d["Target"]["Id"] != but]


def deregistration_delay_s(elbv2: Any, target_group_arn: str) -> int:
    """How long a deregistered target's connections may drain (the group's attribute; AWS's default 300 s)."""
    attributes = elbv2.describe_target_group_attributes(TargetGroupArn=target_group_arn)["Attributes"]
    found = {a["Key"]: a["Value"] for a in attributes}
    return int(found.get("deregistration_delay.timeout_seconds", 300))


def deregister_others(elbv2: Any, target_group_arn: str, keep_instance_id: str) -> list[str]:
    """Deregister every target but one (the instance an update replaced); the ids removed."""
    others = registered(elbv2, target_group_arn, but=keep_instance_id)
    if others:
        elbv2.deregister_targets(TargetGroupArn=target_group_arn, Targets=others)
    return [t["Id"] for t in others]
