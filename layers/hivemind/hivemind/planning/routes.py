"""The health check's path, from the routes a detector found: `/` when the app defines it, else
a health-like route, else `/` by default. Every language's detector ends here."""

from __future__ import annotations

import re

from hivemind.planning.decisions import Decision, default
from hivemind.planning.tree import Hit

HEALTH_NAMES = (
    "/health",
    "/healthz",
    "/healthcheck",
    "/health-check",
    "/health_check",
    "/ping",
    "/status",
    "/ready",
    "/livez",
    "/up",
)


def pick_health_path(routes: list[Hit], names: tuple[str, ...] = HEALTH_NAMES) -> Decision:
    """`/` when the app defines it, else a health-like route, else `/` by default. Routes with
    parameters (`<id>`, `{id}`, `:id`) are never chosen: they need data."""
    return pick_from_paths([(h.match.group("path"), h) for h in routes], names)


def pick_from_paths(routes: list[tuple[str, Hit]], names: tuple[str, ...] = HEALTH_NAMES) -> Decision:
    """pick_health_path for routes whose full path is known apart from the match (a router's prefix)."""
    paths = [("/" + path.lstrip("/"), h) for path, h in routes]
    paths = [(p, h) for p, h in paths if not re.search(r"[<{:*(]", p)]
    root = next((h for p, h in paths if p == "/"), None)
    if root:
        return Decision("/", "the app defines /", root.file, root.line)
    for name in names:
        hit = next(((p, h) for p, h in paths if p.rstrip("/") == name or p.rstrip("/").endswith(name)), None)
        if hit:
            return Decision(hit[0], f"the app defines {hit[0]} and no /", hit[1].file, hit[1].line)
    return default("/", "no route found in the code")
