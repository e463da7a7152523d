"""Benchmark: cold starts and sizes, in one run (issue "Speed and size").

Prints, figures only (never asserted: these machines are shared and noisy, so compare the
ratios within one run):
- the whole-process cold `hivemind deploy examples/flask-app --local --json` beside a reference
  process that imports boto3 and makes one client (alternating, medians, peak RSS), with the
  workflow's own share and the instance's boot (the app's real install) inside it;
- the state transitions of a happy deployment and of one whose stack takes 4 minutes (scaled);
- with a `sam build` output (`--build` makes one): each handler's cold import under Python 3.13 as
  packaged (no bytecode written at run time: /opt is read-only on Lambda), Validate's first
  check, and every layer's and function's unzipped size;
- the validate ratio: a fresh `cfn-lint` process against the warm runner and against a redeploy
  that reuses the findings.

    .venv/bin/python bench/cold_start.py [-n 5] [--build | --sam-build DIR]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
REFERENCE = "import boto3; boto3.client('s3', region_name='us-east-1')"
SERVED_FOR_S = 10


def _run(command: list[str], env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in KiB, stdout) of one child process."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
    out = child.stdout.read().decode() if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss, out


def _med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def whole_process(n: int) -> list[str]:
    cli = [str(BIN / "hivemind"), "deploy", "examples/flask-app", "--local", "--json"]
    reference = [sys.executable, "-c", REFERENCE]
    ref_s, ref_kb, cli_s, cli_kb, workflow_s, boot_s = [], [], [], [], [], []
    for _ in range(n):
        elapsed, kb, _ = _run(reference)
        ref_s.append(elapsed)
        ref_kb.append(kb)
        elapsed, kb, out = _run(cli)
        record = json.loads(out)
        if record.get("status") != "SUCCEEDED":
            return [f"cold CLI deploy did not succeed: {record.get('status')} {record.get('error')}"]
        cli_s.append(elapsed)
        cli_kb.append(kb)
        steps = record["steps"]
        workflow_s.append(_seconds(steps[0]["start"], steps[-1]["end"]))
        boot_s.append(next(s["duration_s"] for s in steps if s["name"] == "Wait for stack"))
    ratio = _med(cli_s) / _med(ref_s)
    return [
        f"## whole process, cold (n={n}, alternating, medians)",
        f"  reference (import boto3, one client)      {_med(ref_s):6.2f} s  peak RSS {_med(ref_kb) / 1024:4.0f} MiB",
        f"  hivemind deploy flask-app --local --json  {_med(cli_s):6.2f} s  peak RSS {_med(cli_kb) / 1024:4.0f} MiB"
        f"  = {ratio:.1f}x the reference",
        f"    of which the workflow (Plan to Report)  {_med(workflow_s):6.2f} s",
        f"      of which the instance's boot          {_med(boot_s):6.2f} s  (venv, pip install, start)",
        f"    HiveMind without the app's boot         {_med(cli_s) - _med(boot_s):6.2f} s"
        f"  = {(_med(cli_s) - _med(boot_s)) / _med(ref_s):.1f}x the reference",
    ]


def served_process(n: int) -> list[str]:
    """The same command while `hivemind local serve` runs from this folder: `--local` deploys
    through it. The first deployment of the app boots its instance (the app's real install); each
    one after it, of the same source, is applied in place (nothing the instance runs changed)."""
    from hivemind.cli.remote import SERVE_FILE

    server = subprocess.Popen(
        [str(BIN / "hivemind"), "local", "serve", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not (ROOT / SERVE_FILE).is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(SERVED_FOR_S)  # a server is started once, and used later: it warms its validator meanwhile
        cli = [str(BIN / "hivemind"), "deploy", "examples/flask-app", "--local", "--json"]
        first, _, out = _run(cli)
        if json.loads(out).get("status") != "SUCCEEDED":
            return [f"served deploy did not succeed: {out[:300]}"]
        again, again_kb = [], []
        for _ in range(n):
            elapsed, kb, out = _run(cli)
            if json.loads(out).get("status") != "SUCCEEDED":
                return [f"served redeploy did not succeed: {out[:300]}"]
            again.append(elapsed)
            again_kb.append(kb)
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=60)
    return [
        "## whole process, with `hivemind local serve` running (deploy --local goes through it)",
        f"  first deployment of the app (boots it)    {first:6.2f} s  ({SERVED_FOR_S} s after the server started)",
        f"  the same source again, n={n} (in place)     {_med(again):6.2f} s"
        f"  peak RSS {_med(again_kb) / 1024:4.0f} MiB",
    ]


def _seconds(start: str, end: str) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def transitions() -> list[str]:
    """State transitions as Step Functions bills them: each state entered, and each retry."""
    from hivemind.aws import executions
    from hivemind.local.deploy import deploy_on, logs_to
    from hivemind.local.runtime import LocalRuntime

    lines = ["## state transitions of one deployment (the local runtime's execution history)"]
    cases = (
        ("happy deployment", 0.2, ()),
        ("stack taking 4 minutes (scaled 0.01)", 2.4, ()),
        ("failed stack, the Medic deletes it", 0.2, ("bad-ami",)),
        ("the same, stack taking 4 minutes", 2.4, ("bad-ami",)),
    )
    for label, delay_s, faults in cases:
        with (
            tempfile.TemporaryDirectory() as tmp,
            logs_to(Path(tmp) / "local.log"),
            LocalRuntime(ROOT, provision_delay_s=delay_s, faults=faults) as aws,
        ):
            record, _ = deploy_on(aws, ROOT / "examples/flask-app", {"app_name": "flask-app"}, reports_dir=Path(tmp))
            history = executions.history(aws.client("stepfunctions"), record.execution_arn)
            entered = sum(1 for e in history if e["type"].endswith("StateEntered"))
            retries = sum(max(0, (s.attempts or 1) - 1) for s in record.steps)
            lines.append(
                f"  {label:40s} {entered + retries:3d}  ({entered} states entered, {retries} retries; {record.status})"
            )
    return lines


def validate_ratio(n: int) -> list[str]:
    from hivemind.aws import clients
    from hivemind.planning import make_plan
    from hivemind.policy import check_template
    from hivemind.policy.lint import runner
    from hivemind.templating import releases, render_template, to_yaml
    from hivemind.workflow import validate

    plan = make_plan(ROOT / "examples/flask-app", app_name="flask-app")
    plan = plan.model_copy(update={"source_bundle": "s3://artifacts/deployments/d-bench/source.zip"})
    body = to_yaml(render_template(plan, deployment_id="d-bench", stack_name="hivemind-flask-app"))
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as file:
        file.write(body)
    fresh, warm, reused = [], [], []
    runner()
    check_template(body)  # the first check warms what the runner loads lazily
    with _moto_bucket() as s3:
        validate._remembered.clear()
        for index in range(n):
            started = time.perf_counter()
            subprocess.run([str(BIN / "cfn-lint"), file.name], capture_output=True, check=False)
            fresh.append(time.perf_counter() - started)
            started = time.perf_counter()
            check_template(body)
            warm.append(time.perf_counter() - started)
            digest = validate.findings_digest(body.replace("d-bench", f"d-{index}"), f"d-{index}", "us-east-1")
            started = time.perf_counter()
            release = releases.suffix(f"d-{index}")
            if validate._recall(s3, "artifacts", digest, release) is None:
                validate._remember(s3, "artifacts", digest, check_template(body), release)
            validate._remembered.clear()  # each redeploy in a new container: the findings come from S3
            reused.append(time.perf_counter() - started)
        clients.reset()
    os.unlink(file.name)
    return [
        f"## validate (flask-app's template, n={n}, medians)",
        f"  fresh cfn-lint process         {_med(fresh):6.3f} s",
        f"  warm runner (cfn-lint + guard) {_med(warm):6.3f} s  fresh/warm = {_med(fresh) / _med(warm):.1f}x",
        f"  redeploy, findings from S3     {_med(reused[1:]):6.3f} s"
        f"  fresh/reused = {_med(fresh) / _med(reused[1:]):.0f}x (the first of the runs validated)",
    ]


class _moto_bucket:
    def __enter__(self) -> Any:
        from moto import mock_aws

        from hivemind.aws import clients

        os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
        self.mock = mock_aws()
        self.mock.start()
        s3 = clients.client("s3", "us-east-1")
        s3.create_bucket(Bucket="artifacts")
        return s3

    def __exit__(self, *exc: object) -> None:
        self.mock.stop()


# ------------------------------------------------------------------------------- Lambda packaging
LAMBDA_ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_LAMBDA_FUNCTION_NAME": "bench",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "POWERTOOLS_SERVICE_NAME": "hivemind",
    "POWERTOOLS_TRACE_DISABLED": "false",
    "DEPLOYMENTS_TABLE": "deployments",
    "ARTIFACTS_BUCKET": "artifacts",
    "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:hivemind-deploy",
    "PYTHONDONTWRITEBYTECODE": "1",
}
_IMPORT = "import time; t = time.perf_counter(); import app; print(time.perf_counter() - t)"
_FIRST_CHECK = (
    "import sys, time; t = time.perf_counter(); import app; i = time.perf_counter() - t; "
    "from hivemind.policy import check_template; body = open(sys.argv[1]).read(); "
    "t = time.perf_counter(); check_template(body); f = time.perf_counter() - t; "
    "t = time.perf_counter(); check_template(body); print(i, f, time.perf_counter() - t)"
)


def python313() -> str | None:
    from hivemind.local.toolchains import python_versions

    found = python_versions().get("3.13")
    return str(found) if found else shutil.which("python3.13")


def sam_build(into: Path) -> Path:
    python = python313()
    env = dict(os.environ, PATH=f"{Path(python).parent}:{os.environ['PATH']}") if python else dict(os.environ)
    subprocess.run(
        [str(BIN / "sam"), "build", "--build-dir", str(into), "--cached", "--cache-dir", str(ROOT / ".aws-sam/cache")],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return into


def packaging(build: Path, n: int) -> list[str]:
    template = json.loads(json.dumps(_yaml(build / "template.yaml")))
    resources = template["Resources"]
    layers = {lid: build / lid for lid, r in resources.items() if r["Type"] == "AWS::Serverless::LayerVersion"}
    lines = ["## Lambda packaging (sam build output; unzipped sizes)"]
    for lid, folder in layers.items():
        lines.append(f"  layer {lid:28s} {_size(folder) / 1e6:7.1f} MB")
    functions = {lid: r for lid, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}
    python = python313()
    if python is None:
        return [*lines, "  handler imports: no Python 3.13 on this machine (pyenv install 3.13)"]
    lines.append(f"## handler cold import under {python} as packaged (n={n}, median)")
    reference_env = dict(LAMBDA_ENV, PYTHONPATH=str(layers["DomainLayer"] / "python"), PATH=os.environ["PATH"])
    timed = f"import time; t = time.perf_counter(); {REFERENCE}; print(time.perf_counter() - t)"
    reference = [float(_run([python, "-c", timed], reference_env)[2] or "nan") for _ in range(n)]
    lines.append(f"  {'reference: boto3 + one client':28s} {_med(reference):6.3f} s (the layer's boto3)")
    validate_body = None
    for lid, resource in sorted(functions.items()):
        code = build / lid
        used = [_layer_id(ref) for ref in resource["Properties"].get("Layers", [])] or list(layers)
        global_layers = [_layer_id(ref) for ref in template.get("Globals", {}).get("Function", {}).get("Layers", [])]
        paths = [str(code)] + [str(layers[x] / "python") for x in dict.fromkeys(global_layers + used) if x in layers]
        env = dict(LAMBDA_ENV, PYTHONPATH=os.pathsep.join(paths), PATH=os.environ["PATH"])
        for x in dict.fromkeys(global_layers + used):
            if x in layers and (layers[x] / "bin").is_dir():
                env["PATH"] = f"{layers[x] / 'bin'}:{env['PATH']}"
        times = []
        for _ in range(n):
            _, _, out = _run([python, "-c", _IMPORT], env)
            times.append(float(out.strip().splitlines()[-1]) if out.strip() else float("nan"))
        lines.append(f"  {lid:28s} {_med(times):6.3f} s")
        if lid == "ValidateFunction":
            validate_body = (code, env)
    if validate_body is not None:
        from hivemind.planning import make_plan
        from hivemind.templating import render_template, to_yaml

        plan = make_plan(ROOT / "examples/flask-app", app_name="flask-app")
        body = to_yaml(render_template(plan, deployment_id="d-bench", stack_name="hivemind-flask-app"))
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as file:
            file.write(body)
        runs = [_run([python, "-c", _FIRST_CHECK, file.name], validate_body[1])[2].split() for _ in range(n)]
        os.unlink(file.name)
        runs = [r for r in runs if len(r) == 3]
        if runs:
            imp, first, second = (_med([float(r[i]) for r in runs]) for i in range(3))
            lines.append(
                f"  Validate: import {imp:.3f} s, first check {first:.3f} s, next check {second:.3f} s"
                " (the import builds cfn-lint's runner, during the container's init)"
            )
    return lines


def _layer_id(ref: Any) -> str:
    return ref["Ref"] if isinstance(ref, dict) else str(ref)


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def _yaml(path: Path) -> Any:
    from samtranslator.yaml_helper import yaml_parse

    return yaml_parse(path.read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5, help="runs per measurement")
    parser.add_argument("--build", action="store_true", help="run `sam build` into a scratch folder first")
    parser.add_argument("--sam-build", type=Path, help="an existing `sam build` output (.aws-sam/build)")
    parser.add_argument("--skip-cli", action="store_true", help="leave out the whole-process CLI runs")
    parser.add_argument("--packaging-only", action="store_true", help="only the sam build figures")
    args = parser.parse_args()

    logging.getLogger("moto").setLevel(logging.ERROR)
    print(f"# cold starts and sizes, {time.strftime('%Y-%m-%d')}, Python {sys.version.split()[0]}", flush=True)
    if not args.packaging_only:
        if not args.skip_cli:
            print("\n".join(whole_process(args.n)), flush=True)
            print("\n".join(served_process(args.n)), flush=True)
        print("\n".join(transitions()), flush=True)
        print("\n".join(validate_ratio(args.n)), flush=True)
    build = args.sam_build
    scratch = None
    if args.build:
        scratch = Path(tempfile.mkdtemp(prefix="hivemind-sam-build-"))
        build = sam_build(scratch)
    if build is not None:
        print("\n".join(packaging(build, args.n)), flush=True)
    else:
        print("## Lambda packaging: pass --build (or --sam-build DIR) to measure the handlers and the layers")
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
