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


# os.environ["X"]: a KeyError when X is unset
_ENVIRON_REQUIRED = re.compile(r"""(?<![\w.])(?:os\.)?environ\[\s*['"](?P<name>[A-Za-z_][A-Za-z0-9_]*)['"]\s*\]""")
# the code asks whether a variable is set before it reads it: not required then
_CHECKED = re.compile(
    r"""['"](?P<a>\w+)['"]\s+(?:not\s+)?in\s+(?:os\.)?environ\b|(?:environ\.get|getenv)\(\s*['"](?P<b>\w+)['"]"""
)
# dj_database_url.config() / env.db() with no default read DATABASE_URL
_DATABASE_URL = re.compile(r"""\b(?:dj_database_url\.(?:config|parse_env)|env\.db(?:_url)?)\((?P<args>[^)]*)\)""")
# a pydantic settings class: BaseSettings, or a class of the app's own named like one (BaseAppSettings)
_SETTINGS_CLASS = re.compile(r"^class\s+\w+\((?:[\w.]*\.)?\w*Settings\)\s*:")
_FIELD = re.compile(r"^(?P<indent>\s+)(?P<name>[a-z_][a-z0-9_]*)\s*:\s*[^=]+$")
_CONFIG_FILE = re.compile(r"(?:^|/)(?:settings|config|conf|production|development|prod|dev|base)[\w]*\.py$")


def needed_environment(tree: SourceTree, sources: list[str]) -> dict[str, Decision]:
    """Variables the app reads at start with no default: os.environ["X"] in its settings and config
    modules (or at a module's top level), DATABASE_URL for dj_database_url or django-environ without
    a default, and the fields without defaults of a pydantic BaseSettings class."""
    found: dict[str, Decision] = {}

    def add(name: str, file: str, line: int, how: str) -> None:
        found.setdefault(name, Decision(None, f"{how} reads {name} with no default", file, line))

    for file in sources:
        text = tree.text(file) or ""
        checked = {m.group("a") or m.group("b") for m in _CHECKED.finditer(text)}
        lines = text.splitlines()
        database = _DATABASE_URL.search(text)
        at = text.count("\n", 0, database.start()) + 1 if database else 0
        if (
            database
            and "default" not in database.group("args")
            and "DATABASE_URL" not in checked
            and not _conditional(lines, at)
        ):
            add("DATABASE_URL", file, at, database.group(0).split("(")[0])
        config = bool(_CONFIG_FILE.search(file))
        settings_class: bool | str | None = None
        for number, line in enumerate(text.splitlines(), start=1):
            for match in _ENVIRON_REQUIRED.finditer(line):
                if (
                    (config or not line[:1].isspace())
                    and match.group("name") not in checked
                    and not _conditional(lines, number)
                ):
                    add(match.group("name"), file, number, "os.environ[...]")
            if _SETTINGS_CLASS.match(line):
                settings_class = True
                continue
            if settings_class and line.strip() and not line[:1].isspace():
                settings_class = None
            field = _FIELD.match(line) if settings_class else None
            if field and settings_class is True:
                settings_class = field.group("indent")  # the class body's own indentation
            if field and field.group("indent") == settings_class and "ClassVar" not in line:
                add(field.group("name").upper(), file, number, "a pydantic settings field")
    return found


_BRANCH = re.compile(r"^(?:if|elif|else|try|except|for|while|with|def|async|class)\b")


def _conditional(lines: list[str], number: int) -> bool:
    """Whether line `number` (1-based) lies in a top-level `if`/`try`/function/class block: it
    may never run at start (`if IS_HEROKU_APP:`), so what it reads is not required."""
    for line in reversed(lines[:number]):
        if line.strip() and not line[:1].isspace() and not line.lstrip().startswith(("#", ")", "]", "}")):
            return bool(_BRANCH.match(line)) and not _SETTINGS_CLASS.match(line)
    return False
