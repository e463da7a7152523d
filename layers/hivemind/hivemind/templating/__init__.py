"""Turn a plan into a CloudFormation template (generate.py) and write it as YAML.

`render_template` is loaded on first use: the generator reads the planner's language modules, which
functions that only need, say, the cost estimate (the Medic) should not import at a cold start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from hivemind.templating.generate import render_template


def __getattr__(name: str) -> Any:
    if name == "render_template":
        from hivemind.templating.generate import render_template

        return render_template
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Dumper(yaml.SafeDumper):
    """Block style for multi-line strings (user data reads as a script), insertion order kept, and
    no aliases: a value used twice is written twice (cfn-guard cannot read YAML aliases)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str)


def to_yaml(template: dict[str, Any]) -> str:
    """The template as YAML (long-form intrinsics), stable and line-mappable for findings."""
    return yaml.dump(template, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)


__all__ = ["render_template", "to_yaml"]
