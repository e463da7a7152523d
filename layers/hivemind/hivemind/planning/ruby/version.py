"""The Ruby version: .ruby-version, the Gemfile's ruby directive, .tool-versions, else what the
framework's version needs; packaged by Amazon Linux 2023 or compiled by ruby-build."""

from __future__ import annotations

import re

from hivemind.planning.decisions import Decision, default
from hivemind.planning.ruby.project import VERSION, gem_version
from hivemind.planning.tree import SourceTree

# Amazon Linux 2023 packages these Ruby series (ruby3.2, ruby3.4); any other is compiled on the instance.
PACKAGED = ((3, 2), (3, 4))


DEFAULT_VERSION = "3.4"


# The newest Ruby series each old Rails (or Hanami 1) runs on, for an app that names no Ruby:
# Rails 7.0 misses the gems Ruby 3.4 unbundled, Rails 6.1 predates Psych 4, Rails 5 and Hanami 1 predate Ruby 3.
NEWEST_RUBY = {
    "rails": ((4, 2, "2.4"), (5, 2, "2.6"), (6, 0, "2.7"), (6, 1, "3.0"), (7, 0, "3.2")),
    "hanami": ((1, 3, "2.7"),),
}


_RUBY_DIRECTIVE = re.compile(r"""^\s*ruby\s*\(?\s*['"](?P<spec>[^'"]+)['"]""")


_RUBY_FILE = re.compile(r"""^\s*ruby\s*\(?\s*file:\s*['"](?P<file>[^'"]+)['"]""")


_TOOL_VERSIONS = re.compile(r"^ruby\s+(?:ruby-)?(\d+)\.(\d+)")


def version_of(tree: SourceTree, deps: dict[str, tuple[str, int | None]], framework: object) -> Decision:
    """An exact `X.Y.Z` when Bundler enforces it (the Gemfile's `ruby`), else the `X.Y` series; for an
    app that names none, the newest Ruby its (old) framework runs on."""
    gemfile = ["Gemfile"] if tree.has("Gemfile") else []
    pinned_file = tree.first(_RUBY_FILE, gemfile)
    if pinned_file:
        name = pinned_file.match.group("file").removeprefix("./")
        match = VERSION.search((tree.text(name) if tree.has(name) else None) or "")
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
        match = VERSION.search(spec)
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
        (".ruby-version", VERSION),
        (".tool-versions", _TOOL_VERSIONS),  # asdf and mise
        ("Gemfile.lock", re.compile(r"^\s+ruby (\d+)\.(\d+)")),
    ):
        hit = tree.first(pattern, [name]) if tree.has(name) else None
        if hit:
            return Decision(f"{hit.match.group(1)}.{hit.match.group(2)}", f"{name} names it", hit.file, hit.line)
    gem = "railties" if framework == "rails" and "railties" in deps else str(framework)
    found = gem_version(tree, deps, gem)
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
