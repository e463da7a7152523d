"""Sources other than an uploaded bundle: a git repository over HTTPS at a branch, tag or
commit, fetched without a git binary (dulwich), as a plain tree (its .git removed)."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

from hivemind.errors import SourceError
from hivemind.planning.bundle import MAX_BUNDLE_BYTES

_SHA = re.compile(r"^[0-9a-f]{40}$")


def fetch_git(url: str, ref: str, dest: Path, *, max_bytes: int = MAX_BUNDLE_BYTES) -> Path:
    """Clone `url` at `ref` (HEAD, a branch or tag: shallow; a full commit id: then reset) into dest."""
    from dulwich import porcelain
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
        raise SourceError(f"{url} at {ref} is {size / 2**20:.1f} MiB, over the {max_bytes / 2**20:.0f} MiB limit")
    if not any(dest.iterdir()):
        raise SourceError(f"{url} at {ref} is empty")
    return dest
