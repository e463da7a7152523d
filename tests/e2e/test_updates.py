"""Redeploying an app: the stack is updated through a change set, and a failed update never
takes the running version down (the Medic restores it)."""

import json

from hivemind.aws import stacks
from hivemind.local.deploy import deploy_on
from hivemind.local.runtime import LocalRuntime
from tests.conftest import EXAMPLES, ROOT
from tests.fixtures.repo import write_files


def _owner(aws, name="hivemind-express-app"):
    description = stacks.describe(aws.client("cloudformation"), name)
    return description["StackStatus"], stacks.tags(description)[stacks.DEPLOYMENT_TAG], stacks.info(description).outputs


def _served_by(aws, outputs):
    found = aws.client("elbv2").describe_target_health(TargetGroupArn=outputs["TargetGroupArn"])
    return sorted(d["Target"]["Id"] for d in found["TargetHealthDescriptions"])


def test_redeploy_updates_and_a_failed_update_restores_the_previous_version(tmp_path):
    app = EXAMPLES / "express-app"
    with LocalRuntime(ROOT) as aws:

        def version(source, greeting):  # the app again, from `source`, with GREETING=greeting
            fields = {"app_name": "express-app", "environment": {"GREETING": greeting}}
            return deploy_on(aws, source, fields, reports_dir=tmp_path, timeout_s=120)

        first, _ = deploy_on(aws, app, {"app_name": "express-app"}, reports_dir=tmp_path, timeout_s=120)
        assert first.status == "SUCCEEDED", first.error

        # Given the same source and settings again, nothing the instance runs changes: the update
        # applies in place (tags), the first's instance and release serve on, no cut-over
        same, report_path = deploy_on(aws, app, {"app_name": "express-app"}, reports_dir=tmp_path, timeout_s=120)
        assert same.status == "SUCCEEDED", same.error
        assert same.outputs["InstanceId"] == first.outputs["InstanceId"]
        assert same.outputs["Release"] == first.deployment_id
        steps = [s["name"] for s in json.loads(report_path.read_text())["steps"]]
        assert "Drain previous release" not in steps and steps[-2:] == ["Previous release serving?", "Report"]

        # Given a deployed app, when it is deployed again with a change
        second, _ = version(app, "v2")
        # Then the same stack is updated, now owned by the new deployment, serving its new instance only
        assert second.status == "SUCCEEDED", second.error
        assert (second.stack_id, second.stack_operation) == (first.stack_id, "update")
        status, owner, outputs = _owner(aws)
        assert (status, owner) == ("UPDATE_COMPLETE", second.deployment_id)
        assert _served_by(aws, outputs) == [outputs["InstanceId"]] != [first.outputs["InstanceId"]]

        # When a third version never turns healthy (it binds the loopback address only)
        loopback = write_files(
            tmp_path / "v3",
            {
                "package.json": (app / "package.json").read_text(),
                "server.js": (app / "server.js")
                .read_text()
                .replace("app.listen(port,", 'app.listen(port, "127.0.0.1",'),
            },
        )
        third, report_path = version(loopback, "v3")
        # Then it fails, and the Medic puts the second version back instead of deleting the app
        assert third.status == "FAILED"
        status, owner, outputs = _owner(aws)
        assert (status, owner) == ("UPDATE_COMPLETE", second.deployment_id)
        assert _served_by(aws, outputs) == [outputs["InstanceId"]]
        assert third.diagnosis.category == "unhealthy"
        assert json.loads(report_path.read_text())["medic_action"] == "rollback"

        # When an update itself fails (the instance cannot be created), CloudFormation rolls back
        aws.inject("bad-ami")
        fourth, _ = version(app, "v4")
        assert fourth.status == "FAILED"
        status, owner, _ = _owner(aws)
        assert (status, owner) == ("UPDATE_ROLLBACK_COMPLETE", second.deployment_id)

        # When the update fails and CloudFormation's own roll back fails too (UPDATE_ROLLBACK_FAILED,
        # a stack that takes no update), the Medic continues the roll back before anything else
        aws.inject("bad-ami", "rollback-fails")
        fifth, report_path = version(app, "v5")
        assert fifth.status == "FAILED"
        status, owner, _ = _owner(aws)
        assert (status, owner) == ("UPDATE_ROLLBACK_COMPLETE", second.deployment_id)
        settled = [
            e["ResourceStatus"]
            for e in stacks.events(aws.client("cloudformation"), "hivemind-express-app")
            if e["LogicalResourceId"] == "hivemind-express-app"
        ]
        assert settled[-4:] == [
            "UPDATE_ROLLBACK_FAILED",
            "UPDATE_ROLLBACK_IN_PROGRESS",
            "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
            "UPDATE_ROLLBACK_COMPLETE",
        ]
        assert json.loads(report_path.read_text())["medic_action"] == "rollback"
