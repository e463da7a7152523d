"""Settings that keep a deployed app from working though it starts (Django's ALLOWED_HOSTS)."""

from __future__ import annotations

import ast
import re

from hivemind.planning.decisions import SETS_ENV, STOP, WARNING, Decision
from hivemind.planning.tree import SourceTree

_ALLOWED_HOSTS = re.compile(r"^\s*ALLOWED_HOSTS\s*(?:=|\+=|\.append\(|\.extend\()\s*(?P<value>.*)$")


# the whole setting is one variable's value, split or not (not a host built around one: f"{APP}.fly.dev")
_HOSTS_VARIABLE = re.compile(
    r"""^(?:os\.)?(?:getenv|environ\.get|env\.list|env\.str|env|config)\(\s*['"](?P<name>\w+)['"]"""
)


def allowed_hosts(tree: SourceTree, sources: list[str]) -> tuple[str, Decision] | None:
    """When no setting of Django's ALLOWED_HOSTS lets in the Host header of the load balancer's
    health checks (the instance's private IP and port), Django answers them 400. When the setting
    reads a variable (`os.getenv("DJANGO_ALLOWED_HOSTS", "localhost").split(",")`), HiveMind sets
    it to `*` (the load balancer is the only way in): ("set-env:NAME", why); else a warning."""
    hits = list(tree.search(_ALLOWED_HOSTS, [f for f in sources if "settings" in f or f.endswith("production.py")]))
    if not hits or any("*" in h.match.group("value") for h in hits):
        return None
    first = hits[0]
    variable = _HOSTS_VARIABLE.search(first.match.group("value"))
    if variable is not None:
        return f"{SETS_ENV}{variable.group('name')}", Decision(
            "*",
            f"Django's ALLOWED_HOSTS reads it ({first.match.group(0).strip()}): the load balancer's health checks "
            "come with the instance's private IP as Host, and only the load balancer reaches the instance",
            first.file,
            first.line,
        )
    certain = all(_names_only(h.match.group("value")) for h in hits)
    return f"{STOP if certain else WARNING}allowed-hosts", Decision(
        None,
        f"Django's ALLOWED_HOSTS ({first.match.group(0).strip()}) never allows the load balancer's health "
        "checks, whose Host is the instance's private IP: Django answers them 400 (DisallowedHost) and the "
        "target never turns healthy; allow that host (ALLOWED_HOSTS = ['*'] behind the load balancer, or read "
        "it from a variable, os.getenv('DJANGO_ALLOWED_HOSTS', 'localhost').split(','), which HiveMind sets)",
        first.file,
        first.line,
    )


def _names_only(value: str) -> bool:
    """Whether an ALLOWED_HOSTS value is a literal list of host names: strings, or f-strings around
    a domain (`f"{APP}.fly.dev"`), none `*` and none an address computed at start. Only then is it
    certain that no health check gets in (a stop at Plan, not a warning)."""
    try:
        node = ast.parse(value.strip().rstrip(")").strip(), mode="eval").body
    except SyntaxError:
        return False
    if not isinstance(node, (ast.List, ast.Tuple)):
        return False
    for element in node.elts:
        if isinstance(element, ast.Constant) and isinstance(element.value, str) and "*" not in element.value:
            continue
        if isinstance(element, ast.JoinedStr) and any(
            isinstance(part, ast.Constant) and re.search(r"\.[a-z]", str(part.value), re.I) for part in element.values
        ):
            continue
        return False
    return True
