"""Monthly cost of the generated stack (instance, root volume, load balancer, public IPv4
addresses) from the price table kept next to this file, with its source and date."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from hivemind.models import CostEstimate, CostItem, DeploymentPlan

PRICES = Path(__file__).with_name("prices.json")
ROOT_VOLUME_GB = 16  # generate.py's root volume
ALB_ADDRESSES = 2  # an internet-facing ALB holds one public IPv4 address per Availability Zone


@functools.cache
def prices() -> dict[str, Any]:
    return json.loads(PRICES.read_text())


def estimate(plan: DeploymentPlan) -> CostEstimate:
    """The stack's on-demand monthly cost; an instance type missing from the table is said so."""
    return estimate_for(plan.instance_type)


def estimate_for(instance_type: str) -> CostEstimate:
    """The on-demand monthly cost of HiveMind's stack on `instance_type`."""
    table = prices()
    hours = table["hours_per_month"]
    hourly = table["ec2_hourly"].get(instance_type)
    items = []
    if hourly is not None:
        items.append(
            CostItem(name=f"EC2 {instance_type}", monthly_usd=hourly * hours, basis=f"${hourly}/hour x {hours} hours")
        )
    items += [
        CostItem(
            name=f"EBS gp3 {ROOT_VOLUME_GB} GiB",
            monthly_usd=table["ebs_gp3_gb_month"] * ROOT_VOLUME_GB,
            basis=f"${table['ebs_gp3_gb_month']}/GiB-month",
        ),
        CostItem(
            name="Application Load Balancer",
            monthly_usd=(table["alb_hourly"] + table["alb_lcu_hourly"] * table["assumed_alb_lcus"]) * hours,
            basis=f"${table['alb_hourly']}/hour + {table['assumed_alb_lcus']} LCU x ${table['alb_lcu_hourly']}/hour",
        ),
        CostItem(
            name=f"public IPv4 x {ALB_ADDRESSES + 1}",
            monthly_usd=table["public_ipv4_hourly"] * (ALB_ADDRESSES + 1) * hours,
            basis=f"${table['public_ipv4_hourly']}/hour each (instance + one per ALB subnet)",
        ),
    ]
    items = [item.model_copy(update={"monthly_usd": round(item.monthly_usd, 2)}) for item in items]
    return CostEstimate(
        monthly_usd=round(sum(i.monthly_usd for i in items), 2),
        items=items,
        region=table["region"],
        source=table["source"],
        retrieved=table["retrieved"],
        complete=hourly is not None,
        note=None if hourly is not None else f"no price for {instance_type} in the table; EC2 not included",
    )


def stack_monthly_usd(instance_type: str) -> float | None:
    """The monthly estimate of a stack on `instance_type` (None when the type has no price)."""
    found = estimate_for(instance_type)
    return found.monthly_usd if found.complete else None
