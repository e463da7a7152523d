"""Settings that keep a deployed app from working though it starts (Django's ALLOWED_HOSTS)."""

from __future__ import annotations

import re

from hivemind.planning.decisions import Decision
from hivemind.planning.tree import SourceTree

_ALLOWED_HOSTS = re.compile(r"^\s*ALLOWED_HOSTS\s*(?:=|\+=|\.append\(|\.extend\()\s*(?P<value>.*)$")


def allowed_hosts(tree: SourceTree, sources: list[str]) -> Decision | None:
    """A warning when no setting of Django's ALLOWED_HOSTS lets in the Host header of the load
    balancer's health checks (the instance's private IP and port): Django answers them 400."""
    hits = list(tree.search(_ALLOWED_HOSTS, [f for f in sources if "settings" in f or f.endswith("production.py")]))
    if not hits or any("*" in h.match.group("value") for h in hits):
        return None
    first = hits[0]
    return Decision(
        None,
        f"Django's ALLOWED_HOSTS ({first.match.group(0).strip()}) never allows the load balancer's health "
        "checks, whose Host is the instance's private IP: Django answers them 400 (DisallowedHost) and the "
        "target never turns healthy; allow that host (ALLOWED_HOSTS = ['*'] behind the load balancer, or the "
        "instance's private IP read at start)",
        first.file,
        first.line,
    )
