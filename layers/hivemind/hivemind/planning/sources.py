"""Sources other than an uploaded bundle, each fetched into a plain folder (no .git):

- a git repository over HTTPS at a branch, tag or commit, without a git binary (dulwich);
- a CodeCommit repository at a commit, through the CodeCommit API (GetFolder, GetBlob), so
  the Plan function needs IAM permissions only, no git credentials.
"""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path, PurePosixPath
from typing import Any

from botocore.exceptions import ClientError

from hivemind.errors import SourceError
from hivemind.planning.bundle import MAX_BUNDLE_BYTES, MAX_FILES, SKIP_DIRS, size_text

_SHA = re.compile(r"^[0-9a-f]{40}$")


def fetch_git(url: str, ref: str, dest: Path, *, max_bytes: int = MAX_BUNDLE_BYTES) -> Path:
    """Clone `url` at `ref` (HEAD, a branch or tag: shallow; a full commit id: then reset) into dest."""
    from dulwich import porcelain
    from dulwich.client import HTTPProxyUnauthorized, HTTPUnauthorized
    from dulwich.errors import GitProtocolError, HangupException, NotGitRepository

    commit = ref if _SHA.match(ref) else None
    branch = None if commit or ref in ("", "HEAD") else ref
    try:
        repo = porcelain.clone(
            url, str(dest), depth=None if commit else 1, branch=branch, checkout=True, errstream=io.BytesIO()
        )
        if commit:
            try:
                porcelain.reset(repo, "hard", commit)
            except KeyError as exc:
                raise SourceError(f"commit {commit} not found in {url}") from exc
        repo.close()
    except NotGitRepository as exc:
        raise SourceError(f"git repository not found: {url}") from exc
    except (HTTPUnauthorized, HTTPProxyUnauthorized) as exc:
        raise SourceError(f"no access to git repository {url}") from exc
    except (HangupException, GitProtocolError) as exc:
        message = str(exc).lower()
        if "401" in message or "403" in message or "unauthorized" in message or "forbidden" in message:
            raise SourceError(f"no access to git repository {url}") from exc
        raise SourceError(f"could not fetch {url} at {ref}: {exc}") from exc
    except (KeyError, ValueError) as exc:  # dulwich's answers for a branch or tag it cannot find
        raise SourceError(f"ref {ref!r} not found in {url}") from exc
    except OSError as exc:
        raise SourceError(f"could not reach {url}: {exc}") from exc
    shutil.rmtree(dest / ".git", ignore_errors=True)
    size = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
    if size > max_bytes:
        raise SourceError(f"{url} at {ref} is {size_text(size)}, over the {size_text(max_bytes)} limit")
    if not any(dest.iterdir()):
        raise SourceError(f"{url} at {ref} is empty")
    return dest


def fetch_codecommit(
    codecommit: Any, repository: str, commit: str, dest: Path, *, max_bytes: int = MAX_BUNDLE_BYTES
) -> Path:
    """Write the tree of `repository` at `commit` into dest, skipping what is never bundled.

    Symbolic links and submodules are not followed (a bundle never holds them either).
    """
    where = f"CodeCommit repository {repository} at {commit[:12]}"
    total, count, folders = 0, 0, ["/"]
    try:
        while folders:
            folder = codecommit.get_folder(repositoryName=repository, commitSpecifier=commit, folderPath=folders.pop())
            folders += [
                sub["absolutePath"] for sub in folder.get("subFolders", []) if sub["relativePath"] not in SKIP_DIRS
            ]
            for entry in folder.get("files", []):
                count += 1
                if count > MAX_FILES:
                    raise SourceError(f"{where} has more than {MAX_FILES} files; is a dependency folder committed?")
                content = codecommit.get_blob(repositoryName=repository, blobId=entry["blobId"])["content"]
                total += len(content)
                if total > max_bytes:
                    raise SourceError(f"{where} is over the {size_text(max_bytes)} limit")
                relative = PurePosixPath(entry["absolutePath"].lstrip("/"))
                if ".." in relative.parts:
                    raise SourceError(f"{where} has an unsafe path: {entry['absolutePath']}")
                target = dest.joinpath(*relative.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
                if entry.get("fileMode") == "EXECUTABLE":
                    target.chmod(0o755)
    except ClientError as exc:
        raise _codecommit_error(exc, repository, commit) from exc
    if count == 0:
        raise SourceError(f"{where} is empty")
    return dest


_CODECOMMIT_ERRORS = {
    "RepositoryDoesNotExistException": "CodeCommit repository {repository} not found",
    "InvalidRepositoryNameException": "{repository!r} is not a valid CodeCommit repository name",
    "CommitDoesNotExistException": "commit {commit} not found in CodeCommit repository {repository}",
    "InvalidCommitException": "commit {commit} not found in CodeCommit repository {repository}",
    "AccessDeniedException": (
        "no access to CodeCommit repository {repository}: the Plan function needs codecommit:GetFolder "
        "and codecommit:GetBlob on it"
    ),
    "EncryptionKeyAccessDeniedException": "no access to the KMS key of CodeCommit repository {repository}",
    "FileTooLargeException": "a file in CodeCommit repository {repository} is too large to fetch",
}


def _codecommit_error(exc: ClientError, repository: str, commit: str) -> SourceError:
    code = exc.response.get("Error", {}).get("Code", "")
    template = _CODECOMMIT_ERRORS.get(code)
    if template is None:
        return SourceError(f"could not read CodeCommit repository {repository} at {commit[:12]}: {code or exc}")
    return SourceError(template.format(repository=repository, commit=commit))
