"""HiveMind's own template.yaml: valid for SAM, lint-clean, buildable, and what the local runtime runs."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hivemind.local.sam import translate_template
from hivemind.policy import lint_template
from tests.conftest import ROOT

BIN = Path(sys.executable).parent
ENV = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"}


def _python313() -> str | None:
    """A real python3.13 (pyenv's shim would answer with the active version instead)."""
    pyenv = shutil.which("pyenv")
    if pyenv:
        prefix = subprocess.run([pyenv, "prefix", "3.13"], capture_output=True, text=True)
        candidate = Path(prefix.stdout.strip()) / "bin" / "python3.13"
        if prefix.returncode == 0 and candidate.exists():
            return str(candidate)
    found = shutil.which("python3.13")
    if found and subprocess.run([found, "-c", "pass"], capture_output=True).returncode == 0:
        return found
    return None


@pytest.mark.slow
def test_sam_validate_lint_passes():
    result = subprocess.run(
        [str(BIN / "sam"), "validate", "--lint", "--region", "us-east-1"],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_cfn_lint_finds_nothing_in_template_yaml():
    findings = lint_template((ROOT / "template.yaml").read_text())
    assert findings == [], findings


def test_no_wildcard_action_on_wildcard_resource():
    from samtranslator.yaml_helper import yaml_parse

    def statements(node):
        if isinstance(node, dict):
            if "Effect" in node and "Action" in node:
                yield node
            for value in node.values():
                yield from statements(value)
        elif isinstance(node, list):
            for value in node:
                yield from statements(value)

    for statement in statements(yaml_parse((ROOT / "template.yaml").read_text())):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement.get("Resource")
        if statement["Effect"] == "Allow" and resources == "*":
            assert not any(a == "*" or a.endswith(":*") for a in actions), statement


def test_the_local_runtime_runs_what_sam_deploys():
    template, handlers = translate_template(ROOT, "s3://code/placeholder.zip")
    sam_functions = {
        k for k, r in json.loads(json.dumps(template))["Resources"].items() if r["Type"] == "AWS::Lambda::Function"
    }
    assert sam_functions == set(handlers)
    assert all((code_dir / "app.py").is_file() for code_dir, _ in handlers.values())
    definition = template["Resources"]["DeployStateMachine"]["Properties"]["DefinitionString"]["Fn::Join"][1]
    text = "".join(p for p in definition if isinstance(p, str))
    assert "${" not in text, "every substitution in the ASL is supplied by DefinitionSubstitutions"
    assert "$$.Task.Token" in text and "$$.Execution.Id" in text


def test_every_log_group_expires_and_every_function_logs_to_one_and_event_rules_keep_what_fails():
    template, _ = translate_template(ROOT, "s3://code/placeholder.zip")
    resources = template["Resources"]
    groups = {k: r for k, r in resources.items() if r["Type"] == "AWS::Logs::LogGroup"}
    assert groups and all(r["Properties"].get("RetentionInDays") for r in groups.values())
    functions = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Function"]
    assert all(f["Properties"]["LoggingConfig"]["LogGroup"] == {"Ref": "FunctionLogs"} for f in functions)
    rules = [r for r in resources.values() if r["Type"] == "AWS::Events::Rule" and "EventPattern" in r["Properties"]]
    medic = [r for r in rules if "MedicFunction" in json.dumps(r["Properties"]["Targets"])]
    assert len(medic) == 2 and all("DeadLetterConfig" in r["Properties"]["Targets"][0] for r in medic)
    schedules = [
        r for r in resources.values() if r["Type"] == "AWS::Events::Rule" and "ScheduleExpression" in r["Properties"]
    ]
    # the reconciler every minute, the janitor every hour (with its input)
    expressions = {r["Properties"]["ScheduleExpression"]: r["Properties"]["Targets"][0] for r in schedules}
    assert sorted(expressions) == ["rate(1 hour)", "rate(1 minute)"]
    assert json.loads(expressions["rate(1 hour)"]["Input"]) == {"task": "janitor"}


@pytest.mark.slow
def test_hiveminds_own_signals_alarms_dead_letters_dashboard_and_no_traced_responses():
    template, _ = translate_template(ROOT, "s3://code/placeholder.zip")
    resources = template["Resources"]
    # every EventBridge rule (patterns and schedules) keeps what it could not deliver
    rules = [r for r in resources.values() if r["Type"] == "AWS::Events::Rule"]
    assert len(rules) == 5 and all("DeadLetterConfig" in r["Properties"]["Targets"][0] for r in rules)
    queues = {k for k, r in resources.items() if r["Type"] == "AWS::SQS::Queue"}
    alarms = {k: r["Properties"] for k, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert set(alarms) == {
        "DeploymentsFailingAlarm",
        "DeploymentsTimedOutAlarm",
        "StuckDeploymentAlarm",
        "FunctionErrorsAlarm",
        "DeadLettersAlarm",
        "PushDeadLettersAlarm",
    }
    assert all(a["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms.values())
    watched = {
        m["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for m in alarms["DeadLettersAlarm"]["Metrics"]
        if "MetricStat" in m
    }
    pushes = alarms["PushDeadLettersAlarm"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
    assert watched | {pushes} == queues and resources["PushDeadLettersAlarm"]["Condition"] == "TrackPushes"
    # the stuck-deployment alarm reads what the reconciler emits, by the same name
    from hivemind.medic import handle

    assert alarms["StuckDeploymentAlarm"]["MetricName"] == "OldestStackWaitSeconds"
    assert "OldestStackWaitSeconds" in Path(handle.__file__).read_text()
    assert "Dashboard" in resources and resources["AlarmTopic"]["Type"] == "AWS::SNS::Topic"
    functions = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::Function"]
    assert all(f["Environment"]["Variables"]["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false" for f in functions)
    # every handler logs with a correlation id, the deployment's wherever the event carries it
    for handler in sorted((ROOT / "functions").glob("*/app.py")):
        text = handler.read_text()
        assert '@lambda_handler("' in text or "set_correlation_id" in text, handler


@pytest.mark.slow
def test_sam_build(tmp_path):
    python = _python313()
    if python is None:
        pytest.skip("sam build needs python3.13 on PATH or under pyenv; none found on this machine")
    env = {**ENV, "PATH": f"{Path(python).parent}:{ENV['PATH']}"}
    result = subprocess.run(
        [str(BIN / "sam"), "build", "--build-dir", str(tmp_path / "build")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    guard = tmp_path / "build" / "GuardLayer" / "bin" / "cfn-guard"
    assert subprocess.run([str(guard), "--version"], capture_output=True, text=True).stdout.strip() == "cfn-guard 3.1.1"
    # the domain layer: HiveMind without its CLI and local runtime, and without cfn-lint (Validate's own layer)
    domain, validate = (tmp_path / "build" / name / "python" for name in ("DomainLayer", "ValidateLayer"))
    assert (domain / "hivemind" / "workflow" / "plan.py").is_file()
    assert not (domain / "hivemind" / "cli").exists() and not (domain / "hivemind" / "local").exists()
    assert (
        not (domain / "cfnlint").exists()
        and (validate / "cfnlint").is_dir()
        and not (validate / "sympy" / "testing" / "tests").exists()
    )
    # bytecode for Python 3.13 that Lambda uses as is (/opt is read-only): unchecked-hash .pyc
    pyc = domain / "hivemind" / "workflow" / "__pycache__" / "plan.cpython-313.pyc"
    assert pyc.is_file() and int.from_bytes(pyc.read_bytes()[4:8], "little") == 0b01  # hash-based, unchecked
    # Validate imports with its layers, building cfn-lint's runner during init, and lints
    probe = subprocess.run(
        [
            python,
            "-c",
            "import sys; sys.path[:0] = sys.argv[1:]; import app, cfnlint; "
            "from hivemind.policy.lint import _runners; print(app.handler.__name__, len(_runners), cfnlint.__file__)",
            str(tmp_path / "build" / "ValidateFunction"),
            str(domain),
            str(validate),
        ],
        env={**env, "AWS_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "1", "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
    )
    assert probe.stdout.split()[:2] == ["handler", "1"], probe.stderr[-2000:]
    assert probe.stdout.split()[2].startswith(str(validate))


def test_every_python_layer_pins_all_it_installs_as_the_lock_does():
    lock = dict(
        line.split("==", 1) for line in (ROOT / "requirements/lock.txt").read_text().splitlines() if "==" in line
    )
    for requirements in (ROOT / "layers/hivemind/requirements.txt", ROOT / "layers/validate/requirements.txt"):
        pins = [line for line in requirements.read_text().splitlines() if line and not line.startswith("#")]
        for pin in pins:
            name, _, version = pin.partition("==")
            name = name.split("[")[0].lower()
            assert version, f"{requirements.name}: {pin} is not pinned"
            assert lock.get(name) == version, f"{requirements}: {pin}, the lock has {lock.get(name)}"


def test_the_api_logs_every_call_to_firehose_without_an_account_wide_role():
    from samtranslator.yaml_helper import yaml_parse

    sam = yaml_parse((ROOT / "template.yaml").read_text())["Resources"]
    access = sam["Api"]["Properties"]["AccessLogSetting"]
    assert access["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogs", "Arn"]}
    assert all(f"$context.{v}" in access["Format"] for v in ("requestId", "identity.userArn", "status"))
    stream = sam["ApiAccessLogs"]["Properties"]
    # API Gateway accepts only Firehose streams named so (its AccessLogSettings reference)
    assert stream["DeliveryStreamName"]["Fn::Sub"].startswith("amazon-apigateway-")
    assert "AWS::ApiGateway::Account" not in {r["Type"] for r in sam.values()}
