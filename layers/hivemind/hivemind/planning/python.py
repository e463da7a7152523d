"""Python apps: Django, Flask, FastAPI and other ASGI apps, plain WSGI, Dash, Streamlit, Gradio,
Sanic, aiohttp and Tornado; dependencies from
requirements.txt, pyproject.toml (PEP 621, Poetry, uv, PDM) or a Pipfile.

Web apps run under a production server as Elastic Beanstalk's Python platform does:
gunicorn for WSGI, uvicorn for ASGI (installed next to the app's own dependencies when the
app does not declare it), unless the app says how it starts (`if __name__ == "__main__"`,
a Procfile, hivemind.toml).
"""

from __future__ import annotations

import posixpath
import re
import tomllib
from typing import Any

from hivemind.planning.decisions import REQUIRED, WARNING, Decision, Detection, default
from hivemind.planning.documents import entry, strings, table
from hivemind.planning.ports import PORT_VAR
from hivemind.planning.procfile import web_command
from hivemind.planning.routes import pick_from_paths
from hivemind.planning.tree import Hit, SourceTree

LANGUAGE = "python"
MANIFESTS: tuple[str, ...] = ("requirements.txt", "pyproject.toml", "Pipfile", "setup.py")
PROCFILE_WORDS = frozenset(
    {
        "python",
        "python3",
        "gunicorn",
        "uvicorn",
        "uwsgi",
        "flask",
        "hypercorn",
        "daphne",
        "waitress-serve",
        "granian",
        "fastapi",
    }
)
DEFAULT_VERSION = "3.12"
DEFAULT_PORTS = {
    "flask": 5000, "django": 8000, "fastapi": 8000, "dash": 8050, "streamlit": 8501, "gradio": 7860,
    "sanic": 8000, "aiohttp": 8080, "tornado": 8888, None: 8000,
}  # fmt: skip
WSGI, ASGI = ("flask", "django", "wsgi", "dash"), ("fastapi", "starlette", "litestar", "quart")
# Frameworks with a server of their own that gunicorn cannot run: the app's own `__main__` or CLI starts them.
OWN_SERVER = ("streamlit", "gradio", "sanic", "aiohttp", "tornado")
# Declared dependencies, most specific first: Dash runs on Flask; Streamlit and Gradio apps often
# declare aiohttp or tornado as clients or leftovers.
FRAMEWORKS = (
    "django", "fastapi", "dash", "flask", "starlette", "litestar", "quart", "sanic", "streamlit", "gradio",
    "aiohttp", "tornado",
)  # fmt: skip
# What a `__main__` block calls to serve by itself: the app then starts with `python <file>`.
_SERVES = re.compile(
    r"""\.run(?:_server)?\([^)]*\b(?:port|host)\s*=|\buvicorn\.run\(|\brun_app\(|\.listen\(|\.launch\(|serve\("""
)
# Dash's Flask server, which gunicorn runs: `server = app.server`
_DASH_SERVER = re.compile(r"""^(?P<var>\w+)\s*=\s*(?P<app>\w+)\.server\s*$""")
# Gradio's launch(): its fixed port and host, when given
_LAUNCH_PORT = re.compile(r"""\.launch\([^)]*\bserver_port\s*=\s*(?P<port>\d{2,5})""")
_LAUNCH_HOST = re.compile(r"""\.launch\([^)]*\bserver_name\s*=""")
_LISTEN_PORT = re.compile(r"""\.listen\(\s*(?P<port>\d{2,5})\b""")
_STREAMLIT_VERSION = re.compile(r"""^\s*streamlit\s*[=~]=\s*(?P<major>\d+)\.(?P<minor>\d+)""", re.IGNORECASE)
_REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_ENV_PORT = re.compile(
    r"""os\.(?:environ\.get|getenv)\(\s*['"](?P<env>""" + PORT_VAR + r""")['"]\s*"""
    r"""(?:,\s*['"]?(?P<default>\d{2,5})['"]?\s*)?\)(?:\s*or\s*['"]?(?P<fallback>\d{2,5}))?"""
)
_ENV_PORT_REQUIRED = re.compile(r"""os\.environ\[\s*['"](?P<env>""" + PORT_VAR + r""")['"]\s*\]""")
_RUN_PORT = re.compile(r"""\.run(?:_server|_app)?\([^)]*\bport\s*=\s*(?P<port>\d{2,5})""")
# gunicorn.conf.py: bind = "0.0.0.0:8080", bind = ["[::]:8080"], bind = f"0.0.0.0:{port}"
_BIND = re.compile(r"""^bind\s*=\s*\[?\s*f?['"][^'"]*:(?:(?P<port>\d{2,5})|\{[^}]*\})['"]""")
_ROUTE = re.compile(
    r"""(?:@(?P<obj>\w+)\.(?:route|get|head|api_route)|\b(?P<rule>\w+)\.add_url_rule)\(\s*['"](?P<path>/[^'"]*)['"]"""
)
# a router whose routes are mounted under a prefix: FastAPI's APIRouter, Flask's Blueprint
_ROUTER = r"""^{var}\s*(?::\s*\w+\s*)?=\s*(?:\w+\.)?(?:APIRouter|Blueprint)\((?P<args>[^)]*)"""
_PREFIX_ARG = re.compile(r"""\b(?:url_)?prefix\s*=\s*(?:(?P<q>['"])(?P<prefix>[^'"]*)(?P=q)|(?P<expr>[^,)\s]+))""")
_INCLUDE = re.compile(
    r"""\b(?P<parent>\w+)\.(?:include_router|register_blueprint)\(\s*(?P<target>[\w.]+)\s*(?P<args>[^)]*)"""
)
_DJANGO_PATH = re.compile(r"""\b(?:re_)?path\(\s*r?['"]\^?(?P<path>[^'"$]*)\$?['"]""")
_APP_OBJECT = re.compile(
    r"""^(?P<var>\w+)\s*(?::\s*\w+\s*)?=\s*(?:\w+\.)?(?P<kind>Flask|FastAPI|Starlette|Litestar|Quart)\("""
)
# a factory that runs without arguments: none, or only ones with defaults (`create_app(test_config=None)`)
_APP_FACTORY = re.compile(
    r"""^def (?P<var>create_app|make_app|app_factory|get_app|get_application)\("""
    r"""\s*(?:\w+\s*(?::\s*[^=,()]+)?=\s*[^,()]+(?:\(\))?\s*,?\s*)*\)"""
)
# the app object a module builds by calling a factory: `app = create_app()`, `app = get_application()`
_APP_CALL = re.compile(
    r"""^(?P<var>app|application|api)\s*(?::\s*\w+\s*)?=\s*(?:\w+\.)?(?P<call>[a-z_]\w*)\([^)]*\)\s*$"""
)
_WSGI_CALLABLE = re.compile(r"""^(?:def (?P<def>application)\(\s*environ|(?P<var>application)\s*=)""")
# `if __name__ == "__main__":`, written with or without spaces, either way round
_MAIN = re.compile(r"""^if\s*\(?\s*(?:__name__\s*==\s*['"]__main__['"]|['"]__main__['"]\s*==\s*__name__)""")
_VERSION = re.compile(r"(\d+)\.(\d+)")
_DOCKER_FROM = re.compile(r"^FROM\s+(?:--platform=\S+\s+)?(?:\S+/)?python:(?P<version>\d+\.\d+)", re.IGNORECASE)
# a GitHub Actions `python-version: 3.10.4`, `python-version: ["3.11", "3.12"]` (not `${{ matrix... }}`)
_CI_PYTHON = re.compile(r"""^\s*-?\s*python-version:\s*(\[[^\]]*\]|['"]?\d+\.\d+[.\d]*['"]?)\s*(?:#.*)?$""")
_CONFIG_FILES = ("gunicorn.conf.py", "gunicorn_config.py", "gunicorn.config.py")

Deps = dict[str, tuple[str, int | None]]


def dependencies(tree: SourceTree) -> Deps:
    """Declared dependency names (lower-case, `_` as `-`) -> where each is declared."""
    found: Deps = {}
    requirements = _requirements_file(tree)
    for file, number, line in _requirement_lines(tree, requirements, 0) if requirements else ():
        match = _REQ_NAME.match(line)
        if match and not line.lstrip().startswith(("#", "-")):
            found.setdefault(_normal(match.group(1)), (file, number))
    pyproject = _toml(tree, "pyproject.toml")
    specs = [("pyproject.toml", s) for s in strings(entry(pyproject, "project", "dependencies"))]
    specs += [("pyproject.toml", s) for s in table(pyproject, "tool", "poetry", "dependencies")]
    specs += [("Pipfile", s) for s in table(_toml(tree, "Pipfile"), "packages")]
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


def _requirements_file(tree: SourceTree) -> str | None:
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


def _normal(name: str) -> str:
    return name.lower().replace("_", "-")


def _toml(tree: SourceTree, name: str) -> dict[str, Any]:
    text = tree.text(name) if tree.has(name) else None
    try:
        return tomllib.loads(text) if text else {}
    except tomllib.TOMLDecodeError:
        return {}


def detect(tree: SourceTree) -> Detection | None:
    manifest = next((m for m in MANIFESTS if tree.has(m)), None)
    sources = [f for f in tree.with_suffix(".py") if not _is_test(f)]
    if manifest is None and not any(f in ("app.py", "main.py", "wsgi.py", "manage.py") for f in sources):
        return None
    deps = dependencies(tree)
    evidence_file = manifest or next(f for f in sources if "/" not in f)
    decisions: Detection = {
        "language": Decision("python", f"{evidence_file} is a Python project file", evidence_file, 1),
        "framework": _framework(tree, deps, sources),
        "runtime_version": _version(tree),
        "install_command": _install(tree),
        "build_command": default(None, "Python apps need no build step"),
    }
    framework = decisions["framework"].value
    port, port_env = _port(tree, sources, framework)
    decisions["port"], decisions["port_env"] = port, port_env
    start, server = _start(tree, deps, framework, sources, port_env.value)
    decisions["start_command"] = start
    procfile = web_command(tree)
    runs_own = procfile is not None and str(server) not in str(procfile.value).split()[0]
    if server and server not in deps and decisions["install_command"].value and not runs_own:
        install = decisions["install_command"]
        decisions["install_command"] = Decision(
            f"{install.value} && pip install {server}",
            f"{install.reason}; {server} runs the app and is not declared, so HiveMind adds it",
            install.file,
            install.line,
        )
    if start.value and "$PORT" in str(start.value) and port_env.value is None:
        decisions["port_env"] = Decision("PORT", "the start command binds $PORT", start.file, start.line)
    if procfile is not None and _GUNICORN_READS_PORT.match(str(procfile.value)):
        decisions["port_env"] = Decision(
            "PORT", "gunicorn binds 0.0.0.0:$PORT when given no --bind", procfile.file, procfile.line
        )
    needs = _needs_installing(framework, server)
    if decisions["install_command"].value is None and needs:
        decisions[f"{REQUIRED}install_command"] = Decision(
            None,
            f"the app needs {' and '.join(needs)}, which no requirements.txt, pyproject.toml or Pipfile lists, "
            "so nothing would install them: add a requirements.txt that pins them",
            decisions["framework"].file,
            decisions["framework"].line,
        )
    if framework == "django" and (hosts := _allowed_hosts(tree, sources)) is not None:
        decisions[f"{WARNING}allowed-hosts"] = hosts
    junk = _system_packages(tree)
    if junk is not None:
        decisions[f"{WARNING}system-packages"] = junk
    decisions["health_path"] = _health(tree, sources, framework)
    return decisions


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


def _needs_installing(framework: object, server: object) -> list[str]:
    """The packages the plan runs that only an install would provide."""
    needs = [_PACKAGES[str(framework)]] if str(framework) in _PACKAGES else []
    return needs + ([str(server)] if server and str(server) not in ("python", str(framework)) else [])


# gunicorn without a bind of its own (no -b/--bind, no -c config) binds 0.0.0.0:$PORT when PORT is set
_GUNICORN_READS_PORT = re.compile(r"""^(?:\S*/)?gunicorn\b(?!.*(?:\s-b\b|\s--bind\b|\s-c\b|\s--config\b))""")
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


_ALLOWED_HOSTS = re.compile(r"^\s*ALLOWED_HOSTS\s*(?:=|\+=|\.append\(|\.extend\()\s*(?P<value>.*)$")


def _allowed_hosts(tree: SourceTree, sources: list[str]) -> Decision | None:
    """A warning when no setting of Django's ALLOWED_HOSTS lets in the Host header of the load
    balancer's health checks (the instance's private IP and port): Django answers them 400."""
    hits = list(tree.search(_ALLOWED_HOSTS, [f for f in sources if "settings" in f or f.endswith("production.py")]))
    if not hits or any("*" in h.match.group("value") for h in hits):
        return None
    first = hits[0]
    return Decision(
        None,
        f"Django's ALLOWED_HOSTS ({first.match.group(0).strip()}) never allows the load balancer's health "
        "checks, whose Host is the instance's private IP: Django answers them 400 (DisallowedHost) and the "
        "target never turns healthy; allow that host (ALLOWED_HOSTS = ['*'] behind the load balancer, or the "
        "instance's private IP read at start)",
        first.file,
        first.line,
    )


def _system_packages(tree: SourceTree) -> Decision | None:
    """A warning naming the requirements that only an operating system's Python has (a `pip freeze`
    of the machine's whole Python), which pip cannot install."""
    requirements = _requirements_file(tree)
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


def _is_test(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return base.startswith("test_") or base.endswith("_test.py") or name.startswith(("tests/", "test/"))


def _framework(tree: SourceTree, deps: Deps, sources: list[str]) -> Decision:
    for name in FRAMEWORKS:
        if name in deps:
            file, line = deps[name]
            return Decision(name, f"{name} is a declared dependency", file, line)
    if tree.has("manage.py"):
        return Decision("django", "manage.py is Django's entry point", "manage.py", 1)
    hit = tree.first(r"^\s*(?:from|import)\s+(flask|fastapi|django|streamlit|dash|gradio|sanic)\b", sources)
    if hit:
        return Decision(hit.match.group(1), f"the code imports {hit.match.group(1)}", hit.file, hit.line)
    hit = tree.first(_WSGI_CALLABLE, sources)
    if hit:
        return Decision("wsgi", "the code defines a WSGI `application`", hit.file, hit.line)
    return default(None, "no web framework recognised")


def _version(tree: SourceTree) -> Decision:
    for name in (".python-version", "runtime.txt"):
        text = tree.text(name) if tree.has(name) else None
        match = _VERSION.search(text or "")
        if match:
            return Decision(f"{match.group(1)}.{match.group(2)}", f"{name} pins it", name, 1)
    pyproject = _toml(tree, "pyproject.toml")
    pipfile = entry(_toml(tree, "Pipfile"), "requires", "python_version")
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


def _install(tree: SourceTree) -> Decision:
    pyproject = _toml(tree, "pyproject.toml")
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
    requirements = _requirements_file(tree)
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


def _port(tree: SourceTree, sources: list[str], framework: object) -> tuple[Decision, Decision]:
    fallback = DEFAULT_PORTS.get(framework, 8000)  # type: ignore[call-overload]
    hit = tree.first(_ENV_PORT, sources)
    if hit:
        env, given = hit.match.group("env"), hit.match.group("default") or hit.match.group("fallback")
        port_env = Decision(env, f"the app reads {env}", hit.file, hit.line)
        if given:
            return Decision(
                int(given), f"the app reads {env} and binds {given} without it", hit.file, hit.line
            ), port_env
        return Decision(fallback, f"{env} has no default in the code; HiveMind sets it", hit.file, hit.line), port_env
    if framework == "gradio" and not tree.first(_LAUNCH_PORT, sources):
        hit = tree.first(r"\.launch\(", sources)
        return (
            Decision(7860, "Gradio binds 7860 unless GRADIO_SERVER_PORT is set", hit.file if hit else None,
                     hit.line if hit else None),
            Decision("GRADIO_SERVER_PORT", "launch() reads GRADIO_SERVER_PORT", hit.file if hit else None,
                     hit.line if hit else None),
        )  # fmt: skip
    hit = tree.first(_ENV_PORT_REQUIRED, sources)
    if hit:
        env = hit.match.group("env")
        return (
            Decision(fallback, f"the app stops without {env}; HiveMind sets it to this", hit.file, hit.line),
            Decision(env, f"the app requires {env}", hit.file, hit.line),
        )
    config = [f for f in _CONFIG_FILES if tree.has(f)]
    for regex, files, what in (
        (_BIND, config, "gunicorn's config binds"),
        (_RUN_PORT, sources, "the app binds"),
        (_LISTEN_PORT, sources if framework == "tornado" else [], "the app listens on"),
        (_LAUNCH_PORT, sources, "Gradio's launch() binds"),
    ):
        hit = tree.first(regex, files)
        if hit and hit.match.group("port"):
            port = int(hit.match.group("port"))
            return (
                Decision(port, f"{what} port {port}", hit.file, hit.line),
                Decision(None, "the port is fixed in the code", hit.file, hit.line),
            )
    for file in sources:  # a run call written over several lines
        text = tree.text(file) or ""
        for call in _RUN_CALL.finditer(text):
            found = _PORT_ARG.search(call.group("args"))
            if found:
                port, line = int(found.group("port")), text.count("\n", 0, call.start()) + 1
                return (
                    Decision(port, f"the app binds port {port}", file, line),
                    Decision(None, "the port is fixed in the code", file, line),
                )
    return (
        default(fallback, f"the default port of {framework or 'Python web servers'}"),
        default(None, "no port variable read"),
    )


def _start(
    tree: SourceTree, deps: Deps, framework: object, sources: list[str], port_env: object
) -> tuple[Decision, str | None]:
    """(the start command, the server package it needs) for the app."""
    bind_port = f"${port_env}" if port_env else "$PORT"
    config = next((f for f in _CONFIG_FILES if tree.has(f)), None)
    bound_in_config = config is not None and tree.first(_BIND, [config]) is not None
    gunicorn_bind = f"-c {config}" if bound_in_config else f"--bind 0.0.0.0:{bind_port}"
    if config and not bound_in_config:
        gunicorn_bind = f"-c {config} {gunicorn_bind}"
    main = tree.first(
        _MAIN, [f for f in sources if "/" not in f and f not in ("manage.py", "setup.py", *_CONFIG_FILES)]
    )
    own = _own_server(tree, sources, framework, bind_port)
    if own is not None:
        return own, None
    if framework == "dash":
        server = tree.first(_DASH_SERVER, sources)
        if server:
            module = server.file.removesuffix(".py").replace("/", ".")
            command = f"gunicorn {gunicorn_bind} {module}:{server.match.group('var')}"
            return Decision(command, "Dash's Flask server, under gunicorn", server.file, server.line), "gunicorn"
    if framework == "django":
        wsgi = next((f for f in sources if f.endswith("/wsgi.py")), None)
        if wsgi:
            module = wsgi.removesuffix(".py").replace("/", ".")
            command = f"gunicorn {module}:application {gunicorn_bind}"
            return Decision(command, "Django's WSGI module, under gunicorn", wsgi, 1), "gunicorn"
        return Decision(f"python manage.py runserver 0.0.0.0:{bind_port}", "manage.py runserver", "manage.py", 1), None
    app = _app_target(tree, sources, framework)
    if app is not None and (beside := _serves_beside(tree, sources, app[2])) is not None:
        return beside, None
    main_text = (tree.text(main.file) or "") if main else ""
    # the app's own `__main__` wins when it picks the port itself or there is no app object to serve;
    # a framework with a server of its own (aiohttp's run_app, Tornado's listen) always runs that way
    serves = bool(_RUN_PORT.search(main_text)) or "uvicorn.run" in main_text
    if framework in (*OWN_SERVER, None):
        serves = serves or bool(_SERVES.search(main_text))
    if main and (app is None or serves):
        local = _loopback_run(main_text) if framework not in OWN_SERVER else None
        if local is not None and app is not None:
            # Flask's app.run and uvicorn.run bind 127.0.0.1 unless told otherwise: the load balancer
            # could not reach it, so the production server serves the same app on the same port
            target, kind, _ = app
            target = _main_target(main.file, main_text) or target
            port = local.group("port") or bind_port
            reason = f"{main.file} runs the server on 127.0.0.1 (the default), out of the load balancer's reach"
            if kind in ASGI:
                command = f"uvicorn {target} --host 0.0.0.0 --port {port}"
                return Decision(command, f"{reason}: uvicorn serves the app", main.file, main.line), "uvicorn"
            command = f"gunicorn --bind 0.0.0.0:{port} {target}"
            return Decision(command, f"{reason}: gunicorn serves the app", main.file, main.line), "gunicorn"
        debug = _DEBUG_RUN.search(main_text)
        if debug is not None and app is not None and framework == "flask":
            # Werkzeug's debugger runs code for whoever reaches it: gunicorn serves the same app instead
            target = _main_target(main.file, main_text) or app[0]
            fixed = _RUN_PORT.search(main_text)
            port = fixed.group("port") if fixed else bind_port
            line = main_text.count("\n", 0, debug.start()) + 1
            reason = (
                f"{main.file} runs Flask's development server with debug=True, whose debugger runs code for "
                "anyone who reaches it: gunicorn serves the same app"
            )
            return Decision(f"gunicorn --bind 0.0.0.0:{port} {target}", reason, main.file, line), "gunicorn"
        if local is not None and framework == "dash":  # Dash's run() reads HOST
            reason = f"{main.file} runs Dash, which binds 127.0.0.1 unless HOST says otherwise"
            return Decision(f"env HOST=0.0.0.0 python {main.file}", reason, main.file, main.line), None
        return Decision(f"python {main.file}", f"{main.file} runs the server when executed", main.file, main.line), None
    if framework in OWN_SERVER:
        return default(None, f"no `__main__` block that starts the {framework} server"), None
    if app is not None:
        target, kind, hit = app
        top = tree.first(_TOP_LEVEL_RUN, [hit.file])
        if top is not None:
            reason = f"{hit.file} starts the server when it is loaded (a run call outside any function)"
            return Decision(f"python {hit.file}", reason, top.file, top.line), None
        if kind in ASGI:
            command = f"uvicorn {target} --host 0.0.0.0 --port {bind_port}"
            return Decision(command, f"the {kind} app, under uvicorn", hit.file, hit.line), "uvicorn"
        command = f"gunicorn {gunicorn_bind} {target}"
        return Decision(command, f"the {kind} app, under gunicorn", hit.file, hit.line), "gunicorn"
    return default(None, "no entry point found"), None


# app.run(...), app.run_server(...), uvicorn.run(...): the call's arguments, over several lines too
_RUN_CALL = re.compile(r"""\b(?:app|application|api|server|uvicorn)\.run(?:_server)?\((?P<args>[^)]*)\)""", re.DOTALL)
_HOST_ARG = re.compile(r"""\bhost\s*=\s*(?P<value>[^,)]+)""")
_PORT_ARG = re.compile(r"""\bport\s*=\s*(?P<port>\d{2,5})\b""")


# a run call at module level, outside any function or `__main__` block: importing the module serves
_TOP_LEVEL_RUN = re.compile(r"""^\w+\.run\(""")
# a run call with the debugger on: app.run(debug=True), over several lines too
_DEBUG_RUN = re.compile(r"""\b\w+\.run\([^)]*\bdebug\s*=\s*True\b""", re.DOTALL)
# the object whose run() a `__main__` block calls: `app.run(...)`, not `uvicorn.run(app)`
_RUN_RECEIVER = re.compile(r"""^\s+(?P<var>(?!uvicorn\b)\w+)\.run\(""", re.MULTILINE)
# a server run on a thread: a bot's keep-alive page, started by the bot's own script
_THREAD = re.compile(r"""\bThread\(""")


def _main_target(file: str, text: str) -> str | None:
    """ "module:variable" of the app a `__main__` block runs, when that module binds the variable
    (builds or imports it): importing that module registers everything the block would serve."""
    call = _RUN_RECEIVER.search(text)
    if call is None:
        return None
    var = re.escape(call.group("var"))
    if re.search(rf"""^(?:{var}\s*(?::\s*\w+\s*)?=|from\s+\S+\s+import\s+.*\b{var}\b)""", text, re.MULTILINE):
        return f"{file.removesuffix('.py').replace('/', '.')}:{call.group('var')}"
    return None


def _serves_beside(tree: SourceTree, sources: list[str], app: Hit) -> Decision | None:
    """`python <script>` when the app's module runs its server on a thread for a script that imports
    it (a chat bot's keep-alive page): serving the module alone would never start the script's work."""
    if tree.first(_THREAD, [app.file]) is None:
        return None
    module = re.escape(app.file.removesuffix(".py").replace("/", "."))
    importing = re.compile(rf"""^\s*(?:from\s+{module}\s+import\b|import\s+{module}\b)""")
    script = tree.first(importing, [f for f in sources if "/" not in f and f != app.file])
    if script is None:
        return None
    reason = f"{script.file} runs {app.file}'s web server on a thread beside its own work"
    return Decision(f"python {script.file}", reason, script.file, script.line)


def _loopback_run(text: str) -> re.Match[str] | None:
    """The port argument (or an empty match) of a run call that binds only the loopback address:
    no `host=` (the frameworks' default is 127.0.0.1) or a literal 127.0.0.1/localhost."""
    call = _RUN_CALL.search(text)
    if call is None:
        return None
    host = _HOST_ARG.search(call.group("args"))
    if host and host.group("value").strip().strip("'\"") not in ("127.0.0.1", "localhost"):
        return None
    return _PORT_ARG.search(call.group("args")) or re.match(r"(?P<port>)", "")


def _own_server(tree: SourceTree, sources: list[str], framework: object, bind_port: str) -> Decision | None:
    """The start command of an app whose framework brings its own server: Streamlit's CLI, Gradio's
    launch() (told to listen beyond localhost), Sanic's CLI when no `__main__` runs it."""
    if framework == "streamlit":
        scripts = [f for f in sources if tree.first(r"^\s*(?:import streamlit|from streamlit\b)", [f])]
        preferred = ("streamlit_app.py", "app.py", "main.py", "Home.py")
        script = next((f for f in preferred if f in scripts), scripts[0] if scripts else None)
        if script is None:
            return None
        command = f"streamlit run {script} --server.port {bind_port} --server.address 0.0.0.0 --server.headless true"
        return Decision(command, f"{script} is a Streamlit script; its CLI serves it", script, 1)
    if framework == "gradio":
        launch = tree.first(r"\.launch\(", [f for f in sources if "/" not in f]) or tree.first(r"\.launch\(", sources)
        if launch is None:
            return None
        if tree.first(_LAUNCH_HOST, [launch.file]):
            return Decision(f"python {launch.file}", f"{launch.file} launches the Gradio app", launch.file, launch.line)
        return Decision(
            f"env GRADIO_SERVER_NAME=0.0.0.0 python {launch.file}",
            f"{launch.file} launches the Gradio app, which binds localhost unless GRADIO_SERVER_NAME is set",
            launch.file,
            launch.line,
        )
    if framework == "sanic" and tree.first(_MAIN, [f for f in sources if "/" not in f]) is None:
        app = tree.first(r"^(?P<var>\w+)\s*=\s*(?:\w+\.)?Sanic\(", sources)
        if app:
            module = app.file.removesuffix(".py").replace("/", ".")
            target = f"{module}:{app.match.group('var')}"
            command = f"sanic {target} --host 0.0.0.0 --port {bind_port}"
            return Decision(command, "the Sanic app, under Sanic's own server", app.file, app.line)
    return None


def _app_target(tree: SourceTree, sources: list[str], framework: object) -> tuple[str, str, Hit] | None:
    """("module:variable", kind, where) of the app object (built by the framework's class or by a
    factory call at module level), a factory that runs without arguments, or a WSGI `application`."""
    known = str(framework) if framework in (*WSGI, *ASGI) else None
    for regex in (_APP_OBJECT, _APP_CALL, _APP_FACTORY, _WSGI_CALLABLE):
        hit = next((h for h in tree.search(regex, sources) if regex is not _APP_CALL or _builds_app(h)), None)
        if hit is None:
            continue
        module = hit.file.removesuffix(".py").replace("/", ".").removesuffix(".__init__")
        groups = hit.match.groupdict()
        if regex is _APP_FACTORY:
            kind = known or "flask"
            if kind in ASGI:
                return f"{module}:{groups['var']} --factory", kind, hit
            return f"'{module}:{groups['var']}()'", kind, hit
        if regex is _WSGI_CALLABLE:
            return f"{module}:application", "wsgi", hit
        if regex is _APP_CALL:
            return f"{module}:{groups['var']}", known or "wsgi", hit
        return f"{module}:{groups['var']}", groups["kind"].lower(), hit
    return None


def _builds_app(hit: Hit) -> bool:
    """`app = create_app()` builds the app; `app = load_settings()` does not: the factory's name says so."""
    call = hit.match.group("call")
    return "app" in call and not call.startswith(("test", "mock", "fake"))


def _health(tree: SourceTree, sources: list[str], framework: object) -> Decision:
    routes: list[tuple[str, Hit]] = []
    for hit in tree.search(_ROUTE, sources):
        prefix = _mount_prefix(tree, sources, hit.match.group("obj") or hit.match.group("rule"), hit.file, 0)
        if prefix is not None:  # a route under a prefix the code computes is not known to exist
            routes.append((prefix.rstrip("/") + "/" + hit.match.group("path").lstrip("/"), hit))
    if framework == "django":
        routes += [
            (h.match.group("path"), h) for h in tree.search(_DJANGO_PATH, [f for f in sources if f.endswith("urls.py")])
        ]
    chosen = pick_from_paths(routes)
    if chosen.source == "default" and framework == "streamlit":
        return _streamlit_health(tree)
    if chosen.source == "default" and framework == "fastapi":
        app = tree.first(r"\bFastAPI\(", sources)
        text = (tree.text(app.file) or "") if app else ""
        if app and not re.search(r"\bdocs_url\s*=\s*None\b", text):
            return Decision(
                "/docs", "FastAPI serves its API docs at /docs and the app defines no / or health route", app.file,
                app.line,
            )  # fmt: skip
    return chosen


def _streamlit_health(tree: SourceTree) -> Decision:
    """Streamlit's health endpoint: /_stcore/health since 1.20, /healthz before."""
    requirements = _requirements_file(tree)
    pinned = tree.first(_STREAMLIT_VERSION, [requirements]) if requirements else None
    if pinned and (int(pinned.match.group("major")), int(pinned.match.group("minor"))) < (1, 20):
        return Decision("/healthz", "Streamlit before 1.20 answers /healthz", pinned.file, pinned.line)
    where = pinned or tree.first(_STREAMLIT_VERSION, [])
    return Decision(
        "/_stcore/health",
        "Streamlit answers /_stcore/health when it is up",
        where.file if where else requirements,
        where.line if where else None,
    )


def _mount_prefix(tree: SourceTree, sources: list[str], name: str, file: str, depth: int) -> str | None:
    """The path prefix the routes of `name` (an object in `file`) are served under: "" for the app
    itself, a router's own prefix plus the prefixes it is included with; None when code computes one
    (`prefix=settings.API_V1_STR`) or the includes disagree."""
    constructed = re.search(_ROUTER.format(var=re.escape(name)), tree.text(file) or "", re.MULTILINE)
    if constructed is None or depth > 4:
        return ""  # not a router: the app object
    own = _PREFIX_ARG.search(constructed.group("args"))
    if own and own.group("expr"):
        return None
    prefix = own.group("prefix") if own else ""
    stem = file.removesuffix(".py").removesuffix("/__init__").rsplit("/", 1)[-1]
    mounts: set[str | None] = set()
    for include in tree.search(_INCLUDE, sources):
        *qualifier, target = include.match.group("target").split(".")
        if target != name or (qualifier and qualifier[-1] != stem):
            continue
        given = _PREFIX_ARG.search(include.match.group("args"))
        if given and given.group("expr"):
            mounts.add(None)
            continue
        parent = _mount_prefix(tree, sources, include.match.group("parent"), include.file, depth + 1)
        mounts.add(None if parent is None else parent.rstrip("/") + (given.group("prefix") if given else ""))
    if None in mounts or len(mounts) > 1:
        return None
    mount = next(iter(mounts), None) or ""
    return mount.rstrip("/") + prefix
