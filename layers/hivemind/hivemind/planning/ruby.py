"""Ruby apps: Rails, Hanami, Padrino, Sinatra, Roda, Grape, Cuba and plain Rack, from a Gemfile
(and its Gemfile.lock)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from hivemind.planning.decisions import Decision, Detection, default
from hivemind.planning.ports import PORT_VAR
from hivemind.planning.routes import HEALTH_NAMES, pick_from_paths, pick_health_path
from hivemind.planning.tree import Hit, SourceTree

LANGUAGE = "ruby"
MANIFESTS: tuple[str, ...] = ("Gemfile", "Gemfile.lock", "config.ru")
PROCFILE_WORDS = frozenset(
    {"bundle", "ruby", "rails", "puma", "rackup", "unicorn", "thin", "falcon", "hanami", "padrino", "passenger"}
)
# Amazon Linux 2023 packages these Ruby series (ruby3.2, ruby3.4); any other is compiled on the instance.
PACKAGED = ((3, 2), (3, 4))
DEFAULT_VERSION = "3.4"
DEFAULT_PORTS = {"rails": 3000, "hanami": 2300, "sinatra": 4567, "padrino": 3000, "rack": 9292}
# The gem that names each framework, most specific first: Padrino and Grape apps also lock Sinatra or Rack.
FRAMEWORK_GEMS = (
    ("rails", "rails"),
    ("railties", "rails"),
    ("hanami", "hanami"),
    ("padrino", "padrino"),
    ("sinatra", "sinatra"),
    ("roda", "roda"),
    ("grape", "grape"),
    ("cuba", "cuba"),
)
# The newest Ruby series each old Rails (or Hanami 1) runs on, for an app that names no Ruby:
# Rails 7.0 misses the gems Ruby 3.4 unbundled, Rails 6.1 predates Psych 4, Rails 5 and Hanami 1 predate Ruby 3.
NEWEST_RUBY = {
    "rails": ((4, 2, "2.4"), (5, 2, "2.6"), (6, 0, "2.7"), (6, 1, "3.0"), (7, 0, "3.2")),
    "hanami": ((1, 3, "2.7"),),
}
# Gems that mean `rails assets:precompile` has work to do.
ASSET_GEMS = (
    "propshaft",
    "sprockets-rails",
    "sprockets",
    "sass-rails",
    "sassc-rails",
    "jsbundling-rails",
    "cssbundling-rails",
    "webpacker",
    "shakapacker",
)
# Bundler 2: deployment mode installs into vendor/bundle from the lockfile, never changing it.
INSTALL_LOCKED = (
    "bundle config set --local deployment true && bundle config set --local without 'development test' && "
    "bundle install --jobs 4"
)
INSTALL_UNLOCKED = (
    "bundle config set --local path vendor/bundle && bundle config set --local without 'development test' && "
    "bundle install --jobs 4"
)
# What Heroku's Ruby buildpack sets for Rails: production, static files from Puma, logs to stdout.
RAILS_ENV_PREFIX = "env RAILS_ENV=production RAILS_SERVE_STATIC_FILES=1 RAILS_LOG_TO_STDOUT=1"
HEALTH = ("/up", *HEALTH_NAMES)

_GEM = re.compile(r"""^\s*gem\s*\(?\s*['"](?P<name>[A-Za-z0-9_.-]+)['"]""")
_LOCK_SPEC = re.compile(r"^    (?P<name>[A-Za-z0-9_.-]+) \((?P<version>[^)]+)\)$")
_RUBY_DIRECTIVE = re.compile(r"""^\s*ruby\s*\(?\s*['"](?P<spec>[^'"]+)['"]""")
_RUBY_FILE = re.compile(r"""^\s*ruby\s*\(?\s*file:\s*['"](?P<file>[^'"]+)['"]""")
_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")
_TOOL_VERSIONS = re.compile(r"^ruby\s+(?:ruby-)?(\d+)\.(\d+)")
_ENV_PORT = re.compile(
    r"""ENV\.fetch\(\s*['"](?P<env>""" + PORT_VAR + r""")['"]\s*(?:,\s*['"]?(?P<default>\d{2,5})['"]?\s*)?\)"""
    r"""(?:\s*\{\s*['"]?(?P<block>\d{2,5})['"]?\s*\})?"""
    r"""|ENV\[\s*['"](?P<env2>""" + PORT_VAR + r""")['"]\s*\](?:\s*(?:\|\||\bor\b)\s*['"]?(?P<default2>\d{2,5}))?"""
)
_PUMA_PORT = re.compile(
    r"""^\s*(?:port\s*\(?\s*['"]?(?P<port>\d{2,5})|bind\s*\(?\s*['"]tcp://[^:'"]*:(?P<bind>\d{2,5}))"""
)
_PUMA_BINDS = re.compile(r"^\s*(?:port|bind)\b")
_PUMA_RACKUP = re.compile(r"^\s*rackup\b")
_SINATRA_PORT = re.compile(r"""^\s*set\s*\(?\s*:port\s*,\s*(?P<port>\d{2,5})\b""")
_ROUTE = re.compile(r"""^\s*(?:get|match)\s*\(?\s*['"](?P<path>[^'"]*)['"]""")
_ROOT = re.compile(r"""^\s*root\b(?P<path>)""")
_RACK_MAP = re.compile(r"""^\s*map\s*\(?\s*['"](?P<path>/[^'"]*)['"]""")
# `listen 8080`, `listen "0.0.0.0:8080"`, `listen 3000, tcp_nopush: true` (a unix socket path is no port)
_UNICORN_LISTEN = re.compile(r"""^\s*listen\s*\(?\s*['"]?(?:[\w.]*:)?(?P<port>\d{2,5})\b""")
_CLASSIC_SINATRA = re.compile(r"""^\s*require\s*\(?\s*['"]sinatra['"]""")


def gems(tree: SourceTree) -> dict[str, tuple[str, int | None]]:
    """Declared gem names -> where each is declared (the Gemfile first, then Gemfile.lock)."""
    found: dict[str, tuple[str, int | None]] = {}
    for hit in tree.search(_GEM, ["Gemfile"] if tree.has("Gemfile") else []):
        found.setdefault(hit.match.group("name"), (hit.file, hit.line))
    for hit in tree.search(_LOCK_SPEC, ["Gemfile.lock"] if tree.has("Gemfile.lock") else []):
        found.setdefault(hit.match.group("name"), (hit.file, hit.line))
    return found


def detect(tree: SourceTree) -> Detection | None:
    manifest = next((m for m in MANIFESTS if tree.has(m)), None)
    if manifest is None:
        return None
    deps = gems(tree)
    decisions: Detection = {
        "language": Decision("ruby", f"{manifest} is a Ruby project file", manifest, 1),
    }
    framework = _framework(tree, deps)
    decisions["framework"] = framework
    decisions["runtime_version"] = _version(tree, deps, framework.value)
    decisions["install_command"] = _install(tree)
    decisions["build_command"] = _build(tree, deps, framework.value)
    port, port_env, start = _serve(tree, deps, framework.value)
    decisions["port"], decisions["port_env"], decisions["start_command"] = port, port_env, start
    decisions["health_path"] = _health(tree, framework.value)
    if decisions["build_command"].value is not None and framework.value == "rails":
        decisions["instance_type"] = Decision(
            "t3.small",
            "Rails compiles its assets at build time and runs a Rails process: more than t3.micro's 1 GiB",
            decisions["build_command"].file,
            decisions["build_command"].line,
        )
    return decisions


def _framework(tree: SourceTree, deps: dict[str, tuple[str, int | None]]) -> Decision:
    for gem, name in FRAMEWORK_GEMS:
        if gem in deps:
            file, line = deps[gem]
            return Decision(name, f"the {gem} gem is a dependency", file, line)
    if tree.has("config/application.rb"):
        hit = tree.first(r"Rails::Application", ["config/application.rb"])
        if hit:
            return Decision("rails", "config/application.rb defines a Rails application", hit.file, hit.line)
    if tree.has("config.ru"):
        return Decision("rack", "config.ru is a Rack application", "config.ru", 1)
    return default(None, "no web framework recognised")


def _version(tree: SourceTree, deps: dict[str, tuple[str, int | None]], framework: object) -> Decision:
    """An exact `X.Y.Z` when Bundler enforces it (the Gemfile's `ruby`), else the `X.Y` series; for an
    app that names none, the newest Ruby its (old) framework runs on."""
    gemfile = ["Gemfile"] if tree.has("Gemfile") else []
    pinned_file = tree.first(_RUBY_FILE, gemfile)
    if pinned_file:
        name = pinned_file.match.group("file").removeprefix("./")
        match = _VERSION.search((tree.text(name) if tree.has(name) else None) or "")
        if match:
            return Decision(
                match.group(0),
                f"the Gemfile requires the Ruby in {name} and Bundler refuses any other",
                pinned_file.file,
                pinned_file.line,
            )
    directive = tree.first(_RUBY_DIRECTIVE, gemfile)
    if directive:
        spec = directive.match.group("spec").strip()
        match = _VERSION.search(spec)
        if match and spec[0].isdigit():
            return Decision(
                match.group(0),
                f"the Gemfile requires Ruby {spec} and Bundler refuses any other",
                directive.file,
                directive.line,
            )
        if match:
            lower = (int(match.group(1)), int(match.group(2)))
            chosen = _packaged_at_least(lower, spec) or lower
            return Decision(
                f"{chosen[0]}.{chosen[1]}",
                f"the Gemfile asks for Ruby {spec!r}; the oldest series that satisfies it",
                directive.file,
                directive.line,
            )
    for name, pattern in (
        (".ruby-version", _VERSION),
        (".tool-versions", _TOOL_VERSIONS),  # asdf and mise
        ("Gemfile.lock", re.compile(r"^\s+ruby (\d+)\.(\d+)")),
    ):
        hit = tree.first(pattern, [name]) if tree.has(name) else None
        if hit:
            return Decision(f"{hit.match.group(1)}.{hit.match.group(2)}", f"{name} names it", hit.file, hit.line)
    gem = "railties" if framework == "rails" and "railties" in deps else str(framework)
    found = _gem_version(tree, deps, gem)
    for major, minor, ruby in NEWEST_RUBY.get(str(framework), ()):
        if found and found[0] <= (major, minor):
            version, file, line = found
            return Decision(
                ruby,
                f"no Ruby version declared; {framework} {version[0]}.{version[1]} runs on Ruby {ruby} at the newest",
                file,
                line,
            )
    return default(DEFAULT_VERSION, "no Ruby version declared; the newest Ruby on Amazon Linux 2023")


def _packaged_at_least(lower: tuple[int, int], spec: str) -> tuple[int, int] | None:
    """The oldest packaged series >= `lower` that a `~>`/`>=` requirement allows."""
    ceiling = (lower[0] + 1, 0) if spec.startswith("~>") and spec.count(".") == 1 else None
    if spec.startswith("~>") and spec.count(".") >= 2:
        ceiling = (lower[0], lower[1] + 1)
    if not spec.startswith((">", "~>")):
        return None
    return next((v for v in PACKAGED if v >= lower and (ceiling is None or v < ceiling)), None)


def _install(tree: SourceTree) -> Decision:
    if not tree.has("Gemfile"):
        return default(None, "no Gemfile: the app has no gems to install")
    if not tree.has("Gemfile.lock"):
        return Decision(INSTALL_UNLOCKED, "a Gemfile without Gemfile.lock: Bundler resolves the gems", "Gemfile", 1)
    platforms = _lock_platforms(tree)
    if platforms and not any(p == "ruby" or p.startswith("x86_64-linux") for p in platforms):
        line = tree.line_of("Gemfile.lock", "PLATFORMS")
        return Decision(
            f"bundle lock --add-platform x86_64-linux && {INSTALL_LOCKED}",
            f"Gemfile.lock pins the gems but only for {', '.join(platforms)}: add the instance's platform first",
            "Gemfile.lock",
            line,
        )
    return Decision(INSTALL_LOCKED, "Gemfile.lock pins the gems; Bundler's deployment mode", "Gemfile.lock", 1)


def _lock_platforms(tree: SourceTree) -> list[str]:
    lines = (tree.text("Gemfile.lock") or "").splitlines()
    if "PLATFORMS" not in lines:
        return []
    found = []
    for line in lines[lines.index("PLATFORMS") + 1 :]:
        if not line.startswith("  "):
            break
        found.append(line.strip())
    return found


def _build(tree: SourceTree, deps: dict[str, tuple[str, int | None]], framework: object) -> Decision:
    if framework != "rails":
        return default(None, "the app needs no build step")
    pipeline = next((g for g in ASSET_GEMS if g in deps), None)
    evidence = deps.get(pipeline) if pipeline else None
    if evidence is None and tree.has("app/assets/config/manifest.js"):
        evidence = ("app/assets/config/manifest.js", 1)
    if evidence is None:
        return default(None, "no asset pipeline (an API-only Rails app): nothing to precompile")
    # Rails 7.1 boots for assets without the production secret when SECRET_KEY_BASE_DUMMY is set;
    # older Rails needs some value, which is used for this build only.
    secret = "SECRET_KEY_BASE_DUMMY=1" if _rails_at_least(tree, deps, (7, 1)) else "SECRET_KEY_BASE=precompile-only"
    command = f"RAILS_ENV=production {secret} bundle exec rails assets:precompile"
    reason = f"{pipeline or 'the asset pipeline'} compiles the assets for production"
    webpacker = _gem_version(tree, deps, "webpacker") if "webpacker" in deps else None
    if "webpacker" in deps and (webpacker is None or webpacker[0] < (6, 0)):
        # Webpacker 3-5 runs webpack 4, whose md4 hashes Node 17+ (OpenSSL 3) refuses without the legacy provider.
        command = f"NODE_OPTIONS=--openssl-legacy-provider {command}"
        reason = "Webpacker runs bin/webpack (webpack 4, which needs OpenSSL's legacy provider on Node 17+) and yarn"
        evidence = deps["webpacker"] if webpacker is None else webpacker[1:]
    return Decision(command, reason, *evidence)


def _rails_at_least(tree: SourceTree, deps: dict[str, tuple[str, int | None]], wanted: tuple[int, int]) -> bool:
    """The locked Rails version (or the Gemfile's requirement) is at least `wanted`; unknown counts as new."""
    found = _gem_version(tree, deps, "rails") or _gem_version(tree, deps, "railties")
    return found is None or found[0] >= wanted


def _gem_version(
    tree: SourceTree, deps: dict[str, tuple[str, int | None]], gem: str
) -> tuple[tuple[int, int], str, int | None] | None:
    """A gem's (major, minor) as locked, else as the Gemfile requires it, with where that was read."""
    locked = (
        tree.first(rf"^    {re.escape(gem)} \((?P<v>\d+\.\d+)", ["Gemfile.lock"]) if tree.has("Gemfile.lock") else None
    )
    if locked:
        major, minor = locked.match.group("v").split(".")
        return (int(major), int(minor)), locked.file, locked.line
    if gem in deps and deps[gem][0] == "Gemfile":
        line = (tree.text("Gemfile") or "").splitlines()[(deps[gem][1] or 1) - 1]
        match = _VERSION.search(line.split(gem, 1)[-1])
        if match:
            return (int(match.group(1)), int(match.group(2))), "Gemfile", deps[gem][1]
    return None


def _ruby_sources(tree: SourceTree) -> list[str]:
    return tree.with_suffix(".rb", ".ru", top_levels=3)


def _env_port(tree: SourceTree, files: list[str]) -> tuple[str, int | None, str, int] | None:
    hit = tree.first(_ENV_PORT, files)
    if hit is None:
        return None
    env = hit.match.group("env") or hit.match.group("env2")
    value = hit.match.group("default") or hit.match.group("block") or hit.match.group("default2")
    return env, int(value) if value else None, hit.file, hit.line


def _serve(
    tree: SourceTree, deps: dict[str, tuple[str, int | None]], framework: object
) -> tuple[Decision, Decision, Decision]:
    """(port, port_env, start_command): the server the app runs under and the port it binds."""
    fallback = DEFAULT_PORTS.get(str(framework), 9292)
    prefix = {"rails": f"{RAILS_ENV_PREFIX} ", "hanami": "env HANAMI_ENV=production "}.get(str(framework), "")
    # Puma serves config.ru (or the file its config names with `rackup`): without one it has no app
    rackup = tree.has("config.ru") or framework in ("rails", "hanami")
    if "puma" in deps and tree.has("config/puma.rb") and (rackup or tree.first(_PUMA_RACKUP, ["config/puma.rb"])):
        command = f"{prefix}bundle exec puma -C config/puma.rb"
        if framework not in ("rails", "hanami"):
            command += " -e production"
        start = Decision(command, "Puma with the app's config/puma.rb", "config/puma.rb", 1)
        found = _env_port(tree, ["config/puma.rb"])
        if found:
            env, port, file, line = found
            return (
                Decision(
                    port or fallback, f"config/puma.rb binds {port or fallback} when {env} is not set", file, line
                ),
                Decision(env, f"config/puma.rb reads {env}", file, line),
                start,
            )
        hit = tree.first(_PUMA_PORT, ["config/puma.rb"])
        if hit:
            port = int(hit.match.group("port") or hit.match.group("bind"))
            return (
                Decision(port, f"config/puma.rb binds port {port}", hit.file, hit.line),
                Decision(None, "config/puma.rb hard-codes the port", hit.file, hit.line),
                start,
            )
        if tree.first(_PUMA_BINDS, ["config/puma.rb"]) is None:
            start = Decision(
                f"{command} -b tcp://0.0.0.0:$PORT",
                "Puma with config/puma.rb, which binds no port",
                "config/puma.rb",
                1,
            )
            return (
                default(fallback, f"the default port of {framework or 'Rack servers'}"),
                Decision("PORT", "the start command binds $PORT", "config/puma.rb", 1),
                start,
            )
    if framework == "sinatra" and not tree.has("config.ru"):
        return _sinatra_classic(tree, deps)
    rack_app = framework == "rails" or tree.has("config.ru")
    if rack_app and "unicorn" in deps and ("puma" not in deps or tree.has("config/unicorn.rb")):
        return _unicorn(tree, prefix, fallback, deps["unicorn"])
    if rack_app and "passenger" in deps and "puma" not in deps:
        start = Decision(
            f"{prefix}bundle exec passenger start -a 0.0.0.0 -p $PORT -e production",
            "Passenger Standalone serves the app",
            *deps["passenger"],
        )
    elif framework == "rails":
        start = Decision(
            f"{prefix}bundle exec rails server -b 0.0.0.0 -p $PORT",
            "Rails' own server command",
            *(deps.get("rails") or ("config/application.rb", 1)),
        )
    elif "puma" in deps and tree.has("config.ru"):
        start = Decision(
            f"{prefix}bundle exec puma -e production -b tcp://0.0.0.0:$PORT config.ru",
            "Puma serves config.ru",
            *deps["puma"],
        )
    elif "thin" in deps and tree.has("config.ru"):
        start = Decision(
            f"{prefix}bundle exec thin start -R config.ru -e production -a 0.0.0.0 -p $PORT",
            "Thin serves config.ru",
            *deps["thin"],
        )
    elif tree.has("config.ru"):
        start = Decision(
            f"{prefix}bundle exec rackup -E production -o 0.0.0.0 -p $PORT",
            "rackup serves config.ru",
            "config.ru",
            1,
        )
    else:
        return (
            default(fallback, "no server found"),
            default(None, "no port variable read"),
            default(None, "no config.ru, Rails app or Sinatra app file"),
        )
    return (
        default(fallback, f"the default port of {framework or 'Rack servers'}; HiveMind sets PORT"),
        Decision("PORT", "the start command binds $PORT", start.file, start.line),
        start,
    )


def _unicorn(
    tree: SourceTree, prefix: str, fallback: int, evidence: tuple[str, int | None]
) -> tuple[Decision, Decision, Decision]:
    """Unicorn with config/unicorn.rb when there is one: the port its `listen` binds, else $PORT."""
    config = "config/unicorn.rb" if tree.has("config/unicorn.rb") else None
    command = f"{prefix}bundle exec unicorn -E production" + (f" -c {config}" if config else "")
    if config:
        start = Decision(command, "Unicorn with the app's config/unicorn.rb", config, 1)
        found = _env_port(tree, [config])
        if found:
            env, port, file, line = found
            return (
                Decision(
                    port or fallback,
                    f"config/unicorn.rb listens on {port or fallback} when {env} is not set",
                    file,
                    line,
                ),
                Decision(env, f"config/unicorn.rb reads {env}", file, line),
                start,
            )
        hit = tree.first(_UNICORN_LISTEN, [config])
        if hit:
            port = int(hit.match.group("port"))
            return (
                Decision(port, f"config/unicorn.rb listens on port {port}", hit.file, hit.line),
                Decision(None, "config/unicorn.rb hard-codes the port", hit.file, hit.line),
                start,
            )
    start = Decision(
        f"{command} -l 0.0.0.0:$PORT",
        "Unicorn, told to listen on $PORT" + (" (config/unicorn.rb listens on no TCP port)" if config else ""),
        *((config, 1) if config else evidence),
    )
    return (
        default(fallback, "the app's default port; HiveMind sets PORT"),
        Decision("PORT", "the start command listens on $PORT", start.file, start.line),
        start,
    )


def _sinatra_classic(tree: SourceTree, deps: dict[str, tuple[str, int | None]]) -> tuple[Decision, Decision, Decision]:
    """A classic Sinatra script run directly: Sinatra itself binds `set :port`, else $PORT, else 4567."""
    sources = _ruby_sources(tree)
    app = tree.first(_CLASSIC_SINATRA, [f for f in sources if "/" not in f and f.endswith(".rb")])
    if app is None:
        return (
            default(DEFAULT_PORTS["sinatra"], "Sinatra's default port"),
            default(None, "no port variable read"),
            default(None, "no file runs the Sinatra app"),
        )
    # -e production makes Sinatra bind 0.0.0.0 (it binds localhost in development)
    start = Decision(
        f"bundle exec ruby {app.file} -e production -o 0.0.0.0",
        f"{app.file} is a classic Sinatra app",
        app.file,
        app.line,
    )
    set_port = tree.first(_SINATRA_PORT, [app.file])
    if set_port:
        fixed = int(set_port.match.group("port"))
        return (
            Decision(fixed, f"the app sets :port to {fixed}", set_port.file, set_port.line),
            Decision(None, "the port is hard-coded", set_port.file, set_port.line),
            start,
        )
    found = _env_port(tree, [app.file])
    if found:
        env, port, file, line = found
        return (
            Decision(port or DEFAULT_PORTS["sinatra"], f"the app binds this when {env} is not set", file, line),
            Decision(env, f"the app reads {env}", file, line),
            start,
        )
    return (
        Decision(DEFAULT_PORTS["sinatra"], "Sinatra binds 4567 when PORT is not set", app.file, app.line),
        Decision("PORT", "Sinatra reads PORT", app.file, app.line),
        start,
    )


def _health(tree: SourceTree, framework: object) -> Decision:
    sources = [f for f in _ruby_sources(tree) if f.endswith(".rb")]
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
        files += [f for f in _ruby_sources(tree) if f == "config.ru"]
        return _choose([r for f in files for r in _scan(tree, f, scanner, base)], "the app's routes")
    hits = [*tree.search(_ROUTE, sources)]
    hits += tree.search(_RACK_MAP, [f for f in _ruby_sources(tree) if f.endswith(".ru")])
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
