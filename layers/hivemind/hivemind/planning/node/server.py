"""Which command is the server in production: the start script unless it only develops (a dev server,
a watcher, Nx's serve), the package's main, or a conventional entry file."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import PurePosixPath
from typing import Any

from hivemind.planning.decisions import Decision, default
from hivemind.planning.node.build import built_by, built_file
from hivemind.planning.node.project import run_script, scripts_of
from hivemind.planning.tree import SourceTree

# Commands that serve a front end while developing it: never a production server. Variables set
# before the command (`cross-env PORT=4100 react-scripts start`, `BROWSER=none vite`) change nothing.
DEV_SERVERS = re.compile(
    r"^\s*(?:set\s+[A-Za-z_]\w*=[^&]*&&\s*)*(?:(?:cross-env(?:-shell)?|env)\s+)?(?:[A-Za-z_]\w*=\S*\s+)*(?:npx\s+)?"
    r"(?:vite\b|react-scripts start|ng serve|astro (?:dev|preview)|vue-cli-service serve"
    r"|webpack(?:-dev-server| serve)|parcel(?! build)|gatsby (?:develop|serve)|docusaurus (?:start|serve)|serve\b"
    r"|http-server|live-server|next dev|nuxt dev|svelte-kit dev|ember serve|react-app-rewired start|craco start"
    r"|(?:@11ty/)?eleventy\b[^&|;]*--serve|strapi develop|remix (?:vite:)?dev|nuxt\s*$)"
)


_SERVES = re.compile(r"\.listen\(|createServer\(")


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
        and built_by(tree, main.removeprefix("./"))
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
    built = built_file(tree, file) if "build" in scripts else None
    if built is not None:
        return "command", f"node {built}", f"{why}; node runs the file the build script compiles it to"
    runner = "npx tsx" if tool == "tsx" else "npx ts-node --transpile-only"
    return "command", f"{runner} {file}", f"{why}; {runner.removeprefix('npx ')} runs the same file"
