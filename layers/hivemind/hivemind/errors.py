"""Domain exceptions. In Step Functions the class name is the `Error` that Retry/Catch match,
so these names are part of the state machine's contract: rename one, change the ASL too."""


class HiveMindError(Exception):
    """Base class: a failure HiveMind understands and can explain to a user."""


class SourceError(HiveMindError):
    """The source could not be fetched or read (not found, no access, too large, empty)."""


class PlanError(HiveMindError):
    """The source was read but HiveMind cannot decide how to build or run it."""


class TemplateInvalid(HiveMindError):
    """cfn-lint errors or policy failures: the template must not reach CloudFormation."""


class StackCreateFailed(HiveMindError):
    """CloudFormation refused the stack or the stack failed (cause carries the diagnosis)."""


class TargetRegistrationFailed(HiveMindError):
    """The instance could not be registered with the target group."""


class TargetNotHealthyYet(HiveMindError):
    """Retryable: the target is still initial/unhealthy within its grace period."""


class TargetUnhealthy(HiveMindError):
    """The target never became healthy within the health check's bounds."""


class AppNotRehearsed(HiveMindError):
    """Local runtime only: the app could not run on this machine (the sentence says why), so
    nothing proves it answers; the deployment ends NOT_REHEARSED, never SUCCEEDED."""


class SmokeTestFailed(HiveMindError):
    """The health path did not answer through the load balancer's URL."""


class DeploymentNotFound(HiveMindError):
    """No deployment with that id."""


class DeploymentConflict(HiveMindError):
    """The request conflicts with an existing deployment (same id, different request; the app's
    active deployment, named in `active`)."""

    def __init__(self, message: str, active: str | None = None):
        super().__init__(message)
        self.active = active


class RequestRefused(HiveMindError):
    """A well-formed request asks for what this HiveMind does not allow (`field` names what)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class AccessDenied(HiveMindError):
    """The caller may not do this to that app (it belongs to another principal)."""


class ConfigurationError(HiveMindError):
    """A required environment variable is missing or invalid."""


def size_text(size: int) -> str:
    """A byte count as error messages show it: "200 MiB", "4.9 KiB"."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"
