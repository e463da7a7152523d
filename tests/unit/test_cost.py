import pytest

from hivemind.models import DeploymentPlan
from hivemind.templating.cost import estimate, prices


def _plan(instance_type: str) -> DeploymentPlan:
    return DeploymentPlan(
        app_name="a", language="python", runtime_version="3.12", start_command="x", port=80, instance_type=instance_type
    )


def test_the_estimate_adds_up_the_stack_from_the_price_table():
    table = prices()
    cost = estimate(_plan("t3.micro"))
    hours = table["hours_per_month"]
    expected = (
        table["ec2_hourly"]["t3.micro"] * hours
        + table["ebs_gp3_gb_month"] * 16
        + (table["alb_hourly"] + table["alb_lcu_hourly"]) * hours
        + table["public_ipv4_hourly"] * 3 * hours
    )
    assert cost.monthly_usd == pytest.approx(expected, abs=0.02)
    assert [i.name for i in cost.items] == [
        "EC2 t3.micro",
        "EBS gp3 16 GiB",
        "Application Load Balancer",
        "public IPv4 x 3",
    ]
    assert cost.complete and cost.source and cost.retrieved and cost.region == "us-east-1"


def test_a_bigger_instance_costs_more_and_an_unknown_one_is_flagged():
    assert estimate(_plan("m5.large")).monthly_usd > estimate(_plan("t3.micro")).monthly_usd
    unknown = estimate(_plan("x9.mega"))
    assert not unknown.complete and "x9.mega" in unknown.note
    assert not any(i.name.startswith("EC2") for i in unknown.items)
