"""A read-only view of a source tree for detectors: its files, their text, and line searches.

It walks the tree once, skipping what bundle.py never bundles, and reads small text files
only (so a huge vendored tree stays cheap), each at most once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from hivemind.planning.bundle import source_paths

MAX_TEXT_BYTES = 1024 * 1024
# Detectors read code to find ports and routes; entry points sit near the top of a tree, so the
# shallowest files are searched and a huge tree costs no more than this many reads.
MAX_SEARCHED_FILES = 1500
# Folders of examples, documentation, tests, vendored code and build output near the top of a
# tree: their code is not the app's source (build output is rebuilt on the instance). Deeper down
# such names are code (Java's `com/example/demo` package).
ASIDE_DEPTH = 2
ASIDE = frozenset(
    {
        "docs",
        "doc",
        "documentation",
        "example",
        "examples",
        "sample",
        "samples",
        "test",
        "tests",
        "__tests__",
        "spec",
        "e2e",
        "fixtures",
        "testdata",
        "benchmarks",
        "bench",
        "vendor",
        "third_party",
        "dist",
        "build",
        "target",
        "out",
        ".output",
        ".svelte-kit",
        "coverage",
    }
)


def is_aside(path: str) -> bool:
    """Whether a path lies in (or is) a folder of examples, docs, tests, vendored code or build
    output near the top of the tree (`docs/x.py`, `src/test/A.java`; not `src/main/java/com/example/A.java`)."""
    return not ASIDE.isdisjoint(path.split("/")[:ASIDE_DEPTH])


@dataclass(frozen=True)
class Hit:
    """A regex match in a file: where, and the match itself."""

    file: str
    line: int
    match: re.Match[str]


@dataclass
class SourceTree:
    root: Path
    files: list[str] = field(default_factory=list)
    _text: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def scan(cls, root: Path) -> SourceTree:
        return cls(root=root, files=source_paths(root))

    def sub(self, folder: str) -> SourceTree:
        """The tree of one folder inside this one, without walking the disk again."""
        prefix = folder.strip("/") + "/"
        return SourceTree(root=self.root / folder, files=[f[len(prefix) :] for f in self.files if f.startswith(prefix)])

    def is_binary_only(self, sample: int = 200) -> bool:
        """No text file among the first `sample` files (a NUL byte in the first 8 KiB means binary)."""
        for name in self.files[:sample]:
            try:
                with (self.root / name).open("rb") as handle:
                    if b"\0" not in handle.read(8192):
                        return False
            except OSError:
                continue
        return bool(self.files)

    def has(self, name: str) -> bool:
        return name in self._file_set

    @property
    def _file_set(self) -> set[str]:
        cached = self.__dict__.get("_files_cache")
        if cached is None:
            cached = self.__dict__["_files_cache"] = set(self.files)
        return cached

    def text(self, name: str) -> str | None:
        """The file's text, or None when it is missing, too large or not text."""
        if name not in self._text:
            path = self.root / name
            try:
                if path.stat().st_size > MAX_TEXT_BYTES:
                    self._text[name] = None
                else:
                    self._text[name] = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                self._text[name] = None
        return self._text[name]

    def with_suffix(self, *suffixes: str, top_levels: int = 3) -> list[str]:
        """Files with these suffixes, at most `top_levels` folders deep, shallowest first, none in
        a folder of examples, docs, tests or vendored code."""
        key = (suffixes, top_levels)
        cache = self.__dict__.setdefault("_suffix_cache", {})
        if key not in cache:
            chosen = [
                (depth, f)
                for f in self.files
                if f.endswith(suffixes) and (depth := f.count("/")) < top_levels and not is_aside(f)
            ]
            chosen.sort()
            cache[key] = [f for _, f in chosen[:MAX_SEARCHED_FILES]]
        return list(cache[key])

    def search(self, pattern: str | re.Pattern[str], files: Iterable[str]) -> Iterator[Hit]:
        """Every line match of `pattern` in `files`, in order."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        for name in files:
            text = self.text(name)
            if not text:
                continue
            for number, line in enumerate(text.splitlines(), start=1):
                for match in regex.finditer(line):
                    yield Hit(name, number, match)

    def first(self, pattern: str | re.Pattern[str], files: Iterable[str]) -> Hit | None:
        return next(self.search(pattern, files), None)

    def line_of(self, name: str, needle: str) -> int | None:
        """The first line of `name` that contains `needle`."""
        text = self.text(name) or ""
        return next((n for n, line in enumerate(text.splitlines(), start=1) if needle in line), None)
