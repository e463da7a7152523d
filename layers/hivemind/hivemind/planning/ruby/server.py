"""Which command is the server (puma, unicorn, a classic Sinatra script, rackup) and the port it binds."""

from __future__ import annotations

import re

from hivemind.planning.decisions import Decision, default
from hivemind.planning.ports import PORT_VAR
from hivemind.planning.ruby.project import ruby_sources
from hivemind.planning.tree import SourceTree

DEFAULT_PORTS = {"rails": 3000, "hanami": 2300, "sinatra": 4567, "padrino": 3000, "rack": 9292}


# What Heroku's Ruby buildpack sets for Rails: production, static files from Puma, logs to stdout.
RAILS_ENV_PREFIX = "env RAILS_ENV=production RAILS_SERVE_STATIC_FILES=1 RAILS_LOG_TO_STDOUT=1"


_ENV_PORT = re.compile(
    r"""ENV\.fetch\(\s*['"](?P<env>""" + PORT_VAR + r""")['"]\s*(?:,\s*['"]?(?P<default>\d{2,5})['"]?\s*)?\)"""
    r"""(?:\s*\{\s*['"]?(?P<block>\d{2,5})['"]?\s*\})?"""
    r"""|ENV\[\s*['"](?P<env2>""" + PORT_VAR + r""")['"]\s*\](?:\s*(?:\|\||\bor\b)\s*['"]?(?P<default2>\d{2,5}))?"""
)


_PUMA_PORT = re.compile(
    r"""^\s*(?:port\s*\(?\s*['"]?(?P<port>\d{2,5})|bind\s*\(?\s*['"]tcp://[^:'"]*:(?P<bind>\d{2,5}))"""
)


_PUMA_BINDS = re.compile(r"^\s*(?:port|bind)\b")


_PUMA_RACKUP = re.compile(r"^\s*rackup\b")


_SINATRA_PORT = re.compile(r"""^\s*set\s*\(?\s*:port\s*,\s*(?P<port>\d{2,5})\b""")


# `listen 8080`, `listen "0.0.0.0:8080"`, `listen 3000, tcp_nopush: true` (a unix socket path is no port)
_UNICORN_LISTEN = re.compile(r"""^\s*listen\s*\(?\s*['"]?(?:[\w.]*:)?(?P<port>\d{2,5})\b""")


_CLASSIC_SINATRA = re.compile(r"""^\s*require\s*\(?\s*['"]sinatra['"]""")


def _env_port(tree: SourceTree, files: list[str]) -> tuple[str, int | None, str, int] | None:
    hit = tree.first(_ENV_PORT, files)
    if hit is None:
        return None
    env = hit.match.group("env") or hit.match.group("env2")
    value = hit.match.group("default") or hit.match.group("block") or hit.match.group("default2")
    return env, int(value) if value else None, hit.file, hit.line


def serve_of(
    tree: SourceTree, deps: dict[str, tuple[str, int | None]], framework: object
) -> tuple[Decision, Decision, Decision]:
    """(port, port_env, start_command): the server the app runs under and the port it binds."""
    fallback = DEFAULT_PORTS.get(str(framework), 9292)
    prefix = {"rails": f"{RAILS_ENV_PREFIX} ", "hanami": "env HANAMI_ENV=production "}.get(str(framework), "")
    # Puma serves config.ru (or the file its config names with `rackup`): without one it has no app
    rackup = tree.has("config.ru") or framework in ("rails", "hanami")
    if "puma" in deps and tree.has("config/puma.rb") and (rackup or tree.first(_PUMA_RACKUP, ["config/puma.rb"])):
        command = f"{prefix}bundle exec puma -C config/puma.rb"
        if framework not in ("rails", "hanami"):
            command += " -e production"
        start = Decision(command, "Puma with the app's config/puma.rb", "config/puma.rb", 1)
        found = _env_port(tree, ["config/puma.rb"])
        if found:
            env, port, file, line = found
            return (
                Decision(
                    port or fallback, f"config/puma.rb binds {port or fallback} when {env} is not set", file, line
                ),
                Decision(env, f"config/puma.rb reads {env}", file, line),
                start,
            )
        hit = tree.first(_PUMA_PORT, ["config/puma.rb"])
        if hit:
            port = int(hit.match.group("port") or hit.match.group("bind"))
            return (
                Decision(port, f"config/puma.rb binds port {port}", hit.file, hit.line),
                Decision(None, "config/puma.rb hard-codes the port", hit.file, hit.line),
                start,
            )
        if tree.first(_PUMA_BINDS, ["config/puma.rb"]) is None:
            start = Decision(
                f"{command} -b tcp://0.0.0.0:$PORT",
                "Puma with config/puma.rb, which binds no port",
                "config/puma.rb",
                1,
            )
            return (
                default(fallback, f"the default port of {framework or 'Rack servers'}"),
                Decision("PORT", "the start command binds $PORT", "config/puma.rb", 1),
                start,
            )
    if framework == "sinatra" and not tree.has("config.ru"):
        return _sinatra_classic(tree, deps)
    rack_app = framework == "rails" or tree.has("config.ru")
    if rack_app and "unicorn" in deps and ("puma" not in deps or tree.has("config/unicorn.rb")):
        return _unicorn(tree, prefix, fallback, deps["unicorn"])
    if rack_app and "passenger" in deps and "puma" not in deps:
        start = Decision(
            f"{prefix}bundle exec passenger start -a 0.0.0.0 -p $PORT -e production",
            "Passenger Standalone serves the app",
            *deps["passenger"],
        )
    elif framework == "rails":
        start = Decision(
            f"{prefix}bundle exec rails server -b 0.0.0.0 -p $PORT",
            "Rails' own server command",
            *(deps.get("rails") or ("config/application.rb", 1)),
        )
    elif "puma" in deps and tree.has("config.ru"):
        start = Decision(
            f"{prefix}bundle exec puma -e production -b tcp://0.0.0.0:$PORT config.ru",
            "Puma serves config.ru",
            *deps["puma"],
        )
    elif "thin" in deps and tree.has("config.ru"):
        start = Decision(
            f"{prefix}bundle exec thin start -R config.ru -e production -a 0.0.0.0 -p $PORT",
            "Thin serves config.ru",
            *deps["thin"],
        )
    elif tree.has("config.ru"):
        start = Decision(
            f"{prefix}bundle exec rackup -E production -o 0.0.0.0 -p $PORT",
            "rackup serves config.ru",
            "config.ru",
            1,
        )
    else:
        return (
            default(fallback, "no server found"),
            default(None, "no port variable read"),
            default(None, "no config.ru, Rails app or Sinatra app file"),
        )
    return (
        default(fallback, f"the default port of {framework or 'Rack servers'}; HiveMind sets PORT"),
        Decision("PORT", "the start command binds $PORT", start.file, start.line),
        start,
    )


def _unicorn(
    tree: SourceTree, prefix: str, fallback: int, evidence: tuple[str, int | None]
) -> tuple[Decision, Decision, Decision]:
    """Unicorn with config/unicorn.rb when there is one: the port its `listen` binds, else $PORT."""
    config = "config/unicorn.rb" if tree.has("config/unicorn.rb") else None
    command = f"{prefix}bundle exec unicorn -E production" + (f" -c {config}" if config else "")
    if config:
        start = Decision(command, "Unicorn with the app's config/unicorn.rb", config, 1)
        found = _env_port(tree, [config])
        if found:
            env, port, file, line = found
            return (
                Decision(
                    port or fallback,
                    f"config/unicorn.rb listens on {port or fallback} when {env} is not set",
                    file,
                    line,
                ),
                Decision(env, f"config/unicorn.rb reads {env}", file, line),
                start,
            )
        hit = tree.first(_UNICORN_LISTEN, [config])
        if hit:
            port = int(hit.match.group("port"))
            return (
                Decision(port, f"config/unicorn.rb listens on port {port}", hit.file, hit.line),
                Decision(None, "config/unicorn.rb hard-codes the port", hit.file, hit.line),
                start,
            )
    start = Decision(
        f"{command} -l 0.0.0.0:$PORT",
        "Unicorn, told to listen on $PORT" + (" (config/unicorn.rb listens on no TCP port)" if config else ""),
        *((config, 1) if config else evidence),
    )
    return (
        default(fallback, "the app's default port; HiveMind sets PORT"),
        Decision("PORT", "the start command listens on $PORT", start.file, start.line),
        start,
    )


def _sinatra_classic(tree: SourceTree, deps: dict[str, tuple[str, int | None]]) -> tuple[Decision, Decision, Decision]:
    """A classic Sinatra script run directly: Sinatra itself binds `set :port`, else $PORT, else 4567."""
    sources = ruby_sources(tree)
    app = tree.first(_CLASSIC_SINATRA, [f for f in sources if "/" not in f and f.endswith(".rb")])
    if app is None:
        return (
            default(DEFAULT_PORTS["sinatra"], "Sinatra's default port"),
            default(None, "no port variable read"),
            default(None, "no file runs the Sinatra app"),
        )
    # -e production makes Sinatra bind 0.0.0.0 (it binds localhost in development)
    start = Decision(
        f"bundle exec ruby {app.file} -e production -o 0.0.0.0",
        f"{app.file} is a classic Sinatra app",
        app.file,
        app.line,
    )
    set_port = tree.first(_SINATRA_PORT, [app.file])
    if set_port:
        fixed = int(set_port.match.group("port"))
        return (
            Decision(fixed, f"the app sets :port to {fixed}", set_port.file, set_port.line),
            Decision(None, "the port is hard-coded", set_port.file, set_port.line),
            start,
        )
    found = _env_port(tree, [app.file])
    if found:
        env, port, file, line = found
        return (
            Decision(port or DEFAULT_PORTS["sinatra"], f"the app binds this when {env} is not set", file, line),
            Decision(env, f"the app reads {env}", file, line),
            start,
        )
    return (
        Decision(DEFAULT_PORTS["sinatra"], "Sinatra binds 4567 when PORT is not set", app.file, app.line),
        Decision("PORT", "Sinatra reads PORT", app.file, app.line),
        start,
    )
