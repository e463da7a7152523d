"""The contracts. Every state's input and output, the request, the record and the report."""

from hivemind.models.events import CodeCommitPush, ExecutionStatusChange, StackStatusChange
from hivemind.models.plan import CostEstimate, CostItem, DeploymentPlan, Evidence
from hivemind.models.record import TERMINAL_STATUSES, DeploymentRecord, Report, StepTiming
from hivemind.models.request import (
    CodeCommitSource,
    DeploymentRequest,
    GitSource,
    PlanOverrides,
    S3Source,
    Source,
    StackOptions,
)
from hivemind.models.workflow import (
    Diagnosis,
    ErrorInfo,
    Finding,
    HealthInfo,
    MedicDecision,
    ReportInput,
    ReportResult,
    StackInfo,
    TargetInfo,
    TemplateArtifact,
    ValidationResult,
    WaitStackInput,
    WorkflowState,
)

__all__ = [
    "TERMINAL_STATUSES",
    "CodeCommitPush",
    "CodeCommitSource",
    "CostEstimate",
    "CostItem",
    "DeploymentPlan",
    "DeploymentRecord",
    "DeploymentRequest",
    "Diagnosis",
    "ErrorInfo",
    "Evidence",
    "ExecutionStatusChange",
    "Finding",
    "GitSource",
    "HealthInfo",
    "MedicDecision",
    "PlanOverrides",
    "Report",
    "ReportInput",
    "ReportResult",
    "S3Source",
    "Source",
    "StackInfo",
    "StackOptions",
    "StackStatusChange",
    "StepTiming",
    "TargetInfo",
    "TemplateArtifact",
    "ValidationResult",
    "WaitStackInput",
    "WorkflowState",
]
