"""The deployment record (DynamoDB) and the report (S3): what users read afterwards."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hivemind.models.plan import DeploymentPlan
from hivemind.models.request import DeploymentRequest
from hivemind.models.workflow import Diagnosis, Finding, HealthInfo, QaCheck

# NOT_REHEARSED: on the local runtime, the app could not run on this machine (the record says why)
DeploymentStatus = Literal[
    "PENDING", "RUNNING", "SUCCEEDED", "FAILED", "NOT_REHEARSED", "DELETING", "DELETED", "DELETE_FAILED"
]
# the workflow is over (whatever happened to the stack since)
TERMINAL_STATUSES: frozenset[str] = frozenset(
    {"SUCCEEDED", "FAILED", "NOT_REHEARSED", "DELETING", "DELETED", "DELETE_FAILED"}
)


class StepTiming(BaseModel):
    """One state of the execution, read from its history."""

    model_config = ConfigDict(extra="forbid")

    name: str
    status: Literal["SUCCEEDED", "FAILED", "RUNNING"]
    start: datetime
    end: datetime | None = None
    duration_s: float | None = None
    attempts: int = 1
    error: str | None = None


class ResourceTiming(BaseModel):
    """One resource of the app's stack during a deployment, from its stack events: when
    CloudFormation began on it, when it last settled, and how."""

    logical_id: str
    resource_type: str
    start: datetime
    end: datetime | None = None
    status: str = Field(description="its last status in this deployment, as CloudFormation printed it")
    reason: str | None = Field(default=None, description="why it failed, when it did (it may be deleted since)")


class DeploymentRecord(BaseModel):
    """A row of the deployments table, as the API and CLI return it."""

    model_config = ConfigDict(extra="ignore")

    deployment_id: str
    app_name: str
    status: DeploymentStatus
    request: DeploymentRequest
    created_at: datetime
    updated_at: datetime
    created_by: str | None = Field(default=None, description="the principal that asked for it (API: the caller's ARN)")
    rollback_of: str | None = Field(default=None, description="the deployment this one rolls back")
    redeploy_of: str | None = Field(default=None, description="the earlier release this one deploys again")
    commit: str | None = Field(default=None, description="the git or CodeCommit commit deployed")
    source_digest: str | None = Field(default=None, description="sha256 of the source bundle deployed")
    plan_digest: str | None = Field(default=None, description="what the plan decided (DeploymentPlan.digest)")
    execution_arn: str | None = None
    stack_name: str | None = None
    stack_id: str | None = None
    stack_operation: Literal["create", "update", "unchanged"] | None = None
    previous_template_key: str | None = Field(default=None, description="the stack's template before an update")
    previous_deployment_id: str | None = None
    outputs: dict[str, str] = Field(default_factory=dict)
    url: str | None = None
    steps: list[StepTiming] = Field(default_factory=list)
    report_key: str | None = None
    error: str | None = None
    diagnosis: Diagnosis | None = None
    attempts: int = 1
    health: HealthInfo | None = None
    qa: list[QaCheck] = Field(default_factory=list)
    not_rehearsed: str | None = Field(default=None, description="why the app could not run on this machine")
    medic_pending: Literal["settle", "delete", "restore", "continue"] | None = Field(
        default=None,
        description="after the execution ended: what the Medic started on the stack, finished once it settles",
    )
    differs_from_aws: list[str] = Field(
        default_factory=list, description="where the local rehearsal behaved unlike AWS (the local runtime only)"
    )


HIDDEN = "(hidden)"


def hidden(values: dict[str, str]) -> dict[str, str]:
    """An app's environment as people read it: the names, never the values."""
    return dict.fromkeys(values, HIDDEN)


def without_values(record: DeploymentRecord) -> DeploymentRecord:
    """The record as the API shows it: environment values hidden (any caller may read it)."""
    if not record.request.environment:
        return record
    request = record.request.model_copy(update={"environment": hidden(record.request.environment)})
    return record.model_copy(update={"request": request})


class Report(BaseModel):
    """The JSON report written to S3 at the end of every deployment."""

    model_config = ConfigDict(extra="forbid")

    deployment_id: str
    app_name: str
    status: Literal["SUCCEEDED", "FAILED", "NOT_REHEARSED"]
    started_at: datetime
    finished_at: datetime
    duration_s: float
    url: str | None = None
    stack_name: str | None = None
    outputs: dict[str, str] = Field(default_factory=dict)
    steps: list[StepTiming]
    resources: list[ResourceTiming] = Field(
        default_factory=list, description="the stack's resources as CloudFormation worked on them in this deployment"
    )
    plan: DeploymentPlan | None = None
    findings: list[Finding] = Field(default_factory=list)
    health: HealthInfo | None = None
    qa: list[QaCheck] = Field(default_factory=list)
    warnings: list[str] = Field(
        default_factory=list, description="the plan's, the template's, the smoke test's and the cut-over's"
    )
    not_rehearsed: str | None = None
    differs_from_aws: list[str] = Field(default_factory=list)
    alarms: list[str] = Field(default_factory=list, description="the app's alarms: name, meaning, the topic told")
    error: str | None = None
    diagnosis: Diagnosis | None = None
    medic_action: str | None = None
    attempts: int = 1
