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
_CONSTANT = re.compile(
    r'''\b(?:static\s+final\s+String|const\s+val)\s+(?P<name>\w+)\s*(?::\s*String\s*)?=\s*"(?P<value>[^"]*)"'''
)
# the constant a mapping names: `LOGIN`, `Paths.LOGIN` (its last part), never a keyword argument's value
_OTHER_ARGS = re.compile(r"""\b(?!(?:value|path|uri)\b)\w+\s*=\s*(?:\{[^}]*\}|\[[^\]]*\]|"[^"]*"|[\w.]+)""")
_NAME = re.compile(r"(?:\b\w+\.)*(\b[A-Za-z_]\w*)\b(?!\s*=)")
_ANY = re.compile(r"(?P<path>.*)")


def _routes(tree: SourceTree) -> list[Hit]:
    """GET routes of the controllers, each with its class-level @RequestMapping prefix. A path
    given by a constant (`@GetMapping(Paths.LOGIN)`) is the constant's string; one HiveMind cannot
    read leaves the route (or the class's routes) out, never taken for `/`."""
    sources = _sources(tree)
    constants = _constants(tree, sources)
    found: list[Hit] = []
    for name in sources:
        text = tree.text(name) or ""
        if "Mapping" not in text and "@Controller" not in text:
            continue
        prefix: str | None = ""
        in_class = False
        for number, line in enumerate(text.splitlines(), start=1):
            for match in _MAPPING.finditer(line):
                args = match.group("args") or ""
                paths = _paths(_NOT_PATH_ARGS.sub("", args), constants)
                if not in_class:
                    if match.group("kind") in ("RequestMapping", "Controller"):
                        prefix = paths[0] if paths else None
                    continue
                if prefix is None or paths is None or ("RequestMethod." in args and "RequestMethod.GET" not in args):
                    continue
                found.extend(_hit(name, number, _join(prefix, path)) for path in paths)
            if not in_class and _CLASS.match(line):
                in_class = True
    return found


def _constants(tree: SourceTree, sources: list[str]) -> dict[str, str]:
    """String constants of the app's code (`static final String LOGIN = "/login"`, Kotlin's
    `const val LOGIN = "/login"`) by name, for mappings that name a constant."""
    return {
        hit.match.group("name"): hit.match.group("value")
        for hit in tree.search(
            _CONSTANT, [f for f in sources if "String" in (tree.text(f) or "") or "const" in (tree.text(f) or "")]
        )
    }


def _paths(args: str, constants: dict[str, str]) -> list[str] | None:
    """A mapping's paths: its string literals, else the constants it names; [""] when it has no
    argument (the class's own path); None when it names a path HiveMind cannot read."""
    args = _OTHER_ARGS.sub("", args)
    literals = [m.group("path") for m in _STRING.finditer(args)]
    if literals:
        return literals
    names = _NAME.findall(re.sub(r"\b(?:value|path|uri)\s*=", "", args))
    if not names:
        return [""] if not args.strip() else None
    resolved = [constants.get(n) for n in names]
    return [r for r in resolved if r is not None] if all(r is not None for r in resolved) else None


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
