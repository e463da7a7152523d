"""The port the server listens on, the variable that sets it, and whether it listens beyond localhost."""

from __future__ import annotations

import re

from hivemind.planning.decisions import Decision, default
from hivemind.planning.node.framework import BuiltServer
from hivemind.planning.ports import PORT_VAR
from hivemind.planning.tree import SourceTree

DEFAULT_PORTS = {"nextjs": 3000, "nestjs": 3000, "express": 3000, "fastify": 3000, "koa": 3000, "hapi": 3000}


_ENV = r"""process\.env(?:\.(?P<env>""" + PORT_VAR + r""")|\[\s*['"](?P<env2>""" + PORT_VAR + r""")['"]\s*\])"""


# `process.env.PORT || 3000`, `parseInt(process.env.PORT ?? "3000", 10)`, `Number(process.env.PORT) || 3000`
_ENV_PORT = re.compile(_ENV + r"""\s*(?:,\s*10\s*)?\)?\s*(?:\|\||\?\?)\s*['"]?(?P<default>\d{2,5})""")


# `const { PORT = 3000 } = process.env`
_ENV_DESTRUCTURED = re.compile(
    r"""\{[^}]*\b(?P<env>""" + PORT_VAR + r""")\s*=\s*['"]?(?P<default>\d{2,5})['"]?[^}]*\}\s*=\s*process\.env\b"""
)


# an environment schema with a default: Joi/zod/yup `PORT: Joi.number().default(3000)`,
# envalid `PORT: port({ default: 3000 })`
_ENV_SCHEMA = re.compile(
    r"""\b(?P<env>""" + PORT_VAR + r""")['"]?\s*:\s*(?:Joi|joi|z|zod|yup|envalid|port|num)\b[^\n]*?"""
    r"""(?:\.default\(|\bdefault\s*:)\s*['"]?(?P<default>\d{2,5})"""
)


# a config helper with a default: Strapi's `env.int('PORT', 1337)`, `env('PORT', 1337)`
_ENV_HELPER = re.compile(
    r"""\benv(?:\.int)?\(\s*['"](?P<env>""" + PORT_VAR + r""")['"]\s*,\s*['"]?(?P<default>\d{2,5})"""
)


_ENV_PORT_ONLY = re.compile(_ENV)


# `.listen(env.API_PORT)`: a field of the checked environment (a zod/envalid schema's result)
_LISTEN_ENV_FIELD = re.compile(r"""\.listen\(\s*(?:env|ENV|config\.env)\.(?P<env>""" + PORT_VAR + r""")\b""")


# `.listen(4000)`, `.listen({ port: 4000, host: '::' })`, `.listen({ host: '::', port: 4000 })`,
# Hapi's `Hapi.server({ port: 3000 })`
_LISTEN = re.compile(r"""\.(?:listen|server)\(\s*(?:\{[^}]*?\bport\s*:\s*)?(?P<port>\d{2,5})\b""")


_CONST_PORT = re.compile(r"""\b(?:const|let|var)\s+(?:PORT|port)\s*=\s*(?P<port>\d{2,5})\b""")


_PORT_FLAG = re.compile(r"""(?:^|\s)(?:-p|--port)(?:\s+|=)(?P<port>\d{2,5}|\$\{?(?P<env>[A-Z0-9_]+)\}?)""")


_ASTRO_PORT = re.compile(r"""\bserver\s*:\s*\{[^}]*\bport\s*:\s*(?P<port>\d{2,5})""")


HOST_SET = re.compile(r"""\bhost\s*:\s*(?:true\b|['"]0\.0\.0\.0['"])""")


_FASTIFY_LISTEN = re.compile(r"\.listen\(\s*(?:\{(?P<options>[^}]*)\}|(?P<port>[\w.]+)\s*\))", re.DOTALL)


# `const host = ("RENDER" in process.env) ? '0.0.0.0' : 'localhost'`, `process.env.DOCKER ? "0.0.0.0" : "127.0.0.1"`
_HOST_BY_ENV = re.compile(
    r"""(?:['"](?P<a>\w+)['"]\s+in\s+process\.env|process\.env\.(?P<b>\w+))[^?\n]*\?\s*"""
    r"""['"`](?:0\.0\.0\.0|::)['"`]\s*:\s*['"`](?:localhost|127\.0\.0\.1)['"`]"""
)


def host_by_env(tree: SourceTree, sources: list[str]) -> Decision | None:
    """A warning when the app binds beyond localhost only on some platform (its variable set)."""
    switch = tree.first(_HOST_BY_ENV, sources)
    if switch is None:
        return None
    name = switch.match.group("a") or switch.match.group("b")
    return Decision(
        None,
        f"the app binds 0.0.0.0 only when {name} is set, else localhost, out of the load balancer's reach: "
        f"set {name} in the deployment's environment (--env {name}=1) or bind 0.0.0.0",
        switch.file,
        switch.line,
    )


def fastify_without_host(tree: SourceTree, sources: list[str]) -> Decision | None:
    """Fastify's listen() binds localhost unless given a host (unlike Express): the first call
    without one, as a warning."""
    for file in sources:
        text = tree.text(file) or ""
        for call in _FASTIFY_LISTEN.finditer(text):
            if call.group("options") is not None and "host" in call.group("options"):
                continue
            line = text.count("\n", 0, call.start()) + 1
            reason = (
                "Fastify's listen() without a host binds localhost, out of the load balancer's reach: "
                "add host: '0.0.0.0'"
            )
            return Decision(None, reason, file, line)
    return None


def built_port(
    tree: SourceTree, built: tuple[str, BuiltServer], scripts: dict[str, str], line: int | None
) -> tuple[Decision, Decision]:
    """The port of a framework's own server: a flag in the start script, the framework's config, else its default."""
    name, server = built
    start_line = tree.line_of("package.json", '"start"')
    flagged = _flag_port(scripts.get("start", ""), start_line)
    if flagged:
        return flagged
    if name == "strapi":
        configs = [f"config/server.{ext}" for ext in ("js", "ts") if tree.has(f"config/server.{ext}")]
        hit = tree.first(_ENV_HELPER, configs)
        if hit:
            port, env = int(hit.match.group("default")), hit.match.group("env")
            return (
                Decision(port, f"the server config binds {port} when {env} is not set", hit.file, hit.line),
                Decision(env, f"the server config reads {env}", hit.file, hit.line),
            )
    if name == "astro":
        configs = [f for f in tree.files if "/" not in f and f.startswith("astro.config.")]
        hit = tree.first(_ASTRO_PORT, configs)
        if hit:
            port = int(hit.match.group("port"))
            return (
                Decision(
                    port, f"{hit.file} sets server.port, which the built server binds without PORT", hit.file, hit.line
                ),
                Decision("PORT", "@astrojs/node's standalone server reads PORT", hit.file, hit.line),
            )
    return (
        Decision(server.port, f"{name}'s server binds {server.port} unless {server.env} is set", "package.json", line),
        Decision(server.env, f"{name}'s server reads {server.env}", "package.json", line),
    )


def _env_name(match: re.Match[str]) -> str:
    groups = match.groupdict()
    return groups.get("env") or groups.get("env2") or "PORT"


def port_of(
    tree: SourceTree, sources: list[str], framework: str | None, scripts: dict[str, str]
) -> tuple[Decision, Decision]:
    script = "start:prod" if framework == "nestjs" and "start:prod" in scripts else "start"
    start, start_line = scripts.get(script, ""), tree.line_of("package.json", f'"{script}"')
    if framework == "nextjs" and re.search(r"\bnext\s+start\b", start):
        return _flag_port(start, start_line) or (
            Decision(3000, "next start binds 3000 unless PORT is set", "package.json", start_line),
            Decision("PORT", "next start reads PORT", "package.json", start_line),
        )
    hit = tree.first(_ENV_PORT, sources) or tree.first(_ENV_DESTRUCTURED, sources) or tree.first(_ENV_SCHEMA, sources)
    if hit:
        env = _env_name(hit.match)
        port = int(hit.match.group("default"))
        return (
            Decision(port, f"the app binds {port} when {env} is not set", hit.file, hit.line),
            Decision(env, f"the app reads {env}", hit.file, hit.line),
        )
    env_hit = tree.first(_ENV_PORT_ONLY, sources)
    configured = _config_port(tree, sources)
    if configured is not None:
        return configured, Decision(None, "the config object fixes the port", configured.file, configured.line)
    for regex in (_LISTEN, _CONST_PORT):
        hit = tree.first(regex, sources)
        if hit:
            port = int(hit.match.group("port"))
            port_env = (
                Decision(_env_name(env_hit.match), "the app reads it", env_hit.file, env_hit.line)
                if env_hit
                else Decision(None, "the port is hard-coded", hit.file, hit.line)
            )
            return Decision(port, f"the app listens on {port}", hit.file, hit.line), port_env
    flagged = _flag_port(start, start_line)
    if flagged:
        return flagged
    fallback = DEFAULT_PORTS.get(framework or "", 3000)
    env_hit = env_hit or tree.first(_LISTEN_ENV_FIELD, sources)
    if env_hit:
        env = _env_name(env_hit.match)
        return (
            Decision(fallback, f"{env} has no default in the code; HiveMind sets it", env_hit.file, env_hit.line),
            Decision(env, f"the app reads {env}", env_hit.file, env_hit.line),
        )
    return default(fallback, f"the default port of {framework or 'Node web servers'}"), default(
        None, "no port variable"
    )


# `.listen(config.apiPort)`, `.listen(port)` after `const port = config.apiPort`
_LISTEN_ARGUMENT = re.compile(r"""\.listen\(\s*(?P<arg>[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)\s*[,)]""")


def _config_port(tree: SourceTree, sources: list[str]) -> Decision | None:
    """The number a config object's property holds when listen() is given that property
    (li-kuan-gi/todo-list-express-api: `apiPort: 3001` in src/config.ts, `app.listen(config.apiPort)`)."""
    for hit in tree.search(_LISTEN_ARGUMENT, sources):
        argument = hit.match.group("arg")
        if "." not in argument:
            bound = re.search(
                rf"""\b(?:const|let|var)\s+{re.escape(argument)}\s*=\s*(?P<value>[A-Za-z_$][\w$]*\.[\w$.]+)\s*;?\s*$""",
                tree.text(hit.file) or "",
                re.MULTILINE,
            )
            argument = bound.group("value") if bound else argument
        if "." not in argument or argument.startswith("process.env"):
            continue
        prop = argument.rsplit(".", 1)[1]
        literal = tree.first(re.compile(rf"""(?<![\w$.]){re.escape(prop)}\s*:\s*(?P<port>\d{{2,5}})\b"""), sources)
        if literal is not None:
            port = int(literal.match.group("port"))
            return Decision(
                port, f"the app listens on {argument}, which {literal.file} sets to {port}", literal.file, literal.line
            )
    return None


def _flag_port(start: str, line: int | None) -> tuple[Decision, Decision] | None:
    """The port a start script's `-p`/`--port` flag sets: a number, or `$VAR` (HiveMind sets VAR)."""
    flag = _PORT_FLAG.search(start)
    if flag is None:
        return None
    if flag.group("env"):
        env = flag.group("env")
        return (
            Decision(3000, f"the start script binds ${env}; HiveMind sets it to this", "package.json", line),
            Decision(env, f"the start script binds ${env}", "package.json", line),
        )
    port = int(flag.group("port"))
    return (
        Decision(port, f"the start script passes {flag.group(0).strip()}", "package.json", line),
        Decision(None, "the start script's flag fixes the port", "package.json", line),
    )
