"""End-to-end: the whole workflow on the local AWS runtime, deploying the example apps."""

from __future__ import annotations

from pathlib import Path

import pytest

from hivemind.local.deploy import deploy_locally
from tests.conftest import EXAMPLES, ROOT


@pytest.fixture
def deploy(tmp_path: Path):
    """deploy(example, faults=...) -> (record, report, stacks left) on a fresh local runtime;
    `source` deploys another folder than examples/<example>."""

    def run(
        example: str,
        *,
        faults: tuple[str, ...] = (),
        prepare=None,
        source: Path | None = None,
        look=None,
        **request_fields,
    ):
        import json

        fields = {"app_name": example, **request_fields}
        left: dict[str, list[str]] = {}

        def inspect(runtime, record):
            if look is not None:
                look(runtime, record)
            cfn = runtime.client("cloudformation")
            summaries = cfn.list_stacks()["StackSummaries"]
            left["stacks"] = [
                s["StackName"]
                for s in summaries
                if s["StackName"].startswith("hivemind-") and s["StackStatus"] != "DELETE_COMPLETE"
            ]

        record, report_path = deploy_locally(
            source or EXAMPLES / example,
            fields,
            faults=faults,
            reports_dir=tmp_path / "reports",
            timeout_s=120,
            root=ROOT,
            inspect=inspect,
            prepare=prepare,
        )
        report = json.loads(report_path.read_text()) if report_path else None
        return record, report, left["stacks"]

    return run
