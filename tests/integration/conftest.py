"""Integration fixtures: moto, with HiveMind's table and bucket built from template.yaml itself."""

from __future__ import annotations

import json

import pytest
from moto import mock_aws
from samtranslator.yaml_helper import yaml_parse

from hivemind.aws import clients
from hivemind.settings import Settings
from tests.conftest import ROOT

REGION = "us-east-1"
PASS_DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


@pytest.fixture
def aws(monkeypatch):
    for name, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    clients.reset()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield
    clients.reset()


@pytest.fixture
def hivemind(aws, monkeypatch) -> Settings:
    """The deployments table (as template.yaml declares it), the artifacts bucket and a state machine."""
    resources = yaml_parse((ROOT / "template.yaml").read_text())["Resources"]
    table = resources["DeploymentsTable"]["Properties"]
    ddb = clients.client("dynamodb", REGION)
    ddb.create_table(
        TableName="deployments",
        BillingMode=table["BillingMode"],
        AttributeDefinitions=table["AttributeDefinitions"],
        KeySchema=table["KeySchema"],
        GlobalSecondaryIndexes=table["GlobalSecondaryIndexes"],
    )
    clients.client("s3", REGION).create_bucket(Bucket="artifacts")
    role = clients.client("iam", REGION).create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    sm = clients.client("stepfunctions", REGION).create_state_machine(
        name="hivemind-deploy", definition=PASS_DEFINITION, roleArn=role
    )["stateMachineArn"]
    env = {"DEPLOYMENTS_TABLE": "deployments", "ARTIFACTS_BUCKET": "artifacts", "STATE_MACHINE_ARN": sm}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings(deployments_table="deployments", artifacts_bucket="artifacts", state_machine_arn=sm, region=REGION)
