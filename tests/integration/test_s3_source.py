"""An uploaded source bundle in S3, read by Plan deployment (moto): each bad bundle is one clear error."""

import io
import zipfile

import pytest
from botocore.stub import Stubber

from hivemind.aws import artifacts, clients
from hivemind.errors import SourceError
from hivemind.models import DeploymentRequest, WorkflowState
from hivemind.workflow.plan import plan_deployment
from tests.conftest import EXAMPLES


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _plan(settings, key: str):
    request = DeploymentRequest(app_name="shop", source={"type": "s3", "bucket": "artifacts", "key": key})
    s3 = clients.client("s3", settings.region)
    return plan_deployment(WorkflowState(deployment_id="d-s3", request=request), s3=s3, settings=settings)


def test_an_uploaded_bundle_is_planned_and_its_plan_stored(hivemind):
    files = {p.name: p.read_bytes() for p in (EXAMPLES / "flask-app").iterdir() if p.is_file()}
    clients.client("s3", hivemind.region).put_object(Bucket="artifacts", Key="uploads/shop.zip", Body=_zip(files))
    plan = _plan(hivemind, "uploads/shop.zip")
    # uploads expire after a day: the deployment keeps its own copy, which the instance (and a roll back) reads
    assert (plan.language, plan.source_bundle) == ("python", "s3://artifacts/deployments/d-s3/source.zip")
    copy = clients.client("s3", hivemind.region).get_object(Bucket="artifacts", Key="deployments/d-s3/source.zip")
    assert copy["Body"].read() == _zip(files)
    stored = clients.client("s3", hivemind.region).get_object(Bucket="artifacts", Key="deployments/d-s3/plan.json")
    assert b'"framework":"flask"' in stored["Body"].read().replace(b" ", b"")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (None, r"^s3://artifacts/uploads/x\.zip not found$"),
        (b"not a zip", r"^the source bundle is not a zip archive$"),
        (_zip({}), r"^the source bundle is empty$"),
        (_zip({"../etc/passwd": b"x"}), r"unsafe path: \.\./etc/passwd"),
        (_zip({"logo.png": b"\x89PNG\r\n\x1a\n\x00\x00"}), r"only binary files"),
        (bytes(2 * 1024 * 1024), r"^s3://artifacts/uploads/x\.zip is 2 MiB, over the 1 MiB limit$"),
        (_zip({"zeros.txt": bytes(3 * 1024 * 1024)}), r"^the source bundle unpacks to more than 1 MiB$"),
    ],
)
def test_bad_bundles_are_clear_errors(hivemind, body, message):
    settings = hivemind.model_copy(update={"max_source_mib": 1})
    if body is not None:
        clients.client("s3", hivemind.region).put_object(Bucket="artifacts", Key="uploads/x.zip", Body=body)
    with pytest.raises(SourceError, match=message):
        _plan(settings, "uploads/x.zip")


def test_a_bundle_hivemind_may_not_read_says_so(hivemind):
    s3 = clients.client("s3", hivemind.region)
    with Stubber(s3) as stub:
        stub.add_client_error("head_object", service_error_code="403", http_status_code=403)
        with pytest.raises(SourceError, match=r"^no access to s3://artifacts/private\.zip$"):
            artifacts.get_bytes(s3, "artifacts", "private.zip", max_bytes=1024)
