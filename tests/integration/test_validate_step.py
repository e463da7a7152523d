"""Validate template as the workflow runs it (moto): the policy pack plus an organisation's own
rules from the artifacts bucket's policy/ prefix."""

import pytest

from hivemind.aws import artifacts, clients
from hivemind.errors import ConfigurationError, TemplateInvalid
from hivemind.models import DeploymentRequest, TemplateArtifact, WorkflowState
from hivemind.templating import render_template, to_yaml
from hivemind.workflow import validate
from hivemind.workflow.validate import validate_template
from tests.fixtures.plans import plan

ORG_RULE = (
    "let instances = Resources.*[ Type == 'AWS::EC2::Instance' ]\n"
    "rule ORG_ONLY_NANO when %instances !empty {\n"
    '    %instances.Properties.InstanceType == "t3.nano"\n'
    "    <<fix: this organisation runs t3.nano only>>\n}\n"
)


def _state(settings, deployment_id: str = "d-v", **plan_fields) -> WorkflowState:
    s3 = clients.client("s3", settings.region)
    body = to_yaml(render_template(plan(**plan_fields), deployment_id=deployment_id, stack_name="hivemind-flask-app"))
    s3.put_object(Bucket="artifacts", Key=f"deployments/{deployment_id}/template.yaml", Body=body.encode())
    request = DeploymentRequest(app_name="flask-app", source={"type": "s3", "bucket": "artifacts", "key": "k"})
    template = TemplateArtifact(
        stack_name="hivemind-flask-app",
        template_key=f"deployments/{deployment_id}/template.yaml",
        template_url=f"https://artifacts.s3.us-east-1.amazonaws.com/deployments/{deployment_id}/template.yaml",
        resource_count=20,
    )
    return WorkflowState(deployment_id=deployment_id, request=request, template=template)


def test_a_redeploy_of_the_same_app_reuses_the_findings_even_in_a_new_container(hivemind):
    s3 = clients.client("s3", hivemind.region)
    first = validate_template(_state(hivemind, "d-first"), s3=s3, settings=hivemind)
    validate._remembered.clear()  # a new container: only the bucket remembers
    again = validate_template(_state(hivemind, "d-again"), s3=s3, settings=hivemind)

    assert not first.cached and again.cached and again.findings == first.findings
    assert again.findings_key == "deployments/d-again/findings.json"  # each deployment still keeps its own copy
    # a changed template, or a new organisation rule, is validated afresh
    bigger = _state(hivemind, "d-bigger", instance_type="t3.small")
    assert not validate_template(bigger, s3=s3, settings=hivemind).cached
    s3.put_object(Bucket="artifacts", Key=f"{artifacts.POLICY_PREFIX}sizes.guard", Body=ORG_RULE.encode())
    with pytest.raises(TemplateInvalid, match="ORG_ONLY_NANO"):
        validate_template(_state(hivemind, "d-ruled"), s3=s3, settings=hivemind)


def test_the_pack_alone_passes_a_generated_stack(hivemind):
    result = validate_template(_state(hivemind), s3=clients.client("s3", hivemind.region), settings=hivemind)
    assert result.passed and not [f for f in result.findings if f.severity == "error"]


def test_an_organisation_rule_in_the_bucket_blocks_with_its_fix(hivemind):
    s3 = clients.client("s3", hivemind.region)
    s3.put_object(Bucket="artifacts", Key=f"{artifacts.POLICY_PREFIX}sizes.guard", Body=ORG_RULE.encode())
    s3.put_object(Bucket="artifacts", Key=f"{artifacts.POLICY_PREFIX}README.md", Body=b"not a rule")
    with pytest.raises(TemplateInvalid, match=r"ORG_ONLY_NANO WebInstanceDv line \d+: this organisation runs t3.nano"):
        validate_template(_state(hivemind), s3=s3, settings=hivemind)
    stored = s3.get_object(Bucket="artifacts", Key="deployments/d-v/findings.json")["Body"].read()
    assert b"ORG_ONLY_NANO" in stored


def test_a_broken_organisation_rule_is_a_clear_error(hivemind):
    s3 = clients.client("s3", hivemind.region)
    s3.put_object(Bucket="artifacts", Key=f"{artifacts.POLICY_PREFIX}team/broken.guard", Body=b"rule {{{ nope")
    with pytest.raises(
        ConfigurationError, match=r"^policy rule file policy/team/broken\.guard does not parse: .*line 1"
    ):
        validate_template(_state(hivemind), s3=s3, settings=hivemind)


def test_organisation_rules_are_never_skipped(hivemind):
    s3 = clients.client("s3", hivemind.region)
    for index in range(artifacts.MAX_POLICY_FILES + 1):
        s3.put_object(Bucket="artifacts", Key=f"{artifacts.POLICY_PREFIX}r{index}.guard", Body=ORG_RULE.encode())
    with pytest.raises(ConfigurationError, match=r"holds 101 rule files; HiveMind reads at most 100"):
        validate_template(_state(hivemind), s3=s3, settings=hivemind)


def test_a_rule_key_that_is_not_a_plain_path_is_refused(hivemind):
    s3 = clients.client("s3", hivemind.region)
    s3.put_object(Bucket="artifacts", Key=f"{artifacts.POLICY_PREFIX}a/../../etc/x.guard", Body=ORG_RULE.encode())
    with pytest.raises(ConfigurationError, match=r"policy rule s3://artifacts/policy/a/\.\./\.\./etc/x\.guard"):
        validate_template(_state(hivemind), s3=s3, settings=hivemind)
