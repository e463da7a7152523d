"""What a deployment request may ask of HiveMind (workflow/admission.py) and the git URL's form."""

import pytest
from pydantic import ValidationError

from hivemind.errors import RequestRefused
from hivemind.models import DeploymentRequest, GitSource, S3Source
from hivemind.settings import Settings
from hivemind.workflow.admission import admit

SETTINGS = Settings(deployments_table="t", artifacts_bucket="hm-artifacts", region="us-east-1")
UPLOAD = S3Source(bucket="hm-artifacts", key="uploads/abc/source.zip")


def _request(**fields):
    return DeploymentRequest(app_name="shop", source=fields.pop("source", UPLOAD), **fields)


def test_secrets_only_under_the_apps_own_prefix():
    admit(
        _request(
            secrets={
                "DB": "ssm:/hivemind/shop/db",
                "KEY": "secretsmanager:hivemind/shop/key",
            }
        ),
        SETTINGS,
    )
    for ref in (
        "ssm:/prod/db",
        "ssm:/hivemind/other-app/db",
        "ssm:/hivemind/shop-2/db",  # a longer app name sharing the prefix
        "ssm:/hivemind/shop/../other/db",
        "secretsmanager:prod",
        "secretsmanager:hivemind/shopping/key",
    ):
        with pytest.raises(RequestRefused, match="under the app's own prefix") as refused:
            admit(_request(secrets={"X": ref}), SETTINGS)
        assert refused.value.field == "secrets.X"
    custom = SETTINGS.model_copy(update={"secret_prefix": "acme"})
    admit(_request(secrets={"DB": "ssm:/acme/shop/db"}), custom)


def test_s3_sources_only_from_hiveminds_own_uploads():
    admit(_request(source=S3Source(bucket="hm-artifacts", key="deployments/d-1/source.zip")), SETTINGS)
    for bucket, key in (("someone-elses", "uploads/x.zip"), ("hm-artifacts", "policy/rules.guard")):
        with pytest.raises(RequestRefused, match="POST /uploads") as refused:
            admit(_request(source=S3Source(bucket=bucket, key=key)), SETTINGS)
        assert refused.value.field == "source"


def test_a_git_url_carrying_credentials_is_refused():
    with pytest.raises(ValidationError, match="must not carry credentials"):
        GitSource(url="https://user:ghp_secret@github.com/org/repo.git")
    with pytest.raises(ValidationError, match="must not carry credentials"):
        GitSource(url="https://ghp_secret@github.com/org/repo.git")
    GitSource(url="https://github.com/org/repo.git")


def test_instance_types_the_stack_allows_and_can_afford():
    from hivemind.templating.cost import stack_monthly_usd
    from hivemind.workflow.admission import instance_type_refusal

    admit(_request(overrides={"instance_type": "t3.small"}), SETTINGS)
    # a type HiveMind has no price for cannot be held to the ceiling: refused, saying how to allow it
    with pytest.raises(RequestRefused, match=r"no price for instance type p5\.48xlarge.*AllowedInstanceTypes") as no:
        admit(_request(overrides={"instance_type": "p5.48xlarge"}), SETTINGS)
    assert no.value.field == "overrides.instance_type"
    # over the ceiling: the estimate says by how much
    frugal = SETTINGS.model_copy(update={"max_monthly_usd": 50})
    assert stack_monthly_usd("m5.large") > 50
    with pytest.raises(RequestRefused, match=r"m5\.large costs about \$\d+\.\d\d/month.*\$50/month ceiling"):
        admit(_request(overrides={"instance_type": "m5.large"}), frugal)
    # an allow-list is the admin's word: only those, priced or not
    listed = SETTINGS.model_copy(update={"allowed_instance_types": ["t3.micro", "g5.xlarge"]})
    assert instance_type_refusal("g5.xlarge", listed) is None
    assert "not one this HiveMind allows (t3.micro, g5.xlarge" in instance_type_refusal("t3.small", listed)
