"""The `hivemind` command.

`deploy --local` runs the whole workflow on the local AWS runtime; `plan`, `template` and
`validate` need no AWS at all. Errors are one readable line on stderr and an exit code:
0 success, 1 the thing checked failed (deployment not SUCCEEDED, blocking findings),
2 bad input or an error before the work could run.
"""

from __future__ import annotations

import json
import re
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hivemind.errors import HiveMindError
from hivemind.local.faults import FAULTS, STEPS

if TYPE_CHECKING:
    from hivemind.models import DeploymentRecord

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
    err.print(f"[red]error:[/red] {escape(message)}")  # a message may hold [brackets]: a pattern, a list
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


def _overrides(**values: Any) -> dict[str, Any]:
    """The plan fields the command line set."""
    return {k: v for k, v in values.items() if v is not None}


def _stack_options(certificate_arn: str | None, vpc_id: str | None, subnet_ids: list[str] | None) -> Any:
    from hivemind.models import StackOptions

    try:
        return StackOptions(certificate_arn=certificate_arn, vpc_id=vpc_id, subnet_ids=subnet_ids or [])
    except ValidationError as exc:
        raise _fail(_validation_message(exc)) from None


def _emit(body: str, output: Path | None) -> None:
    """Print `body`, or write it to `output` and say so."""
    if output is None:
        sys.stdout.write(body)
        return
    output.write_text(body)
    err.print(f"wrote {output}")


def _parse_env(pairs: list[str], option: str = "--env") -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise _fail(f"{option} takes NAME=VALUE, got {pair!r}")
        env[name] = value
    return env


# ------------------------------------------------------------------------------------------ plan
_SOURCE_HELP = "the application's folder, or a git repository URL (https://...)"
_REF_HELP = "with a git URL: the branch, tag or commit (default: the remote's HEAD)"
_ENDPOINT_HELP = "the HiveMind API's URL (default: `hivemind local serve`'s, else HIVEMIND_STACK_NAME's ApiUrl)"
# what the plan is made from, the same for `plan`, `template` and `deploy`
Env = Annotated[list[str] | None, typer.Option("--env", help="NAME=VALUE for the app (repeatable)")]
Secret = Annotated[
    list[str] | None,
    typer.Option("--secret", help="NAME=ssm:/param or NAME=secretsmanager:name, read at start (repeatable)"),
]
Port = Annotated[int | None, typer.Option(help="override the detected port")]
HealthPath = Annotated[str | None, typer.Option(help="override the detected health path")]
HealthCodes = Annotated[
    str | None, typer.Option(help="the health path's statuses that count as up: 200-399 unless planned")
]
InstanceType = Annotated[str | None, typer.Option(help="override the instance type")]
Subdir = Annotated[str | None, typer.Option(help="the app's folder inside SOURCE (monorepos)")]


@app.command()
def plan(
    source: Annotated[str, typer.Argument(help=_SOURCE_HELP)],
    subdir: Subdir = None,
    ref: Annotated[str, typer.Option(help=_REF_HELP)] = "HEAD",
    app_name: Annotated[str | None, typer.Option("--app-name", help="defaults to the folder name")] = None,
    env: Env = None,
    secret: Secret = None,
    port: Port = None,
    health_path: HealthPath = None,
    health_codes: HealthCodes = None,
    instance_type: InstanceType = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the plan as JSON")] = False,
) -> None:
    """Decide how to build and run SOURCE, with the evidence for each decision (given what `deploy`
    would be given: the environment, secrets and overrides)."""
    from hivemind.templating.cost import estimate

    the_plan = _plan_given(
        source, app_name, ref, env, secret,
        subdir=subdir, port=port, health_path=health_path, health_codes=health_codes, instance_type=instance_type,
    )  # fmt: skip
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
        "health_codes",
        "subdir",
        "instance_type",
    ):
        why = the_plan.why(name)
        where = f"{why.file}:{why.line} " if why and why.file else ""
        value = getattr(the_plan, name)
        shown = "-" if value is None else str(value)
        table.add_row(name, shown, why.source if why else "", f"{where}{why.reason if why else ''}")
    for why in (e for e in the_plan.evidence if e.field.startswith("environment.")):
        where = f"{why.file}:{why.line} " if why.file else ""
        table.add_row(why.field, str(why.value), why.source, f"{where}{why.reason}")
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


def _plan_given(
    source: str, app_name: str | None, ref: str, env: list[str] | None, secret: list[str] | None, **overrides: Any
) -> Any:
    """The plan as `deploy` would make it from the same command-line options."""
    environment, secrets = _parse_env(env or []), _parse_env(secret or [], "--secret")
    return _plan(source, app_name, _overrides(**overrides), ref, environment, secrets)


def _plan(
    source: str,
    app_name: str | None,
    overrides: dict[str, Any],
    ref: str = "HEAD",
    environment: dict[str, str] | None = None,
    secrets: dict[str, str] | None = None,
) -> Any:
    """The plan for a folder, or for a git repository fetched (without a git binary) at `ref`."""
    import tempfile

    from hivemind.models import DeploymentRequest, GitSource, PlanOverrides, S3Source
    from hivemind.planning import make_plan
    from hivemind.planning.sources import fetch_git

    try:
        # the request's own checks (names, secret references), as `deploy` makes them
        request = DeploymentRequest(
            app_name="checked",
            source=S3Source(bucket="placeholder", key="k"),
            overrides=PlanOverrides(**overrides),
            environment=environment or {},
            secrets=secrets or {},
        )
        given: dict[str, Any] = {
            "overrides": request.overrides,
            "environment": request.environment,
            "secrets": request.secrets,
        }
        if not re.match(r"^[a-z][a-z0-9+.-]*://", source):
            root = _source_dir(source)
            return make_plan(root, app_name=app_name or default_app_name(root), **given)
        git = GitSource(url=source, ref=ref)
        name = app_name or default_app_name(Path(source.rstrip("/").removesuffix(".git")))
        with tempfile.TemporaryDirectory(prefix="hivemind-git-") as tmp:
            root = Path(tmp) / "src"
            fetch_git(git.url, git.ref, root, public_only=False)  # for the user, on their machine
            return make_plan(root, app_name=name, **given)
    except ValidationError as exc:
        raise _fail(_validation_message(exc)) from None
    except HiveMindError as exc:
        raise _fail(str(exc)) from None


# -------------------------------------------------------------------------------------- template
@app.command()
def template(
    source: Annotated[str, typer.Argument(help=_SOURCE_HELP)],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="write to this file")] = None,
    subdir: Subdir = None,
    ref: Annotated[str, typer.Option(help=_REF_HELP)] = "HEAD",
    app_name: Annotated[str | None, typer.Option("--app-name")] = None,
    env: Env = None,
    secret: Secret = None,
    port: Port = None,
    health_path: HealthPath = None,
    health_codes: HealthCodes = None,
    instance_type: InstanceType = None,
    certificate_arn: Annotated[str | None, typer.Option(help="ACM certificate: HTTPS, and HTTP redirects")] = None,
    vpc_id: Annotated[str | None, typer.Option(help="an existing VPC (with --subnet-id)")] = None,
    subnet_id: Annotated[list[str] | None, typer.Option(help="an existing public subnet (repeatable, 2+)")] = None,
) -> None:
    """Print (or write) the CloudFormation template HiveMind would deploy for SOURCE."""
    from hivemind.templating import render_template, to_yaml

    options = _stack_options(certificate_arn, vpc_id, subnet_id)
    the_plan = _plan_given(
        source, app_name, ref, env, secret,
        subdir=subdir, port=port, health_path=health_path, health_codes=health_codes, instance_type=instance_type,
    )  # fmt: skip
    stack_name = f"hivemind-{the_plan.app_name}"
    body = to_yaml(render_template(the_plan, deployment_id="preview", stack_name=stack_name, options=options))
    _emit(body, output)


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
    source: Annotated[str, typer.Argument(help=_SOURCE_HELP)],
    local: Annotated[
        bool,
        typer.Option(
            "--local",
            help="run on the offline local AWS runtime: the one `hivemind local serve` runs from this folder, "
            "else a fresh one in this process",
        ),
    ] = False,
    app_name: Annotated[str | None, typer.Option("--app-name", help="defaults to the folder name")] = None,
    env: Env = None,
    secret: Secret = None,
    port: Port = None,
    health_path: HealthPath = None,
    health_codes: HealthCodes = None,
    instance_type: InstanceType = None,
    subdir: Subdir = None,
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
    ref: Annotated[str, typer.Option(help=_REF_HELP)] = "HEAD",
    endpoint: Annotated[str | None, typer.Option(help=_ENDPOINT_HELP)] = None,
) -> None:
    """Deploy SOURCE: plan, template, validate, create the stack, verify health, report.

    With --local, on the local runtime `hivemind local serve` runs from this folder, else on a fresh
    one in this process (always a fresh one with --inject or --keep); otherwise through a HiveMind's
    API: the one `hivemind local serve` runs, --endpoint's, or HIVEMIND_STACK_NAME's on AWS."""
    from hivemind.models import DeploymentRequest, PlanOverrides, S3Source

    is_git = bool(re.match(r"^[a-z][a-z0-9+.-]*://", source))
    if local and is_git:
        raise _fail("--local deploys a folder; a git URL deploys through an API (`hivemind local serve`)")
    if not local and (inject or keep):
        raise _fail(
            "--inject and --keep belong to --local; a served local runtime takes faults at its start "
            "(`hivemind local serve --inject FAULT`) and keeps its apps serving"
        )
    root = Path(source.rstrip("/").removesuffix(".git")) if is_git else _source_dir(source)
    try:
        request_fields = {
            "app_name": app_name or default_app_name(root),
            "environment": _parse_env(env or []),
            "secrets": _parse_env(secret or [], "--secret"),
            "overrides": PlanOverrides(
                **_overrides(
                    port=port,
                    health_path=health_path,
                    health_codes=health_codes,
                    instance_type=instance_type,
                    subdir=subdir,
                )
            ),
            "stack": _stack_options(certificate_arn, vpc_id, subnet_id),
        }
        DeploymentRequest(**request_fields, source=S3Source(bucket="placeholder", key="k"))
    except ValidationError as exc:
        raise _fail(_validation_message(exc)) from None
    if local and not (inject or keep) and endpoint is None:
        from hivemind.cli.remote import served_here

        served = served_here()
        if served:  # warm: no runtime to start, and an unchanged app is redeployed in place
            if not as_json:
                err.print(f"on the local runtime `hivemind local serve` runs from this folder ({served})")
            local, endpoint = False, served
    if not local:
        _deploy_through_api(
            endpoint, source, request_fields, ref=ref, as_json=as_json, reports_dir=reports_dir, timeout_s=timeout
        )
        return
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
        up = record.status == "SUCCEEDED" and record.health.status_code >= 400
        accepted = " (an answer the plan's health_codes count as up)" if up else ""
        out.print(f"  health  {record.health.path} answered {record.health.status_code}{accepted}")
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
        page = report_path.with_suffix(".html")
        out.print(f"  report  {report_path}" + (f"  (page: {page})" if page.is_file() else ""), markup=False)


# ------------------------------------------------------------------------- through a HiveMind's API
_ACTIVE = ("PENDING", "RUNNING")


def _api(endpoint: str | None) -> Any:
    from hivemind.cli.remote import find_api

    try:
        return find_api(endpoint)
    except HiveMindError as exc:
        raise _fail(str(exc)) from None


def _record(values: dict[str, Any]) -> Any:
    from hivemind.models import DeploymentRecord

    return DeploymentRecord.model_validate(values)


def _deploy_through_api(
    endpoint: str | None,
    source: str,
    request_fields: dict[str, Any],
    *,
    ref: str,
    as_json: bool,
    reports_dir: Path,
    timeout_s: float,
) -> None:
    """Upload the folder (or name the git URL), start the deployment, follow it, fetch the report."""
    from hivemind.models import DeploymentRequest, S3Source
    from hivemind.planning.bundle import bundle_directory

    api = _api(endpoint)
    fields = DeploymentRequest(**request_fields, source=S3Source(bucket="placeholder", key="k"))
    body = fields.model_dump(mode="json", exclude={"source"}, exclude_defaults=True)
    try:
        if re.match(r"^[a-z][a-z0-9+.-]*://", source):
            body["source"] = {"type": "git", "url": source, "ref": ref}
        else:
            bundle = bundle_directory(Path(source))
            upload = api.call("POST", "/uploads")
            api.put(upload["upload_url"], bundle, "application/zip")
            body["source"] = upload["source"]
        started = api.call("POST", "/deployments", body=body)
        if not as_json:
            err.print(f"deployment {started['deployment_id']} started on {api.url}")
        _end_of(api, started["deployment_id"], as_json=as_json, reports_dir=reports_dir, timeout_s=timeout_s)
    except HiveMindError as exc:
        raise _fail(str(exc)) from None


def _end_of(api: Any, deployment_id: str, *, as_json: bool, reports_dir: Path, timeout_s: float) -> None:
    """Follow a started deployment to its end, show it, keep its report; exit 1 unless it succeeded."""
    from hivemind.cli.remote import follow

    try:
        final = follow(
            api,
            deployment_id,
            until=lambda r: r["status"] not in _ACTIVE,
            on_step=None if as_json else _print_step,
            timeout_s=timeout_s,
        )
    except KeyboardInterrupt:
        err.print(f"no longer following {deployment_id}; it goes on: `hivemind status {deployment_id}`")
        raise typer.Exit(130) from None
    record = _record(final)
    report_path = None
    if record.report_key:
        reports_dir.mkdir(parents=True, exist_ok=True)
        report_path = reports_dir / f"{deployment_id}.json"
        report_path.write_text(json.dumps(api.call("GET", f"/deployments/{deployment_id}/report"), indent=2) + "\n")
    if as_json:
        sys.stdout.write(record.model_dump_json(indent=2) + "\n")
    else:
        _print_summary(record, report_path)
    if record.status != "SUCCEEDED":
        raise typer.Exit(EXIT_FAILED)


@app.command()
def status(
    target: Annotated[str, typer.Argument(metavar="ID|APP", help="a deployment id (d-...), or an app (its newest)")],
    follow: Annotated[
        bool,
        typer.Option(
            "--follow", "-f", help="while it runs: each step, the stack's events and the Medic's decision as they come"
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    endpoint: Annotated[str | None, typer.Option(help=_ENDPOINT_HELP)] = None,
) -> None:
    """A deployment's state: its steps so far, its URL, and what the Medic found and left."""
    import time

    api = _api(endpoint)
    try:
        deployment_id = target if target.startswith("d-") else _newest(api, target)
        record = _record(api.call("GET", f"/deployments/{deployment_id}"))
        if follow and not as_json:
            steps: dict[int, str] = {}
            events: set[str] = set()
            medic_said = False
            while True:
                for index, step in enumerate(record.steps):
                    if steps.get(index) != step.status:
                        steps[index] = step.status
                        _print_step(step.name, step.status, step.duration_s, step.error)
                for event in api.call("GET", f"/deployments/{deployment_id}/events"):
                    if event["EventId"] not in events:
                        events.add(event["EventId"])
                        _print_stack_event(event)
                if record.diagnosis and not medic_said:
                    medic_said = True
                    err.print(f"  medic {record.diagnosis.category}: {record.diagnosis.summary}", markup=False)
                if record.status not in _ACTIVE:
                    break
                time.sleep(0.5 if api.local else 2.0)
                record = _record(api.call("GET", f"/deployments/{deployment_id}"))
            _print_summary(record, None)
            return
    except KeyboardInterrupt:
        err.print(f"no longer following {target}; it goes on: `hivemind status {target}`")
        raise typer.Exit(130) from None
    except HiveMindError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        sys.stdout.write(record.model_dump_json(indent=2) + "\n")
        return
    for step in record.steps:
        _print_step(step.name, step.status, step.duration_s, step.error)
    _print_summary(record, None)


def _print_stack_event(event: dict[str, Any]) -> None:
    status = event["ResourceStatus"]
    colour = "red" if status.endswith("FAILED") else "dim"
    reason = f" — {event['ResourceStatusReason']}" if event.get("ResourceStatusReason") else ""
    err.print(
        f"  [{colour}]stack {event['Timestamp'][11:19]} {escape(event['LogicalResourceId'])} {status}"
        f"{escape(reason)}[/{colour}]"
    )


@app.command(name="list")
def list_(
    app_name: Annotated[str | None, typer.Option("--app", help="only this app's deployments")] = None,
    state: Annotated[str | None, typer.Option("--status", help="only deployments in this status")] = None,
    limit: Annotated[int, typer.Option(help="at most this many (1-100)")] = 20,
    next_token: Annotated[str | None, typer.Option(help="continue a listing where it stopped")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    endpoint: Annotated[str | None, typer.Option(help=_ENDPOINT_HELP)] = None,
) -> None:
    """Deployments, newest first."""
    api = _api(endpoint)
    query = {"app": app_name, "status": state, "limit": limit, "next_token": next_token}
    try:
        found = api.call("GET", "/deployments", query=query)
    except HiveMindError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        out.print_json(json.dumps(found))
        return
    rows = [("DEPLOYMENT", "APP", "STATUS", "CREATED (UTC)", "BY", "URL")]
    for values in found["deployments"]:
        r = _record(values)
        by = (r.created_by or "-").rsplit("/", 1)[-1]
        rows.append((r.deployment_id, r.app_name, r.status, f"{r.created_at:%Y-%m-%d %H:%M}", by, r.url or "-"))
    _print_table(rows)
    if found.get("next_token"):
        out.print(f"more: --next-token {found['next_token']}", markup=False)


@app.command()
def history(
    target: Annotated[str, typer.Argument(metavar="APP|ID", help="an app name (its releases) or a deployment id")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
    endpoint: Annotated[str | None, typer.Option(help=_ENDPOINT_HELP)] = None,
) -> None:
    """An app's releases, or a deployment's execution history.

    APP: its releases, newest first (deployment, outcome, commit, plan digest, the one serving).
    ID: the execution history, as the Step Functions console shows it."""
    api = _api(endpoint)
    try:
        if not target.startswith("d-"):
            return _releases(api, target, as_json=as_json)
        found = api.call("GET", f"/deployments/{target}/history")
    except HiveMindError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        out.print_json(json.dumps(found))
        return None
    for line in found:
        detail = f"  {line['detail']}" if line["detail"] else ""
        out.print(f"{line['time'][11:23]}  {line['event']:<24} {line['state']}{detail}".rstrip(), markup=False)
    return None


def _releases(api: Any, app_name: str, *, as_json: bool) -> None:
    """Every deployment of an app (all pages), newest first, the serving one marked."""
    records: list[DeploymentRecord] = []
    query: dict[str, Any] = {"app": app_name, "limit": 100}
    while True:
        page = api.call("GET", "/deployments", query=query)
        records += [_record(values) for values in page["deployments"]]
        if not page.get("next_token"):
            break
        query["next_token"] = page["next_token"]
    if not records:
        raise HiveMindError(f"no deployments of app {app_name}")
    serving = _serving(records)
    if as_json:
        rows = [
            {
                "deployment_id": r.deployment_id,
                "status": r.status,
                "created_at": r.created_at.isoformat(),
                "commit": r.commit,
                "plan_digest": r.plan_digest,
                "source_digest": r.source_digest,
                "serving": r.deployment_id == serving,
                "rollback_of": r.rollback_of,
                "redeploy_of": r.redeploy_of,
            }
            for r in records
        ]
        out.print_json(json.dumps(rows))
        return
    table = [("DEPLOYMENT", "STATUS", "CREATED (UTC)", "COMMIT", "PLAN", "SOURCE", "")]
    for r in records:
        note = "serving" if r.deployment_id == serving else ""
        if r.rollback_of or r.redeploy_of:
            again = f"rolls back {r.rollback_of}" if r.rollback_of else f"again: {r.redeploy_of}"
            note = f"{note}, {again}" if note else again
        table.append(
            (
                r.deployment_id,
                r.status,
                f"{r.created_at:%Y-%m-%d %H:%M}",
                (r.commit or "-")[:12],
                r.plan_digest or "-",
                (r.source_digest or "-")[:12],
                note,
            )
        )
    _print_table(table)


def _serving(records: Sequence[DeploymentRecord]) -> str | None:
    """The release an app serves: its newest that succeeded, unless the app was destroyed since."""
    for record in records:  # newest first
        if record.status in ("DELETED", "DELETING"):
            return None
        if record.status == "SUCCEEDED":
            return record.deployment_id
    return None


def _print_table(rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        out.print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip(), markup=False)


@app.command()
def report(
    deployment_id: Annotated[str, typer.Argument(metavar="ID")],
    html: Annotated[bool, typer.Option("--html", help="the page (timeline, plan, findings, cost, health)")] = False,
    open_: Annotated[
        bool, typer.Option("--open", help="write the page to the reports folder and open it in a browser")
    ] = False,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="write to this file")] = None,
    reports_dir: Annotated[Path, typer.Option(help="where --open writes the page")] = Path(".hivemind/reports"),
    endpoint: Annotated[str | None, typer.Option(help=_ENDPOINT_HELP)] = None,
) -> None:
    """A finished deployment's report: JSON (plan, findings, steps, health, diagnosis), or with
    --html/--open the same as one self-contained page with a timeline of the steps and the stack's
    resources."""
    api = _api(endpoint)
    as_page = html or open_
    try:
        answer = api.call("GET", f"/deployments/{deployment_id}/report", query={"format": "html" if as_page else None})
    except HiveMindError as exc:
        raise _fail(str(exc)) from None
    if not as_page:
        _emit(json.dumps(answer, indent=2) + "\n", output)
        return
    if not open_:
        _emit(str(answer), output)
        return
    import webbrowser

    page = output or reports_dir / f"{deployment_id}.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(str(answer))
    opened = webbrowser.open(page.resolve().as_uri())
    err.print(f"{'opened' if opened else 'no browser here to open it; the page is'} {page}", markup=False)


@app.command()
def logs(
    deployment_id: Annotated[str, typer.Argument(metavar="ID", help="a deployment id (d-...)")],
    step: Annotated[
        str | None, typer.Option("--step", metavar="STEP", help='one step\'s lines ("Wait for healthy target")')
    ] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="print new lines as they come, until it ends")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON (with --follow: an object a line)")] = False,
    endpoint: Annotated[str | None, typer.Option(help=_ENDPOINT_HELP)] = None,
) -> None:
    """A deployment's logs: the lines HiveMind's functions logged for it (found by its id in their
    log group), each with its step, then the app's last lines (its instance's log in CloudWatch,
    or the failure log the instance left when its stack is gone)."""
    import time

    api = _api(endpoint)
    seen: set[str] = set()
    since: int | None = None
    try:
        while True:
            found = api.call("GET", f"/deployments/{deployment_id}/logs", query={"step": step, "since": since})
            fresh = [line for line in found["lines"] if line["id"] not in seen]
            seen.update(line["id"] for line in fresh)
            since = found["next_since"]
            ended = found["status"] not in _ACTIVE
            if as_json and not follow:
                out.print_json(json.dumps(found))
                return
            for line in fresh:
                _print_log_line(line, as_json=as_json)
            if not follow or ended:
                break
            time.sleep(0.5 if api.local else 2.0)
    except KeyboardInterrupt:
        err.print(f"no longer following {deployment_id}; it goes on: `hivemind status {deployment_id}`")
        raise typer.Exit(130) from None
    except HiveMindError as exc:
        raise _fail(str(exc)) from None
    if not seen and not as_json:
        where = f" in step {step}" if step else ""
        out.print(f"no lines of {deployment_id}{where} in HiveMind's function logs", markup=False)
    _print_app_log(found["app"], as_json=as_json)


_LEVELS = {"ERROR": "red", "CRITICAL": "red", "WARNING": "yellow"}


def _print_log_line(line: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(line) + "\n")
        return
    when = line["time"][11:23]
    colour = _LEVELS.get(line["level"])
    level = f"[{colour}]{line['level']:<7}[/{colour}]" if colour else f"{line['level']:<7}"
    first, *rest = line["message"].splitlines() or [""]
    where = f"{line.get('step') or '-'} ({line['function']})"
    out.print(f"[dim]{when}[/dim]  {level} {escape(where):<40} {escape(first)}")
    for more in rest:
        out.print(f"    {more}", markup=False)


def _print_app_log(app_log: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps({"app": app_log}) + "\n")
        return
    if app_log["source"] == "cloudwatch":
        out.print(f"\n--- the app's last lines: CloudWatch {app_log['where']} ---", markup=False)
    elif app_log["source"] == "failure-log":
        out.print(f"\n--- the app's last lines: {app_log['note']} ---", markup=False)
    else:
        out.print(f"\n--- no app log: {app_log['note']} ---", markup=False)
    for text in app_log["lines"]:
        out.print(f"  {text}", markup=False)


@app.command()
def rollback(
    target: Annotated[str, typer.Argument(metavar="ID|APP", help="the deployment to undo, or an app")],
    to: Annotated[
        str | None, typer.Option("--to", metavar="ID", help="with an app: the release to deploy again")
    ] = None,
    wait: Annotated[bool, typer.Option(help="follow the roll back to its end")] = True,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    reports_dir: Annotated[Path, typer.Option(help="where reports are written")] = Path(".hivemind/reports"),
    timeout: Annotated[float, typer.Option(help="seconds to wait")] = 600,
    endpoint: Annotated[str | None, typer.Option(help=_ENDPOINT_HELP)] = None,
) -> None:
    """Put an app back to an earlier release (or stop a deployment under way).

    ID: deploy again exactly what the app ran before ID (its last good deployment's source and
    settings); ID still running: stop it, and the Medic puts the app back as it was.
    APP --to ID: that earlier release of the app (see `hivemind history APP`).
    APP alone: roll back its newest deployment."""
    api = _api(endpoint)
    try:
        if to is not None:
            release = _record(api.call("GET", f"/deployments/{to}"))
            if release.app_name != target:
                raise HiveMindError(f"deployment {to} is a release of app {release.app_name}, not of {target}")
            started = api.call("POST", f"/deployments/{to}/redeploy")
            err.print(f"deployment {started['deployment_id']} deploys {target}'s release {to} again")
        else:
            undo = target if target.startswith("d-") else _newest(api, target)
            started = api.call("POST", f"/deployments/{undo}/rollback")
            if started["deployment_id"] == undo:  # it was under way: cancelled, not redeployed
                err.print(f"deployment {undo} was under way: stopped; the app goes back to what it ran before")
                if wait:
                    _cancelled(api, undo, as_json=as_json, timeout_s=timeout)
                return
            err.print(f"deployment {started['deployment_id']} rolls back {undo}")
        if not wait:
            return
        _end_of(api, started["deployment_id"], as_json=as_json, reports_dir=reports_dir, timeout_s=timeout)
    except HiveMindError as exc:
        raise _fail(str(exc)) from None


def _cancelled(api: Any, deployment_id: str, *, as_json: bool, timeout_s: float) -> None:
    """Follow a cancelled deployment until the Medic has put its app back (its record ends FAILED)."""
    from hivemind.cli.remote import follow

    final = follow(api, deployment_id, until=lambda r: r["status"] not in _ACTIVE, on_step=None, timeout_s=timeout_s)
    record = _record(final)
    if as_json:
        sys.stdout.write(record.model_dump_json(indent=2) + "\n")
    else:
        err.print(f"deployment {deployment_id} {record.status}: {record.error}", markup=False)
    escalated = record.diagnosis.escalation if record.diagnosis else None
    if escalated:
        raise _fail(f"the app could not be put back: {escalated}")


def _newest(api: Any, app_name: str) -> str:
    found = api.call("GET", "/deployments", query={"app": app_name, "limit": 1})["deployments"]
    if not found:
        raise HiveMindError(f"no deployments of app {app_name}")
    return str(found[0]["deployment_id"])


@app.command()
def destroy(
    target: Annotated[str, typer.Argument(metavar="APP|ID", help="an app name, or a deployment id (d-...)")],
    wait: Annotated[bool, typer.Option(help="wait until the stack is gone")] = True,
    timeout: Annotated[float, typer.Option(help="seconds to wait")] = 900,
    endpoint: Annotated[str | None, typer.Option(help=_ENDPOINT_HELP)] = None,
) -> None:
    """Delete an app's stack (everything it created), and check that nothing of it is left."""
    from hivemind.cli.remote import follow

    api = _api(endpoint)
    try:
        deployment_id = target if target.startswith("d-") else _deployment_running(api, target)
        started = _record(api.call("DELETE", f"/deployments/{deployment_id}"))
        err.print(f"{deployment_id}: {started.status}")
        if not wait or started.status == "DELETED":
            if started.status == "DELETED":
                out.print(f"DELETED  {started.app_name}  ({deployment_id})")
            return
        final = _record(
            follow(api, deployment_id, until=lambda r: r["status"] != "DELETING", on_step=None, timeout_s=timeout)
        )
    except HiveMindError as exc:
        raise _fail(str(exc)) from None
    _print_summary(final, None)
    if final.status != "DELETED":
        raise typer.Exit(EXIT_FAILED)


def _deployment_running(api: Any, app_name: str) -> str:
    """The deployment whose stack the app runs now: its newest one that created or updated a stack."""
    found = api.call("GET", "/deployments", query={"app": app_name, "limit": 100})["deployments"]
    if not found:
        raise HiveMindError(f"no deployments of app {app_name}")
    for values in found:
        record = _record(values)
        if record.status in _ACTIVE:
            raise HiveMindError(
                f"app {app_name} is being deployed ({record.deployment_id}); destroy it once that ended"
            )
        if record.stack_id:
            return record.deployment_id
    raise HiveMindError(f"app {app_name} has no stack to destroy (none of its deployments created one)")


@app.command()
def janitor(
    apply: Annotated[bool, typer.Option("--apply", help="delete what may be deleted (default: only list it)")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    endpoint: Annotated[str | None, typer.Option(help=_ENDPOINT_HELP)] = None,
) -> None:
    """HiveMind's stacks nothing else will clean up.

    Failed ones whose deployment ended (deleted with --apply; the hourly janitor does it too) and
    serving ones HiveMind no longer knows (listed)."""
    api = _api(endpoint)
    try:
        found = api.call("POST" if apply else "GET", "/janitor")
    except HiveMindError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        out.print_json(json.dumps(found))
        return
    if not found:
        out.print("nothing left over: every HiveMind stack belongs to a deployment that runs or serves")
        return
    for item in found:
        verb = item["action"] if not apply or item["action"] == "report" else f"delete -> {item['done']}"
        out.print(f"{verb:<24} {item['stack_name']}  {item['status']}  {item['why']}", markup=False)
    if not apply and any(i["action"] == "delete" for i in found):
        out.print("(a dry run: --apply deletes the stacks marked delete)")


def _stop_on_term(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


# ------------------------------------------------------------------------------------- local serve
local_app = typer.Typer(no_args_is_help=True, help="The offline local runtime.")
app.add_typer(local_app, name="local")


@local_app.command()
def serve(
    port: Annotated[int, typer.Option(help="the port on 127.0.0.1 (0: any free one)")] = 8790,
    caller: Annotated[
        str, typer.Option("--as", help="the principal requests are made as (the X-HiveMind-Local-Caller header wins)")
    ] = "arn:aws:iam::123456789012:user/local-developer",
    inject: Annotated[
        list[str] | None,
        typer.Option(help=f"fault to inject (repeatable): {_FAULT_HELP}", metavar="FAULT"),
    ] = None,
    parameter: Annotated[
        list[str] | None,
        typer.Option(
            help="HiveMind's own stack parameter, as sam deploy --parameter-overrides takes it (repeatable), "
            "e.g. AdminPrincipals=arn:aws:iam::123456789012:role/Admin",
            metavar="KEY=VALUE",
        ),
    ] = None,
) -> None:
    """HiveMind's API on http://127.0.0.1:PORT/v1, over one long-lived local runtime: the other
    commands (deploy, status, list, report, rollback, destroy) use it while it runs."""
    import os

    from hivemind.cli.remote import SERVE_FILE
    from hivemind.local.apigateway import LocalApi
    from hivemind.local.deploy import logs_to
    from hivemind.local.runtime import LocalRuntime

    err.print("starting the local runtime (HiveMind's own stack, on moto)...")
    try:
        with (
            logs_to(Path(".hivemind/logs/local.log")),
            LocalRuntime(
                project_root(), faults=tuple(inject or ()), parameters=_parse_env(parameter or [], "--parameter")
            ) as aws,
            LocalApi(aws, port=port, caller=caller) as api,
        ):
            SERVE_FILE.parent.mkdir(parents=True, exist_ok=True)
            SERVE_FILE.write_text(json.dumps({"url": api.url, "pid": os.getpid()}) + "\n")
            # the validator's import (cfn-lint, 2 s) happens now, not in the first deployment
            threading.Thread(target=_warm_validator, args=(aws.settings.region,), daemon=True).start()
            err.print(f"HiveMind API on [bold]{api.url}[/bold] (as {caller}); Ctrl-C stops it and every app it runs")
            err.print(f"  try: hivemind deploy examples/flask-app   |   curl {api.url}/deployments")
            try:
                forever = threading.Event()
                while not forever.wait(0.5):
                    pass
            except KeyboardInterrupt:
                err.print("stopping: the apps' processes and the local load balancers end")
            finally:
                SERVE_FILE.unlink(missing_ok=True)
    except OSError as exc:
        raise _fail(f"cannot serve on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    except (HiveMindError, ValueError) as exc:
        raise _fail(str(exc)) from None


def _warm_validator(region: str) -> None:
    from hivemind.policy.lint import lint_template

    lint_template('{"Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}}}', regions=(region,))


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
    # `kill` ends a command as cleanly as Ctrl-C: the local apps it runs stop with it
    signal.signal(signal.SIGTERM, _stop_on_term)
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
