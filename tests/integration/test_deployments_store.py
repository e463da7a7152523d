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


def test_what_the_medic_has_pending_is_found_by_the_reconciler_and_holds_the_app_until_cleared(hivemind):
    from hivemind.workflow.start import still_running

    ddb, table = clients.client("dynamodb"), hivemind.deployments_table
    for deployment_id in ("d-1", "d-2"):
        deployments.put_new(ddb, table, _record(deployment_id))
    deployments.update(ddb, table, "d-1", status="RUNNING")
    deployments.park_task_token(ddb, table, "arn:stack", "d-2", "token-1")

    # a restore the Medic started after d-1's execution ended: the record says so, the Waiting
    # index lists it beside the parked tokens, and d-1 holds its app (no execution asked)
    deployments.set_medic_pending(ddb, table, "d-1", "restore")
    assert deployments.get(ddb, table, "d-1").medic_pending == "restore"
    assert deployments.pending_ends(ddb, table) == ["d-1"]
    assert [waiting for _, waiting, _ in deployments.parked(ddb, table)] == ["d-2"]
    assert still_running(ddb, None, table, "d-1") is True

    # once finished it is cleared (a None among update's fields would have left it as it was)
    deployments.update(ddb, table, "d-1", status="FAILED", medic_pending=None)
    assert deployments.get(ddb, table, "d-1").medic_pending == "restore"
    deployments.update(ddb, table, "d-1", clear=deployments.PENDING_FIELDS)
    assert deployments.get(ddb, table, "d-1").medic_pending is None
    assert deployments.pending_ends(ddb, table) == [] and still_running(ddb, None, table, "d-1") is False
    # the index's attribute never reaches the record users read
    assert "waiting_on" not in deployments.get(ddb, table, "d-1").model_dump()
    deployments.set_medic_pending(ddb, table, "d-1", "delete")
    assert "parked_at" not in deployments.get(ddb, table, "d-1").model_dump()
