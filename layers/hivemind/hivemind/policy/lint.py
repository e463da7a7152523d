"""cfn-lint as a library, with one runner per process kept warm across invocations.

Building cfn-lint's runner imports cfn-lint (sympy among it) and loads every rule and schema,
1 to 2 s; the Validate function builds it during its container's init, and a warm check of a
generated stack then takes about 0.5 s (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import threading
from typing import Any

from hivemind.models import Finding

_SEVERITY = {"E": "error", "W": "warning", "I": "informational"}
_runners: dict[tuple[str, ...], Any] = {}
_lock = threading.Lock()


def runner(regions: tuple[str, ...] = ("us-east-1",)) -> Any:
    """The warm cfn-lint runner for these regions (built on first use)."""
    with _lock:
        if regions not in _runners:
            from cfnlint.config import ConfigMixIn
            from cfnlint.runner import Runner

            _runners[regions] = Runner(ConfigMixIn(regions=list(regions)))
        return _runners[regions]


def lint_template(body: str, *, regions: tuple[str, ...] = ("us-east-1",)) -> list[Finding]:
    """Every cfn-lint finding for a YAML or JSON template; a template that does not parse is
    one error finding, not an exception."""
    from cfnlint.decode.decode import decode_str

    template, decode_errors = decode_str(body)
    if decode_errors:
        return [_finding(m) for m in decode_errors]
    if not isinstance(template, dict):
        return [Finding(rule_id="E0000", severity="error", message="the template is not a mapping")]
    lint = runner(regions)
    with _lock:  # the runner keeps per-template state while it validates
        matches = list(lint.validate_template(template))
    return [_finding(m) for m in matches]


def blocking(findings: list[Finding]) -> list[Finding]:
    """The findings that must stop a deployment."""
    return [f for f in findings if f.severity == "error"]


def _finding(match: Any) -> Finding:
    rule_id = str(match.rule.id)
    path = [str(p) for p in (getattr(match, "path", None) or [])]
    resource = path[1] if len(path) > 1 and path[0] == "Resources" else None
    return Finding(
        rule_id=rule_id,
        severity=_SEVERITY.get(rule_id[:1], "error"),  # type: ignore[arg-type]
        message=str(match.message),
        resource=resource,
        path="/".join(path) or None,
        line=getattr(match, "linenumber", None),
        fix=_fix(match.rule),
        tool="cfn-lint",
    )


def _fix(rule: Any) -> str | None:
    """cfn-lint's message says what is wrong; the rule says what it checks and where to read more."""
    summary = str(getattr(rule, "shortdesc", "") or "").rstrip(".")
    url = str(getattr(rule, "source_url", "") or "")
    return f"{summary} ({url})" if summary and url else summary or None
