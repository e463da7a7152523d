"""`hivemind local serve`: HiveMind's API over real HTTP on one long-lived local runtime, and the
CLI's commands (deploy, status, list, report, rollback, destroy) talking to it as a client."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hivemind.cli.main import app
from hivemind.local.apigateway import LocalApi
from hivemind.local.deploy import logs_to
from hivemind.local.runtime import LocalRuntime
from tests.conftest import ROOT

APP = ROOT / "tests" / "fixtures" / "apps" / "stdlib-app"
runner = CliRunner()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with (
        logs_to(tmp_path_factory.mktemp("serve") / "local.log"),
        LocalRuntime(ROOT) as aws,
        LocalApi(aws, port=0) as api,
    ):
        yield aws, api


@pytest.fixture
def cli(served, tmp_path, monkeypatch):
    """Run `hivemind ARGS` against the served API; -> (exit code, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HIVEMIND_ENDPOINT", served[1].url)

    def run(*args: str):
        result = runner.invoke(app, list(args))
        assert "Traceback" not in result.output
        return result.exit_code, result.stdout, result.stderr

    return run


def http(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_deploy_update_rollback_and_destroy_through_the_api(served, cli, tmp_path):
    aws, api = served
    code, out, err = cli("deploy", str(APP), "--app-name", "served", "--json")
    assert code == 0, err
    first = json.loads(out)
    assert first["status"] == "SUCCEEDED" and first["created_by"].endswith(":user/local-developer")
    status, _, body = http("GET", first["url"] + "/")  # the app answers through the local load balancer
    assert status == 200, body
    assert (tmp_path / ".hivemind" / "reports" / f"{first['deployment_id']}.json").is_file()
    # the app's instance role is created under HiveMind's permissions boundary
    body = aws.client("cloudformation").get_template(StackName=first["stack_id"])["TemplateBody"]
    assert "PermissionsBoundary:" in body and "Ref: PermissionsBoundary" in body  # the YAML template

    # a second deployment of the app updates its stack on the same runtime
    code, out, err = cli("deploy", str(APP), "--app-name", "served", "--env", "GREETING=s3cr3t-42", "--json")
    assert code == 0, err
    second = json.loads(out)
    assert second["stack_operation"] == "update" and second["stack_id"] == first["stack_id"]
    # an environment value lives in an SSM SecureString parameter of the deployment's own, read by
    # the instance at boot: records, listings, reports, the template and the execution history
    # hold only its reference
    parameter = f"/hivemind/served/deployments/{second['deployment_id']}/GREETING"
    assert second["request"]["environment"] == {}
    assert second["request"]["environment_refs"] == {"GREETING": f"ssm:{parameter}"}
    stored = aws.client("ssm").get_parameter(Name=parameter, WithDecryption=True)["Parameter"]
    assert (stored["Type"], stored["Value"]) == ("SecureString", "s3cr3t-42")
    history = aws.client("stepfunctions").get_execution_history(executionArn=second["execution_arn"], maxResults=1000)
    template = aws.client("cloudformation").get_template(StackName=second["stack_id"])["TemplateBody"]
    paths = (
        "/deployments",
        f"/deployments/{second['deployment_id']}",
        f"/deployments/{second['deployment_id']}/report",
    )
    listed = b"".join(http("GET", f"{api.url}{path}")[2] for path in paths).decode()
    for text in (listed, json.dumps(history, default=str), str(template)):
        assert "GREETING" in text and "s3cr3t-42" not in text
    import logging  # and the functions' logs (what CloudWatch would hold)

    log_file = next(h.baseFilename for h in logging.getLogger("hivemind").handlers if hasattr(h, "baseFilename"))
    assert "s3cr3t-42" not in Path(log_file).read_text()

    code, out, _ = cli("status", second["deployment_id"], "--json")
    assert code == 0 and json.loads(out)["status"] == "SUCCEEDED"
    code, out, _ = cli("list", "--app", "served", "--json")
    assert [d["deployment_id"] for d in json.loads(out)["deployments"]] == [
        second["deployment_id"],
        first["deployment_id"],
    ]
    code, out, _ = cli("list")  # for people: whole ids, one line each
    assert out.splitlines()[0].split() == ["DEPLOYMENT", "APP", "STATUS", "CREATED", "(UTC)", "BY", "URL"]
    assert any(line.startswith(second["deployment_id"] + "  served  SUCCEEDED") for line in out.splitlines())
    code, out, _ = cli("history", first["deployment_id"])  # as the console's execution history reads
    assert code == 0 and out.splitlines()[0].split()[1] == "ExecutionStarted"
    assert "Plan deployment" in out and "Smoke test" in out and out.splitlines()[-1].split()[1] == "ExecutionSucceeded"
    code, out, _ = cli("report", first["deployment_id"])
    assert code == 0 and json.loads(out)["deployment_id"] == first["deployment_id"]

    # rolling back the second deploys again what the first ran: its source bundle, its (empty) environment
    code, out, err = cli("rollback", second["deployment_id"], "--json")
    assert code == 0, err
    back = json.loads(out)
    assert back["rollback_of"] == second["deployment_id"] and back["status"] == "SUCCEEDED"
    assert back["request"]["environment"] == {} and back["stack_id"] == first["stack_id"]

    # the app's releases, newest first: the serving one marked, with what each deployed
    code, out, err = cli("history", "served", "--json")
    assert code == 0, err
    releases = json.loads(out)
    ids = [second["deployment_id"], first["deployment_id"]]
    assert [r["deployment_id"] for r in releases] == [back["deployment_id"], *ids]
    assert [r["serving"] for r in releases] == [True, False, False]
    assert releases[0]["source_digest"] == releases[2]["source_digest"], "the first's bundle, exactly"
    assert releases[0]["plan_digest"] == releases[2]["plan_digest"] != releases[1]["plan_digest"]
    code, out, _ = cli("history", "served")
    assert out.splitlines()[0].split() == ["DEPLOYMENT", "STATUS", "CREATED", "(UTC)", "COMMIT", "PLAN", "SOURCE"]
    assert "serving, rolls back " + second["deployment_id"] in out.splitlines()[1]
    # and an earlier release, by its id, deployed again: the second's bundle and its environment
    code, out, err = cli("rollback", "served", "--to", first["deployment_id"][:-1] + "0")
    assert code != 0
    code, out, err = cli("rollback", "served", "--to", second["deployment_id"], "--json")
    assert code == 0, err
    again = json.loads(out)
    assert again["redeploy_of"] == second["deployment_id"] and again["status"] == "SUCCEEDED"
    assert again["request"]["environment_refs"] == second["request"]["environment_refs"]
    code, out, _ = cli("history", "served", "--json")
    assert [(r["deployment_id"], r["serving"]) for r in json.loads(out)][:2] == [
        (again["deployment_id"], True),
        (back["deployment_id"], False),
    ]

    code, out, err = cli("destroy", "served")
    assert code == 0, err + out
    assert "DELETED" in out
    cfn = aws.client("cloudformation")
    assert cfn.describe_stacks(StackName=first["stack_id"])["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
    code, out, err = cli("destroy", "served")  # again: nothing to do, and said so
    assert code == 0 and "DELETED" in out, err


def test_the_cli_says_what_it_could_not_do(cli):
    code, _, err = cli("status", "d-nope")
    assert code == 2 and "no deployment d-nope" in err and "404" in err
    code, _, err = cli("rollback", "d-nope")
    assert code == 2 and "no deployment d-nope" in err
    code, _, err = cli("destroy", "never-deployed")
    assert code == 2 and "no deployments of app never-deployed" in err
    code, _, err = cli("deploy", str(APP), "--inject", "bad-ami")
    assert code == 2 and "--inject" in err


def test_without_a_server_the_cli_says_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("HIVEMIND_ENDPOINT", "HIVEMIND_STACK_NAME"):
        monkeypatch.delenv(name, raising=False)
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 2 and "hivemind local serve" in result.stderr


def _error_shape(body: bytes) -> dict:
    data = json.loads(body)
    assert set(data) == {"error", "request_id"} and {"code", "message", "field"} <= set(data["error"]), data
    return data["error"]


def _body(**fields) -> bytes:
    return json.dumps(
        {"app_name": "shape", "source": {"type": "git", "url": "https://github.com/o/r.git"}, **fields}
    ).encode()


def test_every_refusal_is_one_json_shape_and_starts_nothing(served):
    aws, api = served
    sfn = aws.client("stepfunctions")
    before = len(sfn.list_executions(stateMachineArn=aws.settings.state_machine_arn)["executions"])
    json_type = {"Content-Type": "application/json"}
    cases = [
        ("GET", "/nope", None, 404, "not-found"),  # API Gateway's own refusal, shaped by the template
        ("PATCH", "/deployments", None, 405, "method-not-allowed"),
        ("POST", "/deployments", b"[" * 2400 + b"]" * 2400, 400, "invalid-request"),
        ("POST", "/deployments", b"{not json", 400, "invalid-request"),
        ("POST", "/deployments", b'{"app_name": "x"}', 400, "invalid-request"),
        ("POST", "/deployments", b'{"app_name": "ok-app", "source": {"type": "git", "url": "ftp://h/r"}}', 400, None),
        ("POST", "/deployments", json.dumps({"pad": "x" * 70_000}).encode(), 413, "too-large"),
        # whoever may call the API may not reach beyond the app: another prefix's secret, another
        # bucket's object, a git URL carrying a token
        ("POST", "/deployments", _body(secrets={"DB": "ssm:/prod/db"}), 400, "invalid-request"),
        ("POST", "/deployments", _body(overrides={"instance_type": "p5.48xlarge"}), 400, "invalid-request"),
        (
            "POST",
            "/deployments",
            _body(source={"type": "s3", "bucket": "elsewhere", "key": "uploads/a.zip"}),
            400,
            None,
        ),
        ("POST", "/deployments", _body(source={"type": "git", "url": "https://x:tok@github.com/o/r.git"}), 400, None),
        ("GET", "/deployments?limit=0", None, 400, "invalid-request"),
        ("GET", "/deployments?next_token=garbage", None, 400, "invalid-request"),
        ("GET", "/deployments/d-nope", None, 404, "not-found"),
        ("DELETE", "/deployments/d-nope", None, 404, "not-found"),
        ("POST", "/deployments/d-nope/rollback", None, 404, "not-found"),
    ]
    for method, path, body, want, code in cases:
        status, headers, answer = http(method, api.url + path, body, json_type)
        assert status == want, (method, path, status, answer[:300])
        problem = _error_shape(answer)
        assert code is None or problem["code"] == code, (path, problem)
        assert "Traceback" not in problem["message"]
        if status == 405:
            assert headers["Allow"] == "GET, POST"
    after = len(sfn.list_executions(stateMachineArn=aws.settings.state_machine_arn)["executions"])
    assert after == before


def test_the_openapi_document_is_served_and_describes_the_request(served):
    _, api = served
    status, _, body = http("GET", api.url + "/openapi.json")
    assert status == 200
    document = json.loads(body)
    assert {"/deployments", "/deployments/{deployment_id}", "/deployments/{deployment_id}/rollback"} <= set(
        document["paths"]
    )
    assert "DeploymentRequest" in document["components"]["schemas"]


def test_an_upload_url_expires_and_takes_only_bundles(served):
    aws, api = served
    status, _, body = http("POST", api.url + "/uploads")
    upload = json.loads(body)
    status, _, _ = http("PUT", upload["upload_url"], b"PK", {"Content-Type": "application/zip"})
    assert status == 200
    stored = aws.client("s3").get_object(Bucket=upload["source"]["bucket"], Key=upload["source"]["key"])
    assert stored["Body"].read() == b"PK"
    elsewhere = upload["upload_url"].replace("/uploads/", "/deployments/")
    assert http("PUT", elsewhere, b"PK")[0] == 403
    expired = upload["upload_url"].replace("X-Amz-Expires=900", "X-Amz-Expires=0")
    assert http("PUT", expired, b"PK")[0] in (403,)


def _upload(api_url: str) -> dict:
    from hivemind.planning.bundle import bundle_directory

    _, _, body = http("POST", api_url + "/uploads")
    upload = json.loads(body)
    assert http("PUT", upload["upload_url"], bundle_directory(APP), {"Content-Type": "application/zip"})[0] == 200
    return upload["source"]


def test_one_app_one_active_deployment_idempotency_and_ownership(served):
    from concurrent.futures import ThreadPoolExecutor

    _, api = served
    source = _upload(api.url)
    body = json.dumps({"app_name": "contended", "source": source}).encode()
    json_type = {"Content-Type": "application/json"}

    # five concurrent starts of one app: exactly one runs, the others name it
    with ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(lambda _: http("POST", api.url + "/deployments", body, json_type), range(5)))
    started = [json.loads(a[2]) for a in answers if a[0] == 202]
    refused = [_error_shape(a[2]) for a in answers if a[0] == 409]
    assert len(started) == 1 and len(refused) == 4, [a[0] for a in answers]
    active = started[0]["deployment_id"]
    assert all(r["active"] == active and active in r["message"] for r in refused)

    # the same Idempotency-Key answers with the same deployment, even while it runs
    keyed = {**json_type, "Idempotency-Key": "k-1"}
    other = json.dumps({"app_name": "keyed", "source": source}).encode()
    first = http("POST", api.url + "/deployments", other, keyed)
    again = http("POST", api.url + "/deployments", other, keyed)
    assert (first[0], again[0]) == (202, 202), again[2]
    assert json.loads(first[2])["deployment_id"] == json.loads(again[2])["deployment_id"]
    changed = json.dumps({"app_name": "keyed", "source": source, "environment": {"A": "1"}}).encode()
    reused = http("POST", api.url + "/deployments", changed, keyed)
    assert reused[0] == 422 and _error_shape(reused[2])["code"] == "idempotency-key-reused"

    # once it ended, the app takes a new deployment; another principal may not change it
    _wait_ended(api.url, active)
    stranger = {**json_type, "X-HiveMind-Local-Caller": "arn:aws:iam::123456789012:user/mallory"}
    for method, path, data in (
        ("POST", "/deployments", body),
        ("DELETE", f"/deployments/{active}", None),
        ("POST", f"/deployments/{active}/rollback", None),
    ):
        status, _, answer = http(method, api.url + path, data, stranger)
        assert status == 403, (method, path, answer)
        assert "belongs to arn:aws:iam::123456789012:user/local-developer" in answer.decode()
    # the owner may
    status, _, answer = http("DELETE", api.url + f"/deployments/{active}", None, json_type)
    assert status == 202, answer
    _wait_ended(api.url, json.loads(first[2])["deployment_id"])


def _wait_ended(api_url: str, deployment_id: str, timeout_s: float = 120) -> dict:
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        record = json.loads(http("GET", f"{api_url}/deployments/{deployment_id}")[2])
        if record["status"] not in ("PENDING", "RUNNING") or time.monotonic() > deadline:
            return record
        time.sleep(0.2)


def test_a_git_source_on_the_metadata_endpoint_fails_at_plan_naming_why(served, cli):
    _, api = served
    body = json.dumps({"app_name": "metadata", "source": {"type": "git", "url": "https://169.254.169.254/latest.git"}})
    status, _, answer = http("POST", api.url + "/deployments", body.encode(), {"Content-Type": "application/json"})
    assert status == 202, answer
    record = _wait_ended(api.url, json.loads(answer)["deployment_id"])
    assert record["status"] == "FAILED" and [s["name"] for s in record["steps"]][:1] == ["Plan deployment"]
    assert "169.254.169.254, a link-local" in record["error"] and "public hosts only" in record["error"]
    code, out, _ = cli("history", record["deployment_id"], "--json")
    failed = [e for e in json.loads(out) if e["event"] in ("TaskFailed", "LambdaFunctionFailed")]
    assert code == 0 and failed and failed[0]["state"] == "Plan deployment"
    assert failed[0]["detail"].startswith("SourceError") and "169.254.169.254" in failed[0]["detail"]


def test_the_janitor_removes_failed_stacks_nobody_will_and_reports_unknown_ones(served, cli):
    import time

    aws, _ = served
    cfn = aws.client("cloudformation")

    def tagged(deployment_id: str):
        return [
            {"Key": "hivemind:deployment-id", "Value": deployment_id},
            {"Key": "hivemind:managed-by", "Value": "hivemind"},
        ]

    def settled(stack_id: str) -> str:
        deadline = time.monotonic() + 30
        while (status := cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"]).endswith("PROGRESS"):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        return status

    # a stack whose create failed and whose Medic never heard of it (its status event lost)
    aws.inject("lose-stack-event")
    broken = cfn.create_stack(
        StackName="hivemind-janitor-broken",
        TemplateBody=json.dumps(
            {
                "Resources": {
                    "Net": {
                        "Type": "AWS::EC2::Subnet",
                        "Properties": {"VpcId": "vpc-0000000000000000f", "CidrBlock": "10.9.0.0/24"},
                    }
                }
            }
        ),
        Tags=tagged("d-20260101-000000-00000000"),
    )["StackId"]
    assert settled(broken) == "ROLLBACK_COMPLETE"
    aws.inject()
    # a serving stack whose deployment HiveMind has no record of
    unknown = cfn.create_stack(
        StackName="hivemind-janitor-unknown",
        TemplateBody=json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}),
        Tags=tagged("d-20260101-000000-11111111"),
    )["StackId"]
    assert settled(unknown) == "CREATE_COMPLETE"

    code, out, err = cli("janitor", "--json")  # a dry run: nothing changes
    assert code == 0, err
    found = {item["stack_name"]: item for item in json.loads(out)}
    assert found["hivemind-janitor-broken"]["action"] == "delete"
    assert found["hivemind-janitor-unknown"]["action"] == "report"
    assert "no record of its deployment" in found["hivemind-janitor-unknown"]["why"]
    assert settled(broken) == "ROLLBACK_COMPLETE"

    code, out, err = cli("janitor", "--apply")
    assert code == 0, err
    assert "delete -> DELETE_COMPLETE" in out and "hivemind-janitor-broken" in out
    assert settled(broken) == "DELETE_COMPLETE" and settled(unknown) == "CREATE_COMPLETE"
    code, out, _ = cli("janitor", "--json")
    assert "hivemind-janitor-broken" not in out and "hivemind-janitor-unknown" in out
    cfn.delete_stack(StackName=unknown)


def test_logs_show_each_step_the_failing_one_and_the_apps_last_lines(served, cli, tmp_path):
    # Given a deployment that succeeds, and one of an app that logs, then dies at start
    code, out, err = cli("deploy", str(APP), "--app-name", "logged", "--json")
    assert code == 0, err
    good = json.loads(out)
    dying = tmp_path / "dying"
    dying.mkdir()
    (dying / "requirements.txt").write_text("")
    (dying / "server.py").write_text(
        "import os, sys\nprint('dying-app: reading settings', flush=True)\n"
        "sys.exit('dying-app: DATABASE_URL is not set, cannot start')\n"
    )
    (dying / "Procfile").write_text("web: python server.py\n")
    code, out, err = cli("deploy", str(dying), "--app-name", "dying", "--json")
    assert code == 1, err
    bad = json.loads(out)

    # When their logs are read
    code, out, err = cli("logs", good["deployment_id"], "--json")
    assert code == 0, err
    found = json.loads(out)

    # Then each step that ran logged a line for this deployment, labelled with its step and function
    by_step = {line["step"]: line for line in found["lines"]}
    assert (
        by_step["Plan deployment"]["function"] == "Plan" and "planned python" in by_step["Plan deployment"]["message"]
    )
    assert "Wait for healthy target" in by_step and "Smoke test" in by_step and "Report" in by_step
    assert all(good["deployment_id"] not in line["message"] or line["step"] for line in found["lines"])
    # and the app's own log comes from its stack's log group, where the instance's agent ships it
    assert found["app"]["source"] == "cloudwatch" and found["app"]["where"].endswith("/app")
    code, out, _ = cli("logs", good["deployment_id"], "--step", "plan deployment")
    assert code == 0 and "planned python" in out and "Smoke test" not in out
    code, _, err = cli("logs", good["deployment_id"], "--step", "Nope")
    assert code == 2 and "no step 'Nope'" in err and "Plan deployment" in err

    # and the failed one shows the failing step's error and the app's last lines, from the failure
    # log its instance left (its log group went with the stack)
    code, out, err = cli("logs", bad["deployment_id"])
    assert code == 0, err
    assert "ERROR" in out and bad["error"].split(":")[0] in out
    app_part = out[out.index("--- the app's last lines") :]
    assert "failure log" in app_part.splitlines()[0]
    assert "dying-app: DATABASE_URL is not set, cannot start" in app_part
    # following an ended deployment prints what there is and stops
    code, out2, _ = cli("logs", bad["deployment_id"], "--follow")
    assert code == 0 and out2 == out

    # and its report as a page: written with --html -o, opened with --open (BROWSER says how)
    code, _, err = cli("report", bad["deployment_id"], "--html", "-o", str(tmp_path / "page.html"))
    assert code == 0, err
    page = (tmp_path / "page.html").read_text()
    assert page.startswith("<!doctype html>") and "What went wrong" in page and "<svg" in page
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {opened}\n')
    browser.chmod(0o755)
    os.environ["BROWSER"] = f"{browser} %s"
    try:
        code, _, err = cli("report", bad["deployment_id"], "--open")
    finally:
        del os.environ["BROWSER"]
    shown = tmp_path / ".hivemind" / "reports" / f"{bad['deployment_id']}.html"
    assert code == 0 and f"opened {Path('.hivemind/reports') / shown.name}" in err, err
    assert shown.read_text() == page and opened.read_text().strip() == shown.resolve().as_uri()


def test_status_follows_a_deployment_live_with_its_stack_events_and_the_medic(served, cli, tmp_path):
    # Given a deployment of an app that dies at start, started through the API (it runs on)
    _, api = served
    dying = tmp_path / "dying"
    dying.mkdir()
    (dying / "requirements.txt").write_text("")
    (dying / "server.py").write_text("import sys\nsys.exit('dying-app: no DATABASE_URL')\n")
    (dying / "Procfile").write_text("web: python server.py\n")
    from hivemind.planning.bundle import bundle_directory

    _, _, answer = http("POST", api.url + "/uploads")
    upload = json.loads(answer)
    assert http("PUT", upload["upload_url"], bundle_directory(dying), {"Content-Type": "application/zip"})[0] == 200
    body = json.dumps({"app_name": "followed", "source": upload["source"]}).encode()
    status, _, answer = http("POST", api.url + "/deployments", body, {"Content-Type": "application/json"})
    assert status == 202, answer
    started = json.loads(answer)["deployment_id"]

    # When its status is followed by the app's name, from while it runs
    code, out, err = cli("status", "followed", "--follow")

    # Then the steps came as they ran, with the stack's events as CloudFormation printed them and
    # the Medic's diagnosis, and the summary at the end
    assert code == 0, err
    assert "Plan deployment" in err and "Wait for the Medic's stack" in err
    assert "stack " in err and "CREATE_FAILED — Received FAILURE signal with UniqueId i-" in err
    assert "DELETE_COMPLETE" in err and "medic app-failed:" in err
    assert f"FAILED  followed  ({started})" in out


def test_deploy_local_goes_through_the_served_runtime_and_an_unchanged_app_is_applied_in_place(served, cli, tmp_path):
    # Given `hivemind local serve` running from this folder (its serve.json names it)
    from hivemind.cli.remote import SERVE_FILE

    _, api = served
    os.environ.pop("HIVEMIND_ENDPOINT", None)  # only the serve file names it (monkeypatch restores it)
    (tmp_path / SERVE_FILE).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / SERVE_FILE).write_text(json.dumps({"url": api.url, "pid": os.getpid()}))

    # When an app is deployed with --local, twice, from the same source
    code, out, err = cli("deploy", str(APP), "--local", "--app-name", "warm")
    assert code == 0, err
    assert f"on the local runtime `hivemind local serve` runs from this folder ({api.url})" in err
    code, out, err = cli("deploy", str(APP), "--local", "--app-name", "warm", "--json")
    assert code == 0, err
    again = json.loads(out)

    # Then both ran on the served runtime (no runtime started in this process), and the second,
    # which changes nothing the instance runs, was applied in place: no new release, no cut-over
    assert again["created_by"].endswith(":user/local-developer") and again["stack_operation"] == "update"
    names = [s["name"] for s in again["steps"]]
    assert "Drain previous release" not in names and names[-1] == "Report"
