"""Procfile: a `web:` process is the strongest signal of how an app starts."""

from __future__ import annotations

import re

from hivemind.planning.decisions import Decision
from hivemind.planning.tree import SourceTree

_WEB = re.compile(r"^web:\s*(?P<command>\S.*?)\s*$")


def web_command(tree: SourceTree) -> Decision | None:
    hit = tree.first(_WEB, ["Procfile"]) if tree.has("Procfile") else None
    if hit is None:
        return None
    return Decision(hit.match.group("command"), "the Procfile's web process", hit.file, hit.line)
