"""Ruby apps: Rails, Hanami, Padrino, Sinatra, Roda, Grape, Cuba and plain Rack, from a Gemfile
(and its Gemfile.lock).

One module a role: project (the Gemfile, its lock, the install and the assets build), version,
framework, server (which command serves, on which port), routes (and the health path).
"""

from __future__ import annotations

from hivemind.planning.decisions import Decision, Detection
from hivemind.planning.ruby.framework import framework_of
from hivemind.planning.ruby.project import build_of, gems, install_of
from hivemind.planning.ruby.routes import health_of
from hivemind.planning.ruby.server import serve_of
from hivemind.planning.ruby.version import version_of
from hivemind.planning.tree import SourceTree

LANGUAGE = "ruby"


MANIFESTS: tuple[str, ...] = ("Gemfile", "Gemfile.lock", "config.ru")


PROCFILE_WORDS = frozenset(
    {"bundle", "ruby", "rails", "puma", "rackup", "unicorn", "thin", "falcon", "hanami", "padrino", "passenger"}
)


def detect(tree: SourceTree) -> Detection | None:
    manifest = next((m for m in MANIFESTS if tree.has(m)), None)
    if manifest is None:
        return None
    deps = gems(tree)
    decisions: Detection = {
        "language": Decision("ruby", f"{manifest} is a Ruby project file", manifest, 1),
    }
    framework = framework_of(tree, deps)
    decisions["framework"] = framework
    decisions["runtime_version"] = version_of(tree, deps, framework.value)
    decisions["install_command"] = install_of(tree)
    decisions["build_command"] = build_of(tree, deps, framework.value)
    port, port_env, start = serve_of(tree, deps, framework.value)
    decisions["port"], decisions["port_env"], decisions["start_command"] = port, port_env, start
    decisions["health_path"] = health_of(tree, framework.value)
    if decisions["build_command"].value is not None and framework.value == "rails":
        decisions["instance_type"] = Decision(
            "t3.small",
            "Rails compiles its assets at build time and runs a Rails process: more than t3.micro's 1 GiB",
            decisions["build_command"].file,
            decisions["build_command"].line,
        )
    return decisions
