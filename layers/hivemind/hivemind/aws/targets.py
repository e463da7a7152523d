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


def deregister_others(elbv2: Any, target_group_arn: str, keep_instance_id: str) -> list[str]:
    """Deregister every target but one (the instance an update replaced); the ids removed."""
    found = elbv2.describe_target_health(TargetGroupArn=target_group_arn)["TargetHealthDescriptions"]
    others = [d["Target"] for d in found if d["Target"]["Id"] != keep_instance_id]
    if others:
        elbv2.deregister_targets(TargetGroupArn=target_group_arn, Targets=others)
    return [t["Id"] for t in others]
