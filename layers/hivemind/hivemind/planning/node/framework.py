"""The framework: a server framework, or a full-stack one whose build writes the server it runs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from hivemind.planning.decisions import Decision, default
from hivemind.planning.node.project import table_of
from hivemind.planning.tree import SourceTree

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


def framework_of(tree: SourceTree, package: dict[str, Any]) -> Decision:
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


def _astro_server(tree: SourceTree) -> bool:
    configs = [f for f in tree.files if "/" not in f and f.startswith("astro.config.")]
    return tree.first(r"""\boutput\s*:\s*['"](?:server|hybrid)['"]|@astrojs/node""", configs) is not None
