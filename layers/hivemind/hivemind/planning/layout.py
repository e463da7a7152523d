"""Where the app is in a source tree: at the root, in the folder the request names, or in the
one app folder of a monorepo.

A folder with a manifest of its own (package.json, go.mod, pyproject.toml, ...) is an app of
its own: its files are not evidence for the folder above it, so a repository's root is planned
from the root's own files, and `apps/web` from `apps/web`'s.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from hivemind.errors import PlanError
from hivemind.planning.decisions import Decision, default
from hivemind.planning.tree import SourceTree, is_aside

# Files that say "this folder is what gets deployed": in a monorepo, the app folder with one wins.
RECIPES = ("Procfile", "hivemind.toml", "Dockerfile", "app.yaml", "fly.toml", "render.yaml", "railway.json")
# A root with one of these (or package.json workspaces and no start script) holds apps; it is not one.
WORKSPACE_FILES = ("pnpm-workspace.yaml", "lerna.json", "nx.json", "turbo.json", "rush.json", "go.work")
MAX_APP_DEPTH = 3
# A Maven or Gradle build's modules make one app with their parent build, unlike a Node
# workspace's packages: a folder with one of these inside such a build is not an app of its own.
JVM_BUILD_FILES = ("pom.xml", "build.gradle", "build.gradle.kts")
JVM_PARENTS = ("pom.xml", "settings.gradle", "settings.gradle.kts")


def app_folders(tree: SourceTree, manifests: Iterable[str]) -> dict[str, str]:
    """Folders below the root (at most MAX_APP_DEPTH deep) that hold a manifest -> that manifest,
    shallowest first."""
    names = set(manifests)
    found: dict[str, str] = {}
    for file in sorted(tree.files, key=lambda f: (f.count("/"), f)):
        folder, _, name = file.rpartition("/")
        if folder and name in names and folder.count("/") < MAX_APP_DEPTH and not _is_jvm_module(tree, folder, name):
            found.setdefault(folder, file)
    return found


def _is_jvm_module(tree: SourceTree, folder: str, name: str) -> bool:
    """Whether `folder`'s build file makes it a module of a Maven or Gradle build above it."""
    if name not in JVM_BUILD_FILES:
        return False
    parts = folder.split("/")
    for depth in range(len(parts)):
        parent = "/".join(parts[:depth])
        prefix = f"{parent}/" if parent else ""
        if any(tree.has(prefix + build) for build in JVM_PARENTS):
            return True
    return False


def own_tree(tree: SourceTree, folder: str, folders: Iterable[str]) -> SourceTree:
    """The files of `folder` ("." for the root) minus those of the app folders inside it."""
    inner = [f for f in folders if folder == "." or f.startswith(folder + "/")]
    sub = tree if folder == "." else tree.sub(folder)
    prefixes = tuple((f if folder == "." else f[len(folder) + 1 :]) + "/" for f in inner)
    if not prefixes:
        return sub
    return SourceTree(root=sub.root, files=[f for f in sub.files if not f.startswith(prefixes)])


def find_app(tree: SourceTree, folders: dict[str, str], runnable: Callable[[SourceTree], bool]) -> Decision:
    """The app's folder: the root when it is runnable by itself; else the one runnable app folder
    (or the one of several with its own deploy recipe); else a PlanError naming the candidates.
    Folders of examples, docs or tests are never chosen on their own."""
    if not is_workspace_root(tree) and runnable(own_tree(tree, ".", folders)):
        for folder in (f for f in folders if not is_aside(f)):
            inner = own_tree(tree, folder, folders)
            serving = inner.first(_SERVES_PARENT_BUILD, _code(inner))
            if serving is not None and runnable(inner):
                raise PlanError(
                    f"the app in {folder}/ serves the build of the app at the root ({folder}/{serving.file}:"
                    f"{serving.line} {serving.match.group(0).strip()}): together they are one app, which HiveMind "
                    "does not deploy as one (it runs one app's build and server); deploy one with subdir in the "
                    f"request (--subdir . for the front end alone, --subdir {folder} for the other, which then "
                    "needs that build)"
                )
        return default(".", "the app is at the root of the source")
    found = [f for f in folders if runnable(own_tree(tree, f, folders))]
    apps = [f for f in found if not is_aside(f) and not is_proxy(own_tree(tree, f, folders))]
    if len(apps) == 1:
        return Decision(apps[0], "the only app folder in the repository", folders[apps[0]], 1)
    with_recipe = [(f, r) for f in apps for r in RECIPES if tree.has(f"{f}/{r}")]
    if len({f for f, _ in with_recipe}) == 1:
        folder, recipe = with_recipe[0]
        others = ", ".join(f for f in apps if f != folder)
        return Decision(folder, f"it has its own {recipe}; the other apps ({others}) do not", f"{folder}/{recipe}", 1)
    if len(apps) > 1:
        raise PlanError(
            f"the repository holds {len(apps)} apps ({', '.join(apps)}) and none is the obvious one: "
            "choose one with subdir in the request (--subdir)"
        )
    if found:
        raise PlanError(
            f"no app at the root of the source, only examples or tests ({', '.join(found)}): "
            "choose one with subdir in the request (--subdir)"
        )
    return default(".", "the app is at the root of the source")


# a folder's app that serves what the root builds: Flask's static_folder='../build', Express's
# express.static('../dist'), send_from_directory('../build', ...)
_SERVES_PARENT_BUILD = re.compile(
    r"""(?:static_folder\s*=|send_from_directory\(|static\(|sendFile\()\s*(?:path\.join\(\s*__dirname\s*,\s*)?"""
    r"""['"]\.\./(?:build|dist|out|public)/?['"]"""
)


def _code(tree: SourceTree) -> list[str]:
    return [f for f in tree.files if f.endswith((".py", ".js", ".ts", ".mjs", ".cjs")) and f.count("/") < 3][:200]


# A reverse proxy's image: a folder that builds one of these and only configures it to pass
# requests on (docker-compose's nginx in front of the app) is not an app of its own
_PROXY_IMAGE = re.compile(
    r"^\s*FROM\s+(?:\S+/)?(?:nginx|nginx-unprivileged|caddy|traefik|haproxy)(?::\S+)?\b", re.IGNORECASE | re.MULTILINE
)
_PROXY_CONFIG = re.compile(r"\bproxy_pass\b|\breverse_proxy\b|^\s*backend\s+\w+|traefik\.http\.routers", re.M)


def is_proxy(tree: SourceTree) -> bool:
    """Whether the folder is only a reverse proxy: its Dockerfile builds from nginx, Caddy,
    Traefik or HAProxy, its other files are configuration that passes requests on, and it has no
    manifest of a language (no code of its own to run)."""
    dockerfile = tree.text("Dockerfile") if tree.has("Dockerfile") else None
    if not dockerfile or not _PROXY_IMAGE.search(dockerfile):
        return False
    code = (".py", ".js", ".ts", ".go", ".rb", ".php", ".java", ".html")
    if any(f.endswith(code) or f in _LANGUAGE_MANIFESTS for f in tree.files):
        return False
    return any(_PROXY_CONFIG.search(tree.text(f) or "") for f in tree.files if f != "Dockerfile")


_LANGUAGE_MANIFESTS = ("package.json", "requirements.txt", "pyproject.toml", "go.mod", "Gemfile", "composer.json")


def is_workspace_root(tree: SourceTree) -> bool:
    if any(tree.has(name) for name in WORKSPACE_FILES):
        return True
    text = tree.text("package.json") if tree.has("package.json") else None
    return bool(text and '"workspaces"' in text and '"start"' not in text)
