"""The deployment request: what a user (API, CLI, CodeCommit push) asks HiveMind to deploy."""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hivemind.models.plan import HealthCodes

APP_NAME_PATTERN = r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$"
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
# A secret is a reference, never a value: an SSM SecureString parameter or a Secrets Manager secret.
SECRET_REF_PATTERN = r"^(ssm:/[A-Za-z0-9_./-]{1,1011}|secretsmanager:[A-Za-z0-9/_+=.@-]{1,512})$"


def app_name_from(text: str, *, distinct: bool = False) -> str:
    """A valid app name from a folder or repository name ("My_App" -> "my-app").

    With `distinct`, two different texts never share a name: when the name is not the text
    itself (case, `_` or `.` folded, cut at 32), a short hash of the text is appended
    ("My_App" -> "my-app-3f2a9c"), since the name is also the stack's.
    """
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    name = re.sub(r"-{2,}", "-", name)
    if not name or not name[0].isalpha() or len(name) < 2:
        name = f"app-{name}".strip("-")
    if distinct and (name != text or len(name) > 32):
        return f"{name[:25].rstrip('-')}-{hashlib.sha256(text.encode()).hexdigest()[:6]}"
    return name[:32].rstrip("-") or "app"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class S3Source(_Strict):
    """A zip bundle of the source tree in S3 (what the CLI uploads for a local folder)."""

    type: Literal["s3"] = "s3"
    bucket: str = Field(min_length=3, max_length=63)
    key: str = Field(min_length=1, max_length=1024)
    version_id: str | None = None


class GitSource(_Strict):
    """A git repository over HTTPS at a branch, tag or commit."""

    type: Literal["git"] = "git"
    # HTTPS only; plain HTTP is accepted on the loopback address for local testing
    url: str = Field(pattern=r"^(https://|http://(127\.0\.0\.1|localhost)(:\d+)?/)[^\s]+$", max_length=2048)
    ref: str = Field(default="HEAD", min_length=1, max_length=255)

    @field_validator("url")
    @classmethod
    def _no_credentials(cls, value: str) -> str:
        from urllib.parse import urlsplit

        if urlsplit(value).username is not None:
            raise ValueError(
                "a git URL must not carry credentials (user:token@): it would be stored and shown with the "
                "deployment; HiveMind fetches public repositories, and CodeCommit ones through its API"
            )
        return value


class CodeCommitSource(_Strict):
    """A CodeCommit repository at a commit (what a push event carries)."""

    type: Literal["codecommit"] = "codecommit"
    repository: str = Field(min_length=1, max_length=100)
    commit: str = Field(pattern=r"^[0-9a-f]{40}$")


Source = Annotated[S3Source | GitSource | CodeCommitSource, Field(discriminator="type")]


class PlanOverrides(_Strict):
    """Plan fields a user may set; each one wins over detection and is recorded as such."""

    language: str | None = None
    framework: str | None = None
    runtime_version: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,31}$")
    install_command: str | None = Field(default=None, max_length=1000)
    build_command: str | None = Field(default=None, max_length=1000)
    release_command: str | None = Field(default=None, max_length=1000)
    start_command: str | None = Field(default=None, max_length=1000)
    port: int | None = Field(default=None, ge=1, le=65535)
    port_env: str | None = Field(default=None, pattern=ENV_NAME_PATTERN)
    health_path: str | None = Field(default=None, pattern=r"^/[^\s]{0,255}$")
    health_codes: HealthCodes | None = None
    subdir: str | None = Field(default=None, max_length=255)
    instance_type: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9]*\.[a-z0-9]+$")

    def provided(self) -> dict[str, object]:
        """The fields the user actually set."""
        return self.model_dump(exclude_none=True)


class StackOptions(_Strict):
    """Where and how the stack is exposed: an existing network instead of a new VPC, and a
    certificate for HTTPS (HTTP then redirects to HTTPS)."""

    vpc_id: str | None = Field(default=None, pattern=r"^vpc-[0-9a-f]{8,17}$")
    subnet_ids: list[str] = Field(default_factory=list, description="at least two, in two Availability Zones")
    certificate_arn: str | None = Field(
        default=None, pattern=r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[\w-]+$"
    )
    alarm_topic_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$",
        description="the SNS topic the app's alarms notify (default: HiveMind's AlarmTopic)",
    )

    @field_validator("subnet_ids")
    @classmethod
    def _subnets(cls, value: list[str]) -> list[str]:
        bad = [s for s in value if not re.match(r"^subnet-[0-9a-f]{8,17}$", s)]
        if bad:
            raise ValueError(f"not subnet ids: {', '.join(bad)}")
        if len(set(value)) != len(value):
            raise ValueError("subnet ids repeat")
        return value

    @model_validator(mode="after")
    def _network_is_whole(self) -> StackOptions:
        if bool(self.vpc_id) != bool(self.subnet_ids):
            raise ValueError("give vpc_id and subnet_ids together (an existing network), or neither (a new VPC)")
        if self.subnet_ids and len(self.subnet_ids) < 2:
            raise ValueError("an Application Load Balancer needs at least two subnets in two Availability Zones")
        return self


class DeploymentRequest(_Strict):
    """POST /deployments body, the CLI's deploy and a push's translation all produce this."""

    app_name: str = Field(pattern=APP_NAME_PATTERN, description="lower-case name, used in the stack name")
    source: Source
    environment: dict[str, str] = Field(default_factory=dict, description="environment variables of the app")
    secrets: dict[str, str] = Field(
        default_factory=dict,
        description="environment variables read at start from ssm:/parameter/name or secretsmanager:secret-name",
    )
    environment_refs: dict[str, str] = Field(
        default_factory=dict,
        description="environment variables whose values HiveMind keeps in SSM SecureString parameters "
        "(NAME -> ssm:/...): set by HiveMind from `environment` when a deployment starts",
    )
    overrides: PlanOverrides = Field(default_factory=PlanOverrides)
    stack: StackOptions = Field(default_factory=StackOptions)

    @field_validator("environment")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [k for k in value if not re.match(ENV_NAME_PATTERN, k)]
        if bad:
            raise ValueError(f"invalid environment variable name(s): {', '.join(sorted(bad))}")
        if len(value) > 50:
            raise ValueError("at most 50 environment variables")
        return value

    @field_validator("secrets")
    @classmethod
    def _secret_refs(cls, value: dict[str, str]) -> dict[str, str]:
        bad_names = [k for k in value if not re.match(ENV_NAME_PATTERN, k)]
        if bad_names:
            raise ValueError(f"invalid environment variable name(s): {', '.join(sorted(bad_names))}")
        bad_refs = [k for k, ref in value.items() if not re.match(SECRET_REF_PATTERN, ref)]
        if bad_refs:
            raise ValueError(
                f"secret(s) {', '.join(sorted(bad_refs))} must be ssm:/parameter/name or secretsmanager:name "
                "(a reference, never the value)"
            )
        return value

    @field_validator("environment_refs")
    @classmethod
    def _environment_refs(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [k for k, ref in value.items() if not re.match(ENV_NAME_PATTERN, k) or not re.match(r"^ssm:/\S+$", ref)]
        if bad:
            raise ValueError(f"environment_refs {', '.join(sorted(bad))} must be NAME -> ssm:/parameter")
        return value

    @model_validator(mode="after")
    def _no_name_twice(self) -> DeploymentRequest:
        both = sorted((set(self.environment) | set(self.environment_refs)) & set(self.secrets))
        if both:
            raise ValueError(f"{', '.join(both)} given both as environment and as secret")
        return self
