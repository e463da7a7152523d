import pytest

from hivemind.aws import clients, deployments
from hivemind.errors import DeploymentConflict, DeploymentNotFound
from hivemind.models import DeploymentRecord, DeploymentRequest


def _record(deployment_id="d-1"):
    request = DeploymentRequest(app_name="flask-app", source={"type": "s3", "bucket": "artifacts", "key": "k.zip"})
    now = deployments.now()
    return DeploymentRecord(
        deployment_id=deployment_id,
        app_name="flask-app",
        status="PENDING",
        request=request,
        created_at=now,
        updated_at=now,
    )


def test_records_round_trip_and_ids_are_unique(hivemind):
    ddb = clients.client("dynamodb")
    deployments.put_new(ddb, hivemind.deployments_table, _record())
    deployments.update(ddb, hivemind.deployments_table, "d-1", status="RUNNING", outputs={"URL": "http://x"})
    got = deployments.get(ddb, hivemind.deployments_table, "d-1")
    assert (got.status, got.outputs, got.request.source.key) == ("RUNNING", {"URL": "http://x"}, "k.zip")
    with pytest.raises(DeploymentConflict):
        deployments.put_new(ddb, hivemind.deployments_table, _record())
    with pytest.raises(DeploymentNotFound):
        deployments.get(ddb, hivemind.deployments_table, "d-nope")


def test_a_task_token_is_claimed_exactly_once(hivemind):
    ddb = clients.client("dynamodb")
    deployments.put_new(ddb, hivemind.deployments_table, _record())
    deployments.park_task_token(ddb, hivemind.deployments_table, "arn:stack", "d-1", "token-123")
    assert deployments.claim_task_token(ddb, hivemind.deployments_table, "arn:stack") == "token-123"
    assert deployments.claim_task_token(ddb, hivemind.deployments_table, "arn:stack") is None
    # the waiter is not a deployment: listings skip it
    deployments.park_task_token(ddb, hivemind.deployments_table, "arn:stack", "d-1", "token-456")
    assert [r.deployment_id for r in deployments.list_recent(ddb, hivemind.deployments_table)] == ["d-1"]
    # the internal token never leaks into the record users read
    assert "task_token" not in deployments.get(ddb, hivemind.deployments_table, "d-1").model_dump()


def test_recent_deployments_come_newest_first(hivemind):
    ddb = clients.client("dynamodb")
    for i in range(3):
        deployments.put_new(ddb, hivemind.deployments_table, _record(f"d-{i}"))
    assert [r.deployment_id for r in deployments.list_recent(ddb, hivemind.deployments_table)] == ["d-2", "d-1", "d-0"]
