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
    assert first["started"] is True and first["deployment_id"].startswith("d-20261125-091402-")
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


def test_repositories_whose_names_fold_together_get_apps_of_their_own(load_event):
    from functions.push import app

    names = {}
    long = "customer-onboarding-service-api-"
    for repository in ("Team_Shop.Web", "team-shop-web", "a", f"{long}v1", f"{long}v2"):
        outcome = app.handler(_push(load_event, repositoryName=repository, commitId=f"{len(names):040d}"), _Ctx())
        record = deployments.get(clients.client("dynamodb", "us-east-1"), "deployments", outcome["deployment_id"])
        names[repository] = record.app_name
    assert names["team-shop-web"] == "team-shop-web"  # a valid name is kept as it is
    assert names["Team_Shop.Web"].startswith("team-shop-web-") and names["a"].startswith("app-a-")
    assert len(set(names.values())) == 5 and all(len(n) <= 32 for n in names.values())


def test_a_push_whose_execution_did_not_start_is_started_when_delivered_again(load_event, hivemind, monkeypatch):
    from functions.push import app
    from hivemind.aws import executions

    real_start = executions.start
    calls = []

    def throttled_once(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise RuntimeError("ThrottlingException")
        return real_start(*args, **kwargs)

    monkeypatch.setattr(executions, "start", throttled_once)
    event = load_event("codecommit-push.json")
    with pytest.raises(RuntimeError):
        app.handler(event, _Ctx())  # EventBridge will deliver again
    again = app.handler(event, _Ctx())
    assert again["started"] is True
    record = deployments.get(clients.client("dynamodb", "us-east-1"), "deployments", again["deployment_id"])
    assert record.status == "RUNNING" and record.execution_arn
    assert app.handler(event, _Ctx())["started"] is False  # and a third delivery starts nothing


def _cfn(node, parameters):
    """The few intrinsics of the Plan role's CodeCommit statement, evaluated as CloudFormation would."""
    if isinstance(node, list):
        return [_cfn(item, parameters) for item in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Ref"}:
        return parameters[node["Ref"]]
    if set(node) == {"Fn::Join"}:
        delimiter, items = node["Fn::Join"]
        return delimiter.join(_cfn(items, parameters))
    if set(node) == {"Fn::Split"}:
        delimiter, text = node["Fn::Split"]
        return _cfn(text, parameters).split(delimiter)
    if set(node) == {"Fn::Sub"}:
        text, names = node["Fn::Sub"]
        values = {**parameters, **{k: _cfn(v, parameters) for k, v in names.items()}}
        for name, value in values.items():
            text = text.replace("${" + name + "}", str(value))
        return text
    return {k: _cfn(v, parameters) for k, v in node.items()}


def test_the_plan_role_may_read_exactly_the_tracked_repositories():
    function = yaml_parse((ROOT / "template.yaml").read_text())["Resources"]["PlanFunction"]
    condition, statement, otherwise = next(p["Fn::If"] for p in function["Properties"]["Policies"] if "Fn::If" in p)
    assert (condition, otherwise) == ("TrackPushes", {"Ref": "AWS::NoValue"})
    parameters = {
        "TrackedRepositories": ["shop", "blog"],
        "AWS::Partition": "aws",
        "AWS::Region": "eu-west-1",
        "AWS::AccountId": "123456789012",
    }
    resources = _cfn(statement["Statement"][0]["Resource"], parameters)
    assert resources == ["arn:aws:codecommit:eu-west-1:123456789012:shop", "arn:aws:codecommit:*:*:blog"]
    assert statement["Statement"][0]["Action"] == ["codecommit:GetFolder", "codecommit:GetBlob"]
    variables = function["Properties"]["Environment"]["Variables"]
    assert _cfn(variables["CODECOMMIT_REPOSITORIES"], parameters) == "shop,blog"
