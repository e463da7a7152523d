"""The Python version: a version file, the Pipfile or pyproject's range, the image a Dockerfile
ships in, the newest version the CI tests; else the default."""

from __future__ import annotations

import re

from hivemind.planning.decisions import Decision, default
from hivemind.planning.documents import entry
from hivemind.planning.python.project import pinned, read_toml
from hivemind.planning.tree import SourceTree

DEFAULT_VERSION = "3.12"


_VERSION = re.compile(r"(\d+)\.(\d+)")


_DOCKER_FROM = re.compile(r"^FROM\s+(?:--platform=\S+\s+)?(?:\S+/)?python:(?P<version>\d+\.\d+)", re.IGNORECASE)


# a GitHub Actions `python-version: 3.10.4`, `python-version: ["3.11", "3.12"]` (not `${{ matrix... }}`)
_CI_PYTHON = re.compile(r"""^\s*-?\s*python-version:\s*(\[[^\]]*\]|['"]?\d+\.\d+[.\d]*['"]?)\s*(?:#.*)?$""")


def version_of(tree: SourceTree) -> Decision:
    for name in (".python-version", "runtime.txt"):
        text = tree.text(name) if tree.has(name) else None
        match = _VERSION.search(text or "")
        if match:
            return Decision(f"{match.group(1)}.{match.group(2)}", f"{name} pins it", name, 1)
    pyproject = read_toml(tree, "pyproject.toml")
    pipfile = entry(read_toml(tree, "Pipfile"), "requires", "python_version")
    if isinstance(pipfile, str) and _VERSION.search(pipfile):
        match = _VERSION.search(pipfile)
        assert match is not None
        return Decision(
            f"{match.group(1)}.{match.group(2)}",
            "the Pipfile requires it",
            "Pipfile",
            tree.line_of("Pipfile", "python"),
        )
    for requires, needle in (
        (entry(pyproject, "project", "requires-python"), "requires-python"),
        (entry(pyproject, "tool", "poetry", "dependencies", "python"), "python"),
    ):
        if isinstance(requires, str) and (chosen := _from_range(requires)):
            return Decision(
                chosen,
                f"the project requires Python {requires!r}",
                "pyproject.toml",
                tree.line_of("pyproject.toml", needle),
            )
    # where a repository without a version file says which Python it runs on: the image it ships
    # in (a Dockerfile anywhere, e.g. docker/app/Dockerfile), then the version its CI tests
    dockerfiles = [f for f in tree.files if re.fullmatch(r"(?:.*/)?(?:Dockerfile(?:\.\w+)?|\w+\.Dockerfile)", f)]
    hit = tree.first(_DOCKER_FROM, sorted(dockerfiles, key=lambda f: (f.count("/"), f)))
    if hit:
        return Decision(hit.match.group("version"), "the Dockerfile's base image", hit.file, hit.line)
    workflows = [f for f in tree.files if re.fullmatch(r"\.github/workflows/[^/]+\.ya?ml", f)]
    tested = [(h, v) for h in tree.search(_CI_PYTHON, workflows) for v in re.findall(r"\d+\.\d+", h.match.group(1))]
    if tested:
        hit, version = max(tested, key=lambda found: tuple(int(p) for p in found[1].split(".")))
        return Decision(version, "the newest Python the CI workflow tests with", hit.file, hit.line)
    return default(DEFAULT_VERSION, "no version file; a current Python on Amazon Linux 2023")


# Python minors Amazon Linux 2023 packages (python3.11, python3.12, python3.13): a range is met with one
# of these, the default first; another series is installed exactly by uv (templating/runtimes.py).
AVAILABLE_MINORS = ((3, 12), (3, 13), (3, 11))


_SPECIFIER = re.compile(
    r"(?P<op>~=|===?|!=|<=|>=|<|>|\^|~)?\s*(?P<major>\d+)(?:\.(?P<minor>\d+|\*))?(?:\.(?P<patch>\d+|\*))?"
)


def _from_range(requires: str) -> str | None:
    """The version to install for a requirement like '>=3.11', '^3.10', '~=3.12', '==3.11.*',
    '>=3.10,<4.0': the default when the range allows it, else the newest AL2023 Python it allows,
    else the lowest version the range names."""
    alternatives = [a for a in requires.split("||") if a.strip()]  # Poetry allows `^3.9 || ^3.10`
    for candidate in AVAILABLE_MINORS:
        if any(_allows(a, candidate) for a in alternatives):
            return f"{candidate[0]}.{candidate[1]}"
    floors = [
        (int(m.group("major")), int(m.group("minor")))
        for m in _SPECIFIER.finditer(requires)
        if (m.group("op") or "==") not in ("<", "<=", "!=") and (m.group("minor") or "").isdigit()
    ]
    return f"{min(floors)[0]}.{min(floors)[1]}" if floors else None


def _allows(alternative: str, version: tuple[int, int]) -> bool:
    """Whether every specifier of `alternative` (PEP 440 or Poetry syntax) allows Python major.minor."""
    specifiers = [m for m in _SPECIFIER.finditer(alternative) if m.group(0).strip()]
    if not specifiers:
        return False
    for spec in specifiers:
        op = spec.group("op") or "=="
        minor = spec.group("minor")
        bound = (int(spec.group("major")), int(minor) if minor and minor.isdigit() else 0)
        patch = spec.group("patch")
        exact = minor is None or not minor.isdigit()  # `3` or `3.*`: the whole major
        if op in ("==", "==="):
            ok = version[0] == bound[0] if exact else version == bound
        elif op == "!=":
            ok = not (version == bound and patch in (None, "*"))
        elif op == ">=":
            ok = version >= bound
        elif op == ">":
            ok = version > bound or (version == bound and patch is not None)
        elif op == "<=":
            ok = version <= bound
        elif op == "<":
            ok = version < bound or (version == bound and patch not in (None, "0"))
        elif op == "^":
            ok = version[0] == bound[0] and version >= bound
        elif op == "~=":
            # ~=3.10 is >=3.10,==3.*; ~=3.10.2 is >=3.10.2,==3.10.*
            ok = version >= bound and (version == bound if patch is not None else version[0] == bound[0])
        else:  # Poetry's ~3.10: >=3.10,<3.11
            ok = version == bound if not exact else version[0] == bound[0]
        if not ok:
            return False
    return True


# The newest Python each Django release supports (Django's own FAQ, "What Python version can I
# use with Django?"): a pinned Django sets the ceiling when nothing else names a version.
DJANGO_NEWEST_PYTHON = {
    (1, 8): (3, 5), (1, 9): (3, 5), (1, 10): (3, 5), (1, 11): (3, 7), (2, 0): (3, 7), (2, 1): (3, 7),
    (2, 2): (3, 9), (3, 0): (3, 9), (3, 1): (3, 9), (3, 2): (3, 10), (4, 0): (3, 10), (4, 1): (3, 11),
}  # fmt: skip
# the oldest Python that can be installed exactly on the instance (uv's python-build-standalone builds)
OLDEST_INSTALLABLE = (3, 7)


def within_framework(tree: SourceTree, chosen: Decision) -> Decision:
    """The version when a default would be newer than a pinned Django supports: the newest it
    does. When that Python is too old to install, no version (its reason says why: the Plan's
    error unless hivemind.toml names one)."""
    pin = pinned(tree, "django")
    series = (pin[0] + (0, 0))[:2] if pin else None
    if chosen.source != "default" or pin is None or series not in DJANGO_NEWEST_PYTHON:
        return chosen
    (version, file, line), newest = pin, DJANGO_NEWEST_PYTHON[(series[0], series[1])]
    django = ".".join(str(p) for p in version)
    if newest < OLDEST_INSTALLABLE:
        return Decision(
            None,
            f"Django {django} runs on Python {newest[0]}.{newest[1]} at most, and no Python older than "
            f"{OLDEST_INSTALLABLE[0]}.{OLDEST_INSTALLABLE[1]} can be installed on the instance: upgrade Django "
            "(and what it pins)",
            file,
            line,
        )
    return Decision(
        f"{newest[0]}.{newest[1]}", f"Django {django} runs on Python {newest[0]}.{newest[1]} at most", file, line
    )
