import json

import pytest

from hivemind.errors import ConfigurationError
from hivemind.models import ErrorInfo
from hivemind.settings import Settings, get_settings, invocation_environment
from hivemind.workflow.report import error_message


def test_settings_name_every_missing_variable():
    with pytest.raises(ConfigurationError) as info:
        Settings.from_environ({"AWS_REGION": "us-east-1"})
    assert "DEPLOYMENTS_TABLE" in str(info.value) and "ARTIFACTS_BUCKET" in str(info.value)


def test_settings_read_the_stack_s_lists_and_limits():
    base = {"DEPLOYMENTS_TABLE": "t", "ARTIFACTS_BUCKET": "b", "AWS_REGION": "us-east-1"}
    s = Settings.from_environ({**base, "CODECOMMIT_REPOSITORIES": "shop, blog,", "MAX_SOURCE_MIB": "50"})
    assert (s.codecommit_repositories, s.max_source_bytes) == (["shop", "blog"], 50 * 1024 * 1024)
    assert Settings.from_environ({**base, "CODECOMMIT_REPOSITORIES": ""}).codecommit_repositories == []
    with pytest.raises(ConfigurationError, match="MAX_SOURCE_MIB"):
        Settings.from_environ({**base, "MAX_SOURCE_MIB": "lots"})


def test_invocation_environment_is_scoped_to_the_block():
    env = {"DEPLOYMENTS_TABLE": "t", "ARTIFACTS_BUCKET": "b", "AWS_REGION": "eu-west-1", "STACK_PREFIX": "hm-"}
    with invocation_environment(env):
        s = get_settings()
    assert (s.deployments_table, s.region, s.stack_prefix) == ("t", "eu-west-1", "hm-")
    with pytest.raises(ConfigurationError), invocation_environment({"DEPLOYMENTS_TABLE": ""}):
        get_settings()


def test_error_message_drops_lambda_stack_traces():
    cause = json.dumps(
        {
            "errorMessage": "no supported application",
            "errorType": "PlanError",
            "stackTrace": ['  File "/var/task/app.py", line 1'],
        }
    )
    assert error_message(ErrorInfo(Error="PlanError", Cause=cause)) == "PlanError: no supported application"
    assert error_message(ErrorInfo(Error="StackCreateFailed", Cause="WebInstance failed")) == (
        "StackCreateFailed: WebInstance failed"
    )
    assert error_message(None) is None


def test_metrics_have_fixed_names_and_say_which_app_or_action(capsys, monkeypatch):
    import json

    from hivemind.observability import OUTCOME_METRICS, count

    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    count(OUTCOME_METRICS["NOT_REHEARSED"], app="shop")
    count("MedicActions", action="rollback", category="unhealthy")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] for line in lines] == [
        "DeploymentsNotRehearsed",
        "MedicActions",
    ]
    assert lines[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service", "app"]] and lines[0]["app"] == "shop"
    assert (lines[1]["action"], lines[1]["category"], lines[1]["service"]) == ("rollback", "unhealthy", "hivemind")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")  # the local runtime: nothing printed
    count("DeploymentsStarted", app="shop")
    assert capsys.readouterr().out == ""
