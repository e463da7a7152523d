"""Validate template: cfn-lint (warm runner) and the Guard policy pack, before CloudFormation sees it.

Findings are kept by a digest of what decides them (`findings_digest`): the template with its
deployment id normalised out, the region, cfn-lint's version and every rule file's content. A
redeploy of an unchanged app reuses them, from this container's memory or from the artifacts
bucket (`validation/<digest>.json`), instead of linting the same template again.
"""

from __future__ import annotations

import functools
import hashlib
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hivemind.aws import artifacts
from hivemind.errors import TemplateInvalid
from hivemind.models import Finding, ValidationResult, WorkflowState
from hivemind.observability import logger
from hivemind.policy import blocking, check_template
from hivemind.policy import guard as policy_guard
from hivemind.settings import Settings
from hivemind.templating import releases

_remembered: dict[str, str] = {}  # digest -> the findings' JSON, with the release as _RELEASE
_RELEASE = "<release>"
_REMEMBERED_MAX = 64


def validate_template(state: WorkflowState, *, s3: Any, settings: Settings) -> ValidationResult:
    """Lint the stored template and check it against the policy pack plus the organisation's own
    rules (`policy/*.guard` in the artifacts bucket); blocking findings stop the deployment with
    TemplateInvalid."""
    if state.template is None:
        raise ValueError("Validate template needs the template")
    body = artifacts.get_bytes(s3, settings.artifacts_bucket, state.template.template_key).decode()
    with tempfile.TemporaryDirectory(prefix="hivemind-rules-") as rules:
        own = artifacts.download_policy_rules(s3, settings.artifacts_bucket, Path(rules))
        extra = [Path(rules)] if own else []
        digest = findings_digest(body, state.deployment_id, settings.region, extra)
        release = releases.suffix(state.deployment_id)
        findings = _recall(s3, settings.artifacts_bucket, digest, release)
        cached = findings is not None
        if findings is None:
            findings = check_template(body, regions=(settings.region,), extra_rules=extra)
            _remember(s3, settings.artifacts_bucket, digest, findings, release)
    key = artifacts.put_json(
        s3,
        settings.artifacts_bucket,
        artifacts.key(state.deployment_id, "findings.json"),
        [f.model_dump(mode="json") for f in findings],
    )
    errors = blocking(findings)
    remembered = " (remembered from an identical template)" if cached else ""
    logger.info(f"{len(findings)} finding(s), {len(errors)} blocking{remembered}")
    if errors:
        listed = "; ".join(_one_line(f) for f in errors[:5])
        raise TemplateInvalid(f"{len(errors)} blocking finding(s): {listed}")
    return ValidationResult(passed=True, findings=findings, findings_key=key, cached=cached)


def findings_digest(body: str, deployment_id: str, region: str, extra_rules: Sequence[Path] = ()) -> str:
    """What decides the findings, as one digest: two deployments of the same app differ in their
    deployment id (its tags, its source and log keys, the description) and its release's logical ids,
    which no rule reads (findings are kept with the release as `_RELEASE`, and given back with theirs)."""
    normal = body.replace(deployment_id, "<deployment-id>").replace(releases.suffix(deployment_id), _RELEASE)
    digest = hashlib.sha256(normal.encode())
    digest.update(f"\0{region}\0{_checkers()}\0".encode())
    for rule in policy_guard.rule_files(extra_rules):
        digest.update(rule.name.encode() + b"\0" + rule.read_bytes() + b"\0")
    return digest.hexdigest()


@functools.cache
def _checkers() -> str:
    """cfn-lint's version and a digest of the cfn-guard binary: a new version may find more."""
    from cfnlint.version import __version__

    with open(policy_guard.binary(), "rb") as guard:
        return f"cfn-lint {__version__}, cfn-guard {hashlib.file_digest(guard, 'sha256').hexdigest()[:16]}"


def _recall(s3: Any, bucket: str, digest: str, release: str) -> list[Finding] | None:
    saved = _remembered.get(digest)
    if saved is None:
        try:
            saved = s3.get_object(Bucket=bucket, Key=f"validation/{digest}.json")["Body"].read().decode()
        except Exception:  # noqa: BLE001 - absent or unreadable: validate again
            return None
        _remembered[digest] = saved
    try:
        return [Finding.model_validate(f) for f in json.loads(saved.replace(_RELEASE, release))]
    except Exception:  # noqa: BLE001 - from an older shape: validate again
        return None


def _remember(s3: Any, bucket: str, digest: str, findings: list[Finding], release: str) -> None:
    if len(_remembered) >= _REMEMBERED_MAX:
        _remembered.pop(next(iter(_remembered)))
    saved = json.dumps([f.model_dump(mode="json") for f in findings]).replace(release, _RELEASE)
    _remembered[digest] = saved
    s3.put_object(Bucket=bucket, Key=f"validation/{digest}.json", Body=saved.encode(), ContentType="application/json")


def _one_line(finding: Finding) -> str:
    """cfn-lint's message names the bad value; a policy rule's fix says what to do."""
    what = finding.fix if finding.tool == "guard" and finding.fix else finding.message
    return f"{finding.rule_id} {finding.resource or '-'} line {finding.line}: {what}"
