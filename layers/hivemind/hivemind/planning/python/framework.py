"""The web framework: from the declared dependencies, else from what the code imports."""

from __future__ import annotations

import re

from hivemind.planning.decisions import Decision, default
from hivemind.planning.python.project import Deps
from hivemind.planning.python.server import WSGI_CALLABLE
from hivemind.planning.tree import SourceTree

# Declared dependencies, most specific first: Dash runs on Flask; Streamlit and Gradio apps often
# declare aiohttp or tornado as clients or leftovers.
FRAMEWORKS = (
    "django", "fastapi", "dash", "flask", "starlette", "litestar", "quart", "sanic", "streamlit", "gradio",
    "aiohttp", "tornado",
)  # fmt: skip


STREAMLIT_VERSION = re.compile(r"""^\s*streamlit\s*[=~]=\s*(?P<major>\d+)\.(?P<minor>\d+)""", re.IGNORECASE)


def is_test(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return base.startswith("test_") or base.endswith("_test.py") or name.startswith(("tests/", "test/"))


def framework_of(tree: SourceTree, deps: Deps, sources: list[str]) -> Decision:
    declared = [name for name in FRAMEWORKS if name in deps]
    if len(declared) > 1:
        # a lock file or a pip freeze declares what a framework pulls in (Gradio brings FastAPI and
        # Starlette): of the declared ones, the code's own import names the app's
        imports = rf"^\s*(?:from|import)\s+({'|'.join(declared)})\b"
        hits = {hit.match.group(1): hit for hit in tree.search(imports, sources)}
        name = next((n for n in declared if n in hits), None)
        if name is not None:
            others = ", ".join(n for n in declared if n != name)
            reason = f"{name} is a declared dependency the code imports (also declared: {others})"
            return Decision(name, reason, hits[name].file, hits[name].line)
    if declared:
        file, line = deps[declared[0]]
        return Decision(declared[0], f"{declared[0]} is a declared dependency", file, line)
    if tree.has("manage.py"):
        return Decision("django", "manage.py is Django's entry point", "manage.py", 1)
    hit = tree.first(r"^\s*(?:from|import)\s+(flask|fastapi|django|streamlit|dash|gradio|sanic)\b", sources)
    if hit:
        return Decision(hit.match.group(1), f"the code imports {hit.match.group(1)}", hit.file, hit.line)
    hit = tree.first(WSGI_CALLABLE, sources)
    if hit:
        return Decision("wsgi", "the code defines a WSGI `application`", hit.file, hit.line)
    return default(None, "no web framework recognised")
