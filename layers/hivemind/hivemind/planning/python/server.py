"""Which object or command is the server, and how it starts in production: gunicorn for WSGI,
uvicorn for ASGI, the framework's own server, or the app's `__main__` when it picks the port."""

from __future__ import annotations

import re

from hivemind.planning.decisions import Decision, default
from hivemind.planning.python.port import BIND, CONFIG_FILES, PORT_ARG, RUN_CALL, RUN_PORT
from hivemind.planning.python.project import Deps
from hivemind.planning.tree import Hit, SourceTree

WSGI, ASGI = ("flask", "django", "wsgi", "dash"), ("fastapi", "starlette", "litestar", "quart")


# Frameworks with a server of their own that gunicorn cannot run: the app's own `__main__` or CLI starts them.
OWN_SERVER = ("streamlit", "gradio", "sanic", "aiohttp", "tornado")


# What a `__main__` block calls to serve by itself: the app then starts with `python <file>`.
_SERVES = re.compile(
    r"""\.run(?:_server)?\([^)]*\b(?:port|host)\s*=|\buvicorn\.run\(|\brun_app\(|\.listen\(|\.launch\(|serve\("""
)


# Dash's Flask server, which gunicorn runs: `server = app.server`
_DASH_SERVER = re.compile(r"""^(?P<var>\w+)\s*=\s*(?P<app>\w+)\.server\s*$""")


_LAUNCH_HOST = re.compile(r"""\.launch\([^)]*\bserver_name\s*=""")


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


WSGI_CALLABLE = re.compile(r"""^(?:def (?P<def>application)\(\s*environ|(?P<var>application)\s*=)""")


# `if __name__ == "__main__":`, written with or without spaces, either way round
_MAIN = re.compile(r"""^if\s*\(?\s*(?:__name__\s*==\s*['"]__main__['"]|['"]__main__['"]\s*==\s*__name__)""")


def start_of(
    tree: SourceTree, deps: Deps, framework: object, sources: list[str], port_env: object
) -> tuple[Decision, str | None]:
    """(the start command, the server package it needs) for the app."""
    bind_port = f"${port_env}" if port_env else "$PORT"
    config = next((f for f in CONFIG_FILES if tree.has(f)), None)
    bound_in_config = config is not None and tree.first(BIND, [config]) is not None
    gunicorn_bind = f"-c {config}" if bound_in_config else f"--bind 0.0.0.0:{bind_port}"
    if config and not bound_in_config:
        gunicorn_bind = f"-c {config} {gunicorn_bind}"
    main = tree.first(_MAIN, [f for f in sources if "/" not in f and f not in ("manage.py", "setup.py", *CONFIG_FILES)])
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
        asgi = next((f for f in sources if f.endswith("/asgi.py")), None)
        if asgi:  # an ASGI-only project (Channels): an ASGI server, never the development server
            module = asgi.removesuffix(".py").replace("/", ".")
            command = f"uvicorn {module}:application --host 0.0.0.0 --port {bind_port}"
            return Decision(command, "Django's ASGI module (no wsgi.py), under uvicorn", asgi, 1), "uvicorn"
        return Decision(f"python manage.py runserver 0.0.0.0:{bind_port}", "manage.py runserver", "manage.py", 1), None
    app = _app_target(tree, sources, framework)
    if app is not None and (beside := _serves_beside(tree, sources, app[2])) is not None:
        return beside, None
    main_text = (tree.text(main.file) or "") if main else ""
    # the app's own `__main__` wins when it picks the port itself or there is no app object to serve;
    # a framework with a server of its own (aiohttp's run_app, Tornado's listen) always runs that way
    serves = bool(RUN_PORT.search(main_text)) or "uvicorn.run" in main_text
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
            fixed = RUN_PORT.search(main_text)
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


_HOST_ARG = re.compile(r"""\bhost\s*=\s*(?P<value>[^,)]+)""")


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
    call = RUN_CALL.search(text)
    if call is None:
        return None
    host = _HOST_ARG.search(call.group("args"))
    if host and host.group("value").strip().strip("'\"") not in ("127.0.0.1", "localhost"):
        return None
    return PORT_ARG.search(call.group("args")) or re.match(r"(?P<port>)", "")


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
    for regex in (_APP_OBJECT, _APP_CALL, _APP_FACTORY, WSGI_CALLABLE):
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
        if regex is WSGI_CALLABLE:
            return f"{module}:application", "wsgi", hit
        if regex is _APP_CALL:
            return f"{module}:{groups['var']}", known or "wsgi", hit
        return f"{module}:{groups['var']}", groups["kind"].lower(), hit
    return None


def _builds_app(hit: Hit) -> bool:
    """`app = create_app()` builds the app; `app = load_settings()` does not: the factory's name says so."""
    call = hit.match.group("call")
    return "app" in call and not call.startswith(("test", "mock", "fake"))
