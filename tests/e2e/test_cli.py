"""The `hivemind` command as a user runs it (in-process, through typer's runner)."""

import json
from pathlib import Path

from typer.testing import CliRunner

from hivemind.cli.main import app
from tests.conftest import EXAMPLES
from tests.fixtures.repo import real_files, write_files

runner = CliRunner()


def test_deploy_local_json_prints_the_final_record(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # reports land in ./.hivemind, not in the checkout
    result = runner.invoke(app, ["deploy", str(EXAMPLES / "express-app"), "--local", "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["status"] == "SUCCEEDED"
    assert record["outputs"]["URL"].startswith("http://")
    assert record["steps"] and all({"name", "status", "start", "end", "duration_s"} <= set(s) for s in record["steps"])
    reports = list((tmp_path / ".hivemind" / "reports").glob("*.json"))
    assert [p.stem for p in reports] == [record["deployment_id"]]


def test_failed_deployment_exits_1_with_the_reason(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["deploy", str(EXAMPLES / "flask-app"), "--local", "--inject", "bad-ami"])
    assert result.exit_code == 1
    assert "FAILED" in result.stdout and "does not exist" in result.stdout and "invalid-parameter" in result.stdout
    assert "Traceback" not in result.output


def test_bad_input_is_one_clear_line_and_exit_2(tmp_path):
    missing = runner.invoke(app, ["deploy", str(tmp_path / "nope"), "--local"])
    assert (missing.exit_code, missing.stdout) == (2, "")
    assert "not found" in missing.stderr
    bad_name = runner.invoke(app, ["deploy", str(EXAMPLES / "flask-app"), "--local", "--app-name", "Bad Name!"])
    assert bad_name.exit_code == 2 and "app_name" in bad_name.stderr
    bad_fault = runner.invoke(app, ["deploy", str(EXAMPLES / "flask-app"), "--local", "--inject", "meteor"])
    assert bad_fault.exit_code == 2 and "unknown fault" in bad_fault.stderr
    for result in (missing, bad_name, bad_fault):
        assert "Traceback" not in result.output


def test_plan_and_template_need_no_aws(tmp_path):
    plan = runner.invoke(app, ["plan", str(EXAMPLES / "flask-app"), "--json"])
    assert plan.exit_code == 0 and json.loads(plan.stdout)["framework"] == "flask"
    out = tmp_path / "stack.yaml"
    template = runner.invoke(app, ["template", str(EXAMPLES / "express-app"), "-o", str(out)])
    assert template.exit_code == 0 and "AWS::ElasticLoadBalancingV2::LoadBalancer" in out.read_text()
    checked = runner.invoke(app, ["validate", str(out)])
    assert checked.exit_code == 0, checked.output
    out.write_text(out.read_text().replace("HttpTokens: required", "HttpTokens: sometimes"))
    failed = runner.invoke(app, ["validate", str(out)])
    assert failed.exit_code == 1 and "E3030" in failed.stdout


def test_plan_says_what_secret_a_framework_needs(tmp_path):
    from tests.fixtures.repos import CORPUS

    source = CORPUS["laravel-11-up-vite"].write(tmp_path / "src")
    shown = runner.invoke(app, ["plan", str(source)], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "warning: a laravel app needs APP_KEY to start in production" in shown.stdout


def test_plan_warns_of_a_server_the_load_balancer_cannot_reach(tmp_path):
    from tests.fixtures.repos import CORPUS

    source = CORPUS["fastify-listen-without-host-is-a-warning"].write(tmp_path / "src")
    shown = runner.invoke(app, ["plan", str(source)], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "warning: Fastify's listen() without a host binds localhost" in shown.stdout


def test_diagnose_reads_any_stacks_events_newest_first(tmp_path):
    # describe-stack-events' output, newest first, with texts from the corpus of real failures
    corpus = json.loads((Path(__file__).parents[1] / "fixtures" / "cfn_failures" / "corpus.json").read_text())
    subnet = next(e["reason"] for e in corpus if e["resource_type"] == "AWS::EC2::Subnet")
    events = [
        (
            "hivemind-app",
            "AWS::CloudFormation::Stack",
            "ROLLBACK_FAILED",
            "The following resource(s) failed to delete: [PublicSubnetA]. ",
        ),
        ("PublicSubnetA", "AWS::EC2::Subnet", "DELETE_FAILED", subnet),
        (
            "hivemind-app",
            "AWS::CloudFormation::Stack",
            "ROLLBACK_IN_PROGRESS",
            "The following resource(s) failed to create: [WebInstance]. Rollback requested by user.",
        ),
        ("LoadBalancer", "AWS::ElasticLoadBalancingV2::LoadBalancer", "CREATE_FAILED", "Resource creation cancelled"),
        (
            "WebInstance",
            "AWS::EC2::Instance",
            "CREATE_FAILED",
            "Received FAILURE signal with UniqueId i-0943dea9df0141579",
        ),
    ]
    stamps = [f"2026-11-29T10:0{9 - i}:00.000Z" for i in range(len(events))]
    body = [
        {
            "StackName": "hivemind-app",
            "LogicalResourceId": lid,
            "ResourceType": kind,
            "ResourceStatus": status,
            "ResourceStatusReason": reason,
            "Timestamp": stamp,
        }
        for (lid, kind, status, reason), stamp in zip(events, stamps, strict=True)
    ]
    path = tmp_path / "events.json"
    path.write_text(json.dumps({"StackEvents": body}))
    result = runner.invoke(app, ["diagnose", str(path), "--json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found["root_cause"]["logical_id"] == "WebInstance" and found["category"] == "app-failed"
    assert [(s["logical_id"], s["category"]) for s in found["secondary"]] == [("PublicSubnetA", "delete-failed")]
    path.write_text(json.dumps(body))  # a bare list reads the same
    assert "root cause  WebInstance" in runner.invoke(app, ["diagnose", str(path)]).stdout
    path.write_text("[1, 2]")
    bad = runner.invoke(app, ["diagnose", str(path)])
    assert bad.exit_code == 2 and "holds no stack events" in bad.stderr and "Traceback" not in bad.output


def test_version_and_the_faults_in_help():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.startswith("hivemind ")
    shown = runner.invoke(app, ["deploy", "--help"], env={"COLUMNS": "400"}).stdout
    assert all(name in shown for name in ("lose-stack-event", "throttle:STEP", "crash:STEP", "delete-fails", "quota"))


def test_an_unknown_fault_is_refused_naming_the_known_ones(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["deploy", str(EXAMPLES / "flask-app"), "--local", "--inject", "crash:nowhere"])
    assert result.exit_code == 2
    assert "unknown fault(s) crash:nowhere" in result.output and "crash:STEP (STEP: plan," in result.output


def test_plan_and_template_take_what_deploy_would_be_given(tmp_path):
    # li-kuan-gi/todo-list-express-api stops at Plan until MONGODB_URI is given: `plan` takes it as
    # `deploy` does, with the same overrides, and refuses what `deploy` refuses
    source = write_files(tmp_path / "src", real_files("li-kuan-gi-todo-list-express-api"))
    stopped = runner.invoke(app, ["plan", str(source), "--json"])
    assert stopped.exit_code == 2 and "cannot work without MONGODB_URI (src/config.ts:2)" in stopped.stderr
    given = ["--secret", "MONGODB_URI=ssm:/todo/mongodb-uri", "--health-codes", "200-404"]
    shown = json.loads(runner.invoke(app, ["plan", str(source), "--json", *given]).stdout)
    assert (shown["secrets"], shown["health_codes"]) == ({"MONGODB_URI": "ssm:/todo/mongodb-uri"}, "200-404")
    out = tmp_path / "stack.yaml"
    assert runner.invoke(app, ["template", str(source), "-o", str(out), *given]).exit_code == 0
    assert "HttpCode: 200-404" in out.read_text()
    refused = runner.invoke(app, ["plan", str(source), "--secret", "MONGODB_URI=the-value-itself"])
    assert refused.exit_code == 2 and "a reference, never the value" in refused.stderr
    assert "Traceback" not in refused.output + stopped.output
