"""Bash inside an `Fn::Sub` string: how user-controlled text stays data.

Every value is shell-quoted, and its `${` is escaped as `${!` so that `Fn::Sub` leaves it
alone; files are written with `printf '%s\\n'`, one quoted word a line.
"""

from __future__ import annotations

import shlex

# Where the source is unpacked on the instance (the app user's home).
APP_DIR = "/opt/app"


def literal_sub(value: str) -> str:
    """`value` as literal text inside an Fn::Sub string."""
    return value.replace("${", "${!")


def literal(value: str) -> str:
    """`value` as one inert shell word inside an Fn::Sub string."""
    return literal_sub(shlex.quote(value))


def write_file(path: str, lines: list[str], mode: str = "0644") -> str:
    """A command that writes `lines` to `path` byte for byte (`path` is HiveMind's own)."""
    words = " ".join(literal(line) for line in lines) if lines else "''"
    return f"printf '%s\\n' {words} > {path}\nchmod {mode} {path}"


def app_dir(subdir: str) -> str:
    """The app's folder on the instance (APP_DIR, or the plan's subdir inside it)."""
    return f"{APP_DIR}/{subdir}".rstrip("/.") if subdir not in ("", ".") else APP_DIR
