"""The app's settings files: Spring Boot's application.properties and application.yml (where
Quarkus and Micronaut keep theirs too), read as dotted keys, the highest-precedence file winning;
and Dropwizard's YAML configuration.
"""

from __future__ import annotations

import re

from hivemind.planning.java.project import _in_modules
from hivemind.planning.tree import SourceTree

# Where Spring Boot reads its configuration, highest precedence first: ./config and the working
# directory (the app's folder on the instance) before the classpath; .properties before .yml.
CONFIG_FILES = tuple(
    f"{folder}application.{ext}"
    for folder in ("config/", "", "src/main/resources/config/", "src/main/resources/")
    for ext in ("properties", "yml", "yaml")
)
_PROPERTY = re.compile(r"^\s*(?P<key>[\w.\-\[\]]+)\s*[=:]\s*(?P<value>.*?)\s*$")
_YAML_KEY = re.compile(r"""^(?P<indent> *)(?P<key>[\w.\-]+|"[^"]+"|'[^']+')\s*:(?:\s+(?P<value>.*))?$""")


def _config(tree: SourceTree) -> dict[str, tuple[str, str, int]]:
    """Spring property -> (value, file, line), the highest-precedence file winning."""
    found: dict[str, tuple[str, str, int]] = {}
    for name in _in_modules(tree, CONFIG_FILES):
        if not tree.has(name):
            continue
        text = tree.text(name) or ""
        entries = _properties(text) if name.endswith(".properties") else _yaml(text)
        for key, (value, line) in entries.items():
            found.setdefault(key, (value, name, line))
    return found


def _properties(text: str) -> dict[str, tuple[str, int]]:
    found: dict[str, tuple[str, int]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() == "#---":  # the documents after this one belong to profiles
            break
        match = _PROPERTY.match(line)
        if match and not line.lstrip().startswith(("#", "!")):
            found.setdefault(match.group("key"), (match.group("value"), number))
    return found


def _yaml(text: str) -> dict[str, tuple[str, int]]:
    """The first YAML document's scalar keys, flattened to dotted names (Spring's own view of them)."""
    found: dict[str, tuple[str, int]] = {}
    stack: list[tuple[int, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.strip() == "---":
            if found or stack:
                break
            continue
        line = re.sub(r"\s+#.*$", "", raw).rstrip()
        match = _YAML_KEY.match(line)
        if not line.strip() or line.lstrip().startswith(("#", "-")) or match is None:
            continue
        indent, key = len(match.group("indent")), match.group("key").strip("'\"")
        while stack and stack[-1][0] >= indent:
            stack.pop()
        value = (match.group("value") or "").strip()
        if value and value not in ("|", ">"):
            found.setdefault(".".join([k for _, k in stack] + [key]), (value.strip("'\""), number))
        else:
            stack.append((indent, key))
    return found


def _dropwizard_config(tree: SourceTree) -> str | None:
    """The YAML file at the root with a `server:` section: Dropwizard's configuration."""
    candidates = sorted(
        (f for f in tree.files if "/" not in f and f.endswith((".yml", ".yaml"))),
        key=lambda f: (not f.startswith("config"), f),
    )
    return next((f for f in candidates if tree.first(r"^server\s*:", [f])), None)
