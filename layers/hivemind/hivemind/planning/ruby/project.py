"""The Gemfile and its lock: the gems, the install command, the platforms the lock lists, and the
assets build."""

from __future__ import annotations

import re

from hivemind.planning.decisions import Decision, default
from hivemind.planning.tree import SourceTree

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


_GEM = re.compile(r"""^\s*gem\s*\(?\s*['"](?P<name>[A-Za-z0-9_.-]+)['"]""")


_LOCK_SPEC = re.compile(r"^    (?P<name>[A-Za-z0-9_.-]+) \((?P<version>[^)]+)\)$")


VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


def gems(tree: SourceTree) -> dict[str, tuple[str, int | None]]:
    """Declared gem names -> where each is declared (the Gemfile first, then Gemfile.lock)."""
    found: dict[str, tuple[str, int | None]] = {}
    for hit in tree.search(_GEM, ["Gemfile"] if tree.has("Gemfile") else []):
        found.setdefault(hit.match.group("name"), (hit.file, hit.line))
    for hit in tree.search(_LOCK_SPEC, ["Gemfile.lock"] if tree.has("Gemfile.lock") else []):
        found.setdefault(hit.match.group("name"), (hit.file, hit.line))
    return found


def install_of(tree: SourceTree) -> Decision:
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


def build_of(tree: SourceTree, deps: dict[str, tuple[str, int | None]], framework: object) -> Decision:
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
    webpacker = gem_version(tree, deps, "webpacker") if "webpacker" in deps else None
    if "webpacker" in deps and (webpacker is None or webpacker[0] < (6, 0)):
        # Webpacker 3-5 runs webpack 4, whose md4 hashes Node 17+ (OpenSSL 3) refuses without the legacy provider.
        command = f"NODE_OPTIONS=--openssl-legacy-provider {command}"
        reason = "Webpacker runs bin/webpack (webpack 4, which needs OpenSSL's legacy provider on Node 17+) and yarn"
        evidence = deps["webpacker"] if webpacker is None else webpacker[1:]
    return Decision(command, reason, *evidence)


def _rails_at_least(tree: SourceTree, deps: dict[str, tuple[str, int | None]], wanted: tuple[int, int]) -> bool:
    """The locked Rails version (or the Gemfile's requirement) is at least `wanted`; unknown counts as new."""
    found = gem_version(tree, deps, "rails") or gem_version(tree, deps, "railties")
    return found is None or found[0] >= wanted


def gem_version(
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
        match = VERSION.search(line.split(gem, 1)[-1])
        if match:
            return (int(match.group(1)), int(match.group(2))), "Gemfile", deps[gem][1]
    return None


def ruby_sources(tree: SourceTree) -> list[str]:
    return tree.with_suffix(".rb", ".ru", top_levels=3)
