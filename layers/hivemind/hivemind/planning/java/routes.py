"""The GET routes the app's code maps: Spring's @GetMapping and @RequestMapping under the
class's prefix, JAX-RS @GET with @Path (Quarkus, Dropwizard), and the lambda routes of Javalin,
Spark Java and Ktor, each as a `Hit` whose `path` group is the route.
"""

from __future__ import annotations

import re

from hivemind.planning.java.project import _sources
from hivemind.planning.tree import Hit, SourceTree

# Lambda routes of Javalin, Spark Java and Ktor: `app.get("/x", ...)`, `get("/x") {`.
_LAMBDA_ROUTE = re.compile(r'(?:^|[\s.(])get\(\s*"(?P<path>/[^"]*)"')
_JAXRS_PATH = re.compile(r"""@Path\(\s*(?:value\s*=\s*)?"(?P<path>[^"]*)"\s*\)""")
_MAPPING = re.compile(r"@(?P<kind>GetMapping|RequestMapping|Get|Controller)\b(?:\s*\((?P<args>[^)]*)\))?")
_CLASS = re.compile(r"^\s*(?:(?:public|final|abstract|open|internal|data|private)\s+)*(?:class|interface|object)\s+\w+")
_NOT_PATH_ARGS = re.compile(r"""\b(?:produces|consumes|headers|params|name)\s*=\s*(?:\{[^}]*\}|\[[^\]]*\]|"[^"]*")""")
_STRING = re.compile(r'"(?P<path>[^"]*)"')
_ANY = re.compile(r"(?P<path>.*)")


def _routes(tree: SourceTree) -> list[Hit]:
    """GET routes of the controllers, each with its class-level @RequestMapping prefix."""
    sources = _sources(tree)
    found: list[Hit] = []
    for name in sources:
        text = tree.text(name) or ""
        if "Mapping" not in text and "@Controller" not in text:
            continue
        prefix, in_class = "", False
        for number, line in enumerate(text.splitlines(), start=1):
            for match in _MAPPING.finditer(line):
                args = match.group("args") or ""
                paths = [m.group("path") for m in _STRING.finditer(_NOT_PATH_ARGS.sub("", args))] or [""]
                if not in_class:
                    if match.group("kind") in ("RequestMapping", "Controller"):
                        prefix = paths[0]
                    continue
                if "RequestMethod." in args and "RequestMethod.GET" not in args:
                    continue
                found.extend(_hit(name, number, _join(prefix, path)) for path in paths)
            if not in_class and _CLASS.match(line):
                in_class = True
    return found


def _jaxrs_routes(tree: SourceTree) -> list[Hit]:
    """GET resources of JAX-RS (Quarkus, Dropwizard): a method's @GET with its @Path, under the class's @Path."""
    found: list[Hit] = []
    for name in _sources(tree):
        text = tree.text(name) or ""
        if "@GET" not in text or "@Path" not in text:
            continue
        prefix, in_class, get, path = "", False, False, ""
        for number, line in enumerate(text.splitlines(), start=1):
            stripped = line.strip()
            match = _JAXRS_PATH.search(line)
            if not in_class:
                if match:
                    prefix = match.group("path")
                in_class = bool(_CLASS.match(line))
                continue
            if match:
                path = match.group("path")
            if re.match(r"@GET\b", stripped):
                get = True
            elif stripped and not stripped.startswith("@") and "(" in stripped:
                if get:
                    found.append(_hit(name, number, _join(prefix, path)))
                get, path = False, ""
    return found


def _join(prefix: str, path: str) -> str:
    return "/" + "/".join(part.strip("/") for part in (prefix, path) if part.strip("/"))


def _hit(file: str, line: int, path: str) -> Hit:
    match = _ANY.fullmatch(path)
    assert match is not None  # `.*` matches any one-line path
    return Hit(file, line, match)
