"""The policy pack: CloudFormation Guard rules (policy/rules/*.guard, plus a user's own folder)
evaluated by the cfn-guard binary, one call per template.

The binary is the static cfn-guard 3.1.1 that `layers/cfn-guard/install.sh` puts in the
virtualenv (and, through the Guard layer, in /opt/bin on Lambda). Each rule's custom
message is its one-line fix (`<<fix: ...>>`); Guard's own message carries the property's
path and line.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from hivemind.errors import ConfigurationError
from hivemind.models import Finding

RULES_DIR = Path(__file__).parent / "rules"
_LINE = re.compile(r"\[L:(\d+),C:\d+\]")
_PATH = re.compile(r"Path=(/[^\[\s]*)")
TIMEOUT_S = 60


@functools.cache
def binary() -> str:
    """Where cfn-guard is: $CFN_GUARD_PATH, the Lambda layer, next to this Python, or PATH."""
    candidates = [
        os.environ.get("CFN_GUARD_PATH"),
        "/opt/bin/cfn-guard",
        str(Path(sys.executable).parent / "cfn-guard"),
    ]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("cfn-guard")
    if found:
        return found
    raise ConfigurationError("cfn-guard is not installed: run `make setup` (or layers/cfn-guard/install.sh .venv/bin)")


def rule_files(extra_dirs: Sequence[Path] = ()) -> list[Path]:
    """The pack's rules, then each extra folder's *.guard files (its subfolders' too)."""
    files = sorted(RULES_DIR.glob("*.guard"))
    for folder in extra_dirs:
        if not folder.is_dir():
            raise ConfigurationError(f"rules folder {folder} not found")
        found = sorted(folder.rglob("*.guard"))
        if not found:
            raise ConfigurationError(f"rules folder {folder} has no .guard files")
        files += found
    return files


def guard_findings(body: str, *, extra_rules: Sequence[Path] = ()) -> list[Finding]:
    """Every policy failure in a template (YAML or JSON), one finding per failing check."""
    files = rule_files(extra_rules)
    texts = [f.read_text() for f in files]
    names = {f: _rule_name(f, extra_rules) for f in files}
    payload = {"rules": texts, "data": [body]}
    result = subprocess.run(
        [binary(), "validate", "--payload", "--output-format", "json", "--show-summary", "none", "--structured"],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    if result.returncode not in (0, 19) or not result.stdout.strip():
        raise _unparsable_rule(names) or ConfigurationError(
            f"cfn-guard failed (exit {result.returncode}): {_last_line(result.stderr or result.stdout)}"
        )
    findings: list[Finding] = []
    for report in json.loads(result.stdout):
        for failure in report.get("not_compliant", []):
            rule = failure.get("Rule", failure)
            findings += list(_findings(rule.get("name", "GUARD"), rule))
    fixes = _rule_fixes(texts)
    return [f if f.fix else f.model_copy(update={"fix": fixes.get(f.rule_id)}) for f in _unique(findings)]


def _unparsable_rule(names: dict[Path, str]) -> ConfigurationError | None:
    """The error for the first rule file cfn-guard cannot parse (asked only once a run failed)."""
    for file, name in names.items():
        parsed = subprocess.run(
            [binary(), "parse-tree", "--rules", str(file)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
        if parsed.returncode != 0:
            return ConfigurationError(
                f"policy rule file {name} does not parse: {_last_line(parsed.stderr or parsed.stdout)}"
            )
    return None


def _rule_name(file: Path, extra_dirs: Sequence[Path]) -> str:
    """A rule file as its user knows it: the path inside its rules folder."""
    for folder in (RULES_DIR, *extra_dirs):
        if file.is_relative_to(folder):
            return file.relative_to(folder).as_posix()
    return file.name


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip() not in ("", "---")]
    return lines[-1].strip() if lines else "no output"


def _rule_fixes(texts: list[str]) -> dict[str, str]:
    """Each rule's first `<<fix: ...>>`, for checks that failed without a message of their own."""
    fixes: dict[str, str] = {}
    for text in texts:
        rule = None
        for line in text.splitlines():
            if (named := re.match(r"\s*rule\s+(\w+)", line)) is not None:
                rule = named.group(1)
            elif rule and rule not in fixes and (fix := re.search(r"<<\s*fix:\s*(.*?)\s*>>", line)) is not None:
                fixes[rule] = fix.group(1)
    return fixes


def _findings(rule_id: str, node: Any) -> Iterator[Finding]:
    """A finding for each failed check under a rule (checks nest in blocks and disjunctions)."""
    if isinstance(node, dict):
        messages = node.get("messages")
        if isinstance(messages, dict) and "check" in node:
            yield _finding(rule_id, messages, node["check"])
            return
        for value in node.values():
            yield from _findings(rule_id, value)
    elif isinstance(node, list):
        for value in node:
            yield from _findings(rule_id, value)


def _finding(rule_id: str, messages: dict[str, Any], check: Any) -> Finding:
    error = messages.get("error_message") or ""
    custom = (messages.get("custom_message") or "").strip()
    path = _first_path(check) or next(iter(_PATH.findall(error)), None)
    parts = [p for p in (path or "").split("/") if p]
    line = _LINE.search(error)
    return Finding(
        rule_id=rule_id,
        severity="error",
        message=_summary(error) or custom or rule_id,
        resource=parts[1] if len(parts) > 1 and parts[0] == "Resources" else None,
        path="/".join(parts) or None,
        line=int(line.group(1)) if line and line.group(1) != "0" else None,
        fix=custom.removeprefix("fix:").strip() or None,
        tool="guard",
    )


def _first_path(check: Any) -> str | None:
    if isinstance(check, dict):
        for key in ("from", "traversed_to", "value"):
            inner = check.get(key)
            if isinstance(inner, dict) and inner.get("path"):
                return str(inner["path"])
        for value in check.values():
            found = _first_path(value)
            if found:
                return found
    elif isinstance(check, list):
        for value in check:
            found = _first_path(value)
            if found:
                return found
    return None


def _summary(error: str) -> str:
    """Guard's message without its path and line noise."""
    text = re.sub(r"\[L:\d+,C:\d+\]", "", error)
    text = re.sub(r"Path=\S*\s*", "", text).replace("[", "").replace("]", "")
    return " ".join(text.split())[:500]


def _common_prefix(paths: list[list[str]]) -> list[str]:
    common: list[str] = []
    for parts in zip(*paths, strict=False):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    return common


def _unique(findings: list[Finding]) -> list[Finding]:
    """One finding per rule and resource: a `some` check reports every element it tried, so
    the group keeps the common path, the first line and whichever check carried the fix."""
    groups: dict[tuple[str, str | None], list[Finding]] = {}
    for finding in findings:
        groups.setdefault((finding.rule_id, finding.resource or finding.path), []).append(finding)
    merged = []
    for group in groups.values():
        paths = [f.path.split("/") for f in group if f.path]
        common = _common_prefix(paths)
        first = group[0]
        merged.append(
            first.model_copy(
                update={
                    "path": "/".join(common) or first.path,
                    "fix": next((f.fix for f in group if f.fix), None),
                    "message": first.message
                    if len(group) == 1
                    else f"no entry of {'/'.join(common)} satisfies the rule",
                }
            )
        )
    return merged
