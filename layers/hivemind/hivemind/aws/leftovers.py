"""What still carries a deployment's tag after its stack is gone.

CloudFormation tags every resource of a stack with the stack's tags, HiveMind's
`hivemind:deployment-id` among them. After a roll back the Resource Groups Tagging API lists what
still carries it; its index lags behind deletions and keeps terminated instances for about an
hour, so each listed resource is confirmed with its own service before it counts as left.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from hivemind.aws import stacks

Exists = Callable[[Any, str], bool]


def _instance(clients: Any, resource_id: str) -> bool:
    found = clients("ec2").describe_instances(InstanceIds=[resource_id])["Reservations"]
    states = [i["State"]["Name"] for r in found for i in r["Instances"]]
    return any(s not in ("terminated", "shutting-down") for s in states)


def _ec2(call: str, key: str, result: str) -> Exists:
    def exists(clients: Any, resource_id: str) -> bool:
        return bool(getattr(clients("ec2"), call)(**{key: [resource_id]})[result])

    return exists


def _elbv2(call: str, key: str, result: str) -> Exists:
    def exists(clients: Any, arn: str) -> bool:
        return bool(getattr(clients("elbv2"), call)(**{key: [arn]})[result])

    return exists


def _log_group(clients: Any, name: str) -> bool:
    groups = clients("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    return any(g["logGroupName"] == name for g in groups)


# ARN resource type -> how to confirm one still exists (by the id after the type in the ARN)
_CONFIRM: dict[str, Exists] = {
    "ec2:instance": _instance,
    "ec2:vpc": _ec2("describe_vpcs", "VpcIds", "Vpcs"),
    "ec2:subnet": _ec2("describe_subnets", "SubnetIds", "Subnets"),
    "ec2:security-group": _ec2("describe_security_groups", "GroupIds", "SecurityGroups"),
    "ec2:internet-gateway": _ec2("describe_internet_gateways", "InternetGatewayIds", "InternetGateways"),
    "ec2:route-table": _ec2("describe_route_tables", "RouteTableIds", "RouteTables"),
    "elasticloadbalancing:loadbalancer": _elbv2("describe_load_balancers", "LoadBalancerArns", "LoadBalancers"),
    "elasticloadbalancing:targetgroup": _elbv2("describe_target_groups", "TargetGroupArns", "TargetGroups"),
    "logs:log-group": _log_group,
}


def left_behind(tagging: Any, clients: Callable[[str], Any], deployment_id: str) -> list[str]:
    """ARNs of the resources that still carry the deployment's tag and still exist."""
    pages = tagging.get_paginator("get_resources").paginate(
        TagFilters=[{"Key": stacks.DEPLOYMENT_TAG, "Values": [deployment_id]}]
    )
    left = []
    for page in pages:
        for mapping in page["ResourceTagMappingList"]:
            arn = mapping["ResourceARN"]
            if _still_there(clients, arn):
                left.append(arn)
    return left


def _still_there(clients: Callable[[str], Any], arn: str) -> bool:
    parts = arn.split(":", 5)
    service, rest = parts[2], parts[5] if len(parts) > 5 else ""
    kind, _, resource_id = rest.partition("/")
    if service == "logs":  # arn:aws:logs:region:account:log-group:NAME(:*)
        kind, _, resource_id = rest.partition(":")
        resource_id = resource_id.removesuffix(":*")
    confirm = _CONFIRM.get(f"{service}:{kind}")
    if confirm is None:
        return True  # a type HiveMind does not create: it counts until someone looks
    try:
        return confirm(clients, arn if service == "elasticloadbalancing" else resource_id)
    except ClientError as exc:
        if "NotFound" in exc.response["Error"].get("Code", ""):
            return False
        raise
