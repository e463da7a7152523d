"""What the app declares it needs: its dependencies (requirements files, pyproject.toml, Pipfile),
the install command that installs them, and the packages nothing would install."""

from __future__ import annotations

import posixpath
import re
import tomllib
from typing import Any

from hivemind.planning.decisions import Decision, default
from hivemind.planning.documents import entry, strings, table
from hivemind.planning.tree import SourceTree

_REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


Deps = dict[str, tuple[str, int | None]]


def dependencies(tree: SourceTree) -> Deps:
    """Declared dependency names (lower-case, `_` as `-`) -> where each is declared."""
    found: Deps = {}
    requirements = requirements_file(tree)
    for file, number, line in _requirement_lines(tree, requirements, 0) if requirements else ():
        match = _REQ_NAME.match(line)
        if match and not line.lstrip().startswith(("#", "-")):
            found.setdefault(_normal(match.group(1)), (file, number))
    pyproject = read_toml(tree, "pyproject.toml")
    specs = [("pyproject.toml", s) for s in strings(entry(pyproject, "project", "dependencies"))]
    specs += [("pyproject.toml", s) for s in table(pyproject, "tool", "poetry", "dependencies")]
    specs += [("Pipfile", s) for s in table(read_toml(tree, "Pipfile"), "packages")]
    for source, spec in specs:
        match = _REQ_NAME.match(spec)
        if match and match.group(1).lower() != "python":
            found.setdefault(_normal(match.group(1)), (source, tree.line_of(source, match.group(1))))
    return found


# Where a project without a requirements.txt at its root keeps its pip requirements, in the order
# they are preferred for a deployment (cookiecutter-django's requirements/production.txt).
REQUIREMENT_FILES = (
    "requirements.txt",
    "requirements/production.txt",
    "requirements/prod.txt",
    "requirements/base.txt",
    "requirements/common.txt",
)


_INCLUDE_REQUIREMENTS = re.compile(r"^\s*(?:-r|--requirement)[\s=]+(?P<file>\S+)")


def requirements_file(tree: SourceTree) -> str | None:
    return next((f for f in REQUIREMENT_FILES if tree.has(f)), None)


def _requirement_lines(tree: SourceTree, name: str, depth: int) -> list[tuple[str, int, str]]:
    """(file, line number, line) of a requirements file and of the files it includes with -r."""
    lines: list[tuple[str, int, str]] = []
    folder = name.rpartition("/")[0]
    for number, line in enumerate((tree.text(name) or "").splitlines(), start=1):
        include = _INCLUDE_REQUIREMENTS.match(line)
        if include is None:
            lines.append((name, number, line))
            continue
        target = posixpath.normpath(posixpath.join(folder, include.group("file")))
        if depth < 5 and tree.has(target):
            lines += _requirement_lines(tree, target, depth + 1)
    return lines


_PIN = re.compile(r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*==\s*(?P<version>\d+(?:\.\d+)*)")


def pinned(tree: SourceTree, name: str) -> tuple[tuple[int, ...], str, int] | None:
    """The version a requirements file pins `name` to exactly (`Django==1.10.6`), with where."""
    requirements = requirements_file(tree)
    for file, number, line in _requirement_lines(tree, requirements, 0) if requirements else ():
        match = _PIN.match(line)
        if match and _normal(match.group("name")) == name:
            return tuple(int(p) for p in match.group("version").split(".")), file, number
    return None


def _normal(name: str) -> str:
    return name.lower().replace("_", "-")


def read_toml(tree: SourceTree, name: str) -> dict[str, Any]:
    text = tree.text(name) if tree.has(name) else None
    try:
        return tomllib.loads(text) if text else {}
    except tomllib.TOMLDecodeError:
        return {}


# Frameworks by the package that installs them (None, "wsgi": the standard library's own)
_PACKAGES = {
    "flask": "Flask",
    "django": "Django",
    "fastapi": "fastapi",
    "streamlit": "streamlit",
    "dash": "dash",
    "gradio": "gradio",
    "sanic": "sanic",
    "starlette": "starlette",
    "litestar": "litestar",
    "quart": "quart",
    "tornado": "tornado",
    "aiohttp": "aiohttp",
    "bottle": "bottle",
    "falcon": "falcon",
    "pyramid": "pyramid",
}


def needs_installing(framework: object, server: object) -> list[str]:
    """The packages the plan runs that only an install would provide."""
    needs = [_PACKAGES[str(framework)]] if str(framework) in _PACKAGES else []
    return needs + ([str(server)] if server and str(server) not in ("python", str(framework)) else [])


# Packages of an operating system's own Python that `pip freeze` lists (Ubuntu's `pkg-resources==0.0.0`,
# python-apt): pip finds no distribution for them, so the install fails.
SYSTEM_PACKAGES = frozenset(
    {
        "pkg-resources", "python-apt", "apturl", "command-not-found", "ubuntu-drivers-common", "ubuntu-advantage-tools",
        "unattended-upgrades", "ufw", "pycups", "brlapi", "louis", "language-selector", "usb-creator", "xkit",
        "onboard", "sessioninstaller", "system-service", "systemd-python", "python-systemd", "python-debian",
        "checkbox-support", "plainbox", "guacamole", "padme", "xdiagnose", "cupshelpers", "distro-info",
    }
)  # fmt: skip


def system_packages(tree: SourceTree) -> Decision | None:
    """A warning naming the requirements that only an operating system's Python has (a `pip freeze`
    of the machine's whole Python), which pip cannot install."""
    requirements = requirements_file(tree)
    found = [
        (file, number, match.group(1))
        for file, number, line in (_requirement_lines(tree, requirements, 0) if requirements else [])
        if (match := _REQ_NAME.match(line)) and _normal(match.group(1)) in SYSTEM_PACKAGES
    ]
    if not found:
        return None
    names = ", ".join(name for _, _, name in found)
    reason = (
        f"{found[0][0]} lists packages of an operating system's own Python ({names}), which pip cannot install: "
        "remove them (a `pip freeze` of the whole machine lists them)"
    )
    return Decision(None, reason, found[0][0], found[0][1])


_GIT_PROTOCOL = re.compile(r"\bgit\+git://(?P<host>[^/\s]+)")


def install_of(tree: SourceTree) -> Decision:
    requirements = requirements_file(tree)
    for file, number, line in _requirement_lines(tree, requirements, 0) if requirements else ():
        # GitHub stopped serving the unauthenticated git:// protocol in March 2022: pip's clone fails
        if (old := _GIT_PROTOCOL.search(line)) and not line.lstrip().startswith("#") and "github" in old.group("host"):
            return Decision(
                None,
                f"{file} installs {line.strip()} over git://, which GitHub no longer serves (since March 2022): "
                "write git+https:// instead",
                file,
                number,
            )
    pyproject = read_toml(tree, "pyproject.toml")
    if tree.has("uv.lock"):
        return Decision(
            "pip install uv && uv export --frozen --no-dev --no-hashes -o requirements.lock.txt"
            " && pip install -r requirements.lock.txt",
            "uv.lock pins the dependencies",
            "uv.lock",
            1,
        )
    if tree.has("poetry.lock") or "poetry" in table(pyproject, "tool"):
        file = "poetry.lock" if tree.has("poetry.lock") else "pyproject.toml"
        return Decision(
            "pip install poetry && poetry config virtualenvs.create false --local"
            " && poetry install --only main --no-root --no-interaction",
            f"{file}: a Poetry project",
            file,
            1 if file == "poetry.lock" else tree.line_of(file, "tool.poetry"),
        )
    if tree.has("pdm.lock"):
        return Decision(
            "pip install pdm && pdm export --prod --no-hashes -o requirements.lock.txt"
            " && pip install -r requirements.lock.txt",
            "pdm.lock pins the dependencies",
            "pdm.lock",
            1,
        )
    requirements = requirements_file(tree)
    if requirements == "requirements.txt" or (requirements and not _installable(tree, pyproject)):
        return Decision(f"pip install -r {requirements}", f"{requirements} lists the dependencies", requirements, 1)
    if tree.has("Pipfile"):
        deploy = " --deploy" if tree.has("Pipfile.lock") else ""
        return Decision(f"pip install pipenv && pipenv install --system{deploy}", "a Pipfile project", "Pipfile", 1)
    if _installable(tree, pyproject):
        file = "pyproject.toml" if tree.has("pyproject.toml") else "setup.py"
        return Decision("pip install .", f"{file} declares the project", file, 1)
    if requirements:
        return Decision(f"pip install -r {requirements}", f"{requirements} lists the dependencies", requirements, 1)
    return default(None, "no dependency manifest (pyproject.toml holds tool settings only)")


def _installable(tree: SourceTree, pyproject: dict[str, Any]) -> bool:
    """Whether `pip install .` builds the project: a setup.py, or a pyproject.toml with a [project]
    or [build-system] table (one with tool settings only builds nothing)."""
    return tree.has("setup.py") or "project" in pyproject or "build-system" in pyproject


def with_pkg_resources(tree: SourceTree, install: Decision) -> Decision:
    """The install, keeping setuptools below 81 when the app pins a gunicorn older than 21 (20.1.0's
    util.py imports pkg_resources at start; 21.0.0's wheel no longer does): setuptools 81 and later
    no longer ship it, and pip resolves gunicorn's unbounded `setuptools>=3.0` to the newest ("No
    module named 'pkg_resources'")."""
    pin = pinned(tree, "gunicorn")
    if pin is None or pin[0][0] >= 21 or not str(install.value or "").startswith("pip install -r "):
        return install
    version, file, line = pin
    return Decision(
        f'{install.value} "setuptools<81"',
        f"{install.reason}; gunicorn {'.'.join(map(str, version))} imports pkg_resources, which setuptools 81 "
        "and later no longer have",
        file,
        line,
    )
