"""The `hivemind` command.

`deploy --local` runs the whole workflow on the local AWS runtime; `plan`, `template` and
`validate` need no AWS at all. Errors are one readable line on stderr and an exit code:
0 success, 1 the thing checked failed (deployment not SUCCEEDED, blocking findings),
2 bad input or an error before the work could run.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from hivemind.errors import HiveMindError
from hivemind.local.faults import FAULTS, STEPS

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Deploy a web application from its source to AWS, safely.",
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            shown = version("hivemind")
        except PackageNotFoundError:  # the source tree without an install
            shown = "unknown (not installed)"
        print(f"hivemind {shown}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version and exit")
    ] = False,
) -> None:
    """Deploy a web application from its source to AWS, safely."""


out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_FAILED, EXIT_ERROR = 1, 2
_FAULT_HELP = "; ".join(f"{name}: {what}" for name, what in FAULTS.items()) + f" (STEP: {', '.join(STEPS)})"
SHOWN_LOG_LINES = 8


def _fail(message: str, code: int = EXIT_ERROR) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors():
        where = ".".join(str(p) for p in e["loc"]) or "request"
        parts.append(f"{where}: {e['msg']}")
    return "; ".join(parts)


def default_app_name(source: Path) -> str:
    """A valid app name from a folder name ("My_App" -> "my-app")."""
    from hivemind.models.request import app_name_from

    return app_name_from(source.resolve().name)


def project_root() -> Path:
    """The HiveMind checkout (template.yaml, functions/, statemachine/) the local runtime runs."""
    here = Path(__file__).resolve()
    for candidate in [Path.cwd(), *here.parents]:
        if (candidate / "template.yaml").is_file() and (candidate / "statemachine").is_dir():
            return candidate
    raise HiveMindError("cannot find HiveMind's template.yaml; run from the HiveMind checkout")


def _source_dir(source: str) -> Path:
    path = Path(source)
    if not path.exists():
        raise _fail(f"source {source} not found")
    if not path.is_dir():
        raise _fail(f"source {source} is not a folder")
    return path


def _overrides(
    port: int | None, health_path: str | None, instance_type: str | None, subdir: str | None = None
) -> dict[str, Any]:
    values = {"port": port, "health_path": health_path, "instance_type": instance_type, "subdir": subdir}
    return {k: v for k, v in values.items() if v is not None}


def _stack_options(certificate_arn: str | None, vpc_id: str | None, subnet_ids: list[str] | None) -> Any:
    from hivemind.models import StackOptions

    try:
        return StackOptions(certificate_arn=certificate_arn, vpc_id=vpc_id, subnet_ids=subnet_ids or [])
    except ValidationError as exc:
        raise _fail(_validation_message(exc)) from None


def _parse_env(pairs: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise _fail(f"--env takes NAME=VALUE, got {pair!r}")
        env[name] = value
    return env


# ------------------------------------------------------------------------------------------ plan
_SOURCE_HELP = "the application's folder, or a git repository URL (https://...)"
_REF_HELP = "with a git URL: the branch, tag or commit (default: the remote's HEAD)"


@app.command()
def plan(
    source: Annotated[str, typer.Argument(help=_SOURCE_HELP)],
    subdir: Annotated[str | None, typer.Option(help="the app's folder inside SOURCE (monorepos)")] = None,
    ref: Annotated[str, typer.Option(help=_REF_HELP)] = "HEAD",
    app_name: Annotated[str | None, typer.Option("--app-name", help="defaults to the folder name")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the plan as JSON")] = False,
) -> None:
    """Decide how to build and run SOURCE, with the evidence for each decision."""
    from hivemind.templating.cost import estimate

    the_plan = _plan(source, app_name, _overrides(None, None, None, subdir), ref)
    the_plan = the_plan.model_copy(update={"cost": estimate(the_plan)})
    if as_json:
        out.print_json(the_plan.model_dump_json())
        return
    table = Table(title=f"Plan for {the_plan.app_name}", show_lines=False)
    for column in ("field", "value", "decided by", "evidence"):
        table.add_column(column)
    for name in (
        "language",
        "framework",
        "runtime_version",
        "install_command",
        "build_command",
        "release_command",
        "start_command",
        "port",
        "port_env",
        "health_path",
        "subdir",
        "instance_type",
    ):
        why = the_plan.why(name)
        where = f"{why.file}:{why.line} " if why and why.file else ""
        value = getattr(the_plan, name)
        shown = "-" if value is None else str(value)
        table.add_row(name, shown, why.source if why else "", f"{where}{why.reason if why else ''}")
    out.print(table)
    for warning in the_plan.warnings:
        out.print(f"[yellow]warning:[/yellow] {warning}", markup=True)
    cost = the_plan.cost
    out.print(f"Estimated cost: ${cost.monthly_usd:.2f}/month ({cost.region}, on-demand)")
    for item in cost.items:
        out.print(f"  {item.name:<28} ${item.monthly_usd:>7.2f}  {item.basis}")
    if cost.note:
        out.print(f"  note: {cost.note}")
    out.print(f"  prices: {cost.retrieved}")


def _plan(source: str, app_name: str | None, overrides: dict[str, Any], ref: str = "HEAD") -> Any:
    """The plan for a folder, or for a git repository fetched (without a git binary) at `ref`."""
    import tempfile

    from hivemind.models import GitSource, PlanOverrides
    from hivemind.planning import make_plan
    from hivemind.planning.sources import fetch_git

    try:
        if not re.match(r"^[a-z][a-z0-9+.-]*://", source):
            root = _source_dir(source)
            return make_plan(root, app_name=app_name or default_app_name(root), overrides=PlanOverrides(**overrides))
        git = GitSource(url=source, ref=ref)
        name = app_name or default_app_name(Path(source.rstrip("/").removesuffix(".git")))
        with tempfile.TemporaryDirectory(prefix="hivemind-git-") as tmp:
            root = fetch_git(git.url, git.ref, Path(tmp) / "src")
            return make_plan(root, app_name=name, overrides=PlanOverrides(**overrides))
    except ValidationError as exc:
        raise _fail(_validation_message(exc)) from None
    except HiveMindError as exc:
        raise _fail(str(exc)) from None


# -------------------------------------------------------------------------------------- template
@app.command()
def template(
    source: Annotated[str, typer.Argument(help=_SOURCE_HELP)],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="write to this file")] = None,
    subdir: Annotated[str | None, typer.Option(help="the app's folder inside SOURCE (monorepos)")] = None,
    ref: Annotated[str, typer.Option(help=_REF_HELP)] = "HEAD",
    app_name: Annotated[str | None, typer.Option("--app-name")] = None,
    certificate_arn: Annotated[str | None, typer.Option(help="ACM certificate: HTTPS, and HTTP redirects")] = None,
    vpc_id: Annotated[str | None, typer.Option(help="an existing VPC (with --subnet-id)")] = None,
    subnet_id: Annotated[list[str] | None, typer.Option(help="an existing public subnet (repeatable, 2+)")] = None,
) -> None:
    """Print (or write) the CloudFormation template HiveMind would deploy for SOURCE."""
    from hivemind.templating import render_template, to_yaml

    options = _stack_options(certificate_arn, vpc_id, subnet_id)
    the_plan = _plan(source, app_name, _overrides(None, None, None, subdir), ref)
    stack_name = f"hivemind-{the_plan.app_name}"
    body = to_yaml(render_template(the_plan, deployment_id="preview", stack_name=stack_name, options=options))
    if output is None:
        sys.stdout.write(body)
        return
    output.write_text(body)
    err.print(f"wrote {output}")


# -------------------------------------------------------------------------------------- validate
@app.command()
def validate(
    template_file: Annotated[Path, typer.Argument(metavar="TEMPLATE", help="a CloudFormation template")],
    rules: Annotated[list[Path] | None, typer.Option(help="a folder of your own .guard rules (repeatable)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """cfn-lint and the policy pack. Exit 0 when it passes, 1 with blocking findings, 2 on error."""
    from hivemind.policy import blocking, check_template

    if not template_file.is_file():
        raise _fail(f"template {template_file} not found")
    try:
        findings = check_template(template_file.read_text(), extra_rules=rules or ())
    except HiveMindError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        out.print_json(json.dumps([f.model_dump(mode="json") for f in findings]))
    else:
        for f in findings:
            colour = "red" if f.severity == "error" else "yellow"
            where = f"{f.rule_id} {f.resource or '-'} line {f.line}"
            out.print(f"[{colour}]{f.severity:<7}[/{colour}] {where}: {f.message}")
            if f.fix:
                out.print(f"        fix: {f.fix}")
        out.print(f"{len(blocking(findings))} blocking, {len(findings)} total")
    if blocking(findings):
        raise typer.Exit(EXIT_FAILED)


# ---------------------------------------------------------------------------------------- deploy
@app.command()
def deploy(
    source: Annotated[str, typer.Argument(help="the application's folder")],
    local: Annotated[bool, typer.Option("--local", help="run on the offline local AWS runtime")] = False,
    app_name: Annotated[str | None, typer.Option("--app-name", help="defaults to the folder name")] = None,
    env: Annotated[list[str] | None, typer.Option("--env", help="NAME=VALUE for the app (repeatable)")] = None,
    secret: Annotated[
        list[str] | None,
        typer.Option("--secret", help="NAME=ssm:/param or NAME=secretsmanager:name, read at start (repeatable)"),
    ] = None,
    port: Annotated[int | None, typer.Option(help="override the detected port")] = None,
    health_path: Annotated[str | None, typer.Option(help="override the detected health path")] = None,
    instance_type: Annotated[str | None, typer.Option(help="override the instance type")] = None,
    subdir: Annotated[str | None, typer.Option(help="the app's folder inside SOURCE (monorepos)")] = None,
    certificate_arn: Annotated[str | None, typer.Option(help="ACM certificate: HTTPS, and HTTP redirects")] = None,
    vpc_id: Annotated[str | None, typer.Option(help="an existing VPC (with --subnet-id)")] = None,
    subnet_id: Annotated[list[str] | None, typer.Option(help="an existing public subnet (repeatable, 2+)")] = None,
    inject: Annotated[
        list[str] | None,
        typer.Option(help=f"local runtime fault to inject (repeatable): {_FAULT_HELP}", metavar="FAULT"),
    ] = None,
    keep: Annotated[
        bool, typer.Option("--keep", help="with --local: keep the app serving at its local URL until Ctrl-C")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the final deployment record as JSON")] = False,
    reports_dir: Annotated[Path, typer.Option(help="where reports are written")] = Path(".hivemind/reports"),
    timeout: Annotated[float, typer.Option(help="seconds to wait for the deployment")] = 600,
) -> None:
    """Deploy SOURCE: plan, template, validate, create the stack, verify health, report."""
    from hivemind.models import DeploymentRequest, PlanOverrides, S3Source

    if not local:
        raise _fail("deploying to a HiveMind stack on AWS is not available in this version yet; use --local")
    root = _source_dir(source)
    try:
        request_fields = {
            "app_name": app_name or default_app_name(root),
            "environment": _parse_env(env or []),
            "secrets": _parse_env(secret or []),
            "overrides": PlanOverrides(**_overrides(port, health_path, instance_type, subdir)),
            "stack": _stack_options(certificate_arn, vpc_id, subnet_id),
        }
        DeploymentRequest(**request_fields, source=S3Source(bucket="placeholder", key="k"))
    except ValidationError as exc:
        raise _fail(_validation_message(exc)) from None
    from hivemind.local.deploy import deploy_locally

    def show(record: Any, report_path: Path | None) -> None:
        if as_json:
            sys.stdout.write(record.model_dump_json(indent=2) + "\n")
        else:
            _print_summary(record, report_path)
        sys.stdout.flush()

    shown: list[Any] = []

    def hold(record: Any) -> None:
        shown.append(record)
        show(record, None)
        if record.status != "SUCCEEDED" or not record.url:
            return
        try:  # a Ctrl-C as soon as the URL is printed stops it the same way
            err.print(f"serving {record.url} from this machine (the local load balancer); Ctrl-C stops it")
            # short waits, not one endless one: a SIGINT the kernel hands to another of this
            # process's threads only sets a flag, which the main thread reads when it wakes
            forever = threading.Event()
            while not forever.wait(0.5):
                pass
        except KeyboardInterrupt:
            err.print("stopping: the app's processes and the local load balancer end; nothing is left running")

    try:
        record, report_path = deploy_locally(
            root,
            request_fields,
            faults=tuple(inject or ()),
            reports_dir=reports_dir,
            timeout_s=timeout,
            on_step=None if as_json else _print_step,
            hold=hold if keep else None,
        )
    except KeyboardInterrupt:
        err.print("interrupted: the deployment was stopped; its local app, stacks and load balancers are gone")
        raise typer.Exit(130) from None
    except (HiveMindError, ValueError) as exc:
        raise _fail(str(exc)) from None
    if not shown:
        show(record, report_path)
    if record.status != "SUCCEEDED":
        raise typer.Exit(EXIT_FAILED)


_LOCAL_URL = re.compile(r"^https?://127\.0\.0\.1:\d+")
_SYMBOLS = {"SUCCEEDED": "[green]✓[/green]", "FAILED": "[red]✗[/red]", "RUNNING": "[cyan]▶[/cyan]"}


def _print_step(name: str, status: str, duration_s: float | None, detail: str | None) -> None:
    timing = f" [dim]{duration_s:.2f}s[/dim]" if duration_s is not None else ""
    extra = f" [dim]— {detail}[/dim]" if detail else ""
    err.print(f"{_SYMBOLS.get(status, '·')} {name}{timing}{extra}")


def _print_summary(record: Any, report_path: Path | None) -> None:
    colour = "green" if record.status == "SUCCEEDED" else "red"
    out.print(f"\n[bold {colour}]{record.status}[/bold {colour}]  {record.app_name}  ({record.deployment_id})")
    if record.url:
        where = "  (a local load balancer on this machine)" if _LOCAL_URL.match(record.url) else ""
        out.print(f"  URL     {record.url}{where}")
    if record.not_rehearsed:
        out.print(f"  not rehearsed: {record.not_rehearsed}", markup=False)
    if record.health and record.health.status_code:
        out.print(f"  health  {record.health.path} answered {record.health.status_code}")
    for warning in [c for c in record.qa if not c.required and (c.status_code is None or c.status_code >= 500)]:
        out.print(f"  warning {warning.path}: {warning.status_code or warning.error}", markup=False)
    for difference in record.differs_from_aws:
        out.print(f"  unlike AWS: {difference}", markup=False)
    if record.stack_name:
        out.print(f"  stack   {record.stack_name}")
    total = sum(s.duration_s or 0 for s in record.steps)
    out.print(f"  steps   {len(record.steps)} in {total:.2f}s")
    if record.error:
        out.print(f"  error   {record.error}")
    if record.diagnosis:
        out.print(f"  medic   {record.diagnosis.category}: {record.diagnosis.summary}")
        if record.diagnosis.fix:
            out.print(f"  fix     {record.diagnosis.fix}", markup=False)
        for left in record.diagnosis.left:
            out.print(f"  left    {left}", markup=False)
        if record.diagnosis.escalation:
            out.print(f"  to do   {record.diagnosis.escalation}", markup=False)
        if record.diagnosis.instance_log:
            out.print("  the instance's last log lines (all of them in the report):")
            for line in record.diagnosis.instance_log[-SHOWN_LOG_LINES:]:
                out.print(f"    {line}", markup=False)
    if report_path:
        out.print(f"  report  {report_path}")


# -------------------------------------------------------------------------------------- diagnose
@app.command()
def diagnose(
    events_file: Annotated[
        Path,
        typer.Argument(
            metavar="EVENTS.json",
            help="a stack's events as `aws cloudformation describe-stack-events` prints them "
            '(the {"StackEvents": [...]} response or a bare list)',
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Why a stack failed: the root cause, its category, what to do, and what failed after it.
    Any stack's events, not only HiveMind's."""
    from hivemind.medic.categories import KINDS
    from hivemind.medic.diagnose import diagnose_events, failures

    if not events_file.is_file():
        raise _fail(f"{events_file} not found")
    try:
        data = json.loads(events_file.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise _fail(f"{events_file} is not JSON: {exc}") from None
    events = data.get("StackEvents") if isinstance(data, dict) else data
    if not isinstance(events, list) or not all(isinstance(e, dict) and "ResourceStatus" in e for e in events):
        raise _fail(
            f"{events_file} holds no stack events: expected describe-stack-events' output "
            '({"StackEvents": [...]}) or a list of events, each with a ResourceStatus'
        )
    found = diagnose_events(events)
    first = next(iter(failures(events, events[0].get("StackName") if events else None)), None)
    kind = KINDS[found.category]
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "root_cause": {
                        "logical_id": found.resource,
                        "resource_type": found.resource_type,
                        "status": first.status if first else None,
                        "reason": found.status_reason,
                    },
                    "category": found.category,
                    "action": kind.action,
                    "fix": kind.fix,
                    "secondary": [f.model_dump(mode="json") for f in found.secondary],
                }
            )
        )
        return
    out.print(f"[bold]root cause[/bold]  {found.summary}", markup=True, highlight=False)
    out.print(f"category    {found.category} (the Medic would {kind.action.replace('rollback', 'roll back')})")
    out.print(f"fix         {kind.fix}")
    for later in found.secondary:
        out.print(
            f"then        {later.logical_id} ({later.resource_type}) {later.status}: {later.reason}", markup=False
        )


def main() -> None:
    """The `hivemind` console script: the CLI, tuned for a process that lives seconds.

    Measured (bench/cold_start.py): with the interpreter's default thresholds, a local deployment
    spends about a fifth of its time in full garbage collections over objects that live as long as
    the process (modules, moto's backends, botocore's models), and its interpreter teardown, which
    frees all of them one by one, takes a second more. So collections of the young generation are
    rarer and the old ones effectively never run, and the process ends with `os._exit` once its
    output and log files are flushed (every context manager and `finally` has run by then).
    """
    import contextlib
    import gc
    import logging
    import os

    gc.set_threshold(50_000, 50, 1_000)
    code: int = 0
    try:
        app()
    except SystemExit as exit_:
        if isinstance(exit_.code, str):
            err.print(exit_.code, markup=False)
            code = 1
        else:
            code = exit_.code or 0
    except KeyboardInterrupt:  # pragma: no cover - a Ctrl-C outside a command's own handling
        code = 130
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing left to say
            stream.flush()
    logging.shutdown()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
