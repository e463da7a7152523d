"""Deployments of the example apps on the local runtime: the success path and the failure paths.

Each test starts a fresh local runtime, creates HiveMind from template.yaml, and runs the real
state machine with the real handlers; only AWS is emulated.
"""

import os
import shutil
import ssl
import urllib.request
from pathlib import Path

import pytest

from hivemind.local import instances
from tests.conftest import EXAMPLES
from tests.fixtures.repo import write_files
from tests.fixtures.repos import CORPUS

HAPPY_PATH = [
    "Plan deployment",
    "Generate template",
    "Validate template",
    "Create stack",
    "Wait for stack",
    "Register target",
    "Wait for healthy target",
    "Smoke test",
    "Previous release serving?",
    "Report",
]
NOT_REHEARSED_PATH = [*HAPPY_PATH[:-3], "Report not rehearsed"]


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
    # the app really answered: through the local load balancer, at its health path
    assert report["health"]["state"] == "healthy" and report["health"]["status_code"] == 200
    assert record.health.status_code == 200 and record.health.path == report["plan"]["health_path"]
    assert record.health.checks >= 1 and record.health.seconds_to_healthy is not None
    assert record.qa and record.qa[0].required and record.qa[0].status_code == 200 and record.qa[0].ms > 0
    assert record.url.startswith("http://127.0.0.1:")
    assert report["plan"]["cost"]["monthly_usd"] > 0
    assert stacks == [f"hivemind-{example}"]
    assert not [f for f in report["findings"] if f["severity"] == "error"]
    # the app's alarms, each saying what it means and that it tells HiveMind's AlarmTopic
    alarms = {a.split(":", 1)[0]: a for a in report["alarms"]}
    assert {"LoadBalancer5xxAlarm", "App5xxAlarm", "UnhealthyHostsAlarm", "ResponseTimeAlarm"} < set(alarms)
    assert all(":sns:" in a and "AlarmTopic" in a for a in alarms.values()), alarms


# what those frameworks refuse to start without (on AWS these would be --secret references)
SECRETS = {
    "rails-71-up-no-root": {"SECRET_KEY_BASE": "e2e-only"},
    "laravel-11-up-vite": {"APP_KEY": "base64:ZTJlLW9ubHk="},
}


@pytest.mark.parametrize(
    ("fixture", "missing"),
    [
        ("go-gin-run-no-address", "proxy.golang.org"),
        ("spring-gradle-kts-toolchain-port-placeholder", "Maven Central"),
        ("rails-71-up-no-root", "RubyGems"),
        ("laravel-11-up-vite", "Packagist"),
        ("dockerfile-rust-expose", "Docker engine"),
    ],
)
def test_an_app_this_machine_cannot_run_is_not_rehearsed_and_says_why(deploy, tmp_path, fixture, missing):
    # Given a repository of a language whose registry (or engine) this machine cannot reach
    repo = CORPUS[fixture]
    source = repo.write(tmp_path / "src")
    # When it is deployed on the local runtime
    record, report, stacks = deploy("corpus-app", source=source, environment=SECRETS.get(fixture, {}))
    # Then the workflow runs as far as it can and ends NOT_REHEARSED, never SUCCEEDED, saying why
    assert record.status == "NOT_REHEARSED" and report["status"] == "NOT_REHEARSED"
    assert [s.name for s in record.steps] == NOT_REHEARSED_PATH
    assert record.not_rehearsed.startswith("not rehearsable here:") and missing in record.not_rehearsed
    assert {k: report["plan"][k] for k in ("language", "port")} == {k: repo.expected[k] for k in ("language", "port")}
    assert not [f for f in report["findings"] if f["severity"] == "error"]
    assert record.url is None and stacks == []  # the Medic's backstop removes what proves nothing


def test_a_static_site_is_served_by_nginx_where_nginx_is_installed(deploy, tmp_path):
    source = write_files(
        tmp_path / "site",
        {"index.html": "<!doctype html><title>e2e</title><h1>static e2e</h1>\n", "about.html": "<p>about</p>\n"},
    )
    seen: dict[str, str] = {}
    record, _, _ = deploy(
        "static-site",
        source=source,
        look=lambda rt, rec: seen.update(page=_get(rec.url + "/about.html") if rec.url else ""),
    )
    if shutil.which("nginx") is None and not os.path.exists("/usr/sbin/nginx"):
        # nginx is not installed here: the deployment says so instead of succeeding
        assert record.status == "NOT_REHEARSED" and "nginx" in record.not_rehearsed
        pytest.skip("nginx is not installed on this machine: the static site was (rightly) not rehearsed")
    assert record.status == "SUCCEEDED", record.error
    assert seen["page"].startswith("<p>about")


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


def test_a_lost_stack_status_event_is_made_up_for_by_the_reconciler_within_its_period(deploy, tmp_path):
    # Given CloudFormation's CREATE_COMPLETE event for the app's stack never reaches the Medic
    record, _, stacks = deploy("flask-app", faults=("lose-stack-event",))

    # Then the deployment still succeeds (without the reconciler it would wait for the state's
    # one-hour timeout and the fixture's 120 s bound would stop it), resumed from the stack's status
    assert record.status == "SUCCEEDED", record.error
    log = (tmp_path / "logs" / "local.log").read_text()
    assert "fault lose-stack-event: the CREATE_COMPLETE event of stack hivemind-flask-app" in log
    assert "resumed from the stack's status: its status event did not come" in log and record.deployment_id in log
    assert stacks == ["hivemind-flask-app"]


def test_a_failing_stack_ends_failed_with_the_stack_deleted_and_the_reason_reported(deploy):
    record, report, stacks = deploy("flask-app", faults=("bad-ami",))

    assert record.status == "FAILED"
    assert report["status"] == "FAILED"
    assert report["diagnosis"]["category"] == "invalid-parameter"
    assert report["diagnosis"]["resource"].startswith("WebInstanceD")
    assert "The image id '[ami-0badc0ffee0000000]' does not exist" in report["diagnosis"]["summary"]
    assert report["diagnosis"]["fix"].startswith("a value in the plan or request is not valid")
    assert report["medic_action"] == "rollback"
    failed = [s for s in record.steps if s.status == "FAILED"]
    assert failed and failed[0].name == "Wait for stack"
    # the Medic starts the deletion; the state machine, not its Lambda, waits for the stack to be gone
    assert [s.name for s in record.steps][-6:] == [
        "Handle failure",
        "Medic's next step?",
        "Wait for the Medic's stack",
        "Finish handling failure",
        "Medic's next step?",
        "Report failure",
    ]
    assert "Traceback" not in (record.error or "")
    assert stacks == []


FLASK_REQUIREMENTS = (EXAMPLES / "flask-app" / "requirements.txt").read_text()


def _left_running(runtime, record):
    """Instances whose app still runs, or whose port still listens, after the deployment."""
    left = []
    for instance in list(instances._instances.values()):
        if not instance.terminated or instance.process is not None:
            left.append(instance.instance_id)
        elif instance.local_port and instances.listens_beyond_loopback(instance.local_port) is not None:
            left.append(f"{instance.instance_id}:{instance.local_port}")
    return left


def test_an_app_that_crashes_on_start_fails_with_its_real_traceback_and_leaves_nothing_running(deploy, tmp_path):
    # Given a Flask app that imports a package its requirements do not name
    source = write_files(
        tmp_path / "crash",
        {
            "requirements.txt": FLASK_REQUIREMENTS,
            "app.py": "import flask_sqlalchemy\nfrom flask import Flask\n\napp = Flask(__name__)\n\n\n"
            "@app.route('/')\ndef index():\n    return 'never'\n",
        },
    )
    # When it is deployed
    seen: dict[str, list[str]] = {}
    record, report, stacks = deploy(
        "crash-app", source=source, look=lambda rt, rec: seen.update(left=_left_running(rt, rec))
    )
    # Then the instance's boot fails with the app's own traceback, and nothing is left
    assert record.status == "FAILED"
    assert report["diagnosis"]["category"] == "app-failed"
    assert report["diagnosis"]["resource"].startswith("WebInstanceD")
    log = report["diagnosis"]["instance_log"]
    assert "ModuleNotFoundError: No module named 'flask_sqlalchemy'" in log and "--- app log ---" in log
    assert any(line.startswith("Traceback") for line in log[log.index("--- app log ---") :])
    assert "the app exited" in report["diagnosis"]["summary"]
    assert record.diagnosis.instance_log == log
    assert stacks == [] and seen["left"] == []
    # and the roll back deleted the instance whose signal failed, as CloudFormation does: nothing
    # carries the deployment's tag, so the Medic had nothing to escalate
    assert record.diagnosis.left == [] and record.diagnosis.escalation is None, record.diagnosis


@pytest.mark.skipif(not instances.sandboxed(), reason="the read-only view needs root and a mount namespace")
def test_an_app_run_as_root_here_cannot_write_outside_its_instance(deploy, tmp_path):
    # Given an app that writes outside its folders at start, as docker/getting-started-app does
    # (/etc/todos/todo.db): on AWS the app user may not; here the commands run as root
    probe = Path("/etc") / f"hivemind-probe-{tmp_path.name}"
    source = write_files(
        tmp_path / "writer",
        {
            "requirements.txt": FLASK_REQUIREMENTS,
            "app.py": f"from pathlib import Path\nPath({str(probe)!r}).write_text('x')\n"
            "from flask import Flask\n\napp = Flask(__name__)\n\n\n@app.route('/')\ndef index():\n    return 'wrote'\n",
        },
    )
    record, report, _ = deploy("writer-app", source=source)
    # Then the write fails as it would on AWS, and this machine's /etc is untouched
    assert record.status == "FAILED" and not probe.exists()
    assert any("Read-only file system" in line for line in report["diagnosis"]["instance_log"])


def test_an_app_whose_health_path_is_missing_fails_naming_the_path_and_status(deploy):
    record, report, stacks = deploy("flask-app", overrides={"health_path": "/no-such-health"})

    assert record.status == "FAILED"
    assert report["diagnosis"]["category"] == "app-failed"
    assert "/no-such-health" in record.diagnosis.summary and "last status 404" in record.diagnosis.summary
    assert stacks == []


def test_an_app_bound_to_the_loopback_address_never_turns_healthy_and_is_rolled_back(deploy, tmp_path):
    # Given an app that answers on 127.0.0.1 only: the instance's own check passes, the load balancer's cannot
    server = (
        (EXAMPLES / "express-app" / "server.js")
        .read_text()
        .replace("app.listen(port,", 'app.listen(port, "127.0.0.1",')
    )
    source = write_files(
        tmp_path / "loopback",
        {"package.json": (EXAMPLES / "express-app" / "package.json").read_text(), "server.js": server},
    )
    record, report, stacks = deploy("loopback-app", source=source)

    assert record.status == "FAILED"
    assert report["diagnosis"]["category"] == "unhealthy"
    assert report["medic_action"] == "rollback"
    health = next(s for s in record.steps if s.name == "Wait for healthy target")
    # the wait ended as soon as the load balancer called the target unhealthy: one invocation
    assert health.status == "FAILED" and health.attempts == 1
    assert "Target.FailedHealthChecks" in record.error
    assert stacks == []


POST_ONLY_SERVER = """const express = require("express");
const app = express();
app.use(express.json());
app.post("/echo", (req, res) => res.json(req.body));
app.listen(process.env.PORT || 3000);
"""


def test_an_api_with_no_get_route_is_up_when_it_answers_below_500(deploy, tmp_path):
    # Given an Express API of POST routes only (li-kuan-gi/todo-list-express-api's shape): every GET it
    # answers is Express's 404
    source = write_files(
        tmp_path / "post-only",
        {"package.json": (EXAMPLES / "express-app" / "package.json").read_text(), "server.js": POST_ONLY_SERVER},
    )
    record, report, _ = deploy("post-only-app", source=source)
    # Then the plan says so, and the app's own 404 through the load balancer is what shows it is up
    assert record.status == "SUCCEEDED", record.error
    assert report["plan"]["health_codes"] == "200-499"
    assert record.health.status_code == 404 and record.qa[0].status_code == 404


ORG_RULE = (
    "let instances = Resources.*[ Type == 'AWS::EC2::Instance' ]\n"
    "rule ORG_ONLY_NANO when %instances !empty {\n"
    '    %instances.Properties.InstanceType == "t3.nano"\n'
    "    <<fix: this organisation runs t3.nano only>>\n}\n"
)


def test_a_template_that_fails_validation_never_reaches_cloudformation(deploy):
    def organisation_rule(runtime):  # an organisation's own Guard rule, in HiveMind's bucket
        bucket = runtime.settings.artifacts_bucket
        runtime.client("s3").put_object(Bucket=bucket, Key="policy/sizes.guard", Body=ORG_RULE.encode())
        return {}

    record, report, stacks = deploy("flask-app", prepare=organisation_rule)

    assert record.status == "FAILED"
    names = [s.name for s in record.steps]
    assert "Create stack" not in names and names[:3] == ["Plan deployment", "Generate template", "Validate template"]
    assert record.error.startswith("TemplateInvalid:") and "ORG_ONLY_NANO" in record.error
    blocking = [f for f in report["findings"] if f["severity"] == "error"]
    assert blocking and blocking[0]["resource"].startswith("WebInstanceD")
    assert report["diagnosis"]["category"] == "template"
    assert stacks == []


def test_a_source_hivemind_cannot_plan_fails_at_plan_with_the_choices_named(deploy, tmp_path):
    # Given a monorepo with two apps and nothing saying which one is deployed
    source = tmp_path / "mono"
    for app, files in {
        "api": {"requirements.txt": "flask\n", "app.py": "from flask import Flask\napp = Flask(__name__)\n"},
        "web": {
            "package.json": '{"scripts": {"start": "node s.js"}}',
            "s.js": "require('http').createServer((q, s) => s.end('ok')).listen(process.env.PORT || 3000)",
        },
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
    assert record.url.startswith("https://127.0.0.1:") and report["url"] == record.url
    assert stacks == ["hivemind-express-app"]
    assert record.qa[0].status_code == 200


def test_a_certificate_that_does_not_exist_fails_and_is_rolled_back(deploy):
    missing = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
    record, report, stacks = deploy("express-app", stack={"certificate_arn": missing})

    assert record.status == "FAILED"
    assert report["diagnosis"]["resource"] == "HttpsListener"
    # a certificate that is missing or not yet validated is a resource the stack needs (issue 9's list)
    assert report["diagnosis"]["category"] == "dependency"
    assert stacks == []


def _get(url: str) -> str:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with urllib.request.urlopen(url, timeout=10, context=context) as response:
        return response.read().decode()


def test_a_python_app_with_a_build_step_serves_what_its_build_made(deploy, tmp_path):
    # Given a Flask app whose hivemind.toml names a build step that writes a file the app serves, and
    # whose Procfile's release phase (a migration, say) writes another
    source = write_files(
        tmp_path / "built",
        {
            "requirements.txt": FLASK_REQUIREMENTS,
            "hivemind.toml": '[plan]\nbuild_command = "python build_assets.py"\n',
            "Procfile": "web: gunicorn app:app\nrelease: python migrate.py\n",
            "build_assets.py": "import pathlib, flask\n"
            "pathlib.Path('build').mkdir(exist_ok=True)\n"
            "pathlib.Path('build/version.txt').write_text(f'built with flask {flask.__version__}')\n",
            "migrate.py": "import pathlib\npathlib.Path('build/schema.txt').write_text(' and migrated')\n",
            "app.py": "from pathlib import Path\nfrom flask import Flask\n\napp = Flask(__name__)\n\n\n"
            "@app.route('/')\ndef index():\n    return Path('build/version.txt').read_text() + "
            "Path('build/schema.txt').read_text()\n",
        },
    )
    # When it is deployed: the build runs in the app's folder, with the app's own virtualenv
    seen: dict[str, str] = {}
    record, report, _ = deploy(
        "built-app", source=source, look=lambda rt, rec: seen.update(page=_get(rec.url + "/") if rec.url else "")
    )
    # Then the app answers, through the load balancer, with what the build made
    assert record.status == "SUCCEEDED", record.error
    assert report["plan"]["build_command"] == "python build_assets.py"
    assert seen["page"].startswith("built with flask ") and seen["page"].endswith(" and migrated")
    assert report["plan"]["release_command"] == "python migrate.py"


SECRET_APP = {
    "Procfile": "web: python server.py\n",
    "requirements.txt": "",
    "server.py": (
        "import os\n"
        "from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer\n"
        "class Say(BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        "        body = os.environ['GREETING'].encode()\n"
        "        self.send_response(200)\n"
        "        self.send_header('Content-Length', str(len(body)))\n"
        "        self.end_headers()\n"
        "        self.wfile.write(body)\n"
        "ThreadingHTTPServer(('0.0.0.0', int(os.environ['PORT'])), Say).serve_forever()\n"
    ),
}


def test_secrets_and_the_environment_are_read_at_boot_and_a_missing_one_fails_the_start(deploy, tmp_path):
    source = write_files(tmp_path / "secret-app", SECRET_APP)
    answered: list[str] = []

    def put_secret(runtime):
        runtime.client("ssm").put_parameter(
            Name="/hivemind/secret-app/greeting", Value="hello from SSM", Type="SecureString"
        )
        return {}

    def ask(runtime, record):
        assert record.url, (record.error, record.diagnosis and record.diagnosis.instance_log)
        with urllib.request.urlopen(record.url + "/", timeout=10) as answer:
            answered.append(answer.read().decode())

    secrets = {"GREETING": "ssm:/hivemind/secret-app/greeting"}
    record, _, _ = deploy("secret-app", source=source, prepare=put_secret, look=ask, secrets=secrets)
    assert record.status == "SUCCEEDED", record.error
    assert answered == ["hello from SSM"]
    assert any("aws CLI was a stand-in" in d for d in record.differs_from_aws)

    # a plain environment value takes the same road: kept in a SecureString parameter of the
    # deployment's own, read into the instance's environment at boot
    record, _, _ = deploy("secret-app", source=source, look=ask, environment={"GREETING": "hello from --env"})
    assert record.status == "SUCCEEDED", record.error
    assert answered[-1] == "hello from --env" and record.request.environment == {}
    assert list(record.request.environment_refs) == ["GREETING"]

    # the same app without its parameter: start.sh stops at the read, as it would on AWS
    record, _, _ = deploy("secret-app", source=source, secrets=secrets)
    assert record.status == "FAILED"
    assert any("ParameterNotFound" in line for line in record.diagnosis.instance_log), record.diagnosis.instance_log
