"""Python apps: Django, Flask, FastAPI and other ASGI apps, plain WSGI, Dash, Streamlit, Gradio,
Sanic, aiohttp and Tornado; dependencies from
requirements.txt, pyproject.toml (PEP 621, Poetry, uv, PDM) or a Pipfile.

Web apps run under a production server as Elastic Beanstalk's Python platform does:
gunicorn for WSGI, uvicorn for ASGI (installed next to the app's own dependencies when the
app does not declare it), unless the app says how it starts (`if __name__ == "__main__"`,
a Procfile, hivemind.toml).

One module a role: project (dependencies and the install), version, framework, server (what
starts the app), port, routes (and the health path), environment (what it cannot start without), settings
(what keeps a started app from working), migrations (the release step).
"""

from __future__ import annotations

from hivemind.planning.decisions import NEEDS_ENV, REQUIRED, WARNING, Decision, Detection, default
from hivemind.planning.procfile import web_command
from hivemind.planning.python.environment import needed_environment
from hivemind.planning.python.framework import framework_of, is_test
from hivemind.planning.python.migrations import release_of
from hivemind.planning.python.port import GUNICORN_READS_PORT, port_of
from hivemind.planning.python.project import (
    dependencies,
    install_of,
    needs_installing,
    system_packages,
    with_pkg_resources,
)
from hivemind.planning.python.routes import health_of
from hivemind.planning.python.server import start_of
from hivemind.planning.python.settings import allowed_hosts
from hivemind.planning.python.version import version_of, within_framework
from hivemind.planning.tree import SourceTree

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


def detect(tree: SourceTree) -> Detection | None:
    manifest = next((m for m in MANIFESTS if tree.has(m)), None)
    sources = [f for f in tree.with_suffix(".py") if not is_test(f)]
    if manifest is None and not any(f in ("app.py", "main.py", "wsgi.py", "manage.py") for f in sources):
        return None
    deps = dependencies(tree)
    evidence_file = manifest or next(f for f in sources if "/" not in f)
    decisions: Detection = {
        "language": Decision("python", f"{evidence_file} is a Python project file", evidence_file, 1),
        "framework": framework_of(tree, deps, sources),
        "runtime_version": within_framework(tree, version_of(tree)),
        "install_command": install_of(tree),
        "build_command": default(None, "Python apps need no build step"),
    }
    for field in ("runtime_version", "install_command"):
        if decisions[field].value is None and decisions[field].source == "detected":
            decisions[f"{REQUIRED}{field}"] = decisions[field]  # what stops it names why
    framework = decisions["framework"].value
    port, port_env = port_of(tree, sources, framework)
    decisions["port"], decisions["port_env"] = port, port_env
    start, server = start_of(tree, deps, framework, sources, port_env.value)
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
    if procfile is not None and GUNICORN_READS_PORT.match(str(procfile.value)):
        decisions["port_env"] = Decision(
            "PORT", "gunicorn binds 0.0.0.0:$PORT when given no --bind", procfile.file, procfile.line
        )
    decisions["install_command"] = with_pkg_resources(tree, decisions["install_command"])
    needs = needs_installing(framework, server)
    if decisions["install_command"].value is None and needs and f"{REQUIRED}install_command" not in decisions:
        decisions[f"{REQUIRED}install_command"] = Decision(
            None,
            f"the app needs {' and '.join(needs)}, which no requirements.txt, pyproject.toml or Pipfile lists, "
            "so nothing would install them: add a requirements.txt that pins them",
            decisions["framework"].file,
            decisions["framework"].line,
        )
    deeper = [f for f in tree.with_suffix(".py", top_levels=5) if not is_test(f)]  # app/api/v1/routes/x.py
    for name, needed in needed_environment(tree, deeper, str(start.value or "")).items():
        decisions[f"{NEEDS_ENV}{name}"] = needed
    decisions.update(release_of(tree, framework, deps))
    if framework == "django" and (hosts := allowed_hosts(tree, sources)) is not None:
        decisions[hosts[0]] = hosts[1]
    junk = system_packages(tree)
    if junk is not None:
        decisions[f"{WARNING}system-packages"] = junk
    decisions["health_path"] = health_of(tree, deeper, framework)
    return decisions
