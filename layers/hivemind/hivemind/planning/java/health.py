"""The path the health check probes: a route or the welcome page, else the framework's own
health endpoint (Spring Boot's actuator, Quarkus's SmallRye Health, Micronaut's management),
one Spring Security lets through, under the app's context path.
"""

from __future__ import annotations

import re

from hivemind.planning.decisions import Decision, default
from hivemind.planning.java.framework import _QUARKUS_VERSION
from hivemind.planning.java.project import _build_files, _in_modules, _sources
from hivemind.planning.java.routes import _LAMBDA_ROUTE, _STRING, _hit, _jaxrs_routes, _routes
from hivemind.planning.routes import pick_health_path
from hivemind.planning.tree import Hit, SourceTree

# Spring Boot serves these as the welcome page at /.
STATIC_INDEX = tuple(
    f"src/main/resources/{folder}/index.html" for folder in ("static", "public", "resources", "META-INF/resources")
)
# The context path each framework serves the app under.
CONTEXT_PATHS = {
    "spring-boot": ("server.servlet.context-path", "server.context-path"),
    "quarkus": ("quarkus.http.root-path",),
    "micronaut": ("micronaut.server.context-path",),
}
# a path parameter: Spring's and Ktor's `{id}`, Javalin 3's and Spark's `:id`, Javalin 5's `<id>`, a wildcard
_PARAMETER = re.compile(r"[{:<*]")
_PERMIT = re.compile(
    r"""(?:requestMatchers|antMatchers|mvcMatchers|regexMatchers|pathMatchers)\s*\((?P<args>[^()]*)\)\s*\.permitAll\(\)"""
)


def _health(
    tree: SourceTree, config: dict[str, tuple[str, str, int]], build_file: str, framework: Decision
) -> Decision:
    name = framework.value
    routes = _routes(tree) + _jaxrs_routes(tree)
    if name in ("javalin", "spark", "ktor"):
        routes += tree.search(_LAMBDA_ROUTE, _sources(tree))
    static = next((f for f in _in_modules(tree, STATIC_INDEX) if tree.has(f)), None)
    if static is not None:
        routes.append(_hit(static, 1, "/"))
    chosen = pick_health_path(routes)
    if chosen.source == "default":
        chosen = (
            _endpoint(tree, config, build_file, name)
            or _plain_get(routes)
            or default("/", "no route, welcome page or health endpoint found")
        )
    if name == "spring-boot":
        chosen = _secured(tree, chosen, routes, config, build_file)
    keys = CONTEXT_PATHS.get(str(name), ())
    context = next((config[k] for k in keys if k in config), None)
    if context and context[0].strip("/") and chosen.value is not None:
        prefix = "/" + context[0].strip("/")
        return Decision(
            prefix + str(chosen.value),
            f"{chosen.reason}, under the context path {prefix} ({context[1]})",
            chosen.file,
            chosen.line,
            chosen.source,
        )
    return chosen


def _endpoint(
    tree: SourceTree, config: dict[str, tuple[str, str, int]], build_file: str, framework: object
) -> Decision | None:
    """The framework's own health endpoint, when the build includes it."""
    if framework == "spring-boot":
        return _actuator(tree, config, build_file)
    files = _build_files(tree, build_file)
    if framework == "quarkus":
        hit = tree.first(r"quarkus-smallrye-health", files)
        if hit is None:
            return None
        old = tree.first(_QUARKUS_VERSION, [*files, *(f for f in ("gradle.properties",) if tree.has(f))])
        path = "/health/live" if old is not None and old.match.group("major") == "1" else "/q/health/live"
        return Decision(
            path, f"quarkus-smallrye-health serves {path} (liveness: no database check)", hit.file, hit.line
        )
    if framework == "micronaut":
        hit = tree.first(r"micronaut-management", files)
        return Decision("/health", "micronaut-management serves /health", hit.file, hit.line) if hit else None
    return None


def _secured(
    tree: SourceTree, chosen: Decision, routes: list[Hit], config: dict[str, tuple[str, str, int]], build_file: str
) -> Decision:
    """With Spring Security, a path it lets through: the health check gets 401 on a guarded one."""
    files = _build_files(tree, build_file)
    security = tree.first(r"spring-boot-starter-security|spring-security-(?:web|config)", files)
    if security is None or chosen.value is None:
        return chosen
    sources = _sources(tree)
    permits = [
        (path, hit)
        for hit in tree.search(_PERMIT, sources)
        if "HttpMethod." not in hit.match.group("args") or "HttpMethod.GET" in hit.match.group("args")
        for path in (m.group("path") for m in _STRING.finditer(hit.match.group("args")))
    ]

    def permitted(path: str) -> Hit | None:
        return next((h for pattern, h in permits if _ant_match(pattern, path)), None)

    where = f"{security.file}:{security.line}"
    hit = permitted(str(chosen.value))
    if hit is not None:
        return Decision(
            chosen.value,
            f"{chosen.reason}; Spring Security ({where}) permits it ({hit.file}:{hit.line})",
            chosen.file,
            chosen.line,
            chosen.source,
        )
    actuator = _actuator(tree, config, build_file)
    candidates = [actuator] if actuator is not None else []
    plain = [h for h in routes if not _PARAMETER.search(h.match.group("path"))]
    plain.sort(key=lambda h: (h.match.group("path").strip("/") != "", h.match.group("path").count("/")))
    candidates += [Decision(h.match.group("path"), "a GET route", h.file, h.line) for h in plain]
    for candidate in candidates:
        hit = permitted(str(candidate.value))
        if hit is not None:
            return Decision(
                candidate.value,
                f"Spring Security ({where}) guards {chosen.value}; {candidate.reason} ({candidate.file}:"
                f"{candidate.line}) it permits ({hit.file}:{hit.line})",
                hit.file,
                hit.line,
            )
    if tree.first(r"\bformLogin\b", sources) and not tree.first(r"\bhttpBasic\b|oauth2ResourceServer", sources):
        note = "its form login redirects the check to the login page (a 302 the check accepts)"
    else:
        note = "the check may get 401: permit a health route (the actuator's /actuator/health) or set health_path"
    return Decision(
        chosen.value,
        f"{chosen.reason}; Spring Security ({where}) guards it and permits no route HiveMind found: {note}",
        chosen.file,
        chosen.line,
        chosen.source,
    )


def _ant_match(pattern: str, path: str) -> bool:
    """Whether a Spring Security (Ant-style) pattern matches a path: `**` any folders, `*` one name."""
    regex = re.escape(pattern.rstrip("/") or "/")
    regex = regex.replace(r"/\*\*", "(?:/.*)?").replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
    return re.fullmatch(regex, path.rstrip("/") or "/") is not None


def _actuator(tree: SourceTree, config: dict[str, tuple[str, str, int]], build_file: str) -> Decision | None:
    line = tree.line_of(build_file, "spring-boot-starter-actuator")
    if line is None or "management.server.port" in config:  # on its own port, the ALB cannot reach it
        return None
    base = config.get("management.endpoints.web.base-path", ("/actuator", "", 0))[0].rstrip("/")
    path = f"{base}/health"
    return Decision(path, f"spring-boot-starter-actuator serves {path}", build_file, line)


def _plain_get(routes: list[Hit]) -> Decision | None:
    """A GET route without path variables: better than `/`, which Spring answers with 404 when unmapped."""
    plain = [h for h in routes if not _PARAMETER.search(h.match.group("path"))]
    if not plain:
        return None
    # the shortest path: a listing (`/articles`) before the pages under it (`/articles/feed`)
    hit = min(plain, key=lambda h: h.match.group("path").strip("/").count("/"))
    path = hit.match.group("path")
    return Decision(path, f"the app maps no / or health route; {path} is its shortest GET route", hit.file, hit.line)
