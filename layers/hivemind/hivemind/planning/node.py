"""Node apps: Express, Fastify, Koa, NestJS, Next.js, the server-rendering frameworks that build a
server of their own (Nuxt, SvelteKit with adapter-node, Remix, Astro with @astrojs/node), Strapi,
or any `npm start`, from package.json."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from hivemind.planning.decisions import WARNING, Decision, Detection, default
from hivemind.planning.ports import PORT_VAR
from hivemind.planning.routes import pick_health_path
from hivemind.planning.tree import SourceTree

LANGUAGE = "node"
MANIFESTS: tuple[str, ...] = ("package.json",)
PROCFILE_WORDS = frozenset({"node", "npm", "yarn", "pnpm", "npx", "next", "bun"})
DEFAULT_VERSION = "20"
# Node majors Amazon Linux 2023 packages (nodejs18, nodejs20, nodejs22): a version range is met
# with one of these, the default first.
AVAILABLE_MAJORS = (18, 20, 22)
# nvm's LTS code names (`lts/iron` in .nvmrc) -> major
LTS_NAMES = {
    "argon": 4, "boron": 6, "carbon": 8, "dubnium": 10, "erbium": 12, "fermium": 14,
    "gallium": 16, "hydrogen": 18, "iron": 20, "jod": 22, "krypton": 24,
}  # fmt: skip
FRAMEWORKS = (
    ("@nestjs/core", "nestjs"),
    ("next", "nextjs"),
    ("fastify", "fastify"),
    ("koa", "koa"),
    ("express", "express"),
    ("@hapi/hapi", "hapi"),
    ("hapi", "hapi"),
)
# Frameworks whose CLI builds or runs the server, so they count from devDependencies too; before the
# plain server frameworks (a Remix app on Express is a Remix app).
SERVER_FRAMEWORKS = (
    ("nuxt", "nuxt"),
    ("@sveltejs/kit", "sveltekit"),
    ("@remix-run/serve", "remix"),
    ("@remix-run/node", "remix"),
    ("@astrojs/node", "astro"),
    ("@strapi/strapi", "strapi"),
)


@dataclass(frozen=True)
class BuiltServer:
    """What a server-rendering framework's own server does: the port it binds without the variable
    it reads, a start script that runs that server (not one of the app's own), the file its build
    writes the server to (None: only its CLI starts it), and whether it binds localhost unless HOST
    says otherwise."""

    port: int
    env: str
    runs: re.Pattern[str]
    entry: str | None = None
    localhost: bool = False
    health: str = "/"


BUILT_SERVERS = {
    # Nitro's node-server reads NITRO_PORT or PORT and binds every interface
    "nuxt": BuiltServer(3000, "PORT", re.compile(r"\bnuxi?\s+(?:start|preview)\b|\.output/server/index\.mjs"),
                        ".output/server/index.mjs"),
    # Nuxt 2's `nuxt start` binds localhost unless HOST (or NUXT_HOST) is set
    "nuxt2": BuiltServer(3000, "PORT", re.compile(r"\bnuxt\s+start\b"), None, localhost=True),
    # adapter-node writes build/ (its `out` option) and reads PORT and HOST (0.0.0.0 by default)
    "sveltekit": BuiltServer(3000, "PORT", re.compile(r"\bnode\s+(?:\./)?build\b"), "build"),
    "remix": BuiltServer(3000, "PORT", re.compile(r"\bremix-serve\b")),
    # @astrojs/node standalone: PORT, else the config's server.port (4321); localhost unless HOST is set
    "astro": BuiltServer(4321, "PORT", re.compile(r"dist/server/entry\.mjs"), "dist/server/entry.mjs",
                         localhost=True),
    # Strapi answers /_health with 204 (the root redirects to the admin panel)
    "strapi": BuiltServer(1337, "PORT", re.compile(r"\bstrapi\s+start\b"), health="/_health"),
}  # fmt: skip
# Building Strapi's admin panel needs more memory than a t3.micro's 1 GiB.
LARGE_BUILDS = {"strapi": "t3.small"}
DEFAULT_PORTS = {"nextjs": 3000, "nestjs": 3000, "express": 3000, "fastify": 3000, "koa": 3000, "hapi": 3000}
LOCKFILES = (
    ("pnpm-lock.yaml", "pnpm"),
    ("yarn.lock", "yarn"),
    ("package-lock.json", "npm"),
    ("npm-shrinkwrap.json", "npm"),
)
# Commands that serve a front end while developing it: never a production server. Variables set
# before the command (`cross-env PORT=4100 react-scripts start`, `BROWSER=none vite`) change nothing.
DEV_SERVERS = re.compile(
    r"^\s*(?:set\s+[A-Za-z_]\w*=[^&]*&&\s*)*(?:(?:cross-env(?:-shell)?|env)\s+)?(?:[A-Za-z_]\w*=\S*\s+)*(?:npx\s+)?"
    r"(?:vite\b|react-scripts start|ng serve|astro (?:dev|preview)|vue-cli-service serve"
    r"|webpack(?:-dev-server| serve)|parcel(?! build)|gatsby (?:develop|serve)|docusaurus (?:start|serve)|serve\b"
    r"|http-server|live-server|next dev|nuxt dev|svelte-kit dev|ember serve|react-app-rewired start|craco start"
    r"|(?:@11ty/)?eleventy\b[^&|;]*--serve|strapi develop|remix (?:vite:)?dev|nuxt\s*$)"
)
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
# `.listen(4000)`, `.listen({ port: 4000, host: '::' })`, `.listen({ host: '::', port: 4000 })`,
# Hapi's `Hapi.server({ port: 3000 })`
_LISTEN = re.compile(r"""\.(?:listen|server)\(\s*(?:\{[^}]*?\bport\s*:\s*)?(?P<port>\d{2,5})\b""")
_CONST_PORT = re.compile(r"""\b(?:const|let|var)\s+(?:PORT|port)\s*=\s*(?P<port>\d{2,5})\b""")
_PORT_FLAG = re.compile(r"""(?:^|\s)(?:-p|--port)(?:\s+|=)(?P<port>\d{2,5}|\$\{?(?P<env>[A-Z0-9_]+)\}?)""")
_ROUTE = re.compile(r"""\b(?:app|router|server|fastify|api)\.(?:get|all|route)\(\s*['"`](?P<path>/[^'"`]*)['"`]""")
_VERSION = re.compile(r"(\d+)")
_NODE_FILE = re.compile(r"\b(?:node|ts-node|tsx)\s+(?:--\S+\s+)*(?:\./)?(?P<file>[\w./-]+)")
_SERVES = re.compile(r"\.listen\(|createServer\(")
_OUT_DIR = re.compile(r"""["']outDir["']\s*:\s*["'](?:\./)?(?P<dir>[\w.@/-]+?)/?["']""")
_ADAPTER_OUT = re.compile(r"""\badapter\(\s*\{[^}]*\bout\s*:\s*['"](?:\./)?(?P<dir>[\w.@/-]+?)/?['"]""")
_ASTRO_PORT = re.compile(r"""\bserver\s*:\s*\{[^}]*\bport\s*:\s*(?P<port>\d{2,5})""")
_HOST_SET = re.compile(r"""\bhost\s*:\s*(?:true\b|['"]0\.0\.0\.0['"])""")


def read_package(tree: SourceTree) -> dict[str, Any]:
    """package.json as a dict ({} when it is missing or not a JSON object)."""
    try:
        value = json.loads(tree.text("package.json") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def scripts_of(package: dict[str, Any]) -> dict[str, str]:
    scripts = package.get("scripts")
    return {k: v for k, v in scripts.items() if isinstance(v, str)} if isinstance(scripts, dict) else {}


def detect(tree: SourceTree) -> Detection | None:
    if not tree.has("package.json"):
        return None
    package = read_package(tree)
    scripts = scripts_of(package)
    sources = [f for f in tree.with_suffix(".js", ".mjs", ".cjs", ".ts") if not f.endswith(".d.ts")]
    # the file a start script runs is a source whatever its name (Express generator's bin/www)
    named = _NODE_FILE.search(scripts.get("start", ""))
    if named and tree.has(named.group("file")) and named.group("file") not in sources:
        sources.insert(0, named.group("file"))
    decisions: Detection = {"language": Decision("node", "package.json is a Node project file", "package.json", 1)}
    decisions["framework"] = _framework(tree, package)
    label = str(decisions["framework"].value) if decisions["framework"].value else None
    decisions["runtime_version"] = version(tree, package)
    manager, install_decision = install(tree, package)
    decisions["install_command"] = install_decision
    decisions["build_command"] = _build(tree, scripts, manager, sources)
    if (database := _prisma_database(tree)) is not None:
        decisions[f"{WARNING}database"] = database
    built = _built_server(tree, package, label)
    decisions["start_command"] = server_start(tree, package, manager, label)
    if built is not None:
        decisions["start_command"] = _built_start(tree, scripts, decisions["start_command"], built)
    port, port_env = _port(tree, sources, label, scripts)
    if built is not None and built[1].runs.search(
        str(decisions["start_command"].value) + " " + scripts.get("start", "")
    ):
        port, port_env = _built_port(tree, built, scripts, decisions["framework"].line)
    decisions["port"], decisions["port_env"] = port, port_env
    decisions["health_path"] = pick_health_path(list(tree.search(_ROUTE, sources)))
    if built is not None and built[1].health != "/" and decisions["health_path"].source == "default":
        decisions["health_path"] = Decision(
            built[1].health,
            f"{label} answers {built[1].health} when it is up",
            "package.json",
            decisions["framework"].line,
        )
    if (unbound := _host_by_env(tree, sources)) is not None:
        decisions[f"{WARNING}host"] = unbound
    elif label == "fastify" and (unbound := _fastify_without_host(tree, sources)) is not None:
        decisions[f"{WARNING}fastify-host"] = unbound
    if label in LARGE_BUILDS:
        decisions["instance_type"] = Decision(
            LARGE_BUILDS[label], f"building a {label} app needs more than 1 GiB of memory", "package.json",
            decisions["framework"].line,
        )  # fmt: skip
    return decisions


def _build(tree: SourceTree, scripts: dict[str, str], manager: str, sources: list[str]) -> Decision:
    """The build: Heroku's heroku-postbuild (which Heroku runs instead of build), else the build
    script; then the front end the server serves from another folder's build output, built there."""
    hook = next((name for name in ("heroku-postbuild", "build") if name in scripts), None)
    own = (
        Decision(
            f"{run_script(manager)} {hook}",
            f"package.json's {hook} script: {scripts[hook]}"
            + (" (Heroku runs it instead of build)" if hook != "build" else ""),
            "package.json",
            tree.line_of("package.json", f'"{hook}"'),
        )
        if hook
        else default(None, "package.json has no build script")
    )
    client = _served_client(tree, sources, " ".join(scripts.get(name, "") for name in ("build", "heroku-postbuild")))
    if client is not None:
        command = f"{own.value} && {client.value}" if own.value else str(client.value)
        reason = f"{own.reason}; {client.reason}" if own.value else client.reason
        own = Decision(command, reason, client.file, client.line)
    prisma = _prisma_generate(tree, scripts)
    if prisma is None:
        return own
    command = f"{prisma.value} && {own.value}" if own.value else str(prisma.value)
    return Decision(command, f"{prisma.reason}; {own.reason}" if own.value else prisma.reason, prisma.file, prisma.line)


_PRISMA_DATASOURCE = re.compile(r"""^\s*provider\s*=\s*"(?P<provider>\w+)"\s*$|^\s*url\s*=\s*env\("(?P<env>\w+)"\)""")


def _prisma_database(tree: SourceTree) -> Decision | None:
    """A warning naming the database a Prisma schema connects to and the variable that says where."""
    for schema in (f for f in tree.files if f.endswith("schema.prisma")):
        found = {k: v for h in tree.search(_PRISMA_DATASOURCE, [schema]) for k, v in h.match.groupdict().items() if v}
        line = tree.line_of(schema, "env(")
        if "env" in found and found.get("provider") != "sqlite":
            return Decision(
                None,
                f"the app's data is in a {found.get('provider', 'database')} database that {found['env']} names: "
                f"set {found['env']} (as a secret) to one the instance can reach, and run its migrations",
                schema,
                line,
            )
    return None


def _prisma_generate(tree: SourceTree, scripts: dict[str, str]) -> Decision | None:
    """`npx prisma generate` when the app uses Prisma's client and no script generates it: without
    it the server fails at its first query ("@prisma/client did not initialize yet")."""
    package = read_package(tree)
    if "@prisma/client" not in table_of(package, "dependencies"):
        return None
    if any("prisma generate" in command for command in scripts.values()):
        return None
    configured = (package.get("prisma") or {}).get("schema") if isinstance(package.get("prisma"), dict) else None
    schema = next(
        (
            f
            for f in ([configured] if isinstance(configured, str) else []) + ["prisma/schema.prisma", "schema.prisma"]
            if tree.has(f.removeprefix("./"))
        ),
        None,
    )
    if schema is None:
        return None
    flag = "" if schema in ("prisma/schema.prisma", "schema.prisma") else f" --schema {shlex.quote(schema)}"
    return Decision(
        f"npx prisma generate{flag}",
        f"the app uses @prisma/client and no script generates it from {schema}",
        schema.removeprefix("./"),
        1,
    )


# a path into another folder's build output: "client/build", '../frontend/dist', ('client', 'build')
_CLIENT_OUTPUT = re.compile(r"""['"`/](?:\.\.?/)*(?P<dir>[\w.-]+)(?:/|['"`]\s*,\s*['"`])(?P<out>build|dist)\b""")


def _served_client(tree: SourceTree, sources: list[str], building: str) -> Decision | None:
    """The build of a front end in a folder of its own (its own package.json with a build script)
    whose output the server serves, when the app's own build does not build it already."""
    for hit in tree.search(_CLIENT_OUTPUT, sources):
        name = hit.match.group("dir")
        if name in (".", "..", "node_modules", "src", "public"):
            continue
        parent = hit.file.rpartition("/")[0]
        for folder in dict.fromkeys(f for f in (name, f"{parent}/{name}" if parent else "") if f):
            try:
                package = json.loads(tree.text(f"{folder}/package.json") or "null")
            except ValueError:
                continue
            if not isinstance(package, dict) or "build" not in scripts_of(package):
                continue
            if re.search(rf"(?<![\w-]){re.escape(folder)}\b", building):
                return None  # the app's build builds it
            locked = [f for f, _ in LOCKFILES if (tree.root / folder / f).is_file()]
            manager, installing = install(SourceTree(tree.root / folder, [*locked, "package.json"]), package)
            command = f"(cd {folder} && {installing.value} && {run_script(manager)} build)"
            reason = f"the server serves {folder}/{hit.match.group('out')}, which {folder}'s build script writes"
            return Decision(command, reason, hit.file, hit.line)
    return None


_FASTIFY_LISTEN = re.compile(r"\.listen\(\s*(?:\{(?P<options>[^}]*)\}|(?P<port>[\w.]+)\s*\))", re.DOTALL)


# `const host = ("RENDER" in process.env) ? '0.0.0.0' : 'localhost'`, `process.env.DOCKER ? "0.0.0.0" : "127.0.0.1"`
_HOST_BY_ENV = re.compile(
    r"""(?:['"](?P<a>\w+)['"]\s+in\s+process\.env|process\.env\.(?P<b>\w+))[^?\n]*\?\s*"""
    r"""['"`](?:0\.0\.0\.0|::)['"`]\s*:\s*['"`](?:localhost|127\.0\.0\.1)['"`]"""
)


def _host_by_env(tree: SourceTree, sources: list[str]) -> Decision | None:
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


def _fastify_without_host(tree: SourceTree, sources: list[str]) -> Decision | None:
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


def _framework(tree: SourceTree, package: dict[str, Any]) -> Decision:
    """The web framework: a server-rendering framework from dependencies or devDependencies, else a
    server framework from dependencies."""
    runtime, development = table_of(package, "dependencies"), table_of(package, "devDependencies")
    for name, label in SERVER_FRAMEWORKS:
        spec = runtime.get(name, development.get(name))
        if spec is None:
            continue
        if label == "astro" and not _astro_server(tree):
            continue  # the adapter is there but the site is built to files: static.py plans it
        where = "a dependency" if name in runtime else "a devDependency"
        return Decision(label, f"{name} is {where}", "package.json", tree.line_of("package.json", f'"{name}"'))
    found = next(((name, label) for name, label in FRAMEWORKS if name in runtime), None)
    if found:
        return Decision(
            found[1], f"{found[0]} is a dependency", "package.json", tree.line_of("package.json", f'"{found[0]}"')
        )
    return default(None, "no web framework recognised")


def table_of(package: dict[str, Any], key: str) -> dict[str, Any]:
    value = package.get(key)
    return value if isinstance(value, dict) else {}


def _astro_server(tree: SourceTree) -> bool:
    configs = [f for f in tree.files if "/" not in f and f.startswith("astro.config.")]
    return tree.first(r"""\boutput\s*:\s*['"](?:server|hybrid)['"]|@astrojs/node""", configs) is not None


def _built_server(tree: SourceTree, package: dict[str, Any], label: str | None) -> tuple[str, BuiltServer] | None:
    """(the framework's name for its settings, what its own server does) for a framework that builds
    a server; None for the rest (and for SvelteKit built with another adapter than adapter-node)."""
    if label not in BUILT_SERVERS:
        return None
    if label == "nuxt":
        spec = {**table_of(package, "devDependencies"), **table_of(package, "dependencies")}.get("nuxt")
        if isinstance(spec, str) and re.match(r"^[\^~>=v\s]*2(?:\.|$)", spec):
            return "nuxt2", BUILT_SERVERS["nuxt2"]
    if label == "sveltekit":
        dependencies = {**table_of(package, "devDependencies"), **table_of(package, "dependencies")}
        if "@sveltejs/adapter-node" not in dependencies:
            return None
        configs = [f for f in tree.files if "/" not in f and f.startswith("svelte.config.")]
        out = tree.first(_ADAPTER_OUT, configs)
        if out:
            folder = out.match.group("dir")
            runs = re.compile(rf"\bnode\s+(?:\./)?{re.escape(folder)}\b")
            return label, BuiltServer(3000, "PORT", runs, folder)
    return label, BUILT_SERVERS[label]


def _built_start(
    tree: SourceTree, scripts: dict[str, str], start: Decision, built: tuple[str, BuiltServer]
) -> Decision:
    """The start command for a framework's own server: the start script, else (none, or a development
    server) the file the build writes; with HOST=0.0.0.0 where the server binds localhost by default."""
    name, server = built
    if start.value is None and server.entry and "build" in scripts:
        entry = server.entry
        start = Decision(
            f"node {entry}",
            f"{name}'s build writes its server to {entry}" + (f"; {start.reason}" if start.reason else ""),
            "package.json",
            tree.line_of("package.json", '"build"'),
        )
    if start.value is None or not server.localhost:
        return start
    configs = [f for f in tree.files if "/" not in f and f.startswith(("astro.config.", "nuxt.config."))]
    if tree.first(_HOST_SET, configs):
        return start
    return Decision(
        f"env HOST=0.0.0.0 {start.value}",
        f"{start.reason}; {name}'s server binds localhost unless HOST is set, which the load balancer cannot reach",
        start.file,
        start.line,
    )


def _built_port(
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


def version(tree: SourceTree, package: dict[str, Any]) -> Decision:
    """The Node major to install: .nvmrc / .node-version, else engines.node, else the default."""
    for name in (".nvmrc", ".node-version"):
        lines = ((tree.text(name) if tree.has(name) else None) or "").strip().splitlines()
        wanted = lines[0].strip() if lines else ""
        if not wanted:
            continue
        match = _VERSION.search(wanted)
        if match:
            return Decision(match.group(1), f"{name} pins {wanted}", name, 1)
        alias = wanted.lower().removeprefix("lts/")
        if wanted.lower().startswith("lts/") and alias in ("*", "latest", "-1"):
            newest = str(max(m for m in AVAILABLE_MAJORS if m % 2 == 0))
            return Decision(newest, f"{name} asks for the newest LTS ({wanted}); Node {newest} on AL2023", name, 1)
        if alias in LTS_NAMES:
            return Decision(str(LTS_NAMES[alias]), f"{name} names the {alias} LTS line", name, 1)
        if alias in ("node", "latest", "current", "stable"):
            newest = str(AVAILABLE_MAJORS[-1])
            return Decision(newest, f"{name} asks for the newest Node ({wanted}); Node {newest} on AL2023", name, 1)
    engines = package.get("engines", {}).get("node") if isinstance(package.get("engines"), dict) else None
    if isinstance(engines, str) and engines.strip():
        chosen = _meet(engines)
        if chosen is not None:
            return Decision(
                str(chosen), f"engines.node is {engines!r}", "package.json", tree.line_of("package.json", '"node"')
            )
    return default(DEFAULT_VERSION, "no version file or engines.node; the current LTS on Amazon Linux 2023")


_COMPARATOR = re.compile(
    r"(?P<op>>=|<=|>|<|=|\^|~)?\s*v?(?P<major>\d+|[*xX])(?:\.(?P<minor>\d+|[*xX]))?(?:\.(?P<patch>\d+|[*xX]))?"
)


def _meet(spec: str) -> int | None:
    """The Node major that meets a semver range: the default if it does, else the newest AL2023 major that
    does, else the lowest major the range names (one AL2023 lacks comes from nodejs.org: templating/runtimes.py)."""
    for major in (int(DEFAULT_VERSION), *sorted(AVAILABLE_MAJORS, reverse=True)):
        if any(_meets(major, alternative) for alternative in spec.split("||")):
            return major
    named = [int(m.group("major")) for m in _COMPARATOR.finditer(spec) if m.group("major").isdigit()]
    return min(named) if named else None


def _meets(major: int, alternative: str) -> bool:
    hyphen = re.match(r"^\s*v?(\d+)\S*\s+-\s+v?(\d+)", alternative)
    if hyphen:
        return int(hyphen.group(1)) <= major <= int(hyphen.group(2))
    for comparator in _COMPARATOR.finditer(alternative):
        op, bound = comparator.group("op") or "=", comparator.group("major")
        if not bound.isdigit():
            continue
        limit = int(bound)
        exact_major = all(
            p in (None, "0", "x", "X", "*") for p in (comparator.group("minor"), comparator.group("patch"))
        )
        ok = {
            ">=": major >= limit,
            ">": major > limit if comparator.group("minor") is None else major >= limit,
            "<": major < limit if exact_major else major <= limit,
            "<=": major <= limit,
        }.get(op, major == limit)
        if not ok:
            return False
    return True


def _install_command(manager: str, major: int | None, locked: bool) -> str:
    if manager == "pnpm":
        return "pnpm install --frozen-lockfile" if locked else "pnpm install"
    if manager == "yarn":
        if not locked:
            return "yarn install"
        return "yarn install --immutable" if major and major >= 2 else "yarn install --frozen-lockfile"
    return "npm ci" if locked else "npm install"


def install(tree: SourceTree, package: dict[str, Any]) -> tuple[str, Decision]:
    """(package manager, install command): packageManager names the manager, its lockfile makes it strict."""
    declared = package.get("packageManager")
    named = re.match(r"^(npm|pnpm|yarn)@(\d+)", declared.strip()) if isinstance(declared, str) else None
    if named:
        manager, major = named.group(1), int(named.group(2))
        lockfile = next((f for f, m in LOCKFILES if m == manager and tree.has(f)), None)
        reason = f"packageManager is {declared!r}" + (f" and {lockfile} pins the dependencies" if lockfile else "")
        return manager, Decision(
            _install_command(manager, major, lockfile is not None),
            reason,
            "package.json",
            tree.line_of("package.json", '"packageManager"'),
        )
    for lockfile, manager in LOCKFILES:
        if tree.has(lockfile):
            pinned = _pnpm_for_lockfile(tree) if manager == "pnpm" else None
            if pinned is not None:
                return manager, pinned
            return manager, Decision(
                _install_command(manager, None, True), f"{lockfile} pins the dependencies", lockfile, 1
            )
    return "npm", Decision("npm install", "package.json without a lockfile", "package.json", 1)


# The newest pnpm that installs an older lockfile as it is (--frozen-lockfile) and runs on Node 18+:
# pnpm 7 reads lockfileVersion 5.3 and 5.4 (pnpm 6 fails on Node 20: ERR_INVALID_THIS), pnpm 8 reads
# 6.x; the current pnpm (what corepack runs when package.json names none) reads only 9.x.
_PNPM_FOR_LOCKFILE = {"5": "7", "6": "8"}
_LOCKFILE_VERSION = re.compile(r"""^lockfileVersion:\s*['"]?(?P<major>\d+)(?:\.(?P<minor>\d+))?""", re.MULTILINE)


def _pnpm_for_lockfile(tree: SourceTree) -> Decision | None:
    """`corepack pnpm@N install --frozen-lockfile` when pnpm-lock.yaml is older than today's pnpm reads."""
    text = tree.text("pnpm-lock.yaml") or ""
    found = _LOCKFILE_VERSION.search(text)
    major = _PNPM_FOR_LOCKFILE.get(found.group("major")) if found else None
    if found is None or major is None:
        return None
    version = found.group(0).split(":", 1)[1].strip().strip("'\"")
    return Decision(
        f"corepack pnpm@{major} install --frozen-lockfile",
        f"pnpm-lock.yaml's lockfileVersion {version} is read by pnpm {major} (today's pnpm refuses it) and "
        "package.json names no packageManager",
        "pnpm-lock.yaml",
        text.count("\n", 0, found.start()) + 1,
    )


def in_workspace(whole: SourceTree, subdir: str, decisions: Detection) -> None:
    """An app folder of a JavaScript workspace (npm/yarn `workspaces`, pnpm-workspace.yaml) has no
    lockfile or node_modules of its own: it is installed from the workspace's root, which links its
    sibling packages, and with Turborepo built with the packages it depends on. The commands run in
    a subshell from the app's folder, so the start command still runs there."""
    own_lockfile = any(whole.has(f"{subdir}/{lockfile}") for lockfile, _ in LOCKFILES)
    if own_lockfile or decisions.get("install_command") is None or decisions["install_command"].value is None:
        return
    parts = subdir.split("/")
    for depth in range(len(parts) - 1, -1, -1):
        folder = "/".join(parts[:depth])
        root = whole.sub(folder) if folder else whole
        member = "/".join(parts[depth:])
        if any(fnmatch.fnmatch(member, glob.strip("./").rstrip("/")) for glob in _workspace_globs(root)):
            break
    else:
        return
    up = "/".join([".."] * (len(parts) - depth))
    manager, root_install = install(root, read_package(root))
    for field in ("build_command", "start_command"):  # the workspace's package manager runs the scripts
        found = decisions.get(field)
        if (
            found is not None
            and isinstance(found.value, str)
            and found.value.split(" ", 1)[0] in ("npm", "yarn", "pnpm")
        ):
            command = f"{manager} {found.value.split(' ', 1)[1]}"
            decisions[field] = Decision(
                command, f"{found.reason}, run by the workspace's {manager}", found.file, found.line
            )
    decisions["install_command"] = Decision(
        f"(cd {up} && {root_install.value})",
        f"the workspace's root ({folder or 'the repository root'}) installs every package: {root_install.reason}",
        f"{up}/{root_install.file}",
        root_install.line,
    )
    build = decisions.get("build_command")
    name = read_package(whole.sub(subdir)).get("name")
    if build is not None and build.value and root.has("turbo.json") and isinstance(name, str):
        decisions["build_command"] = Decision(
            f"(cd {up} && npx turbo run build --filter={name}...)",
            f"Turborepo builds {name} and the workspace packages it depends on",
            f"{up}/turbo.json",
            1,
        )


def _workspace_globs(root: SourceTree) -> list[str]:
    """The member folders a workspace root declares: package.json's `workspaces` (a list, or
    `{"packages": [...]}`) and pnpm-workspace.yaml's `packages`."""
    declared = read_package(root).get("workspaces")
    if isinstance(declared, dict):
        declared = declared.get("packages")
    globs = [g for g in declared if isinstance(g, str)] if isinstance(declared, list) else []
    if root.has("pnpm-workspace.yaml"):
        globs += re.findall(r"""^\s*-\s*['"]?([^'"#\s]+)""", root.text("pnpm-workspace.yaml") or "", re.MULTILINE)
    return [g for g in globs if not g.startswith("!")]


def run_script(manager: str) -> str:
    return {"npm": "npm run", "pnpm": "pnpm run", "yarn": "yarn run"}[manager]


def server_start(tree: SourceTree, package: dict[str, Any], manager: str, framework: str | None) -> Decision:
    """How the server starts in production; None when the only start script runs a development server."""
    scripts = scripts_of(package)
    if framework == "nestjs" and "start:prod" in scripts:
        return Decision(
            f"{run_script(manager)} start:prod",
            f"NestJS's production start script: {scripts['start:prod']}",
            "package.json",
            tree.line_of("package.json", '"start:prod"'),
        )
    if "start" in scripts:
        line = tree.line_of("package.json", '"start"')
        kind, production, why = _production(tree, scripts, scripts["start"], 0)
        if kind == "dev":
            return Decision(None, f"the start script runs a development server: {why}", "package.json", line)
        if kind == "command":
            return Decision(production, f"package.json's start script ({scripts['start']}) {why}", "package.json", line)
        command = "npm start" if manager == "npm" else f"{manager} start"
        return Decision(command, f"package.json's start script: {scripts['start']}", "package.json", line)
    main = package.get("main")
    main_line = tree.line_of("package.json", '"main"')
    if isinstance(main, str) and tree.has(main.removeprefix("./")):
        main = main.removeprefix("./")
        # a library's entry point (a workspace's shared package) starts nothing
        if framework is not None or tree.first(_SERVES, [main]):
            return Decision(f"node {main}", "package.json's main", "package.json", main_line)
    elif (
        isinstance(main, str)
        and "build" in scripts
        and _built_by(tree, main.removeprefix("./"))
        # a built library (a workspace's shared package) has a main too: its source must serve
        and (framework is not None or tree.first(_SERVES, tree.with_suffix(".ts", ".mts", ".js", ".mjs")))
    ):
        main = main.removeprefix("./")
        return Decision(
            f"node {main}",
            f"package.json's main, which the build script writes ({scripts['build']})",
            "package.json",
            main_line,
        )
    for name in ("server.js", "app.js", "index.js", "src/server.js", "src/index.js"):
        # an index.js is as often a library's entry point: it counts when it serves or a framework is used
        if tree.has(name) and ("index" not in name or framework is not None or tree.first(_SERVES, [name])):
            return Decision(f"node {name}", f"{name} is the conventional entry point", name, 1)
    return default(None, "no start script, main or server file")


# Tools that rerun a server whenever its files change, while developing it: the file they run is the server.
_WATCHER = re.compile(
    r"^\s*(?:(?:cross-env|env)\s+)?(?:[A-Za-z_]\w*=\S*\s+)*(?:npx\s+)?"
    r"(?P<tool>nodemon|ts-node-dev|tsnd|node-dev|tsx\s+watch|node\s+--watch)(?P<args>(?:\s+[^&|;]*)?)$"
)
# `if-env NODE_ENV=production && <production> || <development>`
_IF_ENV = re.compile(r"^\s*(?:npx\s+)?if-env\s+NODE_ENV=production\s*&&\s*(?P<prod>[^|]+?)\s*\|\|\s*(?P<dev>.+)$")
_CONCURRENTLY = re.compile(r"^\s*(?:npx\s+)?concurrently\b(?P<args>.*)$")
# concurrently's options that take a value
_CONCURRENTLY_VALUED = frozenset(
    {"-n", "--names", "-c", "--prefix-colors", "-p", "--prefix", "-s", "--success", "-t", "--timestamp-format",
     "-m", "--max-processes", "--restart-tries", "--restart-after", "-l", "--prefix-length", "--default-input-target"}
)  # fmt: skip
# a script run by its name: `npm run server`, `npm start`, `yarn server`, `pnpm run api`
_RUN_NAMED = re.compile(r"^\s*(?:npm\s+run(?:-script)?|npm|yarn(?:\s+run)?|pnpm(?:\s+run)?)\s+(?P<name>[\w:.-]+)\s*$")
# a script of another folder's package.json: `cd client && npm start`, `npm run dev --prefix server`
_RUN_ELSEWHERE = re.compile(
    r"^\s*(?:cd\s+(?P<cd>[\w./-]+)\s*&&\s*(?P<cmd>[^&]+?)(?:\s*&&\s*cd\s+\.\.)?"
    r"|(?P<cmd2>(?:npm|yarn|pnpm)\b[^&]*?)\s+--prefix[=\s]+(?P<prefix>[\w./-]+)[^&]*)\s*$"
)
_ROOT_RELATIVE = re.compile(r"^(?:\./)?(?P<file>[\w./@-]+)$")


def _production(tree: SourceTree, scripts: dict[str, str], command: str, depth: int) -> tuple[str, str, str]:
    """How a start script runs in production: ("dev", _, what) when it only develops (a front end's
    dev server, a file watcher with no file to run instead); ("command", the command, why) when another
    command does its production work; ("same", command, "") when it is a production command already."""
    if DEV_SERVERS.match(command):
        return "dev", command, command
    if depth > 3:
        return "same", command, ""
    branch = _IF_ENV.match(command)
    if branch:
        kind, production, _ = _production(tree, scripts, branch.group("prod"), depth + 1)
        if kind == "dev":
            return "dev", command, command
        return "command", production, f"runs {production} when NODE_ENV is production, which HiveMind sets"
    together = _CONCURRENTLY.match(command)
    if together:
        return _concurrently(tree, scripts, together.group("args"), depth)
    named = _RUN_NAMED.match(command)
    if named and named.group("name") in scripts:
        kind, production, why = _production(tree, scripts, scripts[named.group("name")], depth + 1)
        return (kind, production, why) if kind != "same" else ("same", command, "")
    elsewhere = _RUN_ELSEWHERE.match(command)
    if elsewhere:
        folder = (elsewhere.group("cd") or elsewhere.group("prefix") or "").strip("/")
        inner = (elsewhere.group("cmd") or elsewhere.group("cmd2") or "").strip()
        try:
            other = scripts_of(json.loads(tree.text(f"{folder}/package.json") or "{}"))
        except (ValueError, AttributeError):
            other = {}
        inner_named = _RUN_NAMED.match(inner)
        target = other.get(inner_named.group("name"), "") if inner_named else inner
        if target and _production(tree, other, target, depth + 1)[0] == "dev":
            return "dev", command, f"{command} ({folder}: {target})"
        return "same", command, ""
    watcher = _WATCHER.match(command)
    if watcher:
        return _unwatched(tree, scripts, watcher.group("tool"), watcher.group("args"))
    serve = _NX_SERVE.match(command)
    if serve:
        return _nx_built(tree, serve.group("project"), command)
    return "same", command, ""


# `nx serve`, `nx serve api`, `nx run api:serve`: Nx's node executor rebuilds and reruns on changes
_NX_SERVE = re.compile(r"^\s*(?:npx\s+)?nx\s+(?:serve(?:\s+(?P<project>[\w@/.-]+))?|run\s+(?P<run>[\w@/.-]+):serve)\b")


def _nx_built(tree: SourceTree, project: str | None, command: str) -> tuple[str, str, str]:
    """`node <outputPath>/<main>.js` for an Nx project whose build target writes a Node server
    (@nx/esbuild, @nx/webpack, @nx/js:tsc options outputPath and main), else a development server."""
    candidates = ["project.json"] + ([f"apps/{project}/project.json", f"{project}/project.json"] if project else [])
    for file in candidates:
        try:
            config = json.loads(tree.text(file) or "null")
        except ValueError:
            continue
        if not isinstance(config, dict) or (project and config.get("name") not in (project, None)):
            continue
        options = ((config.get("targets") or {}).get("build") or {}).get("options") or {}
        output, main = options.get("outputPath"), options.get("main")
        if isinstance(output, str) and isinstance(main, str):
            built = f"{output.rstrip('/')}/{PurePosixPath(main).with_suffix('.js').name}"
            return "command", f"node {built}", f"serves what Nx builds; {file}'s build target writes {built}"
    return "dev", command, f"{command} (Nx's development server; no project.json says what the build writes)"


def _concurrently(tree: SourceTree, scripts: dict[str, str], args: str, depth: int) -> tuple[str, str, str]:
    """The one command of a `concurrently` script that serves in production, when the others only
    develop (a front end's dev server beside the API); the script itself when several serve."""
    try:
        words = shlex.split(args)
    except ValueError:
        return "same", f"concurrently{args}", ""
    members, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = word in _CONCURRENTLY_VALUED
        else:
            members.append(word)
    serving = []
    for member in members:
        kind, production, _ = _production(tree, scripts, member, depth + 1)
        if kind != "dev":
            serving.append(production)
    if len(serving) == 1:
        return "command", serving[0], "runs it beside development servers, which production does without"
    if not serving:
        return "dev", f"concurrently{args}", f"concurrently{args}"
    return "same", f"concurrently{args}", ""


def _unwatched(tree: SourceTree, scripts: dict[str, str], tool: str, args: str) -> tuple[str, str, str]:
    """The production equivalent of a file watcher's command: node on the file (its build's output for
    TypeScript), else the TypeScript runner on it."""
    try:
        words = shlex.split(args)
    except ValueError:
        words = []
    candidates = [w for w in words if not w.startswith("-")]
    file = next(
        (
            name
            for word in reversed(candidates)
            for name in (word.removeprefix("./"), word.removeprefix("./") + ".js", word.removeprefix("./") + ".ts")
            if tree.has(name)
        ),
        None,
    )
    tool = tool.split()[0]
    if file is None:
        return "dev", tool, f"{tool}{args}"
    why = f"runs {tool}, which restarts the server as its files change while developing"
    if not file.endswith((".ts", ".mts", ".cts")):
        return "command", f"node {file}", f"{why}; node runs the same file"
    built = _built_file(tree, file) if "build" in scripts else None
    if built is not None:
        return "command", f"node {built}", f"{why}; node runs the file the build script compiles it to"
    runner = "npx tsx" if tool == "tsx" else "npx ts-node --transpile-only"
    return "command", f"{runner} {file}", f"{why}; {runner.removeprefix('npx ')} runs the same file"


_ROOT_DIR = re.compile(r"""["']rootDir["']\s*:\s*["'](?:\./)?(?P<dir>[\w.@/-]*?)/?["']""")


def _built_file(tree: SourceTree, source: str) -> str | None:
    """The file `tsc` writes for a TypeScript source (tsconfig's outDir and rootDir)."""
    config = tree.text("tsconfig.json") if tree.has("tsconfig.json") else None
    out = _OUT_DIR.search(config or "")
    if out is None:
        return None
    root = _ROOT_DIR.search(config or "")
    relative = source
    if root and root.group("dir") and source.startswith(root.group("dir").rstrip("/") + "/"):
        relative = source[len(root.group("dir").rstrip("/")) + 1 :]
    stem = relative.rsplit(".", 1)[0]
    return f"{out.group('dir').strip('/')}/{stem}.js"


def _built_by(tree: SourceTree, main: str) -> bool:
    """Whether `main` lies in the folder a TypeScript build writes (tsconfig's outDir, else dist/ or build/)."""
    hit = tree.first(_OUT_DIR, ["tsconfig.json"]) if tree.has("tsconfig.json") else None
    folders = (hit.match.group("dir"),) if hit else ("dist", "build")
    return main.startswith(tuple(f"{folder.strip('/')}/" for folder in folders))


def _env_name(match: re.Match[str]) -> str:
    groups = match.groupdict()
    return groups.get("env") or groups.get("env2") or "PORT"


def _port(
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
    if env_hit:
        env = _env_name(env_hit.match)
        return (
            Decision(fallback, f"{env} has no default in the code; HiveMind sets it", env_hit.file, env_hit.line),
            Decision(env, f"the app reads {env}", env_hit.file, env_hit.line),
        )
    return default(fallback, f"the default port of {framework or 'Node web servers'}"), default(
        None, "no port variable"
    )


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
