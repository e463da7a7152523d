"""HiveMind's own stack parameters on the local runtime (`hivemind local serve --parameter`), as
`sam deploy --parameter-overrides` gives them: here AdminPrincipals. A runtime of its own (a module
of its own: one local runtime per process at a time)."""

from __future__ import annotations

import json

import pytest

from hivemind.local.apigateway import LocalApi
from hivemind.local.deploy import logs_to
from hivemind.local.runtime import LocalRuntime
from tests.conftest import ROOT
from tests.e2e.test_local_serve import _upload, _wait_ended, http


def test_an_admin_named_by_the_stack_may_change_anyones_app(tmp_path):
    """AdminPrincipals, given as `hivemind local serve --parameter` (sam deploy's overrides) gives it."""
    admin_role = "arn:aws:iam::123456789012:role/PlatformAdmin"
    with pytest.raises(ValueError, match="no parameter NoSuchThing"):
        LocalRuntime(ROOT, parameters={"NoSuchThing": "x"}).start_runtime()
    with (
        logs_to(tmp_path / "local.log"),
        LocalRuntime(ROOT, parameters={"AdminPrincipals": admin_role}) as aws,
        LocalApi(aws, port=0) as api,
    ):
        source = _upload(api.url)
        alice = {"Content-Type": "application/json", "X-HiveMind-Local-Caller": "arn:aws:iam::123456789012:user/alice"}
        body = json.dumps({"app_name": "alices", "source": source}).encode()
        status, _, answer = http("POST", api.url + "/deployments", body, alice)
        assert status == 202, answer
        record = _wait_ended(api.url, json.loads(answer)["deployment_id"])
        assert record["status"] == "SUCCEEDED", record.get("error")
        target = f"{api.url}/deployments/{record['deployment_id']}"
        mallory = {"X-HiveMind-Local-Caller": "arn:aws:iam::123456789012:user/mallory"}
        assert http("DELETE", target, None, mallory)[0] == 403
        # a session of the admin role (assumed-role ARNs count as their role)
        admin = {"X-HiveMind-Local-Caller": "arn:aws:sts::123456789012:assumed-role/PlatformAdmin/ops-on-call"}
        status, _, answer = http("DELETE", target, None, admin)
        assert status == 202, answer
        assert _wait_ended(api.url, record["deployment_id"])["status"] in ("DELETING", "DELETED")
