"""What a Python app reads from its environment at start and cannot start without.

Read with Python's own parser: the modules the start command imports (and what they import in
turn, the app's own modules only) are walked for the statements that run at import — a
module's body and its class bodies, not functions and not `if`/`try` blocks, which may never run.
A variable is needed when reading it unset fails there:

- `os.environ["X"]` (a KeyError);
- `os.getenv("X")` / `os.environ.get("X")` with no default whose None is used at once: a method
  called on it (`.split(" ")`), `int()`/`float()` of it, or handed to what opens a database or a
  cache (`create_engine(DATABASE_URL)`), directly or through a module-level name; and Django's
  SECRET_KEY read that way in a settings module;
- `env("X")` of django-environ and `config("X")` of python-decouple without a default, and
  `dj_database_url.config()` / `env.db()` without one (DATABASE_URL);
- the fields without a default of a pydantic settings class (`BaseSettings`, or a class of the
  app's own named `…Settings`), with the class's `env_prefix`.
"""

from __future__ import annotations

import ast
import re
from collections import deque
from collections.abc import Iterator
from pathlib import PurePosixPath

from hivemind.planning.decisions import Decision
from hivemind.planning.tree import SourceTree

# what opens a connection from a URL: None there fails at once
_CONNECTORS = frozenset(
    {"create_engine", "create_async_engine", "Database", "from_url", "connect", "AsyncIOMotorClient", "Minio"}
)
_CONVERTERS = frozenset({"int", "float"})
_DJANGO_ENVIRON_READERS = frozenset(
    {"str", "bool", "int", "float", "list", "tuple", "dict", "url", "json", "path", "db", "db_url", "cache"}
)
_MODULE_ARGUMENT = re.compile(r"(?<![\w./-])(?P<module>[A-Za-z_][\w.]*)(?::[A-Za-z_][\w.()]*)")
_PY_FILE = re.compile(r"(?<![\w/.-])(?P<file>[\w./-]+\.py)\b")
_DOTTED = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$")
_SETTINGS_MODULE = re.compile(r"""DJANGO_SETTINGS_MODULE['"]?\s*,?\s*[:=]?\s*['"](?P<module>[\w.]+)['"]""")


# at most this many modules are read: the settings and database modules sit near the entry
MAX_MODULES = 120
# a module that mentions none of these reads nothing this reader looks for
_MENTIONS = re.compile(r"environ|getenv|Settings|dj_database_url|\benv\b|\bconfig\(|\bEnv\(")


def needed_environment(tree: SourceTree, sources: list[str], start: str | None) -> dict[str, Decision]:
    """NAME -> where the app reads it at start with no default (see the module's docstring)."""
    found: dict[str, Decision] = {}
    parsed: dict[str, ast.Module | None] = {}
    for file in started_modules(tree, sources, start, parsed):
        module = _parse(tree, file, parsed) if _MENTIONS.search(tree.text(file) or "") else None
        for name, line, how in _Reader(file).read(module) if module is not None else ():
            found.setdefault(name, Decision(None, f"{how} reads {name} with no default", file, line))
    return found


def started_modules(
    tree: SourceTree, sources: list[str], start: str | None, parsed: dict[str, ast.Module | None] | None = None
) -> list[str]:
    """The app's own modules that run when it starts: those the start command names (a
    `module:object` argument, a `.py` file; for Django its settings module too) and, in turn,
    the app's modules they import at import time or name in a string, nearest first. Every
    source when the start command names none of them. At most MAX_MODULES."""
    parsed = {} if parsed is None else parsed
    known = set(sources)
    entries = list(_named_by(start or "", known))
    if any(f.endswith(("manage.py", "wsgi.py", "asgi.py")) for f in entries) or not entries:
        for file in [f for f in sources if f.endswith(("manage.py", "wsgi.py", "asgi.py"))][:4]:
            match = _SETTINGS_MODULE.search(tree.text(file) or "")
            if match:
                entries += _module_files(match.group("module"), known, ".")
    if not entries:
        return sorted(sources)[:MAX_MODULES]
    seen: dict[str, None] = {}
    queue = deque(dict.fromkeys(entries))
    while queue and len(seen) < MAX_MODULES:
        file = queue.popleft()
        if file in seen:
            continue
        seen[file] = None
        module = _parse(tree, file, parsed)
        here = str(PurePosixPath(file).parent)
        for node in _at_import(module.body if module else []):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    queue += _module_files(alias.name, known, here)
            elif isinstance(node, ast.ImportFrom):
                base = _relative(here, node.level, node.module) if node.level else (node.module or "")
                for alias in node.names:
                    queue += _module_files(f"{base}.{alias.name}".strip("."), known, here, node.level > 0)
                queue += _module_files(base, known, here, node.level > 0)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _DOTTED.match(node.value):
                # a module named in a string: Flask's config.from_object("config.Production"),
                # Django's DJANGO_SETTINGS_MODULE, ROOT_URLCONF and INSTALLED_APPS
                queue += _module_files(node.value, known, ".") or _module_files(
                    node.value.rsplit(".", 1)[0], known, "."
                )
    return list(seen)


def _parse(tree: SourceTree, file: str, parsed: dict[str, ast.Module | None]) -> ast.Module | None:
    if file not in parsed:
        try:
            parsed[file] = ast.parse(tree.text(file) or "", filename=file)
        except (SyntaxError, ValueError):
            parsed[file] = None  # not Python this interpreter reads: nothing to say about it
    return parsed[file]


def _at_import(body: list[ast.stmt]) -> Iterator[ast.AST]:
    """The nodes of what runs when the module is imported, whichever branch: not function bodies."""
    for statement in body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if isinstance(statement, (ast.ClassDef, ast.If, ast.Try, ast.With, ast.For, ast.While)):
            for header in ("test", "iter", "items"):  # `if "X" in os.environ:` runs too
                for node in _as_list(getattr(statement, header, [])):
                    yield from ast.walk(node)
            for part in ("body", "orelse", "finalbody"):
                yield from _at_import(getattr(statement, part, []))
            for handler in getattr(statement, "handlers", []):
                yield from _at_import(handler.body)
            continue
        yield from ast.walk(statement)


def _as_list(value: ast.AST | list[ast.AST]) -> list[ast.AST]:
    return value if isinstance(value, list) else [value]


def _named_by(start: str, known: set[str]) -> Iterator[str]:
    for match in _PY_FILE.finditer(start):
        if match.group("file").lstrip("./") in known:
            yield match.group("file").lstrip("./")
    for match in _MODULE_ARGUMENT.finditer(start):
        yield from _module_files(match.group("module"), known, ".")


def _relative(here: str, level: int, module: str | None) -> str:
    parts = [] if here == "." else here.split("/")
    parts = parts[: len(parts) - (level - 1)] if level > 1 else parts
    return ".".join([*parts, *([module] if module else [])])


def _module_files(dotted: str, known: set[str], here: str, relative: bool = False) -> list[str]:
    """The files of `dotted` among the app's own: pkg/mod.py or pkg/mod/__init__.py, looked up
    from the app's root, from the importing module's folder, and from a src/ layout."""
    path = dotted.replace(".", "/")
    roots = [""] if relative else ["", *([f"{here}/"] if here != "." else []), "src/"]
    found = []
    for root in roots:
        for candidate in (f"{root}{path}.py", f"{root}{path}/__init__.py"):
            if candidate in known:
                found.append(candidate)
    return found[:1]


class _Reader:
    """The needed variables of one module's import-time statements."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.settings_module = "settings" in PurePosixPath(file).parts[-1] or "settings" in file.split("/")
        self.unset_names: dict[str, tuple[str, int]] = {}  # NAME = os.getenv("X"): X, line
        self.checked: set[str] = set()
        self.environ_env: set[str] = set()  # env = environ.Env()
        self.decouple: set[str] = set()  # from decouple import config

    def read(self, module: ast.Module) -> Iterator[tuple[str, int, str]]:
        for node in _at_import(module.body):
            if isinstance(node, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops):
                self.checked.add(_constant(node.left) or "")
            if isinstance(node, ast.ImportFrom) and node.module == "decouple":
                self.decouple |= {a.asname or a.name for a in node.names if a.name == "config"}
        yield from self._statements(module.body, in_class=None)

    def _statements(self, body: list[ast.stmt], in_class: ast.ClassDef | None) -> Iterator[tuple[str, int, str]]:
        prefix = _env_prefix(in_class) if in_class is not None and _is_settings_class(in_class) else None
        for statement in body:
            if isinstance(statement, ast.ClassDef):
                yield from self._statements(statement.body, statement)
                continue
            if isinstance(
                statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.If, ast.Try, ast.For, ast.While, ast.With)
            ):
                continue  # runs later, or maybe never
            if (
                prefix is not None
                and isinstance(statement, ast.AnnAssign)
                and statement.value is None
                and isinstance(statement.target, ast.Name)
                and "ClassVar" not in ast.dump(statement.annotation)
            ):
                yield f"{prefix}{statement.target.id}".upper(), statement.lineno, "a pydantic settings field"
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                yield from self._remember(statement.targets[0], statement.value)
            yield from self._reads(statement)

    def _remember(self, target: ast.expr, value: ast.expr) -> Iterator[tuple[str, int, str]]:
        """Note what a module-level name holds: an unset read, or django-environ's Env."""
        if not isinstance(target, ast.Name):
            return
        if isinstance(value, ast.Call) and _dotted(value.func) in ("environ.Env", "Env"):
            self.environ_env.add(target.id)
        unset = _unset_read(value)
        if unset is None:
            return
        self.unset_names[target.id] = (unset, value.lineno)
        if target.id == "SECRET_KEY" and self.settings_module and unset not in self.checked:
            yield unset, value.lineno, "Django's SECRET_KEY (which must not be empty)"

    def _reads(self, statement: ast.stmt) -> Iterator[tuple[str, int, str]]:
        nodes = list(ast.walk(statement))
        if any(isinstance(n, ast.IfExp) for n in nodes):
            return  # `a if "X" in os.environ else b`: what it reads depends
        for node in nodes:
            if isinstance(node, ast.Subscript) and _dotted(node.value) in ("os.environ", "environ"):
                key = node.slice
                if isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value not in self.checked:
                    yield key.value, node.lineno, "os.environ[...]"
            elif isinstance(node, ast.Attribute) and (name := _unset_read(node.value)) is not None:
                yield name, node.lineno, f"os.environ.get(...).{node.attr}()"
            elif isinstance(node, ast.Call):
                yield from self._call(node)

    def _call(self, call: ast.Call) -> Iterator[tuple[str, int, str]]:
        function = _dotted(call.func)
        last = function.rsplit(".", 1)[-1]
        keywords = {k.arg for k in call.keywords}
        if last in _CONVERTERS or last in _CONNECTORS:
            for argument in [*call.args[:1], *(k.value for k in call.keywords if k.arg in ("url", "dsn"))]:
                name = _unset_read(argument)
                line = argument.lineno
                if name is None and isinstance(argument, ast.Name) and argument.id in self.unset_names:
                    name, line = self.unset_names[argument.id]
                if name is not None and name not in self.checked:
                    yield name, line, f"{function}() of os.getenv(...)"
        if function in ("dj_database_url.config", "dj_database_url.parse_env") or (
            function.split(".")[0] in self.environ_env and last in ("db", "db_url")
        ):
            if "default" not in keywords and not call.args and "DATABASE_URL" not in self.checked:
                yield "DATABASE_URL", call.lineno, function
            return
        reader = (
            function in self.environ_env
            or function in self.decouple
            or (function.split(".")[0] in self.environ_env and last in _DJANGO_ENVIRON_READERS)
        )
        if reader and "default" not in keywords and len(call.args) == 1:
            name = _constant(call.args[0])
            if name is not None and name not in self.checked:
                yield name, call.lineno, f"{function}(...)"


def _unset_read(node: ast.expr) -> str | None:
    """X when `node` is os.getenv("X") or os.environ.get("X") with no default (None when unset)."""
    if not isinstance(node, ast.Call) or node.keywords or len(node.args) != 1:
        return None
    if _dotted(node.func) not in ("os.getenv", "getenv", "os.environ.get", "environ.get"):
        return None
    return _constant(node.args[0])


def _constant(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _is_settings_class(node: ast.ClassDef) -> bool:
    return any(_dotted(base).rsplit(".", 1)[-1].endswith("Settings") for base in node.bases)


def _env_prefix(node: ast.ClassDef) -> str:
    """The settings class's env_prefix (pydantic's model_config or an inner Config class)."""
    for child in ast.walk(node):
        if isinstance(child, ast.keyword) and child.arg == "env_prefix":
            return _constant(child.value) or ""
        if isinstance(child, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "env_prefix" for t in child.targets
        ):
            return _constant(child.value) or ""
    return ""
