"""Node apps: Express, Fastify, Koa, NestJS, Next.js or any `npm start`, from package.json."""

from __future__ import annotations

import json
import re
from typing import Any

from hivemind.planning.decisions import Decision, Detection, default
from hivemind.planning.python import pick_health_path
from hivemind.planning.tree import SourceTree

LANGUAGE = "node"
MANIFESTS: tuple[str, ...] = ("package.json",)
PROCFILE_WORDS = frozenset({"node", "npm", "yarn", "pnpm", "npx", "next", "bun"})
DEFAULT_VERSION = "20"
FRAMEWORKS = (
    ("@nestjs/core", "nestjs"),
    ("next", "nextjs"),
    ("fastify", "fastify"),
    ("koa", "koa"),
    ("express", "express"),
    ("@hapi/hapi", "hapi"),
)
DEFAULT_PORTS = {"nextjs": 3000, "nestjs": 3000, "express": 3000, "fastify": 3000, "koa": 3000}
LOCKFILES = (
    ("pnpm-lock.yaml", "pnpm", "pnpm install --frozen-lockfile"),
    ("yarn.lock", "yarn", "yarn install --frozen-lockfile"),
    ("package-lock.json", "npm", "npm ci"),
    ("npm-shrinkwrap.json", "npm", "npm ci"),
)
_ENV_PORT = re.compile(
    r"""process\.env\.(?P<env>[A-Z0-9_]*PORT[A-Z0-9_]*)\s*(?:,\s*10\s*\))?\s*(?:\|\||\?\?)\s*['"]?(?P<default>\d{2,5})"""
)
_ENV_PORT_ONLY = re.compile(r"""process\.env\.(?P<env>[A-Z0-9_]*PORT[A-Z0-9_]*)""")
_LISTEN = re.compile(r"""\.listen\(\s*(?:\{\s*port\s*:\s*)?(?P<port>\d{2,5})""")
_CONST_PORT = re.compile(r"""\b(?:const|let|var)\s+(?:PORT|port)\s*=\s*(?P<port>\d{2,5})\b""")
_ROUTE = re.compile(r"""\b(?:app|router|server|fastify|api)\.(?:get|all|route)\(\s*['"`](?P<path>/[^'"`]*)['"`]""")
_VERSION = re.compile(r"(\d+)")


def _package(tree: SourceTree) -> dict[str, Any]:
    try:
        value = json.loads(tree.text("package.json") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def detect(tree: SourceTree) -> Detection | None:
    if not tree.has("package.json"):
        return None
    package = _package(tree)
    scripts = package.get("scripts", {}) if isinstance(package.get("scripts"), dict) else {}
    sources = [f for f in tree.with_suffix(".js", ".mjs", ".cjs", ".ts") if not f.endswith(".d.ts")]
    decisions: Detection = {"language": Decision("node", "package.json is a Node project file", "package.json", 1)}
    framework = next(((name, label) for name, label in FRAMEWORKS if name in package.get("dependencies", {})), None)
    if framework:
        decisions["framework"] = Decision(
            framework[1],
            f"{framework[0]} is a dependency",
            "package.json",
            tree.line_of("package.json", f'"{framework[0]}"'),
        )
    else:
        decisions["framework"] = default(None, "no web framework recognised")
    decisions["runtime_version"] = _version(tree, package)
    manager, install = _install(tree)
    decisions["install_command"] = install
    run = {"npm": "npm run", "pnpm": "pnpm run", "yarn": "yarn run"}[manager]
    decisions["build_command"] = (
        Decision(
            f"{run} build", "package.json has a build script", "package.json", tree.line_of("package.json", '"build"')
        )
        if "build" in scripts
        else default(None, "package.json has no build script")
    )
    decisions["start_command"] = _start(tree, package, scripts, manager, sources)
    port, port_env = _port(tree, sources, framework[1] if framework else None)
    decisions["port"], decisions["port_env"] = port, port_env
    decisions["health_path"] = pick_health_path(list(tree.search(_ROUTE, sources)))
    return decisions


def _version(tree: SourceTree, package: dict[str, Any]) -> Decision:
    for name in (".nvmrc", ".node-version"):
        match = _VERSION.search((tree.text(name) if tree.has(name) else None) or "")
        if match:
            return Decision(match.group(1), f"{name} pins it", name, 1)
    engines = package.get("engines", {}).get("node") if isinstance(package.get("engines"), dict) else None
    if isinstance(engines, str):
        match = _VERSION.search(engines)
        if match:
            major = int(match.group(1))
            chosen = max(major, int(DEFAULT_VERSION)) if engines.strip().startswith((">", "^", "~")) else major
            return Decision(
                str(chosen), f"engines.node is {engines!r}", "package.json", tree.line_of("package.json", '"node"')
            )
    return default(DEFAULT_VERSION, "no version file or engines.node; the current LTS on Amazon Linux 2023")


def _install(tree: SourceTree) -> tuple[str, Decision]:
    for lockfile, manager, command in LOCKFILES:
        if tree.has(lockfile):
            return manager, Decision(command, f"{lockfile} pins the dependencies", lockfile, 1)
    return "npm", Decision("npm install", "package.json without a lockfile", "package.json", 1)


def _start(
    tree: SourceTree, package: dict[str, Any], scripts: dict[str, Any], manager: str, sources: list[str]
) -> Decision:
    if "start" in scripts:
        command = "npm start" if manager == "npm" else f"{manager} start"
        return Decision(
            command,
            f"package.json's start script: {scripts['start']}",
            "package.json",
            tree.line_of("package.json", '"start"'),
        )
    main = package.get("main")
    if isinstance(main, str) and tree.has(main.removeprefix("./")):
        return Decision(
            f"node {main.removeprefix('./')}",
            "package.json's main",
            "package.json",
            tree.line_of("package.json", '"main"'),
        )
    for name in ("server.js", "app.js", "index.js", "src/server.js", "src/index.js"):
        if tree.has(name):
            return Decision(f"node {name}", f"{name} is the conventional entry point", name, 1)
    return default(None, "no start script, main or server file")


def _port(tree: SourceTree, sources: list[str], framework: str | None) -> tuple[Decision, Decision]:
    hit = tree.first(_ENV_PORT, sources)
    if hit:
        env, port = hit.match.group("env"), int(hit.match.group("default"))
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
                Decision(env_hit.match.group("env"), "the app reads it", env_hit.file, env_hit.line)
                if env_hit
                else Decision(None, "the port is hard-coded", hit.file, hit.line)
            )
            return Decision(port, f"the app listens on {port}", hit.file, hit.line), port_env
    fallback = DEFAULT_PORTS.get(framework or "", 3000)
    if env_hit:
        env = env_hit.match.group("env")
        return (
            Decision(fallback, f"{env} has no default in the code; HiveMind sets it", env_hit.file, env_hit.line),
            Decision(env, f"the app reads {env}", env_hit.file, env_hit.line),
        )
    return default(fallback, f"the default port of {framework or 'Node web servers'}"), default(
        None, "no port variable"
    )
