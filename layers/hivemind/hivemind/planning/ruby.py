"""Ruby apps: Rails, Hanami, Sinatra and plain Rack, from a Gemfile (and its Gemfile.lock)."""

from __future__ import annotations

import re

from hivemind.planning.decisions import Decision, Detection, default
from hivemind.planning.routes import HEALTH_NAMES, pick_health_path
from hivemind.planning.tree import SourceTree

LANGUAGE = "ruby"
MANIFESTS: tuple[str, ...] = ("Gemfile", "Gemfile.lock", "config.ru")
PROCFILE_WORDS = frozenset({"bundle", "ruby", "rails", "puma", "rackup", "unicorn", "thin", "falcon", "hanami"})
# Amazon Linux 2023 packages these Ruby series (ruby3.2, ruby3.4); any other is compiled on the instance.
PACKAGED = ((3, 2), (3, 4))
DEFAULT_VERSION = "3.4"
DEFAULT_PORTS = {"rails": 3000, "hanami": 2300, "sinatra": 4567, "rack": 9292}
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
    r"""ENV\.fetch\(\s*['"](?P<env>[A-Z0-9_]*PORT[A-Z0-9_]*)['"]\s*(?:,\s*['"]?(?P<default>\d{2,5})['"]?\s*)?\)"""
    r"""(?:\s*\{\s*['"]?(?P<block>\d{2,5})['"]?\s*\})?"""
    r"""|ENV\[\s*['"](?P<env2>[A-Z0-9_]*PORT[A-Z0-9_]*)['"]\s*\](?:\s*(?:\|\||\bor\b)\s*['"]?(?P<default2>\d{2,5}))?"""
)
_PUMA_PORT = re.compile(
    r"""^\s*(?:port\s*\(?\s*['"]?(?P<port>\d{2,5})|bind\s*\(?\s*['"]tcp://[^:'"]*:(?P<bind>\d{2,5}))"""
)
_PUMA_BINDS = re.compile(r"^\s*(?:port|bind)\b")
_SINATRA_PORT = re.compile(r"""^\s*set\s*\(?\s*:port\s*,\s*(?P<port>\d{2,5})\b""")
_ROUTE = re.compile(r"""^\s*(?:get|match)\s*\(?\s*['"](?P<path>[^'"]*)['"]""")
_ROOT = re.compile(r"""^\s*root\b(?P<path>)""")
_RACK_MAP = re.compile(r"""^\s*map\s*\(?\s*['"](?P<path>/[^'"]*)['"]""")
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
    decisions["runtime_version"] = _version(tree)
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
    for gem, name in (("rails", "rails"), ("railties", "rails"), ("hanami", "hanami"), ("sinatra", "sinatra")):
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


def _version(tree: SourceTree) -> Decision:
    """An exact `X.Y.Z` when Bundler enforces it (the Gemfile's `ruby`), else the `X.Y` series."""
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
    pipeline = next((g for g in ("propshaft", "sprockets-rails", "sprockets", "jsbundling-rails") if g in deps), None)
    evidence = deps.get(pipeline) if pipeline else None
    if evidence is None and tree.has("app/assets/config/manifest.js"):
        evidence = ("app/assets/config/manifest.js", 1)
    if evidence is None:
        return default(None, "no asset pipeline (an API-only Rails app): nothing to precompile")
    # Rails 7.1 boots for assets without the production secret when SECRET_KEY_BASE_DUMMY is set;
    # older Rails needs some value, which is used for this build only.
    secret = "SECRET_KEY_BASE_DUMMY=1" if _rails_at_least(tree, deps, (7, 1)) else "SECRET_KEY_BASE=precompile-only"
    return Decision(
        f"RAILS_ENV=production {secret} bundle exec rails assets:precompile",
        f"{pipeline or 'the asset pipeline'} compiles the assets for production",
        *evidence,
    )


def _rails_at_least(tree: SourceTree, deps: dict[str, tuple[str, int | None]], wanted: tuple[int, int]) -> bool:
    """The locked Rails version (or the Gemfile's requirement) is at least `wanted`; unknown counts as new."""
    locked = (
        tree.first(r"^    (?:rails|railties) \((?P<v>\d+\.\d+)", ["Gemfile.lock"]) if tree.has("Gemfile.lock") else None
    )
    text = locked.match.group("v") if locked else None
    if text is None and "rails" in deps and deps["rails"][0] == "Gemfile":
        line = (tree.text("Gemfile") or "").splitlines()[(deps["rails"][1] or 1) - 1]
        match = _VERSION.search(line)
        text = match.group(0) if match else None
    match = _VERSION.match(text or "")
    return match is None or (int(match.group(1)), int(match.group(2))) >= wanted


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
    if "puma" in deps and tree.has("config/puma.rb"):
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
    if framework == "rails":
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
    if framework in ("rails", "hanami"):
        files = ["config/routes.rb"] if tree.has("config/routes.rb") else []
        return pick_health_path([*tree.search(_ROOT, files), *tree.search(_ROUTE, files)], HEALTH)
    sources = _ruby_sources(tree)
    routes = [*tree.search(_ROUTE, [f for f in sources if f.endswith(".rb")])]
    routes += tree.search(_RACK_MAP, [f for f in sources if f.endswith(".ru")])
    return pick_health_path(routes, HEALTH)
