"""The deployment plan: how to build and run the app, and why each decision was made."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

RUNTIME_VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}$"
DEFAULT_HEALTH_CODES = "200-399"


_CODES = re.compile(r"[2-4]\d\d(?:-[2-4]\d\d)?(?:,[2-4]\d\d(?:-[2-4]\d\d)?){0,9}")


def _health_codes(value: object) -> str:
    """An Application Load Balancer's HTTP health check matcher: codes and ranges from 200 to 499."""
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not _CODES.fullmatch(text):
        raise ValueError(
            f"{value!r} is not a list of statuses: codes or ranges from 200 to 499, comma-separated "
            "(200-399, 200,302, 200-499)"
        )
    if any(low > high for low, _, high in (part.partition("-") for part in text.split(",")) if high):
        raise ValueError(f"{text}: a range's first code must not be above its last")
    return text


HealthCodes = Annotated[str, BeforeValidator(_health_codes)]
DecisionSource = Literal["detected", "request", "hivemind.toml", "default", "medic"]


class Evidence(BaseModel):
    """Why one plan field has its value."""

    model_config = ConfigDict(extra="forbid")

    field: str
    value: str | int | None
    source: DecisionSource
    reason: str
    file: str | None = None
    line: int | None = None


class CostItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    monthly_usd: float
    basis: str


class CostEstimate(BaseModel):
    """The stack's on-demand monthly cost, from the price table in the repository."""

    model_config = ConfigDict(extra="forbid")

    monthly_usd: float
    items: list[CostItem]
    region: str
    source: str
    retrieved: str
    complete: bool = True
    note: str | None = None


class DeploymentPlan(BaseModel):
    """Output of "Plan deployment". Field names are the plan's public contract."""

    model_config = ConfigDict(extra="forbid")

    app_name: str
    language: str
    framework: str | None = None
    # a version ("3.12", "20", "1.22.3") or, for a Dockerfile app, its base image ("rust:1.80-slim"):
    # never a shell word or a CloudFormation reference
    runtime_version: str = Field(pattern=RUNTIME_VERSION_PATTERN)
    install_command: str | None = None
    build_command: str | None = None
    release_command: str | None = Field(
        default=None, description="run once per instance after the build, before the app starts (migrations)"
    )
    start_command: str
    port: int = Field(ge=1, le=65535)
    port_env: str | None = None
    health_path: str = "/"
    health_codes: HealthCodes = Field(
        default=DEFAULT_HEALTH_CODES,
        description="the statuses of the health path that count as up (the target group's matcher)",
    )
    routes: list[str] = Field(
        default_factory=list, description="GET routes the planner found (no parameters): the smoke test tries them"
    )
    subdir: str = "."
    instance_type: str = "t3.micro"
    environment: dict[str, str] = Field(default_factory=dict)
    environment_refs: dict[str, str] = Field(
        default_factory=dict, description="env var -> ssm:/... read into the environment at boot (build and start)"
    )
    secrets: dict[str, str] = Field(default_factory=dict, description="env var -> ssm:/... or secretsmanager:...")
    source_bundle: str | None = Field(default=None, description="s3://bucket/key of the source the instance fetches")
    source_commit: str | None = Field(default=None, description="the git or CodeCommit commit the source is")
    source_digest: str | None = Field(default=None, description="sha256 of the source bundle's bytes")
    evidence: list[Evidence] = Field(default_factory=list)
    warnings: list[str] = Field(
        default_factory=list, description="what may keep the app from working once deployed, and where it was read"
    )
    cost: CostEstimate | None = Field(default=None, description="monthly cost of the stack for this plan")

    def healthy(self, status: int | None) -> bool:
        """Whether the health path answering `status` counts as up."""
        return status is not None and accepts(self.health_codes, status)

    def why(self, field: str) -> Evidence | None:
        """The evidence recorded for a field, if any."""
        return next((e for e in self.evidence if e.field == field), None)

    def digest(self) -> str:
        """What the plan decided, as 12 hex digits: two releases with the same digest build and run
        the same way (language, runtime, commands, port, health path, size, the environment's and
        secrets' names); the evidence, the cost and where the source lies do not count."""
        decided = self.model_dump(
            mode="json",
            exclude={"evidence", "warnings", "cost", "source_bundle", "source_commit", "source_digest"},
        )
        if decided["health_codes"] == DEFAULT_HEALTH_CODES:
            del decided["health_codes"]  # (plans made before it existed had the default)
        for names in ("environment", "environment_refs", "secrets"):
            decided[names] = sorted(decided[names])  # names only: values are secret or per deployment
        return hashlib.sha256(json.dumps(decided, sort_keys=True).encode()).hexdigest()[:12]


def accepts(matcher: str, status: int) -> bool:
    """A target group's HttpCode matcher ("200", "200,302", "200-399") against a status."""
    for part in matcher.split(","):
        low, _, high = part.strip().partition("-")
        if low.isdigit() and (int(low) <= status <= int(high) if high.isdigit() else status == int(low)):
            return True
    return False
