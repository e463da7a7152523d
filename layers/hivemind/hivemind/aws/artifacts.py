"""The artifacts bucket: source bundles, templates, plans, findings and reports.

Layout: deployments/<id>/{source.zip, template.yaml, plan.json, findings.json, report.json};
uploads/ (sources users upload); policy/*.guard (an organisation's own Guard rules, added to
the policy pack by Validate).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import ClientError

from hivemind.errors import ConfigurationError, SourceError, size_text


def key(deployment_id: str, name: str) -> str:
    return f"deployments/{deployment_id}/{name}"


def instance_log_name(attempt: int) -> str:
    """Where the instance of an attempt leaves its last log lines when its boot fails."""
    return f"instance-{attempt}.log"


def put(s3: Any, bucket: str, object_key: str, body: bytes | str, content_type: str) -> str:
    data = body.encode() if isinstance(body, str) else body
    s3.put_object(Bucket=bucket, Key=object_key, Body=data, ContentType=content_type)
    return object_key


def put_json(s3: Any, bucket: str, object_key: str, value: Any) -> str:
    return put(s3, bucket, object_key, json.dumps(value, indent=2, default=str), "application/json")


def get_bytes(s3: Any, bucket: str, object_key: str, max_bytes: int | None = None) -> bytes:
    """Read an object; a missing or forbidden object is a SourceError naming it."""
    try:
        if max_bytes is not None:
            size = s3.head_object(Bucket=bucket, Key=object_key)["ContentLength"]
            if size > max_bytes:
                limit = size_text(max_bytes)
                raise SourceError(f"s3://{bucket}/{object_key} is {size_text(size)}, over the {limit} limit")
        return bytes(s3.get_object(Bucket=bucket, Key=object_key)["Body"].read())
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code in ("NoSuchKey", "404", "NoSuchBucket"):
            raise SourceError(f"s3://{bucket}/{object_key} not found") from exc
        if code in ("AccessDenied", "403"):
            raise SourceError(f"no access to s3://{bucket}/{object_key}") from exc
        raise


def text_lines(s3: Any, bucket: str, object_key: str, max_bytes: int = 256 * 1024) -> list[str]:
    """The lines of a small text object (its last `max_bytes`); [] when there is none."""
    try:
        body = s3.get_object(Bucket=bucket, Key=object_key, Range=f"bytes=-{max_bytes}")["Body"].read()
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("NoSuchKey", "404", "InvalidRange"):
            return []
        raise
    return bytes(body).decode("utf-8", errors="replace").splitlines()


POLICY_PREFIX = "policy/"
MAX_POLICY_FILES = 100
_SAFE_PART = re.compile(r"^[A-Za-z0-9._+=@-]{1,200}$")


def download_policy_rules(s3: Any, bucket: str, dest: Path) -> list[Path]:
    """The organisation's own rules (policy/**.guard) written into dest under their own key,
    `policy/team/sizes.guard` as dest/policy/team/sizes.guard; none is an empty list. More rules than
    MAX_POLICY_FILES, or a key that is not a plain path, is a ConfigurationError: a rule is
    never skipped."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=POLICY_PREFIX)
    keys = sorted(o["Key"] for page in pages for o in page.get("Contents", []) if o["Key"].endswith(".guard"))
    if len(keys) > MAX_POLICY_FILES:
        raise ConfigurationError(
            f"s3://{bucket}/{POLICY_PREFIX} holds {len(keys)} rule files; HiveMind reads at most {MAX_POLICY_FILES}"
        )
    written = []
    for object_key in keys:
        parts = object_key.removeprefix(POLICY_PREFIX).split("/")
        if not all(_SAFE_PART.match(part) and part not in (".", "..") for part in parts):
            raise ConfigurationError(f"policy rule s3://{bucket}/{object_key}: use letters, digits and ._-+=@ in keys")
        target = dest.joinpath(POLICY_PREFIX.rstrip("/"), *parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(s3.get_object(Bucket=bucket, Key=object_key)["Body"].read())
        written.append(target)
    return written


def https_url(bucket: str, object_key: str, region: str) -> str:
    """The URL CloudFormation's TemplateURL expects."""
    return f"https://{bucket}.s3.{region}.amazonaws.com/{object_key}"


def parse_s3_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.strip("/"):
        raise SourceError(f"not an s3://bucket/key URI: {uri}")
    return parsed.netloc, parsed.path.lstrip("/")


def upload_url(s3: Any, bucket: str, object_key: str, expires_s: int = 900) -> str:
    """A presigned PUT URL for a source bundle (zip), valid for `expires_s` seconds."""
    return str(
        s3.generate_presigned_url(
            "put_object",
            Params={"Bucket": bucket, "Key": object_key, "ContentType": "application/zip"},
            ExpiresIn=expires_s,
        )
    )
