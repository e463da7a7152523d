"""The port the app listens on and the variable that sets it."""

from __future__ import annotations

import re

from hivemind.planning.decisions import Decision, default
from hivemind.planning.ports import PORT_VAR
from hivemind.planning.tree import SourceTree

DEFAULT_PORTS = {
    "flask": 5000, "django": 8000, "fastapi": 8000, "dash": 8050, "streamlit": 8501, "gradio": 7860,
    "sanic": 8000, "aiohttp": 8080, "tornado": 8888, None: 8000,
}  # fmt: skip


# Gradio's launch(): its fixed port and host, when given
_LAUNCH_PORT = re.compile(r"""\.launch\([^)]*\bserver_port\s*=\s*(?P<port>\d{2,5})""")


_LISTEN_PORT = re.compile(r"""\.listen\(\s*(?P<port>\d{2,5})\b""")


_ENV_PORT = re.compile(
    r"""os\.(?:environ\.get|getenv)\(\s*['"](?P<env>""" + PORT_VAR + r""")['"]\s*"""
    r"""(?:,\s*['"]?(?P<default>\d{2,5})['"]?\s*)?\)(?:\s*or\s*['"]?(?P<fallback>\d{2,5}))?"""
)


_ENV_PORT_REQUIRED = re.compile(r"""os\.environ\[\s*['"](?P<env>""" + PORT_VAR + r""")['"]\s*\]""")


RUN_PORT = re.compile(r"""\.run(?:_server|_app)?\([^)]*\bport\s*=\s*(?P<port>\d{2,5})""")


# gunicorn.conf.py: bind = "0.0.0.0:8080", bind = ["[::]:8080"], bind = f"0.0.0.0:{port}"
BIND = re.compile(r"""^bind\s*=\s*\[?\s*f?['"][^'"]*:(?:(?P<port>\d{2,5})|\{[^}]*\})['"]""")


CONFIG_FILES = ("gunicorn.conf.py", "gunicorn_config.py", "gunicorn.config.py")


# gunicorn without a bind of its own (no -b/--bind, no -c config) binds 0.0.0.0:$PORT when PORT is set
GUNICORN_READS_PORT = re.compile(r"""^(?:\S*/)?gunicorn\b(?!.*(?:\s-b\b|\s--bind\b|\s-c\b|\s--config\b))""")


def port_of(tree: SourceTree, sources: list[str], framework: object) -> tuple[Decision, Decision]:
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
    config = [f for f in CONFIG_FILES if tree.has(f)]
    for regex, files, what in (
        (BIND, config, "gunicorn's config binds"),
        (RUN_PORT, sources, "the app binds"),
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
        for call in RUN_CALL.finditer(text):
            found = PORT_ARG.search(call.group("args"))
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


# app.run(...), app.run_server(...), uvicorn.run(...): the call's arguments, over several lines too
RUN_CALL = re.compile(r"""\b(?:app|application|api|server|uvicorn)\.run(?:_server)?\((?P<args>[^)]*)\)""", re.DOTALL)


PORT_ARG = re.compile(r"""\bport\s*=\s*(?P<port>\d{2,5})\b""")
