"""What a deployment request may ask of this HiveMind, checked before anything is recorded.

- secrets only under the app's own prefix (`ssm:/hivemind/<app>/…`, `secretsmanager:hivemind/<app>/…`;
  the stack's SecretPrefix replaces `hivemind`): whoever may call the API must not be able to
  hand an app another app's (or the account's) secrets;
- an S3 source only from HiveMind's own artifacts bucket, under `uploads/` (what POST /uploads
  hands out) or `deployments/` (a bundle HiveMind made: a local deploy, a roll back).
"""

from __future__ import annotations

from hivemind.errors import RequestRefused
from hivemind.models import DeploymentRequest, S3Source
from hivemind.settings import Settings

S3_SOURCE_PREFIXES = ("uploads/", "deployments/")


def admit(request: DeploymentRequest, settings: Settings) -> None:
    """Refuse (RequestRefused, naming the field) what this HiveMind does not allow."""
    ssm_prefix = f"/{settings.secret_prefix}/{request.app_name}/"
    vault_prefix = f"{settings.secret_prefix}/{request.app_name}/"
    for name, ref in sorted(request.secrets.items()):
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
