"""The framework, from the gems."""

from __future__ import annotations

from hivemind.planning.decisions import Decision, default
from hivemind.planning.tree import SourceTree

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


def framework_of(tree: SourceTree, deps: dict[str, tuple[str, int | None]]) -> Decision:
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
