"""The API function, invoked with API Gateway events from events/ (as `sam local invoke -e` would)."""

import json

import pytest

from hivemind.aws import clients

pytestmark = pytest.mark.usefixtures("hivemind")


@pytest.fixture
def api():
    from functions.api import app

    return app.handler


class _Ctx:
    function_name = "api"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:api"
    aws_request_id = "req-1"


def _call(handler, event):
    response = handler(event, _Ctx())
    return response["statusCode"], json.loads(response["body"])


def test_post_starts_a_deployment_and_get_reads_it(api, load_event):
    status, body = _call(api, load_event("api-create-deployment.json"))
    assert status == 202, body
    assert body["status"] == "RUNNING" and body["app_name"] == "flask-app"
    assert body["execution_arn"].endswith(":" + body["deployment_id"])
    executions = clients.client("stepfunctions").list_executions(
        stateMachineArn=body["execution_arn"].rsplit(":", 1)[0].replace(":execution:", ":stateMachine:")
    )
    assert [e["name"] for e in executions["executions"]] == [body["deployment_id"]]

    _wait_until_ended(body["execution_arn"])
    event = load_event("api-get-deployment.json")
    event["pathParameters"] = {"deployment_id": body["deployment_id"]}
    event["path"] = f"/deployments/{body['deployment_id']}"
    status, got = _call(api, event)
    assert status == 200 and got["deployment_id"] == body["deployment_id"]
    # a running deployment shows its steps so far, read from the execution's history
    assert [s["name"] for s in got["steps"]] == ["Done"]


def _wait_until_ended(execution_arn, timeout_s=10):
    import time

    sfn = clients.client("stepfunctions")
    deadline = time.monotonic() + timeout_s
    while sfn.describe_execution(executionArn=execution_arn)["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution did not end"
        time.sleep(0.02)


def test_bad_input_is_a_400_naming_each_field_and_starts_nothing(api, load_event):
    status, body = _call(api, load_event("api-create-deployment-invalid.json"))
    assert status == 400
    fields = {f["field"] for f in body["error"]["fields"]}
    assert "app_name" in fields
    assert any(f.startswith("source") for f in fields)
    assert "Traceback" not in json.dumps(body)
    assert clients.client("dynamodb").scan(TableName="deployments")["Count"] == 0


def test_unknown_deployment_is_a_404(api, load_event):
    status, body = _call(api, load_event("api-get-deployment.json"))
    assert status == 404 and "no deployment" in body["error"]["message"]


def _delete_event(load_event, deployment_id):
    event = load_event("api-get-deployment.json")
    event.update(
        httpMethod="DELETE", path=f"/deployments/{deployment_id}", pathParameters={"deployment_id": deployment_id}
    )
    event["requestContext"]["httpMethod"] = "DELETE"
    return event


def test_destroy_deletes_the_stack_and_the_medic_records_the_end(api, load_event, hivemind):
    from hivemind.aws import deployments
    from hivemind.medic.handle import on_stack_event
    from hivemind.models import StackStatusChange

    status, body = _call(api, load_event("api-create-deployment.json"))
    deployment_id = body["deployment_id"]
    cfn, ddb = clients.client("cloudformation"), clients.client("dynamodb")
    stack_id = cfn.create_stack(
        StackName="hivemind-flask-app",
        TemplateBody='{"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}',
        Tags=[{"Key": "hivemind:deployment-id", "Value": deployment_id}],
    )["StackId"]
    # still running: refused, nothing deleted
    status, refused = _call(api, _delete_event(load_event, deployment_id))
    assert status == 409 and "still RUNNING" in refused["error"]["message"]
    deployments.update(ddb, hivemind.deployments_table, deployment_id, status="SUCCEEDED", stack_id=stack_id)

    status, body = _call(api, _delete_event(load_event, deployment_id))
    assert (status, body["status"]) == (202, "DELETING")
    assert cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
    event = load_event("stack-status-rollback-complete.json")
    event["detail"].update({"stack-id": stack_id, "status-details": {"status": "DELETE_COMPLETE", "status-reason": ""}})
    outcome = on_stack_event(
        StackStatusChange.model_validate(event),
        cfn=cfn,
        ddb=ddb,
        sfn=clients.client("stepfunctions"),
        settings=hivemind,
    )
    assert outcome == "deleted"
    assert deployments.get(ddb, hivemind.deployments_table, deployment_id).status == "DELETED"
    status, again = _call(api, _delete_event(load_event, deployment_id))
    assert (status, again["status"]) == (202, "DELETED")


def test_destroy_of_an_unknown_deployment_is_a_404(api, load_event):
    status, body = _call(api, _delete_event(load_event, "d-nope"))
    assert status == 404 and "d-nope" in body["error"]["message"]


def test_an_upload_url_takes_a_bundle_that_then_deploys(api, load_event):
    import urllib.parse

    event = load_event("api-create-deployment.json")
    event.update(path="/uploads", resource="/uploads", body=None)
    status, upload = _call(api, event)
    assert status == 201
    source = upload["source"]
    assert source["bucket"] == "artifacts" and source["key"].startswith("uploads/")
    url = urllib.parse.urlparse(upload["upload_url"])
    assert url.path.endswith(source["key"]) and "Signature" in url.query
    clients.client("s3").put_object(Bucket=source["bucket"], Key=source["key"], Body=b"PK")
    request = load_event("api-create-deployment.json")
    request["body"] = json.dumps({"app_name": "flask-app", "source": source})
    status, body = _call(api, request)
    assert status == 202 and body["request"]["source"]["key"] == source["key"]


def test_destroying_a_superseded_deployment_leaves_the_app_running(api, load_event, hivemind):
    from hivemind.aws import deployments

    status, body = _call(api, load_event("api-create-deployment.json"))
    old_id = body["deployment_id"]
    cfn, ddb = clients.client("cloudformation"), clients.client("dynamodb")
    stack_id = cfn.create_stack(
        StackName="hivemind-flask-app",
        TemplateBody='{"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}',
        Tags=[{"Key": "hivemind:deployment-id", "Value": "d-newer"}],
    )["StackId"]
    deployments.update(ddb, hivemind.deployments_table, old_id, status="SUCCEEDED", stack_id=stack_id)
    status, refused = _call(api, _delete_event(load_event, old_id))
    assert status == 409 and "d-newer" in refused["error"]["message"]
    assert cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
