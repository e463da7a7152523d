"""Bash inside an `Fn::Sub` string: how user-controlled text stays data.

Every value is shell-quoted, and its `${` is escaped as `${!` so that `Fn::Sub` leaves it
alone; files are written with `printf '%s\\n'`, one quoted word a line.
"""

from __future__ import annotations

import re
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


_COMPOUND = ("if", "then", "elif", "else", "fi", "for", "while", "until", "do", "done", "case", "esac", "select")
_KEYWORDS = ("if", "for", "while", "until", "case", "select", "function", "{", "(", "[[", "!", "time", "coproc")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def exec_last(command: str) -> str:
    """`command` with its last simple command run by `exec`, so the app's server replaces the
    start script (systemd's main process, whose stop signal reaches the server itself).

    A Procfile's `flask db upgrade; gunicorn app:app` becomes `flask db upgrade; exec gunicorn
    app:app`: `exec` before the whole line would run only the first command, the migration, and
    the server would never start. Leading assignments stay before `exec` (`NODE_ENV=production
    exec node server.js`). A last command that is a pipeline, runs in the background or is a
    compound (`if`, `( ... )`) is left as it is: there is no single process to exec."""
    separators = _top_level_separators(command)
    if separators is None:  # quotes that do not close: the shell will say so itself
        return f"exec {command}"
    cut = max((end for kind, _, end in separators if kind in (";", "&&", "||", "\n")), default=0)
    starts = [0, *(end for kind, _, end in separators if kind in (";", "&&", "||", "\n"))]
    if any((command[s:].split() or [""])[0] in _COMPOUND for s in starts):
        return command  # if/for/while/case ... : the shell's own control flow, left alone
    head, last = command[:cut], command[cut:]
    if any(kind in ("|", "&") and start >= cut for kind, start, _ in separators) or not last.strip():
        return command
    words = last.split()
    index = 0
    while index < len(words) and _ASSIGNMENT.match(words[index]):
        index += 1
    if index == len(words) or words[index] in _KEYWORDS or words[index].startswith(("(", "{")):
        return command
    if words[index] == "exec":
        return command
    indent = last[: len(last) - len(last.lstrip())]
    body = last.lstrip()
    # the assignments are plain words: re-find where the command word starts in the original text
    offset = 0
    for word in words[:index]:
        offset = body.index(word, offset) + len(word)
    rest = body[offset:].lstrip()
    prefix = body[:offset]
    return f"{head}{indent}{prefix}{' ' if prefix else ''}exec {rest}"


def _top_level_separators(command: str) -> list[tuple[str, int, int]] | None:
    """(kind, start, end) of each `;`, `&&`, `||`, newline, `|` and `&` outside quotes,
    substitutions and groups; None when a quote or group does not close."""
    found: list[tuple[str, int, int]] = []
    quote: str | None = None
    depth = 0
    i = 0
    while i < len(command):
        char = command[i]
        if quote == "'":
            if char == "'":
                quote = None
        elif char == "\\":
            i += 1
        elif quote == '"':
            if char == '"':
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "`":  # a command substitution: to its closing backquote
            i = command.find("`", i + 1)
            if i < 0:
                return None
        elif char in "({":
            depth += 1
        elif char in ")}":
            depth -= 1
        elif depth == 0 and char in ";\n":
            found.append((char, i, i + 1))
        elif depth == 0 and char in "&|":
            pair = command[i : i + 2]
            if pair in ("&&", "||"):
                found.append((pair, i, i + 2))
                i += 1
            elif pair != "&>" and command[i - 1 : i] not in (">", "<"):
                found.append((char, i, i + 1))
        i += 1
    if quote is not None or depth != 0:
        return None
    return found
