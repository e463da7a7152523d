"""package.json and the package manager: its scripts, the install command its lockfile calls for,
and the workspace an app folder belongs to."""

from __future__ import annotations

import fnmatch
import json
import re
from typing import Any

from hivemind.planning.decisions import Decision, Detection
from hivemind.planning.tree import SourceTree

LOCKFILES = (
    ("pnpm-lock.yaml", "pnpm"),
    ("yarn.lock", "yarn"),
    ("package-lock.json", "npm"),
    ("npm-shrinkwrap.json", "npm"),
)


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


def table_of(package: dict[str, Any], key: str) -> dict[str, Any]:
    value = package.get(key)
    return value if isinstance(value, dict) else {}


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
            if pinned is not None:  # the build and start run by the same pnpm, or today's reinstalls unpinned
                return str(pinned.value).removesuffix(" install --frozen-lockfile"), pinned
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
    return f"{manager} run"  # npm run, yarn run, pnpm run, corepack pnpm@7 run
