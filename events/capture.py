"""Write events/<function>.json: the input each of the workflow's functions really got, taken from
the execution histories of deployments on the local runtime (a new app, its update with a
cut-over, and an update that fails), so that `sam local invoke FUNCTION -e events/...` replays
what the state machine sends. Run it again when the workflow's state changes shape:

    .venv/bin/python events/capture.py
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "hivemind")]

from hivemind.aws import executions  # noqa: E402
from hivemind.local.deploy import deploy_on, logs_to  # noqa: E402
from hivemind.local.runtime import LocalRuntime  # noqa: E402
from tests.fixtures.repo import write_files  # noqa: E402

APP = ROOT / "examples" / "flask-app"
# the function each state invokes, by the state's name (several states share one function)
FILES = {
    "Plan deployment": "plan.json",
    "Generate template": "generate-template.json",
    "Validate template": "validate.json",
    "Create stack": "create-stack.json",
    "Wait for stack": "wait-stack.json",
    "Register target": "register-target.json",
    "Wait for healthy target": "wait-health.json",
    "Smoke test": "smoke-test.json",
    "Drain previous release": "drain-previous.json",
    "Remove previous release": "remove-previous.json",
    "Report": "report-succeeded.json",
    "Handle failure": "medic-handle-failure.json",
    "Report failure": "report-failed.json",
}


def _inputs(sfn: object, execution_arn: str) -> dict[str, object]:
    """State name -> the payload its function got (a Lambda task's input, or a `.waitForTaskToken`
    task's Payload)."""
    found: dict[str, object] = {}
    state = None
    for event in executions.history(sfn, execution_arn):
        if event["type"] == "TaskStateEntered":
            state = event["stateEnteredEventDetails"]["name"]
        elif event["type"] == "LambdaFunctionScheduled" and state:
            found[state] = json.loads(event["lambdaFunctionScheduledEventDetails"]["input"])
        elif event["type"] == "TaskScheduled" and state:
            found[state] = json.loads(event["taskScheduledEventDetails"]["parameters"])["Payload"]
    return found


def main() -> None:
    inputs: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp, logs_to(Path(tmp) / "local.log"), LocalRuntime(ROOT) as aws:
        sfn = aws.client("stepfunctions")
        loopback = write_files(
            Path(tmp) / "loopback",
            {
                "app.py": (APP / "app.py").read_text(),
                "requirements.txt": (APP / "requirements.txt").read_text(),
                "Procfile": "web: gunicorn --bind 127.0.0.1:$PORT app:app\n",
            },
        )
        runs = [(APP, {}), (APP, {"environment": {"GREETING": "two"}}), (loopback, {})]
        for source, fields in runs:
            record, _ = deploy_on(aws, source, {"app_name": "flask-app", **fields}, reports_dir=Path(tmp))
            assert record.execution_arn is not None
            inputs.update(_inputs(sfn, record.execution_arn))
    for state, name in FILES.items():
        text = json.dumps(inputs[state], indent=2) + "\n"
        # the local runtime's task tokens are long and opaque; any string does for a replay
        text = re.sub(r'"task_token": "[^"]*"', '"task_token": "AQCEAAAAKgAAAAMAAAAA-example-token"', text)
        (ROOT / "events" / name).write_text(text)
        print(f"events/{name}  <- {state}")


if __name__ == "__main__":
    main()
