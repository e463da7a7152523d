"""Updates without downtime, measured under load: while a loop sends requests to the app's load
balancer (20 a second, loopback only), a new version of the app is deployed, then a version that
fails its health checks. Not one request may fail; the first update's responses switch from the
old version to the new one, and the failed one never answers a request."""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from hivemind.aws import deployments, stacks
from hivemind.local.deploy import deploy_on
from hivemind.local.runtime import LocalRuntime
from hivemind.workflow.rollback import rollback_deployment
from tests.conftest import EXAMPLES, ROOT
from tests.fixtures.repo import write_files

APP = EXAMPLES / "flask-app"
RATE_PER_S = 20


@dataclass
class Load:
    """GET / through the load balancer every 1/RATE_PER_S s, each on a new connection (so each is
    routed afresh); every answer kept as (time, status or the error, body)."""

    url: str
    seen: list[tuple[float, int | str, str]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        parts = urlsplit(self.url)
        while not self.stop.is_set():
            started = time.monotonic()
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
            try:
                connection.request("GET", "/", headers={"Connection": "close"})
                response = connection.getresponse()
                self.seen.append((started, response.status, response.read().decode(errors="replace")))
            except (OSError, http.client.HTTPException) as exc:
                self.seen.append((started, f"{type(exc).__name__}: {exc}", ""))
            finally:
                connection.close()
            self.stop.wait(max(0.0, 1 / RATE_PER_S - (time.monotonic() - started)))

    def failed(self) -> list[tuple[float, int | str, str]]:
        return [s for s in self.seen if s[1] != 200]

    def greetings(self, since: float = 0.0, until: float = float("inf")) -> list[str]:
        return [_greeting(body) for t, status, body in self.seen if status == 200 and since <= t < until]


def _greeting(body: str) -> str:
    return body.split("<h1>", 1)[-1].split("</h1>", 1)[0]


def test_updates_under_load_fail_no_request_and_a_failed_or_cancelled_one_never_keeps_serving(tmp_path):
    with LocalRuntime(ROOT) as aws:

        def version(source, greeting=None, **how):  # the app again, from `source`, with GREETING=greeting
            fields = {"app_name": "flask-app", **({"environment": {"GREETING": greeting}} if greeting else {})}
            return deploy_on(aws, source, fields, reports_dir=tmp_path, timeout_s=300, **how)

        first, _ = version(APP)
        assert first.status == "SUCCEEDED", first.error
        load = Load(first.url)
        loop = threading.Thread(target=load.run, daemon=True)
        loop.start()
        try:
            time.sleep(1)
            # When a changed version (an environment change) is deployed while requests arrive
            second, report = version(APP, "version two")
            second_done = time.monotonic()
            time.sleep(1)

            # Then it succeeds beside the first, whose release the stack no longer holds
            assert second.status == "SUCCEEDED", second.error
            assert second.url == first.url, "the load balancer stays"
            cfn = aws.client("cloudformation")
            resources = cfn.describe_stack_resources(StackName=second.stack_id)["StackResources"]
            held = [r["LogicalResourceId"] for r in resources]
            assert [r for r in held if r.startswith("WebInstance")] == [f"WebInstance{_suffix(second.deployment_id)}"]
            assert not load.failed(), load.failed()[:5]
            greetings = load.greetings()
            assert greetings[0] == "Hello from HiveMind" and greetings[-1] == "version two"
            assert set(load.greetings(since=second_done)) == {"version two"}, "the old version no longer serves"
            assert report is not None
            steps = [s["name"] for s in json.loads(report.read_text())["steps"]]
            assert steps[-5:] == [
                "Drain previous release",
                "Wait for draining",
                "Remove previous release",
                "Wait for removal",
                "Report",
            ]

            # When a third version never passes the load balancer's health checks (it binds the
            # loopback address only: the app answers on the instance, never to the load balancer)
            loopback = write_files(
                tmp_path / "v3",
                {
                    "app.py": (APP / "app.py").read_text(),
                    "requirements.txt": (APP / "requirements.txt").read_text(),
                    "Procfile": "web: gunicorn --bind 127.0.0.1:$PORT --workers 2 app:app\n",
                },
            )
            before_third = time.monotonic()
            third, _ = version(loopback, "version three")
            time.sleep(1)

            # When a fourth version is rolled back while it is under way, once it is registered beside
            # the second (`hivemind rollback ID` of a running deployment: a cancel)
            cancelled: list[str] = []

            def cancel_once_registered(step: str, status: str, *_: object) -> None:
                if step == "Register target" and status == "SUCCEEDED" and not cancelled:
                    running, _ = deployments.page(ddb, table, app_name="flask-app", status="RUNNING")
                    record = rollback_deployment(
                        running[0].deployment_id, settings=aws.settings, ddb=ddb, sfn=sfn, s3=aws.client("s3")
                    )
                    cancelled.append(record.deployment_id)

            ddb, sfn, table = aws.client("dynamodb"), aws.client("stepfunctions"), aws.settings.deployments_table
            before_fourth = time.monotonic()
            fourth, _ = version(APP, "version four", on_step=cancel_once_registered)
            aws.drain(timeout_s=60)  # the Medic's restore runs on the execution's end event
            time.sleep(1)
        finally:
            load.stop.set()
            loop.join(timeout=15)

        # Then it fails with a diagnosis, no request failed, and the second version served throughout
        assert third.status == "FAILED"
        assert third.diagnosis is not None and third.diagnosis.category == "unhealthy", third.diagnosis
        assert not load.failed(), load.failed()[:5]
        assert set(load.greetings(since=before_third, until=before_fourth)) == {"version two"}

        # Then the fourth is stopped and ends FAILED once the second serves alone again, no request failed
        assert cancelled == [fourth.deployment_id]
        fourth = deployments.get(ddb, table, fourth.deployment_id)
        assert fourth.status == "FAILED" and "HiveMind.Cancelled" in (fourth.error or ""), fourth.error
        assert "restored the previous version" in (fourth.error or "")
        assert not load.failed(), load.failed()[:5]
        assert set(load.greetings(since=before_fourth)) <= {"version two", "version four"}
        assert load.greetings()[-1] == "version two"
        description = stacks.describe(aws.client("cloudformation"), second.stack_id)
        assert stacks.tags(description)[stacks.DEPLOYMENT_TAG] == second.deployment_id
        outputs = stacks.info(description).outputs
        assert (outputs["Release"], outputs["InstanceId"]) == (second.deployment_id, second.outputs["InstanceId"])
        group = outputs["TargetGroupArn"]
        serving = aws.client("elbv2").describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
        assert [t["Target"]["Id"] for t in serving] == [second.outputs["InstanceId"]]
        print(f"\n{len(load.seen)} requests, {len(load.failed())} failed")


def _suffix(deployment_id: str) -> str:
    from hivemind.templating.releases import suffix

    return suffix(deployment_id)
