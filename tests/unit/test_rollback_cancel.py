"""Rolling back a deployment under way stops it (the Medic then puts the app back), except once
its cut-over serves the new release alone."""

from datetime import UTC, datetime

import pytest

from hivemind.errors import DeploymentConflict
from hivemind.models import DeploymentRecord
from hivemind.workflow.rollback import CANCELLED, cancel

ARN = "arn:aws:states:us-east-1:123456789012:execution:hivemind-deploy:d-1"


class _Sfn:
    """The two Step Functions calls `cancel` makes, with the shapes boto3 returns."""

    def __init__(self, entered: list[str]):
        self.events = [{"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": n}} for n in entered]
        self.stopped: list[dict[str, str]] = []

    def get_paginator(self, name):
        assert name == "get_execution_history"
        return self

    def paginate(self, executionArn):
        assert executionArn == ARN
        return [{"events": self.events}]

    def stop_execution(self, **kwargs):
        self.stopped.append(kwargs)


def _record(**fields):
    now = datetime.now(UTC)
    request = {"app_name": "app", "source": {"type": "s3", "bucket": "artifacts", "key": "uploads/k.zip"}}
    return DeploymentRecord(
        deployment_id="d-1", app_name="app", status="RUNNING", request=request, created_at=now, updated_at=now, **fields
    )


def test_a_deployment_under_way_is_stopped_with_who_rolled_it_back():
    sfn = _Sfn(["Plan deployment", "Create stack", "Register target"])
    assert cancel(_record(execution_arn=ARN), sfn=sfn, caller="arn:aws:iam::1:user/ana").deployment_id == "d-1"
    assert sfn.stopped == [{"executionArn": ARN, "error": CANCELLED, "cause": "rolled back by arn:aws:iam::1:user/ana"}]


def test_once_the_new_release_serves_alone_a_cancel_is_refused():
    sfn = _Sfn(["Smoke test", "Drain previous release", "Remove previous release"])
    with pytest.raises(DeploymentConflict, match="serves alone already"):
        cancel(_record(execution_arn=ARN), sfn=sfn, caller=None)
    assert sfn.stopped == []
    with pytest.raises(DeploymentConflict, match="has not started yet"):
        cancel(_record(), sfn=sfn, caller=None)
