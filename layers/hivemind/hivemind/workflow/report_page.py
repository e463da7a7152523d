"""The report as one self-contained HTML page (no script, no fetch: it opens from a file, an
email or S3): what happened, when (a timeline of the steps and the stack's resources), what the
plan decided and why, what validation found, what it costs, what health and the smoke test saw,
and, when it failed, the diagnosis and its fix."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from html import escape

from hivemind.models import Report, ResourceTiming, StepTiming

# the timeline's colours (used nowhere else on the page: the screenshot test finds the bars by them)
COLOURS = {
    "step-ok": "#43a047",
    "step-failed": "#e53935",
    "step-running": "#f9a825",
    "resource-ok": "#1565c0",
    "resource-failed": "#ad1457",
    "resource-gone": "#78909c",
}
LABEL_W, BAR_W, ROW_H, BAR_H = 230, 700, 22, 14

_CSS = (
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;"
    "margin:24px;color:#1d2433;max-width:1000px}"
    "h1{font-size:22px;margin:0 0 4px}"
    "h2{font-size:16px;margin:28px 0 8px;border-bottom:1px solid #dde2ea;padding-bottom:4px}"
    ".status{display:inline-block;padding:2px 10px;border-radius:10px;color:#fff;font-weight:600}"
    ".SUCCEEDED{background:#2e7d32}"
    ".FAILED{background:#c62828}"
    ".NOT_REHEARSED{background:#6d4c41}"
    "table{border-collapse:collapse;width:100%}"
    "td,th{text-align:left;padding:3px 8px;border-bottom:1px solid #eef1f5;vertical-align:top}"
    "th{font-weight:600;color:#4a5568;white-space:nowrap}"
    "code,pre{font:12px/1.4 ui-monospace,'DejaVu Sans Mono',monospace}"
    "pre{background:#f6f8fa;padding:8px;overflow-x:auto;white-space:pre-wrap}"
    ".box{border-left:4px solid #c62828;background:#fdf1f1;padding:8px 12px}"
    ".warn{border-left-color:#f9a825;background:#fff8e1}"
    ".muted{color:#6b7280}"
    "svg text{font:11px system-ui,'DejaVu Sans',sans-serif;fill:#1d2433}"
)


def render(report: Report) -> str:
    """The page for one deployment's report."""
    sections = [
        _head(report),
        _failure(report),
        _section("Timeline", _timeline(report.started_at, report.finished_at, report.steps, report.resources)),
        _plan(report),
        _findings(report),
        _cost(report),
        _health(report),
        _notes(report),
    ]
    title = f"HiveMind: {report.app_name} {report.deployment_id} {report.status}"
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{_CSS}</style></head><body>{''.join(s for s in sections if s)}</body></html>\n"
    )


def _section(title: str, body: str) -> str:
    return f'<section id="{escape(title.lower().replace(" ", "-"))}"><h2>{escape(title)}</h2>{body}</section>'


def _rows(pairs: Iterable[tuple[str, str | None]]) -> str:
    return "".join(f"<tr><th>{escape(k)}</th><td>{v}</td></tr>" for k, v in pairs if v)


def _head(report: Report) -> str:
    url = f'<a href="{escape(report.url)}">{escape(report.url)}</a>' if report.url else None
    facts = [
        ("Deployment", f"<code>{escape(report.deployment_id)}</code>"),
        ("URL", url),
        ("Stack", escape(report.stack_name) if report.stack_name else None),
        ("Started", escape(f"{report.started_at:%Y-%m-%d %H:%M:%S} UTC")),
        ("Took", f"{report.duration_s:.1f} s" + (f", {report.attempts} attempts" if report.attempts > 1 else "")),
        ("Not rehearsed", escape(report.not_rehearsed) if report.not_rehearsed else None),
    ]
    return (
        f'<header><h1>{escape(report.app_name)} <span class="status {escape(report.status)}">'
        f"{escape(report.status)}</span></h1><table>{_rows(facts)}</table></header>"
    )


def _failure(report: Report) -> str:
    if report.status != "FAILED":
        return ""
    d = report.diagnosis
    facts = [
        ("Error", escape(report.error) if report.error else None),
        ("Diagnosis", escape(f"{d.category}: {d.summary}") if d else None),
        ("Failed step", escape(d.failed_step) if d and d.failed_step else None),
        ("Fix", escape(d.fix) if d and d.fix else None),
        ("Medic", escape(report.medic_action) if report.medic_action else None),
        ("Left behind", escape("; ".join(d.left)) if d and d.left else None),
        ("To do", escape(d.escalation) if d and d.escalation else None),
    ]
    log = ""
    if d and d.instance_log:
        log = "<p>The instance's last log lines:</p><pre>" + escape("\n".join(d.instance_log)) + "</pre>"
    return _section("What went wrong", f'<div class="box"><table>{_rows(facts)}</table></div>{log}')


def _timeline(started: datetime, finished: datetime, steps: list[StepTiming], resources: list[ResourceTiming]) -> str:
    """A Gantt chart in SVG: one bar per step, then one per stack resource, on one time axis."""
    start, end = _utc(started), _utc(finished)
    span = max((end - start).total_seconds(), 0.001)

    def x(when: datetime | None) -> float:
        seconds = ((_utc(when) if when else end) - start).total_seconds()
        return LABEL_W + max(0.0, min(1.0, seconds / span)) * BAR_W

    rows: list[tuple[str, str, datetime, datetime | None, str]] = [
        (s.name, s.error or s.status, s.start, s.end, _step_colour(s.status)) for s in steps
    ]
    rows += [
        (
            r.logical_id,
            f"{r.resource_type} {r.status}" + (f": {r.reason}" if r.reason else ""),
            r.start,
            r.end,
            _resource_colour(r),
        )
        for r in resources
    ]
    height = ROW_H * (len(rows) + 2) + (8 if resources else 0)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{LABEL_W + BAR_W + 20}" height="{height}" role="img">']
    for tick in _ticks(span):
        tx = LABEL_W + tick / span * BAR_W
        parts.append(f'<line x1="{tx:.1f}" y1="0" x2="{tx:.1f}" y2="{height - ROW_H}" stroke="#e5e9f0"/>')
        parts.append(f'<text x="{tx:.1f}" y="{height - 6}" text-anchor="middle">{tick:g} s</text>')
    y = 4.0
    for index, (label, title, begin, stop, colour) in enumerate(rows):
        if index == len(steps) and resources:
            parts.append(f'<text x="0" y="{y + 12:.0f}" class="muted">stack resources</text>')
            y += ROW_H
        left, right = x(begin), x(stop)
        width = max(right - left, 2.0)
        parts.append(f'<text x="0" y="{y + 12:.0f}">{escape(_clip(label, 34))}</text>')
        parts.append(
            f'<rect x="{left:.1f}" y="{y:.1f}" width="{width:.1f}" height="{BAR_H}" rx="2" fill="{colour}">'
            f"<title>{escape(label)}: {escape(title)}</title></rect>"
        )
        y += ROW_H
    parts.append("</svg>")
    legend = (
        '<p class="muted">Steps: green succeeded, red failed, amber running. Stack resources: blue settled, '
        "pink failed (then maybe deleted), grey deleted. Hover a bar for its status.</p>"
    )
    return "".join(parts) + legend


def _utc(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _ticks(span: float) -> list[float]:
    step = next((s for s in (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800) if span / s <= 10), 3600)
    return [i * step for i in range(int(span / step) + 1)]


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _step_colour(status: str) -> str:
    return {"SUCCEEDED": COLOURS["step-ok"], "FAILED": COLOURS["step-failed"]}.get(status, COLOURS["step-running"])


def _resource_colour(resource: ResourceTiming) -> str:
    """Failed (at any point of the deployment, even if the roll back then deleted it), deleted, or settled."""
    if resource.reason is not None:
        return COLOURS["resource-failed"]
    if resource.status.startswith("DELETE"):
        return COLOURS["resource-gone"]
    return COLOURS["resource-ok"]


def _plan(report: Report) -> str:
    plan = report.plan
    if plan is None:
        return _section("Plan", '<p class="muted">No plan: the deployment stopped before one was made.</p>')
    decided = [
        ("language", plan.language),
        ("framework", plan.framework),
        ("runtime_version", plan.runtime_version),
        ("install_command", plan.install_command),
        ("build_command", plan.build_command),
        ("release_command", plan.release_command),
        ("start_command", plan.start_command),
        ("port", str(plan.port)),
        ("health_path", plan.health_path),
        ("health_codes", plan.health_codes),
        ("instance_type", plan.instance_type),
        ("commit", plan.source_commit),
    ]
    rows = []
    for field, value in decided:
        if not value:
            continue
        why = plan.why(field)
        where = f" ({why.file}{f':{why.line}' if why.line else ''})" if why and why.file else ""
        reason = f"{why.source}: {why.reason}{where}" if why else ""
        rows.append(
            f"<tr><th>{escape(field)}</th><td><code>{escape(value)}</code></td>"
            f'<td class="muted">{escape(reason)}</td></tr>'
        )
    names = sorted({*plan.environment, *plan.environment_refs, *plan.secrets})
    env = f"<p>Environment (names only): <code>{escape(', '.join(names))}</code></p>" if names else ""
    return _section("Plan", f"<table><tr><th>field</th><th>value</th><th>why</th></tr>{''.join(rows)}</table>{env}")


def _findings(report: Report) -> str:
    if not report.findings:
        return _section("Validation", "<p>cfn-lint and the Guard policy rules found nothing.</p>")
    rows = "".join(
        f"<tr><td>{escape(f.severity)}</td><td><code>{escape(f.rule_id)}</code> {escape(f.tool)}</td>"
        f"<td>{escape(f.resource or '-')}</td><td>{escape(f.message)}"
        + (f'<br><span class="muted">fix: {escape(f.fix)}</span>' if f.fix else "")
        + "</td></tr>"
        for f in report.findings
    )
    head = "<tr><th>severity</th><th>rule</th><th>resource</th><th>finding</th></tr>"
    return _section("Validation", f"<table>{head}{rows}</table>")


def _cost(report: Report) -> str:
    cost = report.plan.cost if report.plan else None
    if cost is None:
        return ""
    rows = "".join(
        f"<tr><td>{escape(i.name)}</td><td>${i.monthly_usd:,.2f}</td><td class='muted'>{escape(i.basis)}</td></tr>"
        for i in cost.items
    )
    total = f"<tr><th>total</th><th>${cost.monthly_usd:,.2f} a month</th><td></td></tr>"
    note = f"<p class='muted'>{escape(cost.note)}</p>" if cost.note else ""
    source = (
        f"<p class='muted'>On-demand prices in {escape(cost.region)}, from {escape(cost.source)}"
        f" ({escape(cost.retrieved)}).</p>"
    )
    return _section("Cost estimate", f"<table>{rows}{total}</table>{note}{source}")


def _health(report: Report) -> str:
    parts = []
    h = report.health
    if h is not None:
        facts = [
            ("Target", escape(h.state) + (f" ({escape(h.reason)})" if h.reason else "")),
            ("Health path", f"<code>{escape(h.path)}</code>" if h.path else None),
            ("Answered", str(h.status_code) if h.status_code else None),
            ("Healthy after", f"{h.seconds_to_healthy:.1f} s" if h.seconds_to_healthy is not None else None),
        ]
        parts.append(f"<table>{_rows(facts)}</table>")
    if report.qa:
        rows = "".join(
            f"<tr><td><code>{escape(c.path)}</code></td><td>{c.status_code or escape(c.error or '-')}</td>"
            f"<td>{f'{c.ms:.0f} ms' if c.ms is not None else ''}</td>"
            f"<td>{'health path' if c.required else ''}</td></tr>"
            for c in report.qa
        )
        parts.append(f"<p>Smoke test through the load balancer:</p><table>{rows}</table>")
    if not parts:
        return ""
    return _section("Health and smoke test", "".join(parts))


def _notes(report: Report) -> str:
    items = [
        *(f"warning: {w}" for w in report.warnings),
        *(f"unlike AWS (local runtime): {d}" for d in report.differs_from_aws),
        *(f"alarm: {a}" for a in report.alarms),
    ]
    if not items:
        return ""
    return _section("Warnings, alarms and notes", "<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>")
