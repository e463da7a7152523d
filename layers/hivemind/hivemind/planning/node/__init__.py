"""Node apps: Express, Fastify, Koa, NestJS, Next.js, the server-rendering frameworks that build a
server of their own (Nuxt, SvelteKit with adapter-node, Remix, Astro with @astrojs/node), Strapi,
or any `npm start`, from package.json.

One module a role: project (package.json, the package manager, workspaces), version, framework,
build, server (which command starts it in production), port.
"""

from __future__ import annotations

import re
from dataclasses import replace

from hivemind.planning.decisions import NEEDS_ENV, WARNING, Decision, Detection
from hivemind.planning.node.build import build_of, built_server, built_start
from hivemind.planning.node.environment import needed_environment
from hivemind.planning.node.framework import FRAMEWORKS, LARGE_BUILDS, framework_of
from hivemind.planning.node.port import built_port, fastify_without_host, host_by_env, port_of
from hivemind.planning.node.project import in_workspace, install, read_package, run_script, scripts_of
from hivemind.planning.node.server import DEV_SERVERS, server_start
from hivemind.planning.node.version import DEFAULT_VERSION, NODE_FILE, version
from hivemind.planning.routes import any_answer, pick_health_path, simplest_get
from hivemind.planning.tree import SourceTree

__all__ = [
    "DEFAULT_VERSION",
    "DEV_SERVERS",
    "FRAMEWORKS",
    "LANGUAGE",
    "MANIFESTS",
    "PROCFILE_WORDS",
    "detect",
    "in_workspace",
    "install",
    "read_package",
    "run_script",
    "scripts_of",
    "server_start",
    "version",
]

LANGUAGE = "node"


MANIFESTS: tuple[str, ...] = ("package.json",)


PROCFILE_WORDS = frozenset({"node", "npm", "yarn", "pnpm", "npx", "next", "bun"})


# what serves files at / (a built front end, a public folder), or answers every path
_SERVES_FILES = re.compile(
    r"""\.static\(|serveStatic\(|serve-static|koa-static|@fastify/static|fastify-static|\.sendFile\(|"""
    r"""\.(?:get|all|use)\(\s*['"`](?:\*|/\*)['"`]"""
)
_OTHER_ROUTE = re.compile(r"""\b(?:app|router|server|fastify|api)\.(?:post|put|patch|delete)\(\s*['"`]/[^'"`]*['"`]""")
_ROUTE = re.compile(r"""\b(?:app|router|server|fastify|api)\.(?:get|all|route)\(\s*['"`](?P<path>/[^'"`]*)['"`]""")
# a GET route on any object (`userRouter.get("/me")`), or a client's GET of a path: when none is seen
# anywhere, the app has no GET route at all
_ANY_GET = re.compile(r"""\.(?:get|all|route)\(\s*['"`]/""")


def detect(tree: SourceTree) -> Detection | None:
    if not tree.has("package.json"):
        return None
    package = read_package(tree)
    scripts = scripts_of(package)
    sources = [f for f in tree.with_suffix(".js", ".mjs", ".cjs", ".ts") if not f.endswith(".d.ts")]
    # the file a start script runs is a source whatever its name (Express generator's bin/www)
    named = NODE_FILE.search(scripts.get("start", ""))
    if named and tree.has(named.group("file")) and named.group("file") not in sources:
        sources.insert(0, named.group("file"))
    decisions: Detection = {"language": Decision("node", "package.json is a Node project file", "package.json", 1)}
    decisions["framework"] = framework_of(tree, package)
    label = str(decisions["framework"].value) if decisions["framework"].value else None
    decisions["runtime_version"] = version(tree, package)
    manager, install_decision = install(tree, package)
    decisions["install_command"] = install_decision
    decisions["build_command"] = build_of(tree, scripts, manager, sources)
    deeper = [f for f in tree.with_suffix(".js", ".mjs", ".cjs", ".ts", top_levels=5) if not f.endswith(".d.ts")]
    for name, needed in needed_environment(tree, list(dict.fromkeys([*sources, *deeper]))).items():
        decisions[f"{NEEDS_ENV}{name}"] = needed
    built = built_server(tree, package, label)
    decisions["start_command"] = server_start(tree, package, manager, label)
    if built is not None:
        decisions["start_command"] = built_start(tree, scripts, decisions["start_command"], built)
    port, port_env = port_of(tree, sources, label, scripts)
    if built is not None and built[1].runs.search(
        str(decisions["start_command"].value) + " " + scripts.get("start", "")
    ):
        port, port_env = built_port(tree, built, scripts, decisions["framework"].line)
    decisions["port"], decisions["port_env"] = port, port_env
    routes = list(tree.search(_ROUTE, sources))
    decisions["health_path"] = pick_health_path(routes)
    if decisions["health_path"].source == "default" and tree.first(_SERVES_FILES, sources) is None:
        if (simplest := simplest_get(routes)) is not None:
            decisions["health_path"] = replace(simplest, routes=decisions["health_path"].routes)
        elif (other := tree.first(_OTHER_ROUTE, sources)) is not None:
            if built is None and tree.first(_ANY_GET, sources) is None:
                decisions["health_codes"] = any_answer(other)
            else:  # GET routes HiveMind cannot place (a router of another name, mounted somewhere)
                decisions[f"{WARNING}no-get-route"] = Decision(
                    None,
                    f"no GET route of the app is seen at / or at a health path (only {other.match.group(0).strip()}"
                    "...): if / answers 404 the load balancer's health check never passes; set health_path to "
                    "a GET route that answers 200 (or health_codes to the statuses it answers with)",
                    other.file,
                    other.line,
                )
    if built is not None and built[1].health != "/" and decisions["health_path"].source == "default":
        decisions["health_path"] = Decision(
            built[1].health,
            f"{label} answers {built[1].health} when it is up",
            "package.json",
            decisions["framework"].line,
        )
    if (unbound := host_by_env(tree, sources)) is not None:
        decisions[f"{WARNING}host"] = unbound
    elif label == "fastify" and (unbound := fastify_without_host(tree, sources)) is not None:
        decisions[f"{WARNING}fastify-host"] = unbound
    if label in LARGE_BUILDS:
        decisions["instance_type"] = Decision(
            LARGE_BUILDS[label], f"building a {label} app needs more than 1 GiB of memory", "package.json",
            decisions["framework"].line,
        )  # fmt: skip
    return decisions
