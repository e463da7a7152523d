"""What a deployment request may ask of this HiveMind, checked before anything is recorded.

- secrets only under the app's own prefix (`ssm:/hivemind/<app>/…`, `secretsmanager:hivemind/<app>/…`;
  the stack's SecretPrefix replaces `hivemind`): whoever may call the API must not be able to
  hand an app another app's (or the account's) secrets;
- an S3 source only from HiveMind's own artifacts bucket, under `uploads/` (what POST /uploads
  hands out) or `deployments/` (a bundle HiveMind made: a local deploy, a roll back);
- an instance type the stack allows and can afford (`instance_type_refusal`): one listed in
  AllowedInstanceTypes, or else one HiveMind has a price for, whose stack stays under
  MaxMonthlyUSD. Plan applies the same rule to the type it chooses.
"""

from __future__ import annotations

from hivemind.errors import RequestRefused
from hivemind.models import DeploymentRequest, S3Source
from hivemind.settings import Settings

S3_SOURCE_PREFIXES = ("uploads/", "deployments/")
MAX_ENV_VALUE_BYTES = 4096  # each value becomes a standard-tier SSM SecureString parameter


def admit(request: DeploymentRequest, settings: Settings) -> None:
    """Refuse (RequestRefused, naming the field) what this HiveMind does not allow."""
    ssm_prefix = f"/{settings.secret_prefix}/{request.app_name}/"
    vault_prefix = f"{settings.secret_prefix}/{request.app_name}/"
    for name, value in sorted(request.environment.items()):
        if len(value.encode()) > MAX_ENV_VALUE_BYTES:
            raise RequestRefused(
                f"environment variable {name} is {len(value.encode())} bytes; at most {MAX_ENV_VALUE_BYTES} "
                "(an SSM parameter's size): pass a larger value as a secret of your own",
                f"environment.{name}",
            )
    for name, ref in sorted({**request.secrets, **request.environment_refs}.items()):
        kind, _, where = ref.partition(":")
        if kind == "ssm":
            allowed = where.startswith(ssm_prefix) and "/../" not in where
            wanted = f"ssm:{ssm_prefix}…"
        else:  # secretsmanager: a name (the request model admits no ARN)
            allowed = where.startswith(vault_prefix)
            wanted = f"secretsmanager:{vault_prefix}…"
        if not allowed:
            raise RequestRefused(
                f"secret {name} must live under the app's own prefix ({wanted}); {ref} is outside it",
                f"secrets.{name}",
            )
    source = request.source
    if isinstance(source, S3Source) and (
        source.bucket != settings.artifacts_bucket or not source.key.startswith(S3_SOURCE_PREFIXES)
    ):
        raise RequestRefused(
            "an S3 source must be a bundle uploaded through POST /uploads (HiveMind's artifacts bucket, "
            f"under uploads/); got s3://{source.bucket}/{source.key}",
            "source",
        )

    chosen = request.overrides.instance_type
    if chosen is not None:
        refusal = instance_type_refusal(chosen, settings)
        if refusal:
            raise RequestRefused(refusal, "overrides.instance_type")


def instance_type_refusal(instance_type: str, settings: Settings, monthly_usd: float | None = None) -> str | None:
    """Why the stack may not run `instance_type` (None when it may). `monthly_usd` is the whole
    stack's estimate when known (Plan); otherwise it is estimated for the instance type alone."""
    from hivemind.templating.cost import stack_monthly_usd

    allowed = settings.allowed_instance_types
    if allowed and instance_type not in allowed:
        listed = ", ".join(allowed)
        return f"instance type {instance_type} is not one this HiveMind allows ({listed}: AllowedInstanceTypes)"
    cost = monthly_usd if monthly_usd is not None else stack_monthly_usd(instance_type)
    if cost is None:
        if allowed:
            return None  # listed by an admin, price or not
        return (
            f"HiveMind has no price for instance type {instance_type}, so it cannot hold it to the "
            f"${settings.max_monthly_usd:.0f}/month ceiling (MaxMonthlyUSD); an admin may allow it by listing it "
            "in AllowedInstanceTypes"
        )
    if cost > settings.max_monthly_usd:
        return (
            f"a stack on {instance_type} costs about ${cost:.2f}/month on-demand, over this HiveMind's "
            f"${settings.max_monthly_usd:.0f}/month ceiling (MaxMonthlyUSD)"
        )
    return None
