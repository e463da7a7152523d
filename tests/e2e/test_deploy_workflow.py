"""Deployments of the example apps on the local runtime: the success path and the failure paths.

Each test starts a fresh local runtime, creates HiveMind from template.yaml, and runs the real
state machine with the real handlers; only AWS is emulated.
"""

import pytest

from tests.fixtures.repos import CORPUS

HAPPY_PATH = [
    "Plan deployment",
    "Generate template",
    "Validate template",
    "Create stack",
    "Wait for stack",
    "Register target",
    "Wait for healthy target",
    "Report",
]


@pytest.mark.parametrize(
    ("example", "language", "framework", "port"),
    [("flask-app", "python", "flask", 5000), ("express-app", "node", "express", 3000)],
)
def test_example_app_deploys_to_succeeded(deploy, example, language, framework, port):
    record, report, stacks = deploy(example)

    assert record.status == "SUCCEEDED", record.error
    assert [s.name for s in record.steps] == HAPPY_PATH
    assert all(s.status == "SUCCEEDED" and s.duration_s is not None for s in record.steps)
    assert record.url and record.url.startswith("http://") and record.url == record.outputs["URL"]
    assert {"TargetGroupArn", "InstanceId", "LoadBalancerDNSName"} <= set(record.outputs)
    assert report["status"] == "SUCCEEDED" and report["plan"]["port"] == port
    assert (report["plan"]["language"], report["plan"]["framework"]) == (language, framework)
    assert report["health"]["state"] == "healthy"
    assert report["plan"]["cost"]["monthly_usd"] > 0
    assert stacks == [f"hivemind-{example}"]
    assert not [f for f in report["findings"] if f["severity"] == "error"]


# what those frameworks refuse to start without (on AWS these would be --secret references)
SECRETS = {
    "rails-71-up-no-root": {"SECRET_KEY_BASE": "e2e-only"},
    "laravel-11-up-vite": {"APP_KEY": "base64:ZTJlLW9ubHk="},
}


@pytest.mark.parametrize(
    "fixture",
    [
        "go-gin-run-no-address",
        "spring-gradle-kts-toolchain-port-placeholder",
        "vite-react-spa",
        "rails-71-up-no-root",
        "laravel-11-up-vite",
        "dockerfile-rust-expose",
    ],
)
def test_every_kind_of_app_runs_the_whole_workflow(deploy, tmp_path, fixture):
    # Given a repository of another language from the planner's corpus
    repo = CORPUS[fixture]
    source = repo.write(tmp_path / "src")
    # When it is deployed on the local runtime
    record, report, _ = deploy("corpus-app", source=source, environment=SECRETS.get(fixture, {}))
    # Then its plan, validated stack and health check carry it to SUCCEEDED
    assert record.status == "SUCCEEDED", record.error
    assert [s.name for s in record.steps] == HAPPY_PATH
    assert {k: report["plan"][k] for k in ("language", "port")} == {k: repo.expected[k] for k in ("language", "port")}
    assert not [f for f in report["findings"] if f["severity"] == "error"]


def test_a_rails_app_without_its_secret_key_fails_at_plan_saying_what_to_pass(deploy, tmp_path):
    source = CORPUS["rails-71-up-no-root"].write(tmp_path / "src")
    record, _, stacks = deploy("rails-app", source=source)
    assert record.status == "FAILED" and "Create stack" not in [s.name for s in record.steps]
    assert "needs SECRET_KEY_BASE or RAILS_MASTER_KEY" in record.error and "--secret SECRET_KEY_BASE=" in record.error
    assert stacks == []


def test_capacity_failure_is_retried_by_the_medic_with_another_instance_type(deploy):
    record, report, stacks = deploy("flask-app", faults=("capacity",))

    assert record.status == "SUCCEEDED", record.error
    names = [s.name for s in record.steps]
    assert names.count("Create stack") == 2 and "Handle failure" in names and "Prepare retry" in names
    assert report["attempts"] == 2
    assert report["plan"]["instance_type"] == "t3a.micro"
    assert report["plan"]["cost"]["items"][0]["name"] == "EC2 t3a.micro"
    assert report["diagnosis"]["category"] == "capacity"
    assert stacks == ["hivemind-flask-app"]


def test_a_failing_stack_ends_failed_with_the_stack_deleted_and_the_reason_reported(deploy):
    record, report, stacks = deploy("flask-app", faults=("bad-ami",))

    assert record.status == "FAILED"
    assert report["status"] == "FAILED"
    assert report["diagnosis"]["category"] == "invalid-parameter"
    assert report["diagnosis"]["resource"] == "WebInstance"
    assert "InvalidAMIID.NotFound" in report["diagnosis"]["summary"]
    assert report["medic_action"] == "rollback"
    failed = [s for s in record.steps if s.status == "FAILED"]
    assert failed and failed[0].name == "Wait for stack"
    assert [s.name for s in record.steps][-3:] == ["Handle failure", "Retry with fix?", "Report failure"]
    assert "Traceback" not in (record.error or "")
    assert stacks == []


def test_an_app_that_crashes_on_start_is_rolled_back_with_the_instance_s_last_log_lines(deploy):
    record, report, stacks = deploy("flask-app", faults=("app-fails",))

    assert record.status == "FAILED"
    assert report["diagnosis"]["category"] == "app-failed" and report["diagnosis"]["resource"] == "WebInstance"
    log = report["diagnosis"]["instance_log"]
    assert log[-1] == "ModuleNotFoundError: No module named 'flask_sqlalchemy'" and "--- app log ---" in log
    assert record.diagnosis.instance_log == log
    assert stacks == []


def test_a_target_that_never_turns_healthy_is_rolled_back(deploy):
    record, report, stacks = deploy("express-app", faults=("unhealthy",))

    assert record.status == "FAILED"
    assert report["diagnosis"]["category"] == "unhealthy"
    assert report["medic_action"] == "rollback"
    health = next(s for s in record.steps if s.name == "Wait for healthy target")
    assert health.status == "FAILED" and health.attempts > 1
    assert stacks == []


def test_a_template_that_fails_validation_never_reaches_cloudformation(deploy):
    record, report, stacks = deploy("flask-app", overrides={"instance_type": "t9.gigantic"})

    assert record.status == "FAILED"
    names = [s.name for s in record.steps]
    assert "Create stack" not in names and names[:3] == ["Plan deployment", "Generate template", "Validate template"]
    assert record.error.startswith("TemplateInvalid:") and "t9.gigantic" in record.error
    blocking = [f for f in report["findings"] if f["severity"] == "error"]
    assert blocking and blocking[0]["resource"] == "WebInstance" and blocking[0]["line"]
    assert report["diagnosis"]["category"] == "template"
    assert stacks == []


def test_a_source_hivemind_cannot_plan_fails_at_plan_with_the_choices_named(deploy, tmp_path):
    # Given a monorepo with two apps and nothing saying which one is deployed
    source = tmp_path / "mono"
    for app, files in {
        "api": {"requirements.txt": "flask\n", "app.py": "from flask import Flask\napp = Flask(__name__)\n"},
        "web": {"package.json": '{"scripts": {"start": "node s.js"}}', "s.js": "require('http').createServer()"},
    }.items():
        for name, text in files.items():
            (source / "apps" / app).mkdir(parents=True, exist_ok=True)
            (source / "apps" / app / name).write_text(text)
    record, report, stacks = deploy("mono", source=source)
    assert record.status == "FAILED"
    names = [s.name for s in record.steps]
    assert names[:1] == ["Plan deployment"] and "Create stack" not in names
    assert record.error.startswith("PlanError:") and "apps/api, apps/web" in record.error and "--subdir" in record.error
    assert report["status"] == "FAILED" and "apps/api, apps/web" in report["error"]
    assert stacks == []
    # When the request names the folder, the same source deploys
    chosen, _, _ = deploy("mono", source=source, overrides={"subdir": "apps/web"})
    assert chosen.status == "SUCCEEDED", chosen.error


def test_with_a_certificate_the_app_is_served_over_https(deploy):
    def certificate(runtime):
        arn = runtime.client("acm").request_certificate(DomainName="app.example.com")["CertificateArn"]
        return {"stack": {"certificate_arn": arn}}

    record, report, stacks = deploy("express-app", prepare=certificate)

    assert record.status == "SUCCEEDED", record.error
    assert record.url.startswith("https://") and report["url"] == record.url
    assert stacks == ["hivemind-express-app"]


def test_a_certificate_that_does_not_exist_fails_and_is_rolled_back(deploy):
    missing = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
    record, report, stacks = deploy("express-app", stack={"certificate_arn": missing})

    assert record.status == "FAILED"
    assert report["diagnosis"]["resource"] == "HttpsListener"
    assert report["diagnosis"]["category"] == "invalid-parameter"
    assert stacks == []


def test_a_target_that_is_slow_to_turn_healthy_is_waited_for(deploy):
    record, report, _ = deploy("flask-app", faults=("slow-health",))

    assert record.status == "SUCCEEDED", record.error
    health = next(s for s in record.steps if s.name == "Wait for healthy target")
    assert health.status == "SUCCEEDED" and health.attempts > 1
    assert report["health"]["state"] == "healthy"
