"""A CodeCommit source, fetched through the CodeCommit API.

moto does not implement GetFolder or GetBlob, so the repository here is an in-memory fake of
those two calls; every request it receives is checked against botocore's own CodeCommit
model, and its errors are the ClientErrors the service returns.
"""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.validate import validate_parameters

from hivemind.errors import SourceError
from hivemind.planning import make_plan
from hivemind.planning.sources import fetch_codecommit

COMMIT = "0123456789abcdef0123456789abcdef01234567"
_MODEL = boto3.client("codecommit", region_name="us-east-1").meta.service_model


class FakeCodeCommit:
    """GetFolder and GetBlob over a dict of path -> bytes (executable when the path ends in .sh)."""

    def __init__(self, repositories: dict[str, dict[str, bytes]], *, denied: bool = False) -> None:
        self.repositories = repositories
        self.denied = denied
        self.blob_reads: list[str] = []

    def _check(self, operation: str, params: dict) -> None:
        validate_parameters(params, _MODEL.operation_model(operation).input_shape)
        if self.denied:
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "denied"}}, operation)
        if params["repositoryName"] not in self.repositories:
            raise ClientError({"Error": {"Code": "RepositoryDoesNotExistException", "Message": "no"}}, operation)
        if operation == "GetFolder" and params["commitSpecifier"] != COMMIT:
            raise ClientError({"Error": {"Code": "CommitDoesNotExistException", "Message": "no"}}, operation)

    def get_folder(self, **params: str) -> dict:
        self._check("GetFolder", params)
        files = self.repositories[params["repositoryName"]]
        folder = PurePosixPath(params["folderPath"])
        entries, subfolders = [], set()
        for name, content in files.items():
            path = PurePosixPath("/", name)
            if path.parent == folder:
                entries.append(
                    {
                        "blobId": hashlib.sha1(content).hexdigest(),
                        "absolutePath": str(path),
                        "relativePath": path.name,
                        "fileMode": "EXECUTABLE" if name.endswith(".sh") else "NORMAL",
                    }
                )
            elif folder in path.parents:
                sub = folder / path.relative_to(folder).parts[0]
                subfolders.add(sub)
        return {
            "commitId": COMMIT,
            "folderPath": str(folder),
            "files": entries,
            "subFolders": [{"absolutePath": str(s), "relativePath": s.name} for s in sorted(subfolders)],
        }

    def get_blob(self, **params: str) -> dict:
        self._check("GetBlob", params)
        self.blob_reads.append(params["blobId"])
        files = self.repositories[params["repositoryName"]]
        return {"content": next(c for c in files.values() if hashlib.sha1(c).hexdigest() == params["blobId"])}


APP = {
    "requirements.txt": b"flask\ngunicorn\n",
    "app.py": b"from flask import Flask\napp = Flask(__name__)\n\n@app.route('/')\ndef i():\n    return 'ok'\n",
    "Procfile": b"web: gunicorn app:app --bind 0.0.0.0:$PORT\n",
    "bin/start.sh": b"#!/bin/sh\nexec gunicorn app:app\n",
    "node_modules/left-pad/index.js": b"module.exports = 1\n",
}


def test_the_tree_at_the_commit_is_fetched_and_planned(tmp_path: Path):
    client = FakeCodeCommit({"shop": APP})
    root = fetch_codecommit(client, "shop", COMMIT, tmp_path / "src")
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == [
        "Procfile",
        "app.py",
        "bin/start.sh",
        "requirements.txt",
    ]
    assert (root / "bin/start.sh").stat().st_mode & 0o111
    assert len(client.blob_reads) == 4  # node_modules was never read
    plan = make_plan(root, app_name="shop")
    assert (plan.language, plan.framework, plan.port_env) == ("python", "flask", "PORT")


@pytest.mark.parametrize(
    ("repositories", "name", "commit", "denied", "message"),
    [
        ({}, "missing", COMMIT, False, "CodeCommit repository missing not found"),
        ({"shop": APP}, "shop", "f" * 40, False, f"commit {'f' * 40} not found in CodeCommit repository shop"),
        ({"shop": APP}, "shop", COMMIT, True, "no access to CodeCommit repository shop: the Plan function needs"),
        ({"empty": {}}, "empty", COMMIT, False, "CodeCommit repository empty at 0123456789ab is empty"),
    ],
)
def test_bad_repositories_are_clear_errors(tmp_path, repositories, name, commit, denied, message):
    with pytest.raises(SourceError) as caught:
        fetch_codecommit(FakeCodeCommit(repositories, denied=denied), name, commit, tmp_path / "src")
    assert str(caught.value).startswith(message)


def test_a_tree_over_the_limit_stops_fetching(tmp_path: Path):
    files = {f"data/{i}.txt": bytes(1000) + str(i).encode() for i in range(20)}
    client = FakeCodeCommit({"big": files})
    with pytest.raises(SourceError, match=r"over the 4\.9 KiB limit"):
        fetch_codecommit(client, "big", COMMIT, tmp_path / "src", max_bytes=5_000)
    assert len(client.blob_reads) == 5


def test_plan_deployment_bundles_a_codecommit_source_into_the_artifacts_bucket(hivemind, tmp_path):
    from hivemind.aws import clients
    from hivemind.models import DeploymentRequest, WorkflowState
    from hivemind.planning.bundle import extract_bundle
    from hivemind.workflow.plan import plan_deployment

    request = DeploymentRequest(app_name="shop", source={"type": "codecommit", "repository": "shop", "commit": COMMIT})
    state = WorkflowState(deployment_id="d-cc", request=request)
    s3 = clients.client("s3", hivemind.region)
    settings = hivemind.model_copy(update={"codecommit_repositories": ["blog", "shop"]})
    plan = plan_deployment(state, s3=s3, codecommit=FakeCodeCommit({"shop": APP}), settings=settings)
    assert plan.source_bundle == "s3://artifacts/deployments/d-cc/source.zip"
    bundle = s3.get_object(Bucket="artifacts", Key="deployments/d-cc/source.zip")["Body"].read()
    assert (extract_bundle(bundle, tmp_path / "unpacked") / "Procfile").read_bytes() == APP["Procfile"]


def test_a_repository_that_is_not_tracked_is_never_read(hivemind):
    from hivemind.aws import clients
    from hivemind.models import DeploymentRequest, WorkflowState
    from hivemind.workflow.plan import plan_deployment

    # an API caller names a repository of the account that HiveMind was not told to deploy
    request = DeploymentRequest(app_name="hr", source={"type": "codecommit", "repository": "payroll", "commit": COMMIT})
    client = FakeCodeCommit({"payroll": APP})
    settings = hivemind.model_copy(update={"codecommit_repositories": ["shop"]})
    with pytest.raises(SourceError, match=r"^CodeCommit repository payroll is not one HiveMind deploys"):
        plan_deployment(
            WorkflowState(deployment_id="d-x", request=request),
            s3=clients.client("s3", hivemind.region),
            codecommit=client,
            settings=settings,
        )
    assert client.blob_reads == []
