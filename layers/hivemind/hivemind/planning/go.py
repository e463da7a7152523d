"""Go apps: net/http, Gin, Echo, Fiber, chi, gorilla/mux, Beego or Buffalo, from go.mod.

The build writes one binary, `bin/app`, from the main package at the root or under `cmd/`.
"""

from __future__ import annotations

import re

from hivemind.planning.decisions import WARNING, Decision, Detection, default
from hivemind.planning.ports import PORT_VAR
from hivemind.planning.routes import pick_health_path
from hivemind.planning.tree import Hit, SourceTree

LANGUAGE = "go"
MANIFESTS: tuple[str, ...] = ("go.mod",)
PROCFILE_WORDS = frozenset({"go"})
DEFAULT_VERSION = "1.22"
DEFAULT_PORT = 8080
BINARY = "bin/app"
# Module path prefix -> framework; a major-version suffix (`/v4`) may follow the prefix.
FRAMEWORKS = (
    ("github.com/gin-gonic/gin", "gin"),
    ("github.com/labstack/echo", "echo"),
    ("github.com/gofiber/fiber", "fiber"),
    ("github.com/go-chi/chi", "chi"),
    ("github.com/gorilla/mux", "gorilla/mux"),
    ("github.com/beego/beego", "beego"),
    ("github.com/astaxie/beego", "beego"),
    ("github.com/gobuffalo/buffalo", "buffalo"),
)
# The names a server's main package usually has under cmd/, most likely first.
MAIN_NAMES = ("server", "api", "web", "app", "http", "service")
_SKIPPED = ("vendor/", "testdata/", "third_party/")

_GO_DIRECTIVE = re.compile(r"^go\s+(?P<version>\d+\.\d+(?:\.\d+)?)\s*(?://.*)?$")
_TOOLCHAIN = re.compile(r"^toolchain\s+go(?P<version>\d+\.\d+(?:\.\d+)?)\s*(?://.*)?$")
_REQUIRE = re.compile(r"^\s*(?:require\s+)?(?P<module>[\w.\-]+\.[a-z]+/[\w.\-/]+)\s+v\S+(?P<rest>.*)$")
_PACKAGE_MAIN = re.compile(r"^package\s+main\b")
_ENV = r"""(?P<env>""" + PORT_VAR + r""")"""
# `port := os.Getenv("PORT")`, `if p, ok := os.LookupEnv("PORT"); ok {`
_GETENV = re.compile(r'(?:\b(?P<var>\w+)(?:\s*,\s*\w+)?\s*:?=\s*)?os\.(?:Getenv|LookupEnv)\(\s*"' + _ENV + r'"\s*\)')
# `getEnv("PORT", "8080")`, `cmp.Or(os.Getenv("PORT"), "8080")`, `envOr("PORT", 8080)`
_ENV_WITH_DEFAULT = re.compile(
    r'\w+\(\s*(?:os\.Getenv\(\s*)?"' + _ENV + r'"\s*\)?\s*,\s*"?(?:[\w.\-]*:)?(?P<default>\d{2,5})"?\s*\)'
)
# struct tags of caarlos0/env and kelseyhightower/envconfig: `env:"PORT" envDefault:"8080"`
_ENV_TAG = re.compile(
    r'\b(?:env|envconfig)\s*:\s*"'
    + _ENV
    + r'[",].*?\b(?:envDefault|default)\s*:\s*"(?:[\w.\-]*:)?(?P<default>\d{2,5})"'
)
# A numeric string assigned near the env read: `port = "8080"`, `addr := ":8080"`.
_ASSIGNED_PORT = re.compile(r"""=\s*"(?:[\w.\-]*:)?(?P<port>\d{2,5})\"""")
_LISTEN = re.compile(
    r"""(?:ListenAndServe(?:TLS)?|\.Run|\.Start|\.Listen|net\.Listen)\(\s*(?:"tcp[46]?"\s*,\s*)?"""
    r""""(?:[\w.\-]*|\[::\])?:(?P<port>\d{2,5})\""""
)
# Fiber v1 takes the port as a number: `app.Listen(3000)`.
_LISTEN_INT = re.compile(r"""\.Listen\(\s*(?P<port>\d{2,5})\s*\)""")
# Beego's `beego.Run()` binds conf/app.conf's httpport: `httpport = 8080`, `httpport = ${PORT||8080}`,
# quoted or not (koyeb/example-beego: `httpport = "${PORT||8000}"`).
_BEEGO_PORT = re.compile(
    r"""^\s*httpport\s*=\s*["']?(?:\$\{(?P<env>\w+)(?:\|\|(?P<default>\d{2,5}))?\}|(?P<port>\d{2,5}))"""
)
# chi's `r.Route("/v1", func(r chi.Router) {`: routes inside the block are served under /v1.
_CHI_ROUTE_BLOCK = re.compile(r"""\.Route\(\s*"(?P<prefix>[^"]*)"\s*,\s*func\s*\(\s*(?P<var>\w+)""")
_ADDR_FIELD = re.compile(r"""\bAddr\s*:\s*"(?:[\w.\-]*|\[::\])?:(?P<port>\d{2,5})\"""")
_PORT_CONST = re.compile(
    r"""\b(?i:\w*(?:port|addr|address))\s*(?::=|=)\s*"?(?:[\w.\-]*:)?(?P<port>\d{2,5})"?\s*(?://.*)?$"""
)
_FLAG = re.compile(
    r"""flag\.(?:String|Int|Uint)(?:Var)?\(\s*(?:&[\w.]+\s*,\s*)?"(?i:\w*(?:port|addr|listen)\w*)"\s*,\s*"""
    r""""?(?:[\w.\-]*:)?(?P<port>\d{2,5})"?"""
)
# Gin's `r.Run()` with no address binds ":$PORT", or ":8080" when PORT is not set.
_GIN_RUN_NO_ADDRESS = re.compile(r"""\b\w+\.Run\(\s*\)""")
# `r.GET("/ping", h)`, `mux.HandleFunc("GET /items", h)`; a route on a group may have an empty path.
_ROUTE = re.compile(
    r"""\b(?P<recv>\w+)\s*\.(?:HandleFunc|Handle|GET|Get|HEAD|Head|Any|Router)\(\s*"(?:(?:GET|HEAD)\s+)?(?P<path>/[^"\s]*|)\""""
)
# `v1 := r.Group("/api/v1")` (Gin, Echo, Fiber): routes on v1 are served under /api/v1.
_GROUP = re.compile(r"""\b(?P<var>\w+)\s*:?=\s*(?P<parent>\w+)\s*\.Group\(\s*"(?P<prefix>[^"]*)\"""")
# A function parameter that is a route group: its prefix is set by the caller, so its paths are partial.
_GROUP_PARAM = re.compile(r"""\b(?P<var>\w+)\s+(?:\*gin\.RouterGroup|\*echo\.Group|fiber\.Router)\b""")
# `e.Static("/", "public")`, `app.Static("/", "./static")`: the site's index is served at /.
_STATIC_ROOT = re.compile(r"""\.Static(?:FS)?\(\s*"/"\s*,""")
# `//go:build ignore` (or the old `// +build ignore`) keeps a file out of every build: a generator, not the app.
_IGNORED = re.compile(r"^//\s*(?:go:build|\+build)\s+ignore\s*$", re.MULTILINE)
_PARAMETER = re.compile(r"[{:*<]")
# `err := godotenv.Load()` (or of ".env"): the error is checked, and the app usually stops on it
_DOTENV_LOAD = re.compile(
    r"""\berr\s*:?=\s*godotenv\.(?:Load|Overload)\(\s*(?:"(?:\./)?\.env")?\s*\)|\breturn\s+godotenv\.Load\(\s*\)"""
)
_STOPS = re.compile(r"\blog\.Fatal|\bpanic\(|\bos\.Exit\(|\breturn\b")
_DOTENV_NAME = re.compile(r"^\s*(?:export\s+)?(?P<name>[A-Z][A-Z0-9_]*)\s*=", re.MULTILINE)
_ANY = re.compile(r"(?P<path>.*)")


def detect(tree: SourceTree) -> Detection | None:
    if not tree.has("go.mod"):
        return None
    gomod = tree.text("go.mod") or ""
    sources = [
        f
        for f in tree.with_suffix(".go", top_levels=4)
        if not f.endswith("_test.go") and not f.startswith(_SKIPPED) and "/testdata/" not in f
    ]
    decisions: Detection = {"language": Decision("go", "go.mod is a Go module file", "go.mod", 1)}
    main = _main_package(tree, sources)
    if main is not None:  # the main package's files are searched first: they hold the server
        folder = main[0].rsplit("/", 1)[0] + "/" if "/" in main[0] else ""
        sources = sorted(sources, key=lambda f: (f.rsplit("/", 1)[0] + "/" if "/" in f else "") != folder)
    framework = _framework(tree, gomod, sources)
    decisions["framework"] = framework
    decisions["runtime_version"] = _version(gomod)
    decisions["install_command"] = _install(tree, gomod)
    if main is None:
        decisions["build_command"] = default(None, "no main package found")
        decisions["start_command"] = default(None, "no main package found, so nothing to run")
    else:
        file, line, target = main
        decisions["build_command"] = Decision(
            f"go build -o {BINARY} {target}", f"{target} is the main package", file, line
        )
        decisions["start_command"] = Decision(f"./{BINARY}", f"the binary built from {target}", file, line)
    decisions["port"], decisions["port_env"] = _port(tree, sources, framework.value)
    decisions["health_path"] = _health(tree, sources)
    needs_env = _stops_without_dotenv(tree, sources) if main is not None else None
    if needs_env is not None:
        build = decisions["build_command"]
        decisions["build_command"] = Decision(
            f"{build.value} && touch .env",
            f"{build.reason}; the app stops when .env is missing ({needs_env.file}:{needs_env.line}),"
            " which the repository does not hold: the build writes an empty one",
            build.file,
            build.line,
        )
        decisions[f"{WARNING}dotenv"] = Decision(
            None, _dotenv_warning(tree, decisions["port_env"].value), needs_env.file, needs_env.line
        )
    return decisions


def _main_package(tree: SourceTree, sources: list[str]) -> tuple[str, int, str] | None:
    """(file, line, build target) of the package to build: the root's, else one under cmd/, else the shallowest."""
    mains: dict[str, Hit] = {}
    for hit in tree.search(_PACKAGE_MAIN, sources):
        if _IGNORED.search("\n".join((tree.text(hit.file) or "").splitlines()[: hit.line])):
            continue
        folder = hit.file.rsplit("/", 1)[0] if "/" in hit.file else "."
        # the evidence is the file with func main(), when the package has several files
        if folder not in mains or ("func main()" in (tree.text(hit.file) or "") and not _has_main(tree, mains[folder])):
            mains[folder] = hit
    if not mains:
        return None
    under_cmd = [d for d in mains if d.startswith("cmd/") and d.count("/") == 1]

    def rank(folder: str) -> tuple[int, int, str]:
        name = folder.rsplit("/", 1)[-1]
        serves = tree.first(r"ListenAndServe|\.Run\(|\.Start\(|\.Listen\(|http\.Server\{", _in(sources, folder))
        return (MAIN_NAMES.index(name) if name in MAIN_NAMES else len(MAIN_NAMES), serves is None, folder)

    if "." in mains:
        folder = "."
    elif under_cmd:
        folder = min(under_cmd, key=rank)
    else:
        folder = min(mains, key=lambda d: (d.count("/"), *rank(d)))
    hit = mains[folder]
    return hit.file, hit.line, "." if folder == "." else f"./{folder}"


def _has_main(tree: SourceTree, hit: Hit) -> bool:
    return "func main()" in (tree.text(hit.file) or "")


def _in(sources: list[str], folder: str) -> list[str]:
    return [f for f in sources if (f.rsplit("/", 1)[0] if "/" in f else ".") == folder]


def _framework(tree: SourceTree, gomod: str, sources: list[str]) -> Decision:
    for number, line in enumerate(gomod.splitlines(), start=1):
        match = _REQUIRE.match(line)
        if not match or "// indirect" in match.group("rest"):
            continue
        for module, name in FRAMEWORKS:
            if match.group("module") == module or re.fullmatch(re.escape(module) + r"/v\d+", match.group("module")):
                return Decision(name, f"{match.group('module')} is a direct requirement", "go.mod", number)
    serves = tree.first(r"\bhttp\.(?:ListenAndServe|Server\b|Serve\()", sources)
    hit = serves and tree.first(r'^\s*(?:import\s+)?(?:\w+\s+)?"net/http"', [serves.file])
    if hit:
        return Decision("net/http", "the code imports net/http and serves with it", hit.file, hit.line)
    return default(None, "no web framework recognised")


def _version(gomod: str) -> Decision:
    go_line = toolchain = None
    for number, line in enumerate(gomod.splitlines(), start=1):
        if (match := _GO_DIRECTIVE.match(line.strip())) and go_line is None:
            go_line = (match.group("version"), number)
        if (match := _TOOLCHAIN.match(line.strip())) and toolchain is None:
            toolchain = (match.group("version"), number)
    if toolchain and (go_line is None or _as_tuple(toolchain[0]) >= _as_tuple(go_line[0])):
        return Decision(toolchain[0], f"go.mod asks for the go{toolchain[0]} toolchain", "go.mod", toolchain[1])
    if go_line:
        return Decision(go_line[0], f"go.mod's go directive requires Go {go_line[0]}", "go.mod", go_line[1])
    return default(DEFAULT_VERSION, "go.mod has no go directive; a current Go release")


def _as_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _install(tree: SourceTree, gomod: str) -> Decision:
    if tree.has("vendor/modules.txt"):
        return default(None, "the dependencies are vendored; go build uses vendor/")
    if tree.has("go.sum"):
        return Decision("go mod download", "go.sum pins the dependencies", "go.sum", 1)
    requires = [n for n, line in enumerate(gomod.splitlines(), start=1) if _REQUIRE.match(line)]
    if requires:
        return Decision("go mod download", "go.mod requires modules", "go.mod", requires[0])
    return default(None, "the module uses the standard library only")


def _port(tree: SourceTree, sources: list[str], framework: object) -> tuple[Decision, Decision]:
    for regex in (_ENV_TAG, _ENV_WITH_DEFAULT):
        hit = tree.first(regex, sources)
        if hit:
            env, port = hit.match.group("env"), int(hit.match.group("default"))
            return (
                Decision(port, f"the app binds {port} when {env} is not set", hit.file, hit.line),
                Decision(env, f"the app reads {env}", hit.file, hit.line),
            )
    env_hit = tree.first(_GETENV, sources)
    if env_hit:
        env = env_hit.match.group("env")
        fallback = _fallback_near(tree, env_hit)
        if fallback:
            port, line = fallback
            return (
                Decision(port, f"the app binds {port} when {env} is not set", env_hit.file, line),
                Decision(env, f"the app reads {env}", env_hit.file, env_hit.line),
            )
    if framework == "gin":
        gin_files = [f for f in sources if "gin-gonic/gin" in (tree.text(f) or "")]
        hit = tree.first(_GIN_RUN_NO_ADDRESS, gin_files)
        if hit:
            return (
                Decision(
                    DEFAULT_PORT, "Gin's Run() without an address binds 8080 when PORT is unset", hit.file, hit.line
                ),
                Decision("PORT", "Gin's Run() without an address reads PORT", hit.file, hit.line),
            )
    if framework == "beego" and tree.has("conf/app.conf"):
        hit = tree.first(_BEEGO_PORT, ["conf/app.conf"])
        if hit and hit.match.group("env"):
            env, port = hit.match.group("env"), int(hit.match.group("default") or DEFAULT_PORT)
            return (
                Decision(port, f"conf/app.conf's httpport is {port} when {env} is not set", hit.file, hit.line),
                Decision(env, f"conf/app.conf's httpport reads {env}", hit.file, hit.line),
            )
        if hit:
            port = int(hit.match.group("port"))
            return (
                Decision(port, f"beego.Run() binds conf/app.conf's httpport, {port}", hit.file, hit.line),
                Decision(None, "conf/app.conf fixes the port", hit.file, hit.line),
            )
    for regex in (_LISTEN, _LISTEN_INT, _ADDR_FIELD, _FLAG, _PORT_CONST):
        hit = tree.first(regex, sources)
        if hit:
            port = int(hit.match.group("port"))
            port_env = (
                Decision(env_hit.match.group("env"), "the app reads it", env_hit.file, env_hit.line)
                if env_hit
                else Decision(None, "the port is hard-coded", hit.file, hit.line)
            )
            local = re.search(r'"(?:localhost|127\.0\.0\.1):', hit.match.group(0))
            warning = " (on localhost only: the load balancer cannot reach it)" if local else ""
            return Decision(port, f"the app listens on {port}{warning}", hit.file, hit.line), port_env
    if env_hit:
        env = env_hit.match.group("env")
        return (
            Decision(DEFAULT_PORT, f"{env} has no default in the code; HiveMind sets it", env_hit.file, env_hit.line),
            Decision(env, f"the app reads {env}", env_hit.file, env_hit.line),
        )
    return default(DEFAULT_PORT, "no port found in the code; 8080 is the usual Go port"), default(
        None, "no port variable read"
    )


def _fallback_near(tree: SourceTree, env_hit: Hit) -> tuple[int, int] | None:
    """The port a numeric string literal gives the variable read from the environment, a few lines around."""
    lines = (tree.text(env_hit.file) or "").splitlines()
    var = env_hit.match.group("var")
    window = range(max(env_hit.line - 4, 0), min(env_hit.line + 6, len(lines)))
    for index in sorted(window, key=lambda i: (i < env_hit.line - 1, abs(i - env_hit.line + 1))):
        match = _ASSIGNED_PORT.search(lines[index])
        if match and (var is None or var in lines[index] or "addr" in lines[index].lower()):
            return int(match.group("port")), index + 1
    return None


def _health(tree: SourceTree, sources: list[str]) -> Decision:
    """`/` or a health route when the app has one; else its shortest GET route without parameters,
    since Go routers answer 404 for a path nobody registered."""
    routes = _routes(tree, sources)
    chosen = pick_health_path(routes)
    if chosen.source != "default":
        return chosen
    plain = [h for h in routes if not _PARAMETER.search(h.match.group("path"))]
    if not plain:
        return chosen
    hit = min(plain, key=lambda h: h.match.group("path").strip("/").count("/"))
    path = hit.match.group("path")
    return Decision(
        path, f"the app registers no / or health route; {path} is its shortest GET route", hit.file, hit.line
    )


def _routes(tree: SourceTree, sources: list[str]) -> list[Hit]:
    """Registered GET paths with their group prefixes; Go 1.22's exact-match `/{$}` counts as its
    path, and a static folder served at / counts as `/`. Routes on a group passed in as a parameter
    are left out: their prefix is the caller's."""
    found = []
    for name in sources:
        text = tree.text(name) or ""
        if "Group" in text or "Static" in text:
            groups, partial = _groups(text)
        else:
            groups, partial = {}, set()
        blocks = _route_blocks(text) if ".Route(" in text else {}
        for hit in tree.search(_ROUTE, [name]):
            receiver, path = hit.match.group("recv"), hit.match.group("path")
            if receiver in partial and receiver not in groups:
                continue
            block = blocks.get(hit.line)
            if block is not None and block[0] == receiver:
                path = _join(block[1], path)
            elif receiver in groups:
                path = _join(groups[receiver], path)
            elif not path:
                continue
            match = _ANY.fullmatch(path.replace("{$}", "") or "/")
            if match is not None:
                found.append(Hit(hit.file, hit.line, match))
        for hit in tree.search(_STATIC_ROOT, [name]):
            match = _ANY.fullmatch("/")
            assert match is not None
            found.append(Hit(hit.file, hit.line, match))
    return found


def _route_blocks(text: str) -> dict[int, tuple[str, str]]:
    """Line -> (router variable, full prefix) of the innermost chi `Route("/x", func(r chi.Router) {`
    block the line is in."""
    found: dict[int, tuple[str, str]] = {}
    open_blocks: list[tuple[int, str, str]] = []  # (depth inside the block, variable, full prefix)
    depth = 0
    for number, line in enumerate(text.splitlines(), start=1):
        while open_blocks and depth < open_blocks[-1][0]:
            open_blocks.pop()
        if open_blocks:
            found[number] = (open_blocks[-1][1], open_blocks[-1][2])
        block = _CHI_ROUTE_BLOCK.search(line)
        depth += line.count("{") - line.count("}")
        if block is not None:
            parent = open_blocks[-1][2] if open_blocks else ""
            open_blocks.append((depth, block.group("var"), _join(parent, block.group("prefix"))))
    return found


def _groups(text: str) -> tuple[dict[str, str], set[str]]:
    """(route group variable -> its full prefix, group parameters whose prefix the caller sets)."""
    groups: dict[str, str] = {}
    for match in _GROUP.finditer(text):
        groups[match.group("var")] = _join(groups.get(match.group("parent"), ""), match.group("prefix"))
    return groups, {m.group("var") for m in _GROUP_PARAM.finditer(text)}


def _join(prefix: str, path: str) -> str:
    joined = "/" + "/".join(p.strip("/") for p in (prefix, path) if p.strip("/"))
    return joined + "/" if path.endswith("/") and joined != "/" else joined


def _stops_without_dotenv(tree: SourceTree, sources: list[str]) -> Hit | None:
    """Where the app loads .env and stops (or returns the error) when it is missing, when the
    repository holds no .env: godotenv.Load() fails on the instance, where only the environment is."""
    if tree.has(".env"):
        return None
    for hit in tree.search(_DOTENV_LOAD, [f for f in sources if "godotenv" in (tree.text(f) or "")]):
        after = (tree.text(hit.file) or "").splitlines()[hit.line - 1 : hit.line + 3]
        if hit.match.group(0).startswith("return") or _STOPS.search("\n".join(after)):
            return hit
    return None


def _dotenv_warning(tree: SourceTree, port_env: object) -> str:
    """The warning for an app that reads its settings from .env: the names .env.example lists
    (but the port variable, which HiveMind sets)."""
    example = next((f for f in (".env.example", ".env.sample", ".env.dist") if tree.has(f)), None)
    names = sorted(set(_DOTENV_NAME.findall(tree.text(example) or "")) - {port_env}) if example else []
    listed = f" ({example} names {', '.join(names)})" if names else ""
    return (
        "the app reads its settings from .env, which is not deployed: the build writes an empty one,"
        f" so pass each setting{listed} in the deployment's environment or secrets"
    )


_MODULE = re.compile(r"^module\s+(?P<path>\S+)", re.MULTILINE)


def from_procfile(command: str, tree: SourceTree) -> str | None:
    """A Procfile's web command that runs the app's binary by the name Heroku's Go buildpack gives
    it (the module's last path element, on PATH from bin/): the binary this build writes instead."""
    module = _MODULE.search(tree.text("go.mod") or "")
    first, _, rest = command.strip().partition(" ")
    names = {module.group("path").rstrip("/").rsplit("/", 1)[-1]} if module else set()
    names |= {f"bin/{n}" for n in names} | {f"./bin/{n}" for n in names}
    if first not in names:
        return None
    return f"./{BINARY} {rest}".strip()
