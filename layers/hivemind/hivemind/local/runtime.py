"""The local AWS runtime: HiveMind on moto, in this process, faithful enough to run its real
workflow offline, and the app for real.

One file per AWS service it stands in for, each opening with what AWS does and what the
stand-in does differently: functions.py (Lambda), events.py (EventBridge), cloudformation.py,
dynamodb.py (atomic conditional writes), apigateway.py (the API over HTTP),
instances.py (EC2: the app runs from the stack's own user data; toolchains.py picks its
runtime), loadbalancer.py (ELBv2: real proxies and health checks), stepfunctions.py, clock.py
(scaled waits), faults.py (what only AWS can do), sam.py (HiveMind's own stack from
template.yaml). Measured gaps of moto: shared/spikes/local-aws/NOTES.md; what is emulated and
how: docs/LOCAL_RUNTIME.md.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from hivemind.aws import clients
from hivemind.local import clock, cloudformation, dynamodb, events, functions, instances, loadbalancer, stepfunctions
from hivemind.local.faults import install_throttle, known_faults
from hivemind.local.faults import unknown as unknown_faults
from hivemind.local.functions import _Function
from hivemind.local.sam import API_METADATA, CODE_BUCKET, _placeholder_zip, translate_template
from hivemind.local.state import ACCOUNT, REGION, _state, package_cache
from hivemind.settings import Settings

log = logging.getLogger("hivemind.local")

STACK_NAME = "hivemind"

_installed = False


def install_patches() -> None:
    """Install every patch once per process (they consult `_state`, reset per runtime)."""
    global _installed
    if _installed:
        return
    functions._patch_lambda()
    functions._patch_log_keys()
    events._patch_eventbridge()
    cloudformation._patch_cloudformation()
    cloudformation._patch_no_value_in_lists()
    cloudformation._patch_continue_update_rollback()
    instances.patch_termination()
    loadbalancer.install_patches(lambda: _state.active)
    stepfunctions._patch_state_machines_from_cloudformation()
    stepfunctions._patch_send_task_failure_cause()
    stepfunctions._patch_execution_events()
    stepfunctions._patch_stop_execution_reason()
    clock._patch_time()
    dynamodb.patch_atomic_writes()
    install_throttle()
    _installed = True


class LocalRuntime:
    """HiveMind on moto, in this process. Use as a context manager:

    >>> with LocalRuntime(repo_root) as aws:           # doctest: +SKIP
    ...     record = aws.start(request)
    """

    def __init__(
        self,
        root: Path,
        *,
        time_scale: float = 0.01,
        provision_delay_s: float = 0.2,
        faults: tuple[str, ...] = (),
        parameters: dict[str, str] | None = None,
    ):
        """`parameters` are HiveMind's own stack parameters (AdminPrincipals, MaxMonthlyUSD, ...), as
        `sam deploy --parameter-overrides` gives them."""
        self._check_faults(faults)
        self.parameters = dict(parameters or {})
        self.root = root
        self.time_scale = time_scale
        self.provision_delay_s = provision_delay_s
        self.faults = set(faults)
        self.outputs: dict[str, str] = {}
        self.apis: dict[str, Any] = {}
        self._mock: Any = None
        self._schedules: events.Schedules | None = None
        self._scratch: Path | None = None
        self._saved_env: dict[str, str | None] = {}
        self._function_logs: logging.Handler | None = None

    # lifecycle -----------------------------------------------------------------------------
    def __enter__(self) -> LocalRuntime:
        self.start_runtime()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_runtime()

    def start_runtime(self) -> None:
        from moto import mock_aws

        env = {
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_SESSION_TOKEN": "local",
            "MOTO_ACCOUNT_ID": ACCOUNT,
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_DEV": "false",
            # Powertools reads these from the process environment: no X-Ray daemon, and EMF metric
            # lines (which CloudWatch reads on AWS) would land on stdout
            "POWERTOOLS_METRICS_DISABLED": "true",
            # git sources on this machine's loopback (tests' git servers) are fetched; on AWS loopback
            # is the Lambda runtime API and is refused like private and link-local addresses
            "HIVEMIND_LOCAL_GIT_LOOPBACK": "true",
        }
        self._saved_env = {k: os.environ.get(k) for k in env}
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
            self._saved_env[name] = os.environ.pop(name, None)
        os.environ.update(env)
        install_patches()
        # e.g. AWS::S3::BucketPolicy: moto skips it (and says so); it has no effect offline anyway
        warnings.filterwarnings("ignore", message=".*not supported by moto's CloudFormation")
        logging.getLogger("moto.cloudformation.parsing").setLevel(logging.ERROR)
        _state.functions.clear()
        _state.faults, _state.fired = set(self.faults), set()
        _state.time_scale, _state.provision_delay_s = self.time_scale, self.provision_delay_s
        _state.invocations.clear()
        self._scratch = Path(tempfile.mkdtemp(prefix="hivemind-instances-"))
        self._scratch.chmod(0o755)  # nginx's workers (nobody, when run as root) read the site
        _state.scratch, _state.cache = self._scratch, package_cache()
        loadbalancer.settings.time_scale = self.time_scale
        clients.reset()
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        self._mock.start()
        _state.active = True
        self._function_logs = _function_logs()
        try:
            self._deploy_hivemind()
            self._schedules = events.Schedules(ACCOUNT, REGION, self.time_scale)
        except BaseException:
            self.stop_runtime()
            raise

    def stop_runtime(self) -> None:
        if self._schedules is not None:
            self._schedules.stop()
            self._schedules = None
        self.drain(timeout_s=30)
        instances.stop_all()
        loadbalancer.stop_all()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None
        _state.active = False
        if self._function_logs is not None:
            logging.getLogger("hivemind").removeHandler(self._function_logs)
            self._function_logs = None
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        clients.reset()
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def drain(self, timeout_s: float) -> None:
        """Wait for stack provisioning and event deliveries still running (leaving moto while
        they run would break them), bounded by `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        with _state.lock:
            threads = list(_state.threads)
            _state.threads.clear()
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        while _state.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)

    # HiveMind itself ---------------------------------------------------------------------------
    def _deploy_hivemind(self) -> None:
        s3, cfn = clients.client("s3", REGION), clients.client("cloudformation", REGION)
        s3.create_bucket(Bucket=CODE_BUCKET)
        s3.put_object(Bucket=CODE_BUCKET, Key="placeholder.zip", Body=_placeholder_zip())
        template, handlers = translate_template(self.root, f"s3://{CODE_BUCKET}/placeholder.zip")
        self.apis = template.get("Metadata", {}).get(API_METADATA, {})
        unknown = sorted(set(self.parameters) - set(template.get("Parameters", {})))
        if unknown:
            known = ", ".join(sorted(template.get("Parameters", {})))
            raise ValueError(f"HiveMind's template has no parameter {', '.join(unknown)}; it has: {known}")
        stack_id = cfn.create_stack(
            StackName=STACK_NAME,
            TemplateBody=json.dumps(template),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(self.parameters.items())],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
        )["StackId"]
        description = self._wait_stack(cfn, stack_id)
        if description["StackStatus"] != "CREATE_COMPLETE":
            events = cfn.describe_stack_events(StackName=stack_id)["StackEvents"]
            failed = [
                f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason')}"
                for e in events
                if e["ResourceStatus"].endswith("FAILED")
            ]
            raise RuntimeError(f"HiveMind's own stack failed on the local runtime: {failed}")
        self.outputs = {o["OutputKey"]: o["OutputValue"] for o in description.get("Outputs", [])}
        physical = {
            r.get("LogicalResourceId"): r.get("PhysicalResourceId")
            for r in cfn.describe_stack_resources(StackName=stack_id)["StackResources"]
        }
        # a function whose Condition is false (say, PushFunction with no tracked repositories) is not created
        created = {lid: source for lid, source in handlers.items() if lid in physical}
        for logical_id, (code_dir, handler) in created.items():
            name = physical[logical_id]
            group = template["Resources"][logical_id]["Properties"].get("LoggingConfig", {}).get("LogGroup")
            group = physical.get(group["Ref"]) if isinstance(group, dict) and "Ref" in group else group
            _state.functions[name] = _Function(name, logical_id, code_dir, handler, group or f"/aws/lambda/{name}")
        self.function_names = {lid: physical[lid] for lid in created}

    def _wait_stack(self, cfn: Any, stack_id: str, timeout_s: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            description = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
            if not description["StackStatus"].endswith("IN_PROGRESS"):
                return dict(description)
            time.sleep(0.02)
        raise TimeoutError(f"stack {stack_id} did not settle within {timeout_s} s")

    # what callers use ------------------------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        return Settings(
            deployments_table=self.outputs["DeploymentsTableName"],
            artifacts_bucket=self.outputs["ArtifactsBucketName"],
            state_machine_arn=self.outputs["DeployStateMachineArn"],
            region=REGION,
        )

    def client(self, service: str) -> Any:
        return clients.client(service, REGION)

    def invoke(self, logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
        """Invoke one HiveMind function through the Lambda API (as `sam local invoke` would)."""
        response = self.client("lambda").invoke(
            FunctionName=self.function_names[logical_id], Payload=json.dumps(event).encode()
        )
        payload = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            raise RuntimeError(f"{logical_id} failed: {payload}")
        return payload

    def inject(self, *faults: str) -> None:
        """Change the faults of a running runtime (say, between two deployments)."""
        self._check_faults(faults)
        self.faults = set(faults)
        _state.faults, _state.fired = set(faults), set()

    @staticmethod
    def _check_faults(faults: tuple[str, ...]) -> None:
        wrong = unknown_faults(faults)
        if wrong:
            raise ValueError(f"unknown fault(s) {', '.join(wrong)}; known: {known_faults()}")

    @staticmethod
    def invocations() -> list[tuple[str, float]]:
        with _state.lock:
            return list(_state.invocations)


def _function_logs() -> logging.Handler:
    """The handler that puts the functions' log lines in their log groups, formatted as
    Powertools formats them (JSON, with the correlation id)."""
    from hivemind.observability import logger

    handler = functions.CloudWatchLogs()
    handler.setFormatter(logger.registered_formatter)
    logging.getLogger("hivemind").addHandler(handler)
    return handler
