"""Sources other than an uploaded bundle, each fetched into a plain folder (no .git):

- a git repository over HTTPS at a branch, tag or commit, without a git binary (dulwich), from
  a public address only: the address a name resolves to is checked when the connection is made
  (after DNS, so a name pointing at 127.0.0.1, a private network or the instance metadata
  endpoint is refused too), redirects are followed only to the same host over HTTPS, and the
  stack may name the only hosts allowed;
- a CodeCommit repository at a commit, through the CodeCommit API (GetFolder, GetBlob), so
  the Plan function needs IAM permissions only, no git credentials.
"""

from __future__ import annotations

import io
import ipaddress
import re
import shutil
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urljoin, urlsplit

from botocore.exceptions import ClientError

from hivemind.errors import SourceError
from hivemind.planning.bundle import MAX_BUNDLE_BYTES, MAX_FILES, SKIP_DIRS, size_text

_SHA = re.compile(r"^[0-9a-f]{40}$")


class Refused(Exception):
    """A git fetch went somewhere HiveMind does not fetch from (said in the message)."""


def _address_kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why an address is not public (None when it is)."""
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local (the instance metadata endpoint's range)"
    if address.is_private:
        return "private"
    if not address.is_global:
        return "reserved"
    return None


def guarded_pool(*, allow_loopback: bool = False, hosts: tuple[str, ...] = ()) -> Any:
    """A urllib3 pool manager that connects only to public addresses (each address the name
    resolves to, checked when connecting), follows redirects only to the same host and scheme, and, when `hosts`
    is given, only to those hosts. `allow_loopback` admits 127.0.0.0/8 (the local runtime's git
    servers for tests; never on AWS, where loopback is the Lambda runtime API)."""
    import urllib3
    from dulwich.client import default_user_agent_string
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    def vetted(connection: Any) -> Any:
        """Resolve, refuse any address that is not public, then connect to a vetted address (never
        resolving again: a name cannot change its answer between the check and the connection)."""
        import socket

        infos = socket.getaddrinfo(connection.host, connection.port, type=socket.SOCK_STREAM)
        for *_, sockaddr in infos:
            address = ipaddress.ip_address(sockaddr[0])
            kind = _address_kind(address)
            if kind is not None and not (allow_loopback and address.is_loopback):
                raise Refused(
                    f"{connection.host} resolves to {address}, a {kind} address: "
                    "HiveMind fetches from public hosts only"
                )
        timeout = connection.timeout if isinstance(connection.timeout, (int, float)) else 30
        failure: OSError | None = None
        for *_, sockaddr in infos:
            try:
                return socket.create_connection((str(sockaddr[0]), int(sockaddr[1])), timeout=timeout)
            except OSError as exc:
                failure = exc
        raise failure or OSError(f"{connection.host}: no address")

    class _HTTP(HTTPConnection):
        def _new_conn(self) -> Any:
            return vetted(self)

    class _HTTPS(HTTPSConnection):
        def _new_conn(self) -> Any:
            return vetted(self)

    class _HTTPPool(HTTPConnectionPool):
        ConnectionCls = _HTTP

    class _HTTPSPool(HTTPSConnectionPool):
        ConnectionCls = _HTTPS

    class _Guarded(urllib3.PoolManager):
        def __init__(self) -> None:
            super().__init__(headers={"User-agent": default_user_agent_string()}, cert_reqs="CERT_REQUIRED")
            self.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}

        def urlopen(self, method: str, url: str, redirect: bool = True, **kw: Any) -> Any:  # type: ignore[override]
            for _ in range(6):
                parts = urlsplit(url)
                if hosts and (parts.hostname or "") not in hosts:
                    raise Refused(
                        f"{parts.hostname} is not one of the git hosts this HiveMind allows ({', '.join(hosts)})"
                    )
                response = super().urlopen(method, url, redirect=False, **kw)
                location = response.get_redirect_location() if redirect else None
                if not location:
                    response.url = url  # the URL it came from, after redirects (dulwich reads it)
                    return response
                target = urljoin(url, location)
                moved = urlsplit(target)
                if (moved.scheme, moved.hostname, moved.port) != (parts.scheme, parts.hostname, parts.port):
                    response.drain_conn()
                    raise Refused(
                        f"{url} redirects to {target}: only redirects to the same host over HTTPS are followed"
                    )
                response.drain_conn()
                response.release_conn()
                if response.status == 303:
                    method, kw = "GET", {k: v for k, v in kw.items() if k != "body"}
                url = target
            raise Refused(f"{url}: too many redirects")

    return _Guarded()


def fetch_git(
    url: str,
    ref: str,
    dest: Path,
    *,
    max_bytes: int = MAX_BUNDLE_BYTES,
    allow_loopback: bool = False,
    hosts: tuple[str, ...] = (),
    public_only: bool = True,
) -> str:
    """Clone `url` at `ref` (HEAD, a branch or tag: shallow; a full commit id: then reset) into
    dest, from public addresses only (`guarded_pool`) unless `public_only` is False (the CLI,
    fetching for its user on the user's own machine); the commit id it fetched."""
    from dulwich import porcelain
    from dulwich.client import HTTPProxyUnauthorized, HTTPUnauthorized
    from dulwich.errors import GitProtocolError, HangupException, NotGitRepository

    commit = ref if _SHA.match(ref) else None
    branch = None if commit or ref in ("", "HEAD") else ref
    guarded: dict[str, Any] = (
        {"pool_manager": guarded_pool(allow_loopback=allow_loopback, hosts=hosts)} if public_only else {}
    )
    try:
        repo = porcelain.clone(
            url,
            str(dest),
            depth=None if commit else 1,
            branch=branch,
            checkout=True,
            errstream=io.BytesIO(),
            **guarded,
        )
        if commit:
            try:
                porcelain.reset(repo, "hard", commit)
            except KeyError as exc:
                raise SourceError(f"commit {commit} not found in {url}") from exc
        fetched = repo.head().decode()
        repo.close()
    except Refused as exc:
        raise SourceError(f"refused to fetch {url}: {exc}") from None
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
    return fetched


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
