"""What a template must pass before CloudFormation sees it: cfn-lint (warm runner) and the
policy pack of Guard rules (policy/rules/, plus a user's own folder)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hivemind.models import Finding
from hivemind.policy.guard import guard_findings
from hivemind.policy.lint import blocking, lint_template


def check_template(
    body: str, *, regions: tuple[str, ...] = ("us-east-1",), extra_rules: Sequence[Path] = ()
) -> list[Finding]:
    """cfn-lint's findings, then the policy pack's (only for a template that parses)."""
    findings = lint_template(body, regions=regions)
    if any(f.rule_id == "E0000" for f in findings):
        return findings
    return findings + guard_findings(body, extra_rules=extra_rules)


__all__ = ["blocking", "check_template", "guard_findings", "lint_template"]
