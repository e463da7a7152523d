"""Source bundles: a folder zipped for upload, and a zip safely unpacked for planning.

What is never bundled or read: version control, dependency and virtualenv folders, caches
and build output that the instance rebuilds anyway, and what the folder's `.gitignore` files
(git's rules, through dulwich) and a `.hivemindignore` at its top (the same syntax) exclude: a
git-ignored `.env` or key file stays on the machine it is on.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Any

from hivemind.errors import SourceError, size_text

MAX_BUNDLE_BYTES = 200 * 1024 * 1024
MAX_FILES = 50_000
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "__pycache__",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".aws-sam",
        ".hivemind",
        ".idea",
        ".vscode",
        ".next",
        ".nuxt",
        ".terraform",
        ".gradle",
        ".cache",
        "bower_components",
    }
)
SKIP_FILES = frozenset({".DS_Store", "Thumbs.db"})
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)


def source_files(root: Path, *, max_files: int = MAX_FILES) -> list[Path]:
    """The app's files under root, sorted, relative to root; symlinks are not followed."""
    return [Path(f) for f in source_paths(root, max_files=max_files)]


IGNORE_FILE = ".hivemindignore"


def _ignores(root: Path) -> Any:
    """git's ignore rules for the tree (every .gitignore, and .hivemindignore at the top), or
    None when the top has neither (then nested .gitignore files are not read either: the
    common case costs nothing)."""
    if not (root / ".gitignore").is_file() and not (root / IGNORE_FILE).is_file():
        return None
    from dulwich.ignore import IgnoreFilter, IgnoreFilterManager

    extra = [IgnoreFilter.from_path(str(root / IGNORE_FILE))] if (root / IGNORE_FILE).is_file() else []
    return IgnoreFilterManager(str(root), extra, False)


def source_paths(root: Path, *, max_files: int = MAX_FILES) -> list[str]:
    """source_files as POSIX strings (what the planner reads: no Path object per file)."""
    found: list[str] = []
    ignores = _ignores(root)

    def walk(folder: str, prefix: str) -> None:
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError:
            return
        folders = []
        for entry in entries:
            if entry.is_symlink():
                continue
            if entry.is_dir(follow_symlinks=False):
                if entry.name not in SKIP_DIRS and not os.path.isfile(os.path.join(entry.path, "pyvenv.cfg")):
                    if ignores is not None and ignores.is_ignored(f"{prefix}{entry.name}/"):
                        continue
                    folders.append(entry)
            elif entry.name not in SKIP_FILES:
                if ignores is not None and ignores.is_ignored(prefix + entry.name):
                    continue
                found.append(prefix + entry.name)
                if len(found) > max_files:
                    raise SourceError(f"{root} has more than {max_files} files; is a dependency folder included?")
        for entry in folders:
            walk(entry.path, f"{prefix}{entry.name}/")

    walk(str(root), "")
    return found


def bundle_directory(root: Path, *, max_bytes: int = MAX_BUNDLE_BYTES) -> bytes:
    """Zip a source folder deterministically (sorted entries, fixed times, modes kept)."""
    if not root.exists():
        raise SourceError(f"source {root} not found")
    if not root.is_dir():
        raise SourceError(f"source {root} is not a folder")
    files = source_files(root)
    if not files:
        raise SourceError(
            f"source {root} is empty (nothing left after skipping {', '.join(sorted(SKIP_DIRS)[:4])}, ...)"
        )
    total = sum((root / f).stat().st_size for f in files)
    if total > max_bytes:
        raise SourceError(f"source {root} is {size_text(total)}, over the {size_text(max_bytes)} limit")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for relative in files:
            info = zipfile.ZipInfo(relative.as_posix(), date_time=_FIXED_TIME)
            info.external_attr = (stat.S_IMODE((root / relative).stat().st_mode) | stat.S_IFREG) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, (root / relative).read_bytes())
    return buffer.getvalue()


def extract_bundle(
    data: bytes, dest: Path, *, max_bytes: int = 4 * MAX_BUNDLE_BYTES, max_files: int = MAX_FILES
) -> Path:
    """Unpack a bundle into dest, refusing paths that escape it, links, and zip bombs."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise SourceError("the source bundle is not a zip archive") from exc
    with archive:
        entries = archive.infolist()
        if len(entries) > max_files:
            raise SourceError(f"the source bundle has {len(entries)} entries, over the {max_files} limit")
        if sum(e.file_size for e in entries) > max_bytes:
            raise SourceError(f"the source bundle unpacks to more than {size_text(max_bytes)}")
        files = [e for e in entries if not e.is_dir()]
        if not files:
            raise SourceError("the source bundle is empty")
        names = {PurePosixPath(e.filename).as_posix() for e in files}
        written = 0
        for entry in files:
            name = PurePosixPath(entry.filename)
            if name.is_absolute() or ".." in name.parts or entry.filename.startswith(("/", "\\")):
                raise SourceError(f"the source bundle has an unsafe path: {entry.filename}")
            if stat.S_ISLNK(entry.external_attr >> 16):
                raise SourceError(f"the source bundle has a symbolic link: {entry.filename}")
            clash = next((str(p) for p in name.parents if str(p) != "." and str(p) in names), None)
            if clash is not None:
                raise SourceError(f"the source bundle has {entry.filename} inside {clash}, which is a file")
            target = dest / Path(*name.parts)
            if target.exists():
                raise SourceError(f"the source bundle holds {entry.filename} twice")
            target.parent.mkdir(parents=True, exist_ok=True)
            # the sizes a zip declares can lie: count what really inflates
            try:
                with archive.open(entry) as source, target.open("wb") as out:
                    while chunk := source.read(1024 * 1024):
                        written += len(chunk)
                        if written > max_bytes:
                            raise SourceError(f"the source bundle unpacks to more than {size_text(max_bytes)}")
                        out.write(chunk)
            except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                raise SourceError(f"the source bundle is damaged at {entry.filename}: {exc}") from None
            mode = stat.S_IMODE(entry.external_attr >> 16)
            if mode:
                target.chmod(mode | stat.S_IRUSR | stat.S_IWUSR)
    return dest
