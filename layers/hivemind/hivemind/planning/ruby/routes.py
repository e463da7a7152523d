"""The GET routes of Rails, Sinatra, Roda, Cuba, Grape, Hanami and Padrino apps, with the prefixes
they are mounted under and whether they need a signed-in user; the health path chosen from them."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from hivemind.planning.decisions import Decision, default
from hivemind.planning.routes import HEALTH_NAMES, pick_from_paths, pick_health_path
from hivemind.planning.ruby.project import ruby_sources
from hivemind.planning.tree import Hit, SourceTree

HEALTH = ("/up", *HEALTH_NAMES)


_ROUTE = re.compile(r"""^\s*(?:get|match)\s*\(?\s*['"](?P<path>[^'"]*)['"]""")


_ROOT = re.compile(r"""^\s*root\b(?P<path>)""")


_RACK_MAP = re.compile(r"""^\s*map\s*\(?\s*['"](?P<path>/[^'"]*)['"]""")


def health_of(tree: SourceTree, framework: object) -> Decision:
    sources = [f for f in ruby_sources(tree) if f.endswith(".rb")]
    if framework in ("rails", "hanami"):
        files = [f for f in ("config/routes.rb", *_hanami1_apps(tree)) if tree.has(f)]
        mounts = _hanami1_mounts(tree)
        routes = [r for f in files for r in _scan(tree, f, _rails_routes, mounts.get(f, ""))]
        return _choose(routes, " or ".join(files) or "config/routes.rb")
    scanners: dict[str, Callable[[str, _Frame], tuple[list[str], str | None]]] = {
        "roda": _roda_routes,
        "cuba": _cuba_routes,
        "grape": _grape_routes,
        "padrino": _padrino_routes,
    }
    if framework in scanners:
        scanner = scanners[str(framework)]
        base = _grape_base(tree, sources) if framework == "grape" else ""
        files = [f for f in sources if not f.startswith(("config/", "db/", "lib/tasks/"))]
        files += [f for f in ruby_sources(tree) if f == "config.ru"]
        return _choose([r for f in files for r in _scan(tree, f, scanner, base)], "the app's routes")
    hits = [*tree.search(_ROUTE, sources)]
    hits += tree.search(_RACK_MAP, [f for f in ruby_sources(tree) if f.endswith(".ru")])
    return pick_health_path(hits, HEALTH)


@dataclass
class _Frame:
    """One open `do ... end` (or `def`, `if` ...) block of a routes file: the path its routes are
    under, and whether they need a signed-in user."""

    prefix: str
    guarded: bool = False
    before: bool = False


_Route = tuple[str, Hit, bool]


_PARAM = re.compile(r"[<{:*(]")


_OPENS_BLOCK = re.compile(r"\bdo\s*(?:\|[^|]*\|)?\s*$|^\s*(?:if|unless|case|begin|while|until|def|class|module)\b")


_COMMENT = re.compile(r"\s#(?!\{).*$|^\s*#.*$")


_WORD = r"""(?::(?P<sym>\w+)|['"](?P<str>[^'"]*)['"])"""


_ARG = re.compile(_WORD)


def _segment(match: re.Match[str] | None) -> str | None:
    if match is None:
        return None
    return match.group("sym") if match.group("sym") is not None else match.group("str")


def _join(*parts: str) -> str:
    return "/" + "/".join(p.strip("/") for p in parts if p.strip("/"))


def _scan(
    tree: SourceTree, file: str, routes_of: Callable[[str, _Frame], tuple[list[str], str | None]], base: str = ""
) -> list[_Route]:
    """The routes a file declares, each with its full path (the prefixes of the blocks it sits in) and
    whether a block demands a signed-in user. `routes_of(line, frame)` gives a line's route paths and,
    when the line opens a block, that block's path (None: the frame's own; "!": a guarded block)."""
    stack = [_Frame(_join(base))]
    found: list[_Route] = []
    for number, raw in enumerate((tree.text(file) or "").splitlines(), start=1):
        line = _COMMENT.sub("", raw)
        if not line.strip():
            continue
        frame = stack[-1]
        paths, opened = routes_of(line, frame)
        for path in paths:
            match = re.match(r".*", raw)
            assert match is not None
            found.append((path, Hit(file, number, match), frame.guarded))
        opens = _OPENS_BLOCK.search(line) is not None and re.search(r"\bend\W*$", line) is None
        if re.match(r"^\s*end\b", line) and len(stack) > 1:
            stack.pop()
        elif opens and opened == "!":
            stack.append(_Frame(frame.prefix, guarded=True))
        elif opens:
            stack.append(_Frame(opened if opened is not None else frame.prefix, frame.guarded))
            stack[-1].before = re.match(r"^\s*before\b", line) is not None
        if _GUARD_LINE.search(line) and len(stack) > 1:
            # `before do authenticate! end` guards the block the `before` sits in
            stack[-2 if stack[-1].before and len(stack) > 2 else -1].guarded = True
    return found


# a Grape `before { authenticate! }`, a Roda/Cuba `rodauth.require_authentication`, a Sinatra-style `authenticate!`
_GUARD_LINE = re.compile(
    r"^\s*(?:before\b.*)?\b(?:authenticate\w*!|require_(?:authentication|login)\b|rodauth\.require)"
)


def _choose(routes: list[_Route], where: str) -> Decision:
    """`/` or a health route outside authentication; else the first route that takes no parameters
    (an index, which may read the database); else `/`, saying that nothing safe was found."""
    open_routes = [(path, hit) for path, hit, guarded in routes if not guarded]
    chosen = pick_from_paths(open_routes, HEALTH)
    if chosen.source != "default":
        return chosen
    plain = next(((p, h) for p, h in open_routes if not _PARAM.search(p)), None)
    if plain:
        return Decision(
            plain[0],
            f"no / or health route; {plain[0]} is the first route that takes no parameters (it may read the database)",
            plain[1].file,
            plain[1].line,
        )
    if routes:
        return default(
            "/",
            f"every route in {where} takes parameters or needs a signed-in user: / may answer 404; "
            "set health_path in hivemind.toml",
        )
    return default("/", f"no route found in {where}")


_RAILS_BLOCK = re.compile(rf"^\s*(?P<kind>namespace|scope|resources|resource|collection|member)\b\s*\(?\s*{_WORD}?")


_RAILS_GUARD = re.compile(r"^\s*(?:authenticate|authenticated)\b")


_RAILS_GET = re.compile(rf"^\s*(?:get|match)\s*\(?\s*{_WORD}")


_RAILS_ROOT = re.compile(r"^\s*root\b")


_RAILS_RESOURCES = re.compile(r"^\s*resources\s*\(?\s*(?P<names>(?::\w+\s*,\s*)*:\w+)(?P<rest>.*)$")


_ONLY = re.compile(r"""(?P<key>only|except)(?::|\s*=>)\s*(?P<list>\[[^\]]*\]|%[iw][\[(][^\])]*[\])]|:\w+)""")


_PATH_OPTION = re.compile(r"""\bpath(?::|\s*=>)\s*['"](?P<path>[^'"]*)['"]""")


def _rails_routes(line: str, frame: _Frame) -> tuple[list[str], str | None]:
    """Rails (and Hanami) routes: `root`, `get "x"`, a `resources` index, under `scope`/`namespace` paths."""
    prefix = frame.prefix
    if _RAILS_GUARD.match(line):
        return [], "!"
    if _RAILS_ROOT.match(line):
        return [prefix], None
    get = _RAILS_GET.match(line)
    if get:
        return [_join(prefix, _segment(get) or "")], None
    paths: list[str] = []
    many = _RAILS_RESOURCES.match(line)
    if many:
        names = re.findall(r":(\w+)", many.group("names"))
        option = _ONLY.search(many.group("rest"))
        listed = set(re.findall(r"\w+", option.group("list"))) if option else set()
        has_index = option is None or ("index" in listed) == (option.group("key") == "only")
        path = _PATH_OPTION.search(many.group("rest"))
        if has_index:
            paths = [_join(prefix, path.group("path") if path and len(names) == 1 else name) for name in names]
    block = _RAILS_BLOCK.match(line)
    if block is None:
        return paths, None
    kind, word = block.group("kind"), _segment(block)
    explicit = _PATH_OPTION.search(line)
    if kind == "collection":
        return paths, re.sub(r"/:[^/]*$", "", prefix)
    if kind == "member":
        return paths, None
    if kind == "scope" and word is None:
        return paths, _join(prefix, explicit.group("path")) if explicit else None
    segment = explicit.group("path") if explicit else (word or "")
    if kind == "resources":
        return paths, _join(prefix, segment, ":id")
    return paths, _join(prefix, segment)


def _hanami1_apps(tree: SourceTree) -> list[str]:
    return sorted(f for f in tree.files if re.fullmatch(r"apps/\w+/config/routes\.rb", f))


def _hanami1_mounts(tree: SourceTree) -> dict[str, str]:
    """Hanami 1: each app's routes file -> the path config/environment.rb mounts that app at."""
    mounts: dict[str, str] = {}
    pattern = r"""^\s*mount\s+(?P<app>\w+)::Application\s*,\s*at:\s*['"](?P<at>[^'"]*)['"]"""
    for hit in tree.search(pattern, ["config/environment.rb"] if tree.has("config/environment.rb") else []):
        folder = re.sub(r"(?<!^)(?=[A-Z])", "_", hit.match.group("app")).lower()
        mounts[f"apps/{folder}/config/routes.rb"] = hit.match.group("at")
    return mounts


_RODA = re.compile(
    r"""^\s*(?:r|req|request)\.(?P<verb>root|is|get|on)\b\s*\(?\s*(?P<args>[^{]*?)\s*(?:do\b.*|\{.*)?$"""
)


_RODA_BRANCH = re.compile(r"""^\s*(?:\w+\.)?(?:route|hash_branch)\s*\(\s*['"](?P<path>[^'"]+)['"]""")


def _args_path(args: str) -> str | None:
    """A matcher's arguments as a path: strings joined, any class or symbol a parameter; None when
    there are no arguments."""
    if not args.strip():
        return None
    parts = [m.group(1) or ":param" for m in re.finditer(r"""['"]([^'"]*)['"]|[A-Z]\w*|:\w+""", args)]
    return _join(*parts) if parts else ":param"


def _roda_routes(line: str, frame: _Frame) -> tuple[list[str], str | None]:
    """Roda's routing tree: `r.root`, `r.is "x"`, `r.get "x"` answer; `r.on "x"` is a branch."""
    branch = _RODA_BRANCH.match(line)
    if branch:
        return [], _join(frame.prefix, branch.group("path"))
    match = _RODA.match(line)
    if match is None:
        return [], None
    verb, path = match.group("verb"), _args_path(match.group("args"))
    if verb == "root":
        return [frame.prefix], None
    full = _join(frame.prefix, path or "")
    return ([] if verb == "on" else [full]), full


_CUBA = re.compile(r"""^\s*on\s*\(?\s*(?P<args>.*?)\s*(?:do\b.*|\{.*)?$""")


def _cuba_routes(line: str, frame: _Frame) -> tuple[list[str], str | None]:
    """Cuba's `on root`, `on "x"`, `on get, "x"`: each `on` both matches and nests."""
    match = _CUBA.match(line)
    if match is None:
        return [], None
    args = [a.strip() for a in match.group("args").split(",")]
    if "root" in args:
        return [frame.prefix], None
    kept = ", ".join(a for a in args if a not in ("get", "post", "put", "delete", "patch") and a)
    if not kept:
        return [], None
    full = _join(frame.prefix, _args_path(kept) or "")
    return [full], full


_GRAPE_BLOCK = re.compile(rf"^\s*(?P<kind>resources?|namespace|group|segment|route_param)\b\s*\(?\s*{_WORD}?")


_GRAPE_ROUTE = re.compile(rf"^\s*get\b\s*\(?\s*{_WORD}?")


def _grape_base(tree: SourceTree, sources: list[str]) -> str:
    """The path every Grape route is under: `prefix`, then `version` when versions are in the path."""
    prefix = tree.first(rf"^\s*prefix\s*\(?\s*{_WORD}", sources)
    version = tree.first(rf"^\s*version\s*\(?\s*{_WORD}(?P<rest>.*)$", sources)
    in_path = version is not None and re.search(r"using:\s*:(?!path\b)", version.match.group("rest")) is None
    path_version = (_segment(version.match) or "") if in_path and version else ""
    return _join((_segment(prefix.match) or "") if prefix else "", path_version)


def _grape_routes(line: str, frame: _Frame) -> tuple[list[str], str | None]:
    """Grape: `get :ping` under `resource`/`namespace` paths; `route_param` is a parameter."""
    route = _GRAPE_ROUTE.match(line)
    if route:
        return [_join(frame.prefix, _segment(route) or "")], None
    block = _GRAPE_BLOCK.match(line)
    if block is None:
        return [], None
    word = _segment(block) or ""
    return [], _join(frame.prefix, ":" + word if block.group("kind") == "route_param" else word)


_PADRINO_CONTROLLER = re.compile(rf"^\s*(?:\w+(?:::\w+)*\.)?controllers?\b\s*\(?\s*{_WORD}?")


_PADRINO_ROUTE = re.compile(rf"^\s*get\b\s*\(?\s*{_WORD}")


_PADRINO_MAP = re.compile(r"""(?::map\s*=>|\bmap:)\s*['"](?P<path>[^'"]*)['"]""")


def _padrino_routes(line: str, frame: _Frame) -> tuple[list[str], str | None]:
    """Padrino: `get :index` is the controller's own path, `get :x` its /x, `map:` an absolute path."""
    controller = _PADRINO_CONTROLLER.match(line)
    if controller and re.search(r"\bdo\b", line):
        mapped = _PADRINO_MAP.search(line)
        return [], _join(mapped.group("path") or "") if mapped else _join(frame.prefix, _segment(controller) or "")
    route = _PADRINO_ROUTE.match(line)
    if route is None:
        return [], None
    mapped = _PADRINO_MAP.search(line)
    name = _segment(route) or ""
    if re.search(r"(?::with\s*=>|\bwith:)", line):
        name += "/:param"
    if mapped:
        return [_join(mapped.group("path") or "")], None
    return [frame.prefix if name == "index" else _join(frame.prefix, name)], None
