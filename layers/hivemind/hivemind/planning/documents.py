"""Lookups in parsed manifests (TOML, JSON). A repository's files are user data: a lookup that
meets a shape it did not expect (`project = "demo"` where a table belongs) finds nothing, and
never raises."""

from __future__ import annotations

from typing import Any


def table(value: Any, *keys: str) -> dict[str, Any]:
    """The table (dict) at `keys` inside value, or {} when any step is missing or not a table."""
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, dict) else {}


def entry(value: Any, *keys: str) -> Any:
    """The value at `keys` inside value (any type), or None when a step is missing or not a table."""
    *path, last = keys
    found = table(value, *path).get(last)
    return found


def strings(value: Any) -> list[str]:
    """The strings of a list (a manifest's list of specs), or [] when it is not a list."""
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []
