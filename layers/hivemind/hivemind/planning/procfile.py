"""Heroku's files. Procfile: a `web:` process is the strongest signal of how an app starts.
HiveMind runs that process only: the others (a worker, a release phase) are named in a warning,
and a web process that changes into a folder the source does not have is set aside for
detection. app.json: the fixed values of its `env` are the app's environment, as Heroku sets
them when it creates the app (a `generator: secret` is not: HiveMind does not generate secrets)."""

from __future__ import annotations

import json
import re

from hivemind.planning.decisions import SETS_ENV, WARNING, Decision, Detection
from hivemind.planning.tree import SourceTree

_WEB = re.compile(r"^web:\s*(?P<command>\S.*?)\s*$")
_RELEASE = re.compile(r"^release:\s*(?P<command>\S.*?)\s*$")
_OTHER = re.compile(r"^(?P<name>(?!web:|release:)[A-Za-z0-9_-]+):\s*\S")
_CD = re.compile(r"(?:^|[;&|]\s*)cd\s+(?P<folder>[^\s;&|]+)")


def web_command(tree: SourceTree) -> Decision | None:
    """The web process, unless it changes into a folder the source does not have."""
    hit = tree.first(_WEB, ["Procfile"]) if tree.has("Procfile") else None
    if hit is None:
        return None
    folder = _CD.search(hit.match.group("command"))
    if folder and not any(f.startswith(folder.group("folder").strip("/") + "/") for f in tree.files):
        return None
    return Decision(hit.match.group("command"), "the Procfile's web process", hit.file, hit.line)


def release_command(tree: SourceTree) -> Decision | None:
    """The release phase (migrations, say), which Heroku runs before each release starts."""
    hit = tree.first(_RELEASE, ["Procfile"]) if tree.has("Procfile") else None
    if hit is None:
        return None
    return Decision(
        hit.match.group("command"),
        "the Procfile's release phase: run on each instance after the build, before the app starts",
        hit.file,
        hit.line,
    )


def warnings(tree: SourceTree) -> Detection:
    """`warning:*` decisions for what of the Procfile HiveMind does not run."""
    found: Detection = {}
    if not tree.has("Procfile"):
        return found
    for hit in tree.search(_OTHER, ["Procfile"]):
        name = hit.match.group("name")
        found[f"{WARNING}procfile-{name}"] = Decision(
            None,
            f"the Procfile's {name} process is not run: HiveMind runs the web process (and the release phase) only",
            hit.file,
            hit.line,
        )
    web = tree.first(_WEB, ["Procfile"])
    if web is not None and web_command(tree) is None:
        found[f"{WARNING}procfile-web"] = Decision(
            None,
            "the Procfile's web process changes into a folder the source does not have: planned from the code instead",
            web.file,
            web.line,
        )
    return found


def app_json_environment(tree: SourceTree) -> Detection:
    """`set-env:NAME` decisions for the fixed values of app.json's `env`."""
    if not tree.has("app.json"):
        return {}
    try:
        env = json.loads(tree.text("app.json") or "").get("env")
    except (ValueError, AttributeError):
        return {}  # not a manifest HiveMind can read: nothing planned from it
    found: Detection = {}
    for name, spec in (env or {}).items() if isinstance(env, dict) else ():
        value = spec.get("value") if isinstance(spec, dict) else spec
        if isinstance(value, str) and value and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            found[f"{SETS_ENV}{name}"] = Decision(
                value, "app.json sets it (Heroku's app manifest)", "app.json", tree.line_of("app.json", f'"{name}"')
            )
    return found
