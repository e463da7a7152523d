"""Events HiveMind consumes from EventBridge (the shapes AWS sends)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class StackStatusDetails(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: str
    status_reason: str = Field(default="", alias="status-reason")


class StackStatusDetail(BaseModel):
    model_config = ConfigDict(extra="ignore")

    stack_id: str = Field(alias="stack-id")
    status_details: StackStatusDetails = Field(alias="status-details")
    client_request_token: str | None = Field(default=None, alias="client-request-token")


class StackStatusChange(BaseModel):
    """`source: aws.cloudformation`, `detail-type: CloudFormation Stack Status Change`."""

    model_config = ConfigDict(extra="ignore")

    source: str
    detail_type: str = Field(alias="detail-type")
    time: datetime | None = None
    region: str | None = None
    resources: list[str] = Field(default_factory=list)
    detail: StackStatusDetail


class ExecutionStatusDetail(BaseModel):
    model_config = ConfigDict(extra="ignore")

    execution_arn: str = Field(alias="executionArn")
    state_machine_arn: str = Field(alias="stateMachineArn")
    name: str
    status: str
    error: str | None = None
    cause: str | None = None


class ExecutionStatusChange(BaseModel):
    """`source: aws.states`, `detail-type: Step Functions Execution Status Change`."""

    model_config = ConfigDict(extra="ignore")

    source: str
    detail_type: str = Field(alias="detail-type")
    detail: ExecutionStatusDetail


class CodeCommitPushDetail(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    event: str
    repository_name: str = Field(alias="repositoryName")
    reference_type: str = Field(alias="referenceType")
    reference_name: str = Field(alias="referenceName")
    commit_id: str | None = Field(default=None, alias="commitId")


class CodeCommitPush(BaseModel):
    """`source: aws.codecommit`, `detail-type: CodeCommit Repository State Change`."""

    model_config = ConfigDict(extra="ignore")

    id: str
    source: str
    detail_type: str = Field(alias="detail-type")
    time: datetime
    detail: CodeCommitPushDetail
