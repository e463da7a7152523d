"""The build: the build script, Prisma's client, the front end the server serves from another folder,
and the server file a full-stack framework's build writes."""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

from hivemind.planning.decisions import Decision, default
from hivemind.planning.node.framework import BUILT_SERVERS, BuiltServer
from hivemind.planning.node.port import HOST_SET
from hivemind.planning.node.project import LOCKFILES, install, read_package, run_script, scripts_of, table_of
from hivemind.planning.tree import SourceTree

_OUT_DIR = re.compile(r"""["']outDir["']\s*:\s*["'](?:\./)?(?P<dir>[\w.@/-]+?)/?["']""")


_ADAPTER_OUT = re.compile(r"""\badapter\(\s*\{[^}]*\bout\s*:\s*['"](?:\./)?(?P<dir>[\w.@/-]+?)/?['"]""")


def build_of(tree: SourceTree, scripts: dict[str, str], manager: str, sources: list[str]) -> Decision:
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


def built_server(tree: SourceTree, package: dict[str, Any], label: str | None) -> tuple[str, BuiltServer] | None:
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


def built_start(tree: SourceTree, scripts: dict[str, str], start: Decision, built: tuple[str, BuiltServer]) -> Decision:
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
    if tree.first(HOST_SET, configs):
        return start
    return Decision(
        f"env HOST=0.0.0.0 {start.value}",
        f"{start.reason}; {name}'s server binds localhost unless HOST is set, which the load balancer cannot reach",
        start.file,
        start.line,
    )


_ROOT_DIR = re.compile(r"""["']rootDir["']\s*:\s*["'](?:\./)?(?P<dir>[\w.@/-]*?)/?["']""")


def built_file(tree: SourceTree, source: str) -> str | None:
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


def built_by(tree: SourceTree, main: str) -> bool:
    """Whether `main` lies in the folder a TypeScript build writes (tsconfig's outDir, else dist/ or build/)."""
    hit = tree.first(_OUT_DIR, ["tsconfig.json"]) if tree.has("tsconfig.json") else None
    folders = (hit.match.group("dir"),) if hit else ("dist", "build")
    return main.startswith(tuple(f"{folder.strip('/')}/" for folder in folders))
