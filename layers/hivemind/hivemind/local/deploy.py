"""One deployment of a local folder on the local runtime, followed state by state.

This is what `hivemind deploy SOURCE --local` runs: bundle the folder into the artifacts
bucket (as the CLI does against AWS), start the deployment exactly as the API would, follow
the execution's history, and copy the report out so it outlives the process.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hivemind.aws import artifacts, deployments, executions
from hivemind.errors import HiveMindError
from hivemind.local import instances
from hivemind.models import DeploymentRecord, DeploymentRequest, Report, S3Source
from hivemind.planning.bundle import bundle_directory
from hivemind.workflow import report_page
from hivemind.workflow.start import new_deployment_id, start_deployment

StepCallback = Callable[[str, str, float | None, str | None], None]


def deploy_locally(
    source: Path,
    request_fields: dict[str, Any],
    *,
    faults: tuple[str, ...] = (),
    reports_dir: Path = Path(".hivemind/reports"),
    timeout_s: float = 600,
    on_step: StepCallback | None = None,
    root: Path | None = None,
    inspect: Callable[[Any, DeploymentRecord], None] | None = None,
    prepare: Callable[[Any], dict[str, Any]] | None = None,
    hold: Callable[[DeploymentRecord], None] | None = None,
) -> tuple[DeploymentRecord, Path | None]:
    """Deploy `source` on a fresh local runtime; returns the final record and the report's path.

    `prepare(runtime)` runs first and may add request fields (say, a certificate it created);
    `inspect(runtime, record)` runs before the runtime goes away (tests look at what is left);
    `hold(record)` too, and the app keeps serving until it returns (`deploy --keep`). Then the
    app's processes and the local load balancers end.
    """
    from hivemind.cli.main import project_root
    from hivemind.local.runtime import LocalRuntime

    reports_dir.mkdir(parents=True, exist_ok=True)
    with (
        logs_to(reports_dir.parent / "logs" / "local.log"),
        LocalRuntime(root or project_root(), faults=faults) as aws,
    ):
        if prepare is not None:
            request_fields = {**request_fields, **prepare(aws)}
        record, report_path = deploy_on(
            aws, source, request_fields, reports_dir=reports_dir, timeout_s=timeout_s, on_step=on_step
        )
        if inspect is not None:
            inspect(aws, record)
        if hold is not None:
            hold(record)
        return record, report_path


def deploy_on(
    aws: Any,
    source: Path,
    request_fields: dict[str, Any],
    *,
    reports_dir: Path,
    timeout_s: float = 600,
    on_step: StepCallback | None = None,
) -> tuple[DeploymentRecord, Path | None]:
    """One deployment on a running local runtime (several can follow each other on one)."""
    settings = aws.settings
    s3, ddb, sfn = aws.client("s3"), aws.client("dynamodb"), aws.client("stepfunctions")
    deployment_id = new_deployment_id()
    key = artifacts.put(
        s3,
        settings.artifacts_bucket,
        artifacts.key(deployment_id, "source.zip"),
        bundle_directory(source),
        "application/zip",
    )
    request = DeploymentRequest(**request_fields, source=S3Source(bucket=settings.artifacts_bucket, key=key))
    before = {i.instance_id for i in instances.every()}
    record = start_deployment(request, settings=settings, ddb=ddb, sfn=sfn, deployment_id=deployment_id)
    assert record.execution_arn is not None
    follow(sfn, record.execution_arn, timeout_s=timeout_s, on_step=on_step)
    aws.drain(timeout_s=30)
    # what only this runtime knows: where its instances behaved unlike AWS (on AWS the list is empty)
    differences = list(
        dict.fromkeys(d for i in instances.every() if i.instance_id not in before for d in i.differences)
    )
    if differences:
        deployments.update(ddb, settings.deployments_table, deployment_id, differs_from_aws=differences)
    record = deployments.get(ddb, settings.deployments_table, deployment_id)
    report_path = None
    if record.report_key:
        reports_dir.mkdir(parents=True, exist_ok=True)
        report_path = reports_dir / f"{deployment_id}.json"
        report = json.loads(artifacts.get_bytes(s3, settings.artifacts_bucket, record.report_key))
        report["differs_from_aws"] = differences
        report_path.write_text(json.dumps(report, indent=2) + "\n")
        # the page beside it, with what only this runtime knows (the one in S3 has all else)
        report_path.with_suffix(".html").write_text(report_page.render(Report.model_validate(report)))
    return record, report_path


def follow(
    sfn: Any, execution_arn: str, *, timeout_s: float, on_step: StepCallback | None, poll_s: float = 0.05
) -> str:
    """Poll the execution until it ends (bounded), reporting each state as it starts and ends.

    Each look is a call through moto that competes for the interpreter with the workflow it
    watches (measured: 1.4 s of a cold deployment's CPU at a fixed 50 ms), so the pause grows
    to a quarter of a second while nothing changes and is short again after a change."""
    deadline = time.monotonic() + timeout_s
    seen: dict[int, str] = {}
    pause = poll_s
    while True:
        status = sfn.describe_execution(executionArn=execution_arn)["status"]
        changed = False
        if on_step is not None:
            for index, step in enumerate(executions.step_timings(executions.history(sfn, execution_arn))):
                if seen.get(index) != step.status:
                    seen[index] = step.status
                    changed = True
                    on_step(step.name, step.status, step.duration_s, step.error)
        if status != "RUNNING":
            return str(status)
        pause = poll_s if changed else min(pause * 1.5, 0.25)
        if time.monotonic() > deadline:
            sfn.stop_execution(
                executionArn=execution_arn, error="HiveMind.Timeout", cause=f"no result within {timeout_s} s"
            )
            raise HiveMindError(f"the deployment did not finish within {timeout_s:.0f} s; it was stopped")
        time.sleep(pause)


class logs_to:
    """Send the functions' log lines to a file instead of the terminal, as CloudWatch would."""

    def __init__(self, path: Path):
        self.path = path
        self.saved: list[logging.Handler] = []

    def __enter__(self) -> None:
        import hivemind.observability  # noqa: F401 - its Logger must exist before its handler is swapped

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handler = logging.FileHandler(self.path)
        logger, emulator = logging.getLogger("hivemind"), logging.getLogger("moto")
        self.saved = list(logger.handlers)
        self.saved_emulator = (list(emulator.handlers), emulator.propagate)
        if self.saved:
            self.handler.setFormatter(self.saved[0].formatter)
        logger.handlers = [self.handler]
        emulator.handlers, emulator.propagate = [self.handler], False

    def __exit__(self, *exc: object) -> None:
        self.handler.close()
        logging.getLogger("hivemind").handlers = self.saved
        emulator = logging.getLogger("moto")
        emulator.handlers, emulator.propagate = self.saved_emulator
