"""Releases: an update's template keeps the serving release beside the new one, unchanged, and
the cut-over's template holds the new one only."""

import copy

import pytest

from hivemind.policy import blocking, check_template
from hivemind.templating import releases, render_template, to_yaml
from tests.fixtures.plans import plan

OLD, NEW = "d-20261129-101500-aaaa1111", "d-20261129-113000-bbbb2222"


def _render(deployment_id, **fields):
    bundle = f"s3://artifacts/deployments/{deployment_id}/source.zip"
    return render_template(
        plan(source_bundle=bundle, **fields),
        deployment_id=deployment_id,
        stack_name="hivemind-flask-app",
        failure_log=f"s3://artifacts/deployments/{deployment_id}/instance-1.log",
    )


def test_a_release_suffix_is_the_deployment_ids_letters_and_digits():
    assert releases.suffix(OLD) == "D20261129101500aaaa1111"
    assert releases.suffix("d-1") == "D1"


def test_the_release_owns_its_instance_role_profile_security_group_and_parameters():
    template = _render(OLD)
    owned = releases.resources_of(template, OLD)
    suffix = releases.suffix(OLD)
    assert sorted(owned) == sorted(
        f"{name}{suffix}"
        for name in ("WebInstance", "InstanceRole", "InstanceProfile", "InstanceSecurityGroup", "StatusCheckAlarm")
    )
    assert releases.releases_in(template) == [OLD]
    assert template["Outputs"]["Release"]["Value"] == OLD


def test_an_update_keeps_the_serving_release_unchanged_with_the_values_it_had():
    previous, new = _render(OLD), _render(NEW, instance_type="t3.small")
    values = {f"SourceKey{releases.suffix(OLD)}": f"deployments/{OLD}/source.zip"}
    carried = releases.carry(new, previous, OLD, parameter_values=values, image_id="ami-0123456789abcdef0")

    assert releases.releases_in(carried) == [NEW, OLD]
    for logical_id, resource in releases.resources_of(previous, OLD).items():
        assert carried["Resources"][logical_id] == resource, "byte for byte: CloudFormation leaves it alone"
    old = releases.suffix(OLD)
    # the AMI its instance runs, not whatever the SSM parameter resolves to now (that would replace it)
    assert carried["Parameters"][f"ImageId{old}"] == {
        "Type": "AWS::EC2::Image::Id",
        "Description": "the AMI this release's instance runs",
        "Default": "ami-0123456789abcdef0",
    }
    assert carried["Parameters"][f"SourceKey{old}"]["Default"] == f"deployments/{OLD}/source.zip"
    assert carried["Outputs"]["InstanceId"] == {"Value": {"Ref": f"WebInstance{releases.suffix(NEW)}"}}
    # the template with both releases is one CloudFormation accepts and the policy pack passes
    assert blocking(check_template(to_yaml(carried))) == []


def test_the_cut_over_template_holds_only_the_new_release():
    carried = releases.carry(_render(NEW), _render(OLD), OLD, parameter_values={}, image_id="ami-0123456789abcdef0")
    released, others = releases.without_others(carried, NEW)
    assert others == [OLD]
    assert released == _render(NEW), "exactly the new deployment's own template"


def test_a_release_that_cannot_be_kept_says_why():
    previous, new = _render(OLD), _render(NEW)
    with pytest.raises(releases.CannotCarry, match="AMI"):
        releases.carry(new, previous, OLD, parameter_values={}, image_id=None)
    with pytest.raises(releases.CannotCarry, match="no resources of release"):
        releases.carry(new, previous, "d-unknown", parameter_values={}, image_id="ami-1")
    moved = copy.deepcopy(new)
    del moved["Resources"]["LoadBalancerSecurityGroup"]
    with pytest.raises(releases.CannotCarry, match="LoadBalancerSecurityGroup"):
        releases.carry(moved, previous, OLD, parameter_values={}, image_id="ami-1")


def test_references_reads_ref_getatt_and_sub_but_not_escaped_text():
    value = {
        "Fn::Sub": ["${A}-${B.Arn}-${!NotARef}-${Local}", {"Local": {"Ref": "C"}}],
        "x": [{"Fn::GetAtt": ["D", "GroupId"]}, {"Fn::GetAtt": "E.Arn"}],
    }
    assert releases.references(value) == {"A", "B", "C", "D", "E"}


def test_a_plan_digest_is_what_it_decided_not_where_its_source_lies():
    first = plan(source_bundle="s3://a/deployments/d-1/source.zip", environment={"GREETING": "one"})
    moved = first.model_copy(update={"source_bundle": "s3://a/deployments/d-2/source.zip", "source_digest": "ab"})
    other_value = first.model_copy(update={"environment": {"GREETING": "two"}})
    bigger = first.model_copy(update={"instance_type": "t3.small"})
    more = first.model_copy(update={"environment": {"GREETING": "one", "MORE": "x"}})
    assert first.digest() == moved.digest() == other_value.digest()  # values are secret: names count
    assert len({first.digest(), bigger.digest(), more.digest()}) == 3
