"""Python apps: Flask, FastAPI, Django and plain WSGI, from requirements.txt, pyproject.toml or Pipfile."""

from __future__ import annotations

import re
import tomllib

from hivemind.planning.decisions import Decision, Detection, default
from hivemind.planning.tree import SourceTree

LANGUAGE = "python"
MANIFESTS: tuple[str, ...] = ("requirements.txt", "pyproject.toml", "Pipfile", "setup.py")
PROCFILE_WORDS = frozenset(
    {"python", "python3", "gunicorn", "uvicorn", "flask", "hypercorn", "daphne", "waitress-serve", "granian"}
)
DEFAULT_VERSION = "3.12"
DEFAULT_PORTS = {"flask": 5000, "django": 8000, "fastapi": 8000, None: 8000}
_REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_ENV_PORT = re.compile(
    r"""os\.(?:environ\.get|getenv)\(\s*['"](?P<env>[A-Z0-9_]*PORT[A-Z0-9_]*)['"]\s*"""
    r"""(?:,\s*['"]?(?P<default>\d{2,5})['"]?\s*)?\)"""
)
_ENV_PORT_REQUIRED = re.compile(r"""os\.environ\[\s*['"](?P<env>[A-Z0-9_]*PORT[A-Z0-9_]*)['"]\s*\]""")
_RUN_PORT = re.compile(r"""\.run\([^)]*\bport\s*=\s*(?P<port>\d{2,5})""")
_UVICORN_PORT = re.compile(r"""uvicorn\.run\([^)]*\bport\s*=\s*(?P<port>\d{2,5})""")
_ROUTE = re.compile(r"""@\w+\.(?:route|get|api_route)\(\s*['"](?P<path>/[^'"]*)['"]""")
_DJANGO_PATH = re.compile(r"""\bpath\(\s*['"](?P<path>[^'"]*)['"]""")
_APP_OBJECT = re.compile(r"""^(?P<var>\w+)\s*=\s*(?P<kind>Flask|FastAPI)\(""")
_VERSION = re.compile(r"(\d+)\.(\d+)")


def dependencies(tree: SourceTree) -> dict[str, tuple[str, int | None]]:
    """Declared dependency names (lower-case) -> where each is declared."""
    found: dict[str, tuple[str, int | None]] = {}
    for number, line in enumerate((tree.text("requirements.txt") or "").splitlines(), start=1):
        match = _REQ_NAME.match(line)
        if match and not line.lstrip().startswith(("#", "-")):
            found.setdefault(match.group(1).lower().replace("_", "-"), ("requirements.txt", number))
    pyproject = _toml(tree, "pyproject.toml")
    names = [*pyproject.get("project", {}).get("dependencies", [])]
    names += list(pyproject.get("tool", {}).get("poetry", {}).get("dependencies", {}))
    names += list(_toml(tree, "Pipfile").get("packages", {}))
    for spec in names:
        match = _REQ_NAME.match(spec)
        if match:
            name = match.group(1).lower().replace("_", "-")
            source = "pyproject.toml" if tree.has("pyproject.toml") else "Pipfile"
            found.setdefault(name, (source, tree.line_of(source, match.group(1))))
    return found


def _toml(tree: SourceTree, name: str) -> dict:
    text = tree.text(name) if tree.has(name) else None
    try:
        return tomllib.loads(text) if text else {}
    except tomllib.TOMLDecodeError:
        return {}


def detect(tree: SourceTree) -> Detection | None:
    manifest = next((m for m in MANIFESTS if tree.has(m)), None)
    sources = tree.with_suffix(".py")
    if manifest is None and not any(f in ("app.py", "main.py", "wsgi.py") for f in sources):
        return None
    deps = dependencies(tree)
    decisions: Detection = {}
    decisions["language"] = Decision(
        "python", f"{manifest or sources[0]} is a Python project file", manifest or sources[0], 1
    )
    framework = _framework(tree, deps, sources)
    decisions["framework"] = framework
    decisions["runtime_version"] = _version(tree)
    decisions["install_command"] = _install(tree, manifest)
    decisions["build_command"] = default(None, "Python apps need no build step")
    app_object = _app_object(tree, sources)
    port, port_env = _port(tree, sources, framework.value)
    decisions["port"], decisions["port_env"] = port, port_env
    decisions["start_command"] = _start(tree, deps, framework.value, app_object, port_env.value)
    if decisions["start_command"].value and "$PORT" in str(decisions["start_command"].value) and port_env.value is None:
        decisions["port_env"] = Decision(
            "PORT", "the start command binds $PORT", decisions["start_command"].file, decisions["start_command"].line
        )
    decisions["health_path"] = _health(tree, sources, framework.value)
    return decisions


def _framework(tree: SourceTree, deps: dict[str, tuple[str, int | None]], sources: list[str]) -> Decision:
    for name in ("django", "fastapi", "flask"):
        if name in deps:
            file, line = deps[name]
            return Decision(name, f"{name} is a declared dependency", file, line)
    if tree.has("manage.py"):
        return Decision("django", "manage.py is Django's entry point", "manage.py", 1)
    hit = tree.first(r"^\s*(?:from|import)\s+(flask|fastapi|django)\b", sources)
    if hit:
        return Decision(hit.match.group(1), f"the code imports {hit.match.group(1)}", hit.file, hit.line)
    return default(None, "no web framework recognised; a plain WSGI or HTTP server")


def _version(tree: SourceTree) -> Decision:
    for name in (".python-version", "runtime.txt"):
        text = tree.text(name) if tree.has(name) else None
        match = _VERSION.search(text or "")
        if match:
            return Decision(f"{match.group(1)}.{match.group(2)}", f"{name} pins it", name, 1)
    requires = _toml(tree, "pyproject.toml").get("project", {}).get("requires-python")
    if requires:
        match = _VERSION.search(requires)
        if match and not requires.strip().startswith(("<", "!=")):
            lower = (int(match.group(1)), int(match.group(2)))
            chosen = max(lower, (3, 12)) if requires.strip().startswith((">", "~", "^")) else lower
            return Decision(
                f"{chosen[0]}.{chosen[1]}",
                f"requires-python is {requires!r}",
                "pyproject.toml",
                tree.line_of("pyproject.toml", "requires-python"),
            )
    return default(DEFAULT_VERSION, "no version file; the newest Python on Amazon Linux 2023")


def _install(tree: SourceTree, manifest: str | None) -> Decision:
    if tree.has("requirements.txt"):
        return Decision(
            "pip install -r requirements.txt", "requirements.txt lists the dependencies", "requirements.txt", 1
        )
    if tree.has("Pipfile"):
        return Decision("pip install pipenv && pipenv install --system --deploy", "Pipfile", "Pipfile", 1)
    if tree.has("pyproject.toml"):
        return Decision("pip install .", "pyproject.toml declares the project", "pyproject.toml", 1)
    return default(None, "no dependency manifest")


def _app_object(tree: SourceTree, sources: list[str]) -> tuple[str, str, str, int] | None:
    """(module, variable, kind, line) of the first `app = Flask(...)`/`FastAPI(...)`."""
    hit = tree.first(_APP_OBJECT, sources)
    if hit is None:
        return None
    module = hit.file.removesuffix(".py").replace("/", ".")
    return module, hit.match.group("var"), hit.match.group("kind"), hit.line


def _port(tree: SourceTree, sources: list[str], framework: object) -> tuple[Decision, Decision]:
    hit = tree.first(_ENV_PORT, sources)
    if hit:
        env = hit.match.group("env")
        if hit.match.group("default"):
            port = int(hit.match.group("default"))
            reason = f"the app reads {env} and binds {port} without it"
            return Decision(port, reason, hit.file, hit.line), Decision(env, f"the app reads {env}", hit.file, hit.line)
        fallback = DEFAULT_PORTS.get(framework, 8000)  # type: ignore[call-overload]
        return (
            Decision(fallback, f"{env} has no default in the code; HiveMind sets it", hit.file, hit.line),
            Decision(env, f"the app reads {env}", hit.file, hit.line),
        )
    hit = tree.first(_ENV_PORT_REQUIRED, sources)
    if hit:
        env = hit.match.group("env")
        fallback = DEFAULT_PORTS.get(framework, 8000)  # type: ignore[call-overload]
        return (
            Decision(fallback, f"the app requires {env}; HiveMind sets it to this", hit.file, hit.line),
            Decision(env, f"the app requires {env}", hit.file, hit.line),
        )
    for regex in (_UVICORN_PORT, _RUN_PORT):
        hit = tree.first(regex, sources)
        if hit:
            port = int(hit.match.group("port"))
            return (
                Decision(port, f"the app binds port {port}", hit.file, hit.line),
                Decision(None, "the port is hard-coded", hit.file, hit.line),
            )
    port = DEFAULT_PORTS.get(framework, 8000)  # type: ignore[call-overload]
    return default(port, f"the default port of {framework or 'Python web servers'}"), default(
        None, "no port variable read"
    )


def _start(
    tree: SourceTree,
    deps: dict[str, tuple[str, int | None]],
    framework: object,
    app_object: tuple[str, str, str, int] | None,
    port_env: object,
) -> Decision:
    bind_port = f"${port_env}" if port_env else "$PORT"
    if framework == "django":
        wsgi = next((f for f in tree.files if f.endswith("/wsgi.py")), None)
        if wsgi and "gunicorn" in deps:
            module = wsgi.removesuffix(".py").replace("/", ".")
            return Decision(
                f"gunicorn {module}:application --bind 0.0.0.0:{bind_port}", "Django's WSGI module", wsgi, 1
            )
        return Decision(f"python manage.py runserver 0.0.0.0:{bind_port}", "manage.py runserver", "manage.py", 1)
    if app_object is not None:
        module, var, kind, line = app_object
        file = module.replace(".", "/") + ".py"
        if kind == "FastAPI" and "uvicorn" in deps:
            return Decision(
                f"uvicorn {module}:{var} --host 0.0.0.0 --port {bind_port}", "FastAPI app with uvicorn", file, line
            )
        if kind == "Flask" and "gunicorn" in deps:
            return Decision(
                f"gunicorn --bind 0.0.0.0:{bind_port} {module}:{var}", "Flask app with gunicorn", file, line
            )
    main = tree.first(r"""^if __name__ == ['"]__main__['"]""", tree.with_suffix(".py", top_levels=1))
    if main:
        return Decision(f"python {main.file}", f"{main.file} runs the server when executed", main.file, main.line)
    if app_object is not None:
        module, var, _, line = app_object
        return Decision(
            f"python -m flask --app {module}:{var} run --host 0.0.0.0 --port {bind_port}",
            "the Flask app object",
            module.replace(".", "/") + ".py",
            line,
        )
    return default(None, "no entry point found")


def _health(tree: SourceTree, sources: list[str], framework: object) -> Decision:
    routes = list(tree.search(_ROUTE, sources))
    if framework == "django":
        routes += [h for h in tree.search(_DJANGO_PATH, [f for f in sources if f.endswith("urls.py")])]
    return pick_health_path(routes)


HEALTH_NAMES = ("/health", "/healthz", "/healthcheck", "/health-check", "/ping", "/status", "/ready", "/livez")


def pick_health_path(routes: list) -> Decision:
    """`/` when the app defines it, else a health-like route, else `/` by default."""
    paths = [(("/" + h.match.group("path").lstrip("/")) if h.match.group("path") != "" else "/", h) for h in routes]
    root = next((h for p, h in paths if p == "/"), None)
    if root:
        return Decision("/", "the app defines /", root.file, root.line)
    for name in HEALTH_NAMES:
        hit = next((h for p, h in paths if p.rstrip("/") == name or p.rstrip("/").endswith(name)), None)
        if hit:
            path = "/" + hit.match.group("path").lstrip("/")
            return Decision(path, f"the app defines {path} and no /", hit.file, hit.line)
    return default("/", "no route found in the code")
