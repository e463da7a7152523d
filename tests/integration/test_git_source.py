"""Git sources over HTTP(S) without a git binary: a real git smart-HTTP server (dulwich's) on
the loopback address serves a repository made for the test."""

import json
import re
import shutil
import threading
from pathlib import Path

import pytest
from dulwich import porcelain
from dulwich.repo import Repo
from dulwich.server import DictBackend
from dulwich.web import WSGIRequestHandlerLogger, WSGIServerLogger, make_server, make_wsgi_chain

from hivemind.aws import deployments
from hivemind.errors import SourceError
from hivemind.local.deploy import follow
from hivemind.local.runtime import LocalRuntime
from hivemind.models import DeploymentRequest
from hivemind.planning.sources import fetch_git
from hivemind.workflow.start import start_deployment
from tests.conftest import EXAMPLES, ROOT


class _QuietHandler(WSGIRequestHandlerLogger):
    def log_message(self, format, *args):
        pass


def _commit(repo: Repo, root: Path, message: str) -> str:
    porcelain.add(repo, [str(p) for p in root.rglob("*") if p.is_file() and ".git" not in p.parts])
    sha = porcelain.commit(repo, message=message.encode(), author=b"t <t@example.com>", committer=b"t <t@example.com>")
    return sha.decode()


def _private(app):
    """/private.git answers as a host does without credentials (401 with a Basic challenge), and
    /forbidden.git as one that refuses these credentials (403)."""

    def wsgi(environ, start_response):
        path = environ["PATH_INFO"]
        if path.startswith("/same.git"):  # moved within the host: followed
            query = f"?{environ['QUERY_STRING']}" if environ.get("QUERY_STRING") else ""
            start_response("301 Moved Permanently", [("Location", "/app.git" + path.removeprefix("/same.git") + query)])
            return [b""]
        if path.startswith("/moved.git"):  # moved to another host (the same server under another name)
            target = f"http://localhost:{environ['SERVER_PORT']}/app.git" + path.removeprefix("/moved.git")
            target += f"?{environ['QUERY_STRING']}" if environ.get("QUERY_STRING") else ""
            start_response("301 Moved Permanently", [("Location", target)])
            return [b""]
        if environ["PATH_INFO"].startswith("/private.git"):
            start_response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="git"')])
            return [b"authentication required"]
        if environ["PATH_INFO"].startswith("/forbidden.git"):
            start_response("403 Forbidden", [])
            return [b"forbidden"]
        return app(environ, start_response)

    return wsgi


@pytest.fixture(scope="module")
def git_server(tmp_path_factory):
    """(base URL, first commit, second commit) of express-app served as /app.git."""
    root = tmp_path_factory.mktemp("repo")
    shutil.copytree(EXAMPLES / "express-app", root, dirs_exist_ok=True)
    repo = Repo.init(str(root))
    first = _commit(repo, root, "first")
    (root / "server.js").write_text((root / "server.js").read_text().replace("3000", "3100"))
    porcelain.branch_create(repo, "stable", objectish=first)
    second = _commit(repo, root, "second")
    server = make_server(
        "127.0.0.1",
        0,
        _private(make_wsgi_chain(DictBackend({"/app.git": repo}))),
        handler_class=_QuietHandler,
        server_class=WSGIServerLogger,
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", first, second
    server.shutdown()
    repo.close()


def test_head_branch_and_commit_are_fetched_as_plain_trees(git_server, tmp_path):
    base, first, second = git_server
    head, stable, pinned = tmp_path / "head", tmp_path / "stable", tmp_path / "pinned"
    head_commit = fetch_git(f"{base}/app.git", "HEAD", head, allow_loopback=True)
    assert "3100" in (head / "server.js").read_text() and not (head / ".git").exists()
    assert fetch_git(f"{base}/app.git", "stable", stable, allow_loopback=True) == first
    assert "3000" in (stable / "server.js").read_text()
    assert fetch_git(f"{base}/app.git", first, pinned, allow_loopback=True) == first
    assert "3000" in (pinned / "server.js").read_text()
    assert head_commit == second


def test_bad_git_sources_are_clear_errors(git_server, tmp_path):
    base, _, _ = git_server
    with pytest.raises(SourceError, match="not found"):
        fetch_git(f"{base}/nope.git", "HEAD", tmp_path / "a", allow_loopback=True)
    with pytest.raises(SourceError, match="not found"):
        fetch_git(f"{base}/app.git", "no-such-branch", tmp_path / "b", allow_loopback=True)
    with pytest.raises(SourceError, match=r"commit .* not found"):
        fetch_git(f"{base}/app.git", "0" * 40, tmp_path / "c", allow_loopback=True)
    with pytest.raises(SourceError, match="over the"):
        fetch_git(f"{base}/app.git", "HEAD", tmp_path / "d", max_bytes=10, allow_loopback=True)
    with pytest.raises(SourceError, match=r"^no access to git repository .*/private\.git$"):
        fetch_git(f"{base}/private.git", "HEAD", tmp_path / "e", allow_loopback=True)
    with pytest.raises(SourceError, match=r"^no access to git repository .*/forbidden\.git$"):
        fetch_git(f"{base}/forbidden.git", "HEAD", tmp_path / "f", allow_loopback=True)


def test_unreachable_host_is_a_clear_error(tmp_path):
    with pytest.raises(SourceError, match="could not"):
        fetch_git("http://127.0.0.1:9/app.git", "HEAD", tmp_path / "x", allow_loopback=True)


def test_a_deployment_from_git_plans_and_bundles_the_fetched_tree(git_server):
    base, _, _ = git_server
    with LocalRuntime(ROOT) as aws:
        settings = aws.settings
        request = DeploymentRequest(app_name="express-app", source={"type": "git", "url": f"{base}/app.git"})
        record = start_deployment(
            request, settings=settings, ddb=aws.client("dynamodb"), sfn=aws.client("stepfunctions")
        )
        follow(aws.client("stepfunctions"), record.execution_arn, timeout_s=120, on_step=None)
        aws.drain(timeout_s=30)
        final = deployments.get(aws.client("dynamodb"), settings.deployments_table, record.deployment_id)
        assert final.status == "SUCCEEDED", final.error
        keys = [o["Key"] for o in aws.client("s3").list_objects_v2(Bucket=settings.artifacts_bucket)["Contents"]]
        assert f"deployments/{record.deployment_id}/source.zip" in keys


def test_the_cli_plans_a_git_url_at_a_ref(git_server):
    from typer.testing import CliRunner

    from hivemind.cli.main import app

    base, _, _ = git_server
    runner = CliRunner()
    stable = runner.invoke(app, ["plan", f"{base}/app.git", "--ref", "stable", "--json"])
    assert stable.exit_code == 0, stable.output
    assert (json.loads(stable.stdout)["port"], json.loads(stable.stdout)["app_name"]) == (3000, "app")
    head = runner.invoke(app, ["plan", f"{base}/app.git", "--json"])
    assert json.loads(head.stdout)["port"] == 3100
    missing = runner.invoke(app, ["plan", f"{base}/app.git", "--ref", "nope"])
    assert missing.exit_code == 2 and "ref 'nope' not found" in missing.stderr and "Traceback" not in missing.output


def test_only_public_addresses_are_fetched_from(git_server, tmp_path):
    """On AWS the Plan function must not be a way into loopback (the Lambda runtime API), the
    metadata endpoint or private networks: by literal address, by a name that resolves there, or
    by a redirect to another host."""
    base, _, _ = git_server
    port = base.rsplit(":", 1)[1]
    refused = {
        f"{base}/app.git": "127.0.0.1 resolves to 127.0.0.1, a loopback address",
        f"http://localhost:{port}/app.git": "localhost resolves to 127.0.0.1, a loopback address",
        "https://169.254.169.254/latest/meta-data.git": "a link-local",
        "https://10.0.0.8/org/repo.git": "10.0.0.8, a private address",
    }
    for index, (url, reason) in enumerate(refused.items()):
        with pytest.raises(SourceError, match=re.escape(reason)):
            fetch_git(url, "HEAD", tmp_path / f"r{index}")
    # redirects: within the host followed, to another host refused (even one that is allowed)
    same = tmp_path / "same"
    fetch_git(f"{base}/same.git", "HEAD", same, allow_loopback=True)
    assert (same / "server.js").is_file()
    with pytest.raises(SourceError, match="only redirects to the same host"):
        fetch_git(f"{base}/moved.git", "HEAD", tmp_path / "moved", allow_loopback=True)
    # an allow-list of hosts, when the stack names one
    with pytest.raises(SourceError, match="not one of the git hosts this HiveMind allows"):
        fetch_git(f"{base}/app.git", "HEAD", tmp_path / "listed", allow_loopback=True, hosts=("github.com",))
