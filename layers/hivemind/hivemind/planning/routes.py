"""The health check's path, from the routes a detector found: `/` when the app defines it, else
a health-like route, else `/` by default. Every language's detector ends here."""

from __future__ import annotations

import re
from dataclasses import replace

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
    paths = [(p, h) for p, h in paths if not re.search(r"[<{:*(\s\\$]", p)]
    chosen = _choose(paths, names)
    plain = {p for p, h in paths if re.fullmatch(r"/[\w.~/-]*", p) and _answers_get(h)} - {"/", str(chosen.value)}
    others = sorted(plain, key=lambda p: (p.count("/"), len(p), p))
    return replace(chosen, routes=tuple(others[:SMOKE_ROUTES]))


def simplest_get(routes: list[Hit]) -> Decision | None:
    """For an app that defines no / and no health route (and serves no files at /): its simplest
    GET route without parameters, where / would answer 404."""
    plain = sorted(
        (("/" + h.match.group("path").lstrip("/"), h) for h in routes if _answers_get(h)),
        key=lambda found: (found[0].count("/"), len(found[0]), found[0]),
    )
    plain = [(p, h) for p, h in plain if re.fullmatch(r"/[\w.~/-]*", p) and p != "/"]
    if not plain:
        return None
    path, hit = plain[0]
    return Decision(
        path, f"the app defines no / and no health route; {path} is its simplest GET route", hit.file, hit.line
    )


def any_answer(only: Hit) -> Decision:
    """health_codes for an app that defines no GET route at all (an API of POST routes): every
    GET it answers is a 404, so an answer below 500 on the health path is what shows it is up
    (Render and Fly.io check such apps by their port alone)."""
    return Decision(
        "200-499",
        f"the app defines no GET route (only {only.match.group(0).strip()}...): any answer below 500 shows it "
        "is up; for a check that it works, add a GET route that answers 200 and set health_path and "
        "health_codes 200-399",
        only.file,
        only.line,
    )


# how many routes besides / and the health path the smoke test tries
SMOKE_ROUTES = 5
# a route declared for other methods only: `methods=["POST"]`, `.post(`, `Route::delete(`
_OTHER_METHODS = re.compile(
    r"methods\s*=\s*[\[(][^\])]*\]|\.(?:post|put|patch|delete)\(|::(?:post|put|patch|delete)\(", re.I
)


def _answers_get(hit: Hit) -> bool:
    """Whether the route's own line lets a GET through (a smoke test sends nothing else)."""
    line = hit.match.string
    declared = _OTHER_METHODS.search(line)
    return declared is None or "GET" in declared.group(0).upper()


def _choose(paths: list[tuple[str, Hit]], names: tuple[str, ...]) -> Decision:
    root = next((h for p, h in paths if p == "/"), None)
    if root:
        return Decision("/", "the app defines /", root.file, root.line)
    for name in names:
        hit = next(((p, h) for p, h in paths if p.rstrip("/") == name or p.rstrip("/").endswith(name)), None)
        if hit:
            return Decision(hit[0], f"the app defines {hit[0]} and no /", hit[1].file, hit[1].line)
    return default("/", "no route found in the code")
