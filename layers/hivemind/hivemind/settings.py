"""Configuration: one pydantic model, read from the environment once per invocation.

On Lambda the environment is the function's; the local runtime runs every function in one
process, so it sets each invocation's environment in a context variable instead of mutating
`os.environ` (executions run on threads).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from contextvars import ContextVar

from pydantic import BaseModel, Field, ValidationError

from hivemind.errors import ConfigurationError

_ENV_OVERRIDE: ContextVar[Mapping[str, str] | None] = ContextVar("hivemind_env", default=None)


class Settings(BaseModel):
    """What every HiveMind function needs to find its resources."""

    deployments_table: str
    artifacts_bucket: str
    region: str
    state_machine_arn: str | None = None
    stack_role_arn: str | None = None
    stack_prefix: str = "hivemind-"
    tracked_branch: str = Field(default="main", description="the CodeCommit branch whose pushes deploy")
    codecommit_repositories: list[str] = Field(
        default_factory=list, description="the CodeCommit repositories HiveMind may deploy (TrackedRepositories)"
    )
    instance_role_boundary: str | None = Field(
        default=None, description="the managed policy bounding every app instance role (AppInstanceBoundary)"
    )
    git_hosts: list[str] = Field(
        default_factory=list, description="the only hosts git sources may come from (GitHosts); empty: any public host"
    )
    function_log_group: str | None = Field(
        default=None,
        description="the log group every HiveMind function logs to (FunctionLogs): `hivemind logs` reads it",
    )
    alarm_topic_arn: str | None = Field(
        default=None, description="HiveMind's AlarmTopic: where apps' alarms go unless a deployment names a topic"
    )
    git_loopback: bool = Field(
        default=False, description="git sources on 127.0.0.0/8 allowed: the local runtime only (its test git servers)"
    )
    allowed_instance_types: list[str] = Field(
        default_factory=list,
        description="the only instance types an app may run on (AllowedInstanceTypes); empty: any priced type",
    )
    max_monthly_usd: float = Field(
        default=200, gt=0, description="the most an app's stack may cost a month, on-demand (MaxMonthlyUSD)"
    )
    secret_prefix: str = Field(
        default="hivemind",
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="apps read secrets only under /<prefix>/<app>/ (SSM) and <prefix>/<app>/ (Secrets Manager)",
    )
    admin_principals: list[str] = Field(
        default_factory=list, description="principals that may change any app, not only their own (AdminPrincipals)"
    )
    max_source_mib: int = Field(default=200, ge=1, le=300, description="largest source tree HiveMind fetches")

    @property
    def max_source_bytes(self) -> int:
        return self.max_source_mib * 1024 * 1024

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        names = {
            "deployments_table": "DEPLOYMENTS_TABLE",
            "artifacts_bucket": "ARTIFACTS_BUCKET",
            "state_machine_arn": "STATE_MACHINE_ARN",
            "stack_role_arn": "STACK_ROLE_ARN",
            "stack_prefix": "STACK_PREFIX",
            "max_source_mib": "MAX_SOURCE_MIB",
            "secret_prefix": "SECRET_PREFIX",
            "git_loopback": "HIVEMIND_LOCAL_GIT_LOOPBACK",
            "max_monthly_usd": "MAX_MONTHLY_USD",
            "instance_role_boundary": "INSTANCE_ROLE_BOUNDARY",
            "alarm_topic_arn": "ALARM_TOPIC_ARN",
            "function_log_group": "FUNCTION_LOG_GROUP",
            "tracked_branch": "TRACKED_BRANCH",
        }
        values: dict[str, object] = {f: environ[v] for f, v in names.items() if environ.get(v)}
        for field, variable in (
            ("codecommit_repositories", "CODECOMMIT_REPOSITORIES"),
            ("admin_principals", "ADMIN_PRINCIPALS"),
        ):
            listed = environ.get(variable, "")
            values[field] = [name.strip() for name in listed.split(",") if name.strip()]
        values["region"] = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or ""
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = [f"{names.get(str(e['loc'][0]), 'AWS_REGION')}: {e['msg']}" for e in exc.errors()]
            raise ConfigurationError(f"bad environment variable(s): {'; '.join(problems)}") from exc


def environ() -> Mapping[str, str]:
    """The environment of the current invocation."""
    override = _ENV_OVERRIDE.get()
    return override if override is not None else os.environ


def get_settings() -> Settings:
    """Settings of the current invocation (cheap; no caching needed)."""
    return Settings.from_environ(environ())


@contextlib.contextmanager
def invocation_environment(variables: Mapping[str, str]) -> Iterator[None]:
    """Run a block as if the process environment were `os.environ` plus `variables`."""
    token = _ENV_OVERRIDE.set({**os.environ, **variables})
    try:
        yield
    finally:
        _ENV_OVERRIDE.reset(token)
