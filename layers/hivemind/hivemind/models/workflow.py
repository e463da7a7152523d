"""The deploy state machine's document, and what each state adds to it.

Every Task state receives the whole `WorkflowState` and returns one part of it; the state
machine stores that part with `ResultPath` (see statemachine/deploy.asl.json). A Catch puts
`{"Error", "Cause"}` at `$.error`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hivemind.models.plan import DeploymentPlan
from hivemind.models.request import DeploymentRequest


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TemplateArtifact(_Part):
    """Output of "Generate template"."""

    stack_name: str
    template_key: str
    template_url: str
    parameters: dict[str, str] = Field(default_factory=dict)
    resource_count: int
    release: str | None = Field(default=None, description="the release this template creates (templating/releases.py)")
    serving_release: str | None = Field(
        default=None, description="the release serving when the template was made, kept beside the new one"
    )
    warnings: list[str] = Field(default_factory=list)
    alarms: list[str] = Field(default_factory=list, description="the stack's alarms: name, meaning, topic")


class Finding(_Part):
    """One problem found in a template, by cfn-lint or a policy rule."""

    rule_id: str
    severity: Literal["error", "warning", "informational"]
    message: str
    resource: str | None = None
    path: str | None = None
    line: int | None = None
    fix: str | None = None
    tool: Literal["cfn-lint", "guard"] = "cfn-lint"


class ValidationResult(_Part):
    """Output of "Validate template" (when it passes; blocking findings raise TemplateInvalid)."""

    passed: bool
    findings: list[Finding] = Field(default_factory=list)
    findings_key: str | None = None
    cached: bool = False  # the findings of an identical template validated before (workflow/validate.py)


class StackInfo(_Part):
    """Output of "Create stack" (status CREATE_IN_PROGRESS) and "Wait for stack" (settled)."""

    stack_name: str
    stack_id: str
    status: str
    outputs: dict[str, str] = Field(default_factory=dict)


class TargetInfo(_Part):
    """Output of "Register target"."""

    target_group_arn: str
    instance_id: str
    port: int
    registered_at: datetime
    serving: list[str] = Field(
        default_factory=list,
        description="the targets that served when it was registered (they serve on until it is healthy)",
    )


class DrainInfo(_Part):
    """Output of "Drain previous release": the targets deregistered, and how long their
    connections may drain (the group's deregistration delay; "Wait for draining" waits it)."""

    targets: list[str] = Field(default_factory=list)
    seconds: int = 0


class HealthInfo(_Part):
    """Output of "Wait for healthy target" (the report adds what the smoke test saw)."""

    state: str
    reason: str | None = None
    description: str | None = None
    path: str | None = None
    status_code: int | None = Field(default=None, description="of the health path, through the load balancer")
    checks: int | None = Field(default=None, description="looks at the target's health until it was healthy")
    seconds_to_healthy: float | None = Field(default=None, description="from registration to healthy")


class QaCheck(_Part):
    """One GET of the smoke test, through the load balancer's URL."""

    path: str
    status_code: int | None = None
    ms: float | None = None
    error: str | None = None
    required: bool = Field(default=False, description="the health path: its failure fails the deployment")


class QaResult(_Part):
    """Output of "Smoke test"."""

    url: str
    checks: list[QaCheck]
    warnings: list[str] = Field(default_factory=list)


class ErrorInfo(BaseModel):
    """What a Catch puts at `$.error`."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, serialize_by_alias=True)

    error: str = Field(alias="Error")
    cause: str = Field(default="", alias="Cause")

    @field_validator("cause", mode="before")
    @classmethod
    def _no_cause(cls, value: object) -> object:
        return "" if value is None else value


Category = Literal[
    "capacity",
    "quota",
    "invalid-parameter",
    "name-conflict",
    "permissions",
    "boot-failure",
    "app-failed",
    "unhealthy",
    "dependency",
    "throttling",
    "delete-failed",
    "template",
    "source",
    "unknown",
]


class Failure(_Part):
    """One resource's failure as the stack's events tell it."""

    logical_id: str
    resource_type: str | None = None
    status: str
    reason: str
    category: Category


class Diagnosis(_Part):
    """Medic's reading of a failure."""

    category: Category
    summary: str
    failed_step: str | None = None
    resource: str | None = None
    resource_type: str | None = None
    status_reason: str | None = None
    stack_status: str | None = None
    instance_log: list[str] = Field(
        default_factory=list, description="the last lines the instance logged before its boot failed"
    )
    fix: str | None = Field(default=None, description="the user's one-line fix for this category")
    secondary: list[Failure] = Field(
        default_factory=list, description="later failures the root cause brought (a delete that failed in the rollback)"
    )
    left: list[str] = Field(
        default_factory=list, description="what the rollback could not delete, each with AWS's reason (an escalation)"
    )
    escalation: str | None = Field(default=None, description="what a person must do, when the Medic escalated")


class MedicDecision(_Part):
    """Output of "Handle failure": what the Medic found and did."""

    action: Literal["retry", "rollback", "escalate"]
    diagnosis: Diagnosis
    next_attempt: int = 1
    plan: DeploymentPlan | None = Field(default=None, description="the fixed plan when action is retry")
    fix: str | None = None
    stack_deleted: bool = False
    resources_left: list[str] = Field(default_factory=list)
    pending: Literal["settle", "delete", "restore", "continue"] | None = Field(
        default=None,
        description="what the Medic started on the stack and finishes once it settled: the state machine waits "
        'for it ("Wait for the Medic\'s stack"), then "Finish handling failure"',
    )
    waiting_on: str | None = Field(default=None, description="the stack id the state machine waits on")
    started_at: datetime | None = Field(default=None, description="when the Medic called CloudFormation")
    waits: int = Field(default=0, description="waits for the stack so far (a stale settled status ends one early)")


class WorkflowState(BaseModel):
    """The execution's document; execution input has only deployment_id and request."""

    model_config = ConfigDict(extra="ignore")

    deployment_id: str
    request: DeploymentRequest
    plan: DeploymentPlan | None = None
    template: TemplateArtifact | None = None
    validation: ValidationResult | None = None
    stack: StackInfo | None = None
    target: TargetInfo | None = None
    health: HealthInfo | None = None
    qa: QaResult | None = None
    drain: DrainInfo | None = None
    error: ErrorInfo | None = None
    cleanup_error: ErrorInfo | None = Field(
        default=None, description="why the previous release could not be removed once the new one served"
    )
    medic: MedicDecision | None = None

    @property
    def attempt(self) -> int:
        """1 for the first try; the Medic's retries count up."""
        return self.medic.next_attempt if self.medic and self.medic.action == "retry" else 1


class WaitStackInput(_Part):
    """Payload of "Wait for stack" (a `.waitForTaskToken` task)."""

    deployment_id: str
    stack_id: str
    task_token: str
    for_medic: bool = Field(
        default=False, description="the Medic's own wait: any settled status resumes it (a deletion's included)"
    )


class ReportInput(BaseModel):
    """Payload of the two Report states."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["SUCCEEDED", "FAILED", "NOT_REHEARSED"]
    execution_arn: str
    state: WorkflowState


class ReportResult(_Part):
    """Output of "Report"."""

    deployment_id: str
    status: Literal["SUCCEEDED", "FAILED", "NOT_REHEARSED"]
    report_key: str
    url: str | None = None
    duration_s: float | None = Field(default=None, description="from the deployment's start to its report")
