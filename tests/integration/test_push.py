"""CodeCommit pushes: the EventBridge rule of template.yaml, and the Push function (moto)."""

import copy
import json

import pytest
from moto.events.models import EventPattern
from samtranslator.yaml_helper import yaml_parse

from hivemind.aws import clients, deployments
from tests.conftest import ROOT

pytestmark = pytest.mark.usefixtures("hivemind")


class _Ctx:
    function_name = "push"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:push"
    aws_request_id = "req-1"


def _push(load_event, **detail):
    event = copy.deepcopy(load_event("codecommit-push.json"))
    event["detail"].update(detail)
    return event


def _resolve(node, parameters):
    """The rule's pattern with its parameter references filled in, as CloudFormation would."""
    if isinstance(node, dict):
        if set(node) == {"Ref"}:
            return parameters[node["Ref"]]
        return {k: _resolve(v, parameters) for k, v in node.items()}
    if isinstance(node, list):
        flat = []
        for item in node:
            value = _resolve(item, parameters)
            flat += value if isinstance(value, list) and isinstance(item, dict) else [value]
        return flat
    return node


def test_the_rule_matches_pushes_to_the_tracked_branch_of_tracked_repositories_only(load_event):
    function = yaml_parse((ROOT / "template.yaml").read_text())["Resources"]["PushFunction"]
    assert function["Condition"] == "TrackPushes"  # no tracked repositories: no rule at all
    pattern = function["Properties"]["Events"]["BranchPushed"]["Properties"]["Pattern"]
    pattern = _resolve(pattern, {"TrackedBranch": "main", "TrackedRepositories": ["shop", "blog"]})
    rule = EventPattern.load(json.dumps(pattern))  # moto's matcher (it has no TestEventPattern API)

    def matches(event):
        return rule.matches_event(event)

    assert matches(load_event("codecommit-push.json"))
    assert matches(_push(load_event, event="referenceCreated", repositoryName="blog"))
    assert not matches(_push(load_event, repositoryName="secret-project"))
    assert not matches(_push(load_event, referenceName="feature/x", referenceFullName="refs/heads/feature/x"))
    assert not matches(_push(load_event, referenceType="tag", referenceName="main"))
    assert not matches(_push(load_event, event="referenceDeleted"))


def test_a_push_starts_a_deployment_of_its_commit_once(load_event, hivemind):
    from functions.push import app

    event = load_event("codecommit-push.json")
    first = app.handler(event, _Ctx())
    assert first["started"] is True and first["deployment_id"] == "d-20261125-091402-9f8e7d6c"
    record = deployments.get(clients.client("dynamodb", "us-east-1"), "deployments", first["deployment_id"])
    assert record.app_name == "shop" and record.status == "RUNNING"
    assert record.request.source.model_dump() == {
        "type": "codecommit",
        "repository": "shop",
        "commit": "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432",
    }
    again = app.handler(event, _Ctx())  # EventBridge delivers at least once
    assert (again["started"], again["deployment_id"]) == (False, first["deployment_id"])
    executions = clients.client("stepfunctions", "us-east-1").list_executions(
        stateMachineArn=hivemind.state_machine_arn
    )["executions"]
    assert [e["name"] for e in executions] == [first["deployment_id"]]


@pytest.mark.parametrize(
    ("detail", "reason"),
    [
        ({"referenceName": "develop"}, "branch develop is not the tracked branch main"),
        ({"referenceType": "tag", "referenceName": "v1"}, "tag v1 is not the tracked branch main"),
        ({"event": "referenceDeleted", "commitId": None}, "referenceDeleted of main deploys nothing"),
    ],
)
def test_other_pushes_start_nothing_and_say_why(load_event, detail, reason):
    from functions.push import app

    outcome = app.handler(_push(load_event, **detail), _Ctx())
    assert outcome == {"started": False, "deployment_id": None, "reason": reason}


def test_a_repository_name_that_is_not_an_app_name_is_made_one(load_event):
    from functions.push import app

    outcome = app.handler(_push(load_event, repositoryName="Team_Shop.Web"), _Ctx())
    record = deployments.get(clients.client("dynamodb", "us-east-1"), "deployments", outcome["deployment_id"])
    assert record.app_name == "team-shop-web"
