"""Validate template: cfn-lint (warm runner) and the Guard policy pack, before CloudFormation sees it."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hivemind.aws import artifacts
from hivemind.errors import TemplateInvalid
from hivemind.models import Finding, ValidationResult, WorkflowState
from hivemind.policy import blocking, check_template
from hivemind.settings import Settings


def validate_template(state: WorkflowState, *, s3: Any, settings: Settings) -> ValidationResult:
    """Lint the stored template and check it against the policy pack plus the organisation's own
    rules (`policy/*.guard` in the artifacts bucket); blocking findings stop the deployment with
    TemplateInvalid."""
    if state.template is None:
        raise ValueError("Validate template needs the template")
    body = artifacts.get_bytes(s3, settings.artifacts_bucket, state.template.template_key).decode()
    with tempfile.TemporaryDirectory(prefix="hivemind-rules-") as rules:
        own = artifacts.download_policy_rules(s3, settings.artifacts_bucket, Path(rules))
        findings = check_template(body, regions=(settings.region,), extra_rules=[Path(rules)] if own else [])
    key = artifacts.put_json(
        s3,
        settings.artifacts_bucket,
        artifacts.key(state.deployment_id, "findings.json"),
        [f.model_dump(mode="json") for f in findings],
    )
    errors = blocking(findings)
    if errors:
        listed = "; ".join(_one_line(f) for f in errors[:5])
        raise TemplateInvalid(f"{len(errors)} blocking finding(s): {listed}")
    return ValidationResult(passed=True, findings=findings, findings_key=key)


def _one_line(finding: Finding) -> str:
    """cfn-lint's message names the bad value; a policy rule's fix says what to do."""
    what = finding.fix if finding.tool == "guard" and finding.fix else finding.message
    return f"{finding.rule_id} {finding.resource or '-'} line {finding.line}: {what}"
