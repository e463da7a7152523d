"""The GET routes the app serves (with the prefixes routers and blueprints are mounted under),
and the health path chosen from them."""

from __future__ import annotations

import ast
import re

from hivemind.planning.decisions import Decision
from hivemind.planning.python.framework import STREAMLIT_VERSION
from hivemind.planning.python.project import requirements_file
from hivemind.planning.routes import pick_from_paths
from hivemind.planning.tree import Hit, SourceTree

_ROUTE = re.compile(
    r"""(?:@(?P<obj>\w+)\.(?:route|get|head|api_route)|\b(?P<rule>\w+)\.add_url_rule)\(\s*['"](?P<path>(?:/[^'"]*)?)['"]"""
)


# a router whose routes are mounted under a prefix: FastAPI's APIRouter, Flask's Blueprint
_ROUTER = r"""^{var}\s*(?::\s*\w+\s*)?=\s*(?:\w+\.)?(?:APIRouter|Blueprint)\((?P<args>[^)]*)"""


_PREFIX_ARG = re.compile(r"""\b(?:url_)?prefix\s*=\s*(?:(?P<q>['"])(?P<prefix>[^'"]*)(?P=q)|(?P<expr>[^,)\s]+))""")


_INCLUDE = re.compile(
    r"""\b(?P<parent>\w+)\.(?:include_router|register_blueprint)\(\s*(?:(?:router|blueprint)\s*=\s*)?"""
    r"""(?P<target>[\w.]+)\s*(?P<args>[^)]*)"""
)


_DJANGO_PATH = re.compile(r"""\b(?:re_path|path|url)\(\s*r?['"]\^?(?P<path>[^'"$]*)\$?['"]""")


def health_of(tree: SourceTree, sources: list[str], framework: object) -> Decision:
    routes: list[tuple[str, Hit]] = []
    for hit in tree.search(_ROUTE, sources):
        prefix = _mount_prefix(tree, sources, hit.match.group("obj") or hit.match.group("rule"), hit.file, 0)
        if prefix is not None:  # a route under a prefix the code computes is not known to exist
            path = hit.match.group("path")  # "" under a prefix is the prefix itself (FastAPI)
            routes.append(((prefix.rstrip("/") + ("/" + path.lstrip("/") if path else "")) or "/", hit))
    if framework == "django":
        routes += [
            (h.match.group("path"), h)
            for h in tree.search(_DJANGO_PATH, [f for f in sources if f.endswith("urls.py")])
            if h.line not in _docstring_lines(tree, h.file)
        ]
    chosen = pick_from_paths(routes)
    if chosen.source == "default" and framework == "streamlit":
        return _streamlit_health(tree)
    if chosen.source == "default" and framework == "fastapi":
        return _fastapi_docs(tree, sources) or chosen
    return chosen


def _fastapi_docs(tree: SourceTree, sources: list[str]) -> Decision | None:
    """Where FastAPI serves its API docs (/docs unless `docs_url` moves them): none when the app
    turns them off or its arguments come from elsewhere (`FastAPI(**settings.kwargs)`)."""
    app = tree.first(r"\bFastAPI\((?P<args>[^)]*)", sources)
    if app is None or "**" in app.match.group("args"):
        return None
    moved = re.search(
        r"""\bdocs_url\s*=\s*(?:(?P<q>['"])(?P<path>[^'"]*)(?P=q)|(?P<other>[^,)\s]+))""", app.match.group("args")
    )
    if moved is None:
        return Decision("/docs", "FastAPI serves its API docs at /docs and the app defines no / or health route",
                        app.file, app.line)  # fmt: skip
    if moved.group("path", "q") and (moved.group("path") or "").startswith("/"):
        return Decision(moved.group("path"), "FastAPI serves its API docs where docs_url says", app.file, app.line)
    return None


def _docstring_lines(tree: SourceTree, file: str) -> set[int]:
    """The lines of a module's string statements (its docstring: Django's generated urls.py shows
    `path('', views.home, name='home')` there as an example, not a route)."""
    try:
        module = ast.parse(tree.text(file) or "")
    except (SyntaxError, ValueError):
        return set()
    return {
        line
        for node in ast.walk(module)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        for line in range(node.lineno, (node.end_lineno or node.lineno) + 1)
    }


def _streamlit_health(tree: SourceTree) -> Decision:
    """Streamlit's health endpoint: /_stcore/health since 1.20, /healthz before."""
    requirements = requirements_file(tree)
    pinned = tree.first(STREAMLIT_VERSION, [requirements]) if requirements else None
    if pinned and (int(pinned.match.group("major")), int(pinned.match.group("minor"))) < (1, 20):
        return Decision("/healthz", "Streamlit before 1.20 answers /healthz", pinned.file, pinned.line)
    where = pinned or tree.first(STREAMLIT_VERSION, [])
    return Decision(
        "/_stcore/health",
        "Streamlit answers /_stcore/health when it is up",
        where.file if where else requirements,
        where.line if where else None,
    )


def _imported_as(tree: SourceTree, file: str, stem: str, name: str, alias: str) -> bool:
    """Whether `file` imports `name` from a module named `stem` as `alias`
    (`from main.api.v1.router import router as api_router`)."""
    pattern = rf"from\s+[\w.]*\b{re.escape(stem)}\s+import\s+[^\n]*\b{re.escape(name)}\s+as\s+{re.escape(alias)}\b"
    return re.search(pattern, tree.text(file) or "") is not None


def _mount_prefix(tree: SourceTree, sources: list[str], name: str, file: str, depth: int) -> str | None:
    """The path prefix the routes of `name` (an object in `file`) are served under: "" for the app
    itself, a router's own prefix plus the prefixes it is included with; None when code computes one
    (`prefix=settings.API_V1_STR`) or the includes disagree."""
    constructed = re.search(_ROUTER.format(var=re.escape(name)), tree.text(file) or "", re.MULTILINE)
    if constructed is None or depth > 4:
        return ""  # not a router: the app object
    own = _PREFIX_ARG.search(constructed.group("args"))
    if own and own.group("expr"):
        return None
    prefix = own.group("prefix") if own else ""
    stem = file.removesuffix(".py").removesuffix("/__init__").rsplit("/", 1)[-1]
    mounts: set[str | None] = set()
    for include in tree.search(_INCLUDE, sources):
        *qualifier, target = include.match.group("target").split(".")
        if (qualifier and qualifier[-1] != stem) or (
            target != name and not _imported_as(tree, include.file, stem, name, target)
        ):
            continue
        given = _PREFIX_ARG.search(include.match.group("args"))
        if given and given.group("expr"):
            mounts.add(None)
            continue
        parent = _mount_prefix(tree, sources, include.match.group("parent"), include.file, depth + 1)
        mounts.add(None if parent is None else parent.rstrip("/") + (given.group("prefix") if given else ""))
    if None in mounts or len(mounts) > 1:
        return None
    mount = next(iter(mounts), None) or ""
    return mount.rstrip("/") + prefix
