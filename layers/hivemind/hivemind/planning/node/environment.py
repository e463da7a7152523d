"""What a Node app reads from its environment and cannot work without.

- `process.env.X` with no fallback (`||`, `??`, a ternary or a comparison) handed to what opens a
  database or a cache: `mongoose.connect(process.env.X)`, `createClient({ url: process.env.X })`,
  `new pg.Client({ connectionString: process.env.X })`, directly or through a `const` bound to it;
- the keys of a schema the whole environment is checked against at start, that have no default
  and are not optional: zod's `z.object({...}).parse(process.env)` and envalid's
  `cleanEnv(process.env, {...})`;
- where and as whom a database connection's options connect (TypeORM, Sequelize, knex, a pool:
  `host: configService.get('MYSQL_DB_HOST')`) when read with no fallback;
- the variable a Prisma schema's datasource reads (`url = env("DATABASE_URL")`), unless SQLite.

A name a committed `.env` sets is given when the app loads it (dotenv); NODE_ENV is given
(HiveMind starts Node apps with NODE_ENV=production).
"""

from __future__ import annotations

import re

from hivemind.planning.decisions import Decision
from hivemind.planning.tree import SourceTree

_READ = re.compile(r"""process\.env(?:\.(?P<a>[A-Za-z_]\w*)|\[\s*['"](?P<b>\w+)['"]\s*\])""")
# what follows a read that gives it a fallback or only tests it
_FALLBACK = re.compile(r"^\s*(?:\|\||\?\?|\?(?![.?])|[!=]==?|&&)")
# what precedes a read handed to a connection: the call, and maybe the option naming its address
_CONNECTS = re.compile(
    r"(?:\bconnect|\bcreateClient|\bcreatePool|\bcreateConnection|\bPool|\bClient|\bSequelize|\bMongoClient"
    r"|\bRedis|\bIORedis|\bknex|\bpostgres|\bneon|\bdrizzle)\s*\(\s*(?:\{[^}]*?\b(?:url|uri|connectionString)\s*:\s*)?$"
)
# a file that configures a database connection (TypeORM, Sequelize, knex, a pg/mysql pool), and the
# options of it that say where and as whom: read with no fallback, the app cannot connect at start
_CONNECTION_FILE = re.compile(
    r"TypeOrmModule\.forRoot|new\s+DataSource\(|new\s+Sequelize\(|\bknex\(|createPool\(|MikroOrmModule\.forRoot"
)
_CONNECTION_OPTION = re.compile(
    r"""^\s*(?P<key>host|url|username|user|password|database)\s*:\s*(?:(?:this\.)?config(?:Service)?\.get"""
    r"""(?:<[^>]*>)?\(\s*['"](?P<a>[A-Z][A-Z0-9_]*)['"]\s*\)|process\.env\.(?P<b>[A-Z][A-Z0-9_]*))\s*,?\s*$""",
    re.MULTILINE,
)
# a config object's property read from the environment: `mongodbUri: process.env.MONGODB_URI,` (what
# follows says whether it has a fallback)
_PROPERTY = re.compile(
    r"""^[ \t]*(?P<key>[A-Za-z_$][\w$]*)[ \t]*:[ \t]*"""
    r"""process\.env(?:\.(?P<a>[A-Za-z_]\w*)|\[\s*['"](?P<b>\w+)['"]\s*\])(?P<rest>.*)$""",
    re.MULTILINE,
)
_PROPERTY_END = re.compile(r"\s*!?\s*(?:as\s+string\s*)?,?\s*(?://.*)?")
_BOUND = re.compile(r"^\s*(?:export\s+)?(?:const|let|var)\s+(?P<name>[A-Za-z_$][\w$]*)\s*=\s*$")
_SCHEMA_PARSE = re.compile(r"\.parse\(\s*process\.env\s*[,)]|\bcleanEnv\(\s*process\.env\s*,")
_SCHEMA_KEY = re.compile(r"^(?P<indent>\s*)(?P<name>[A-Z][A-Z0-9_]*)\s*:\s*(?P<value>\S.*)$")
_OPTIONAL = re.compile(r"\.optional\(|\.default\(|\.nullish\(|\.catch\(|\bdefault\s*:|\bdevDefault\s*:")
_PRISMA_URL = re.compile(r"""^\s*url\s*=\s*env\(\s*"(?P<name>\w+)"\s*\)""", re.MULTILINE)
_PRISMA_PROVIDER = re.compile(r"""^\s*provider\s*=\s*"(?P<provider>\w+)\"""", re.MULTILINE)
_DOTENV_NAME = re.compile(r"^\s*(?:export\s+)?(?P<name>[A-Za-z_]\w*)\s*=", re.MULTILINE)
# the variables a bundler inlines into a front end (create-react-app, Vite, Next.js, Vue CLI, Nuxt, Expo)
_BROWSER_PREFIXES = ("REACT_APP_", "VITE_", "NEXT_PUBLIC_", "VUE_APP_", "NUXT_PUBLIC_", "EXPO_PUBLIC_", "PUBLIC_")
_TEST = re.compile(r"(?:^|/)(?:__tests__|tests?|spec|e2e)/|\.(?:test|spec)\.[cm]?[jt]s$")


def needed_environment(tree: SourceTree, sources: list[str]) -> dict[str, Decision]:
    """NAME -> where the app reads it and cannot work without it (see the module's docstring)."""
    found: dict[str, Decision] = {}
    loads_dotenv = False
    files = [f for f in sources if not _TEST.search(f)]
    for file in files:
        text = tree.text(file) or ""
        loads_dotenv = loads_dotenv or "dotenv" in text
        options = _connection_options(text)  # cheap; whether another file imports it is not
        options = options if options and _imported(tree, file, sources) else []
        for name, line, how in [*_connections(text), *_schema(text), *options]:
            found.setdefault(name, Decision(None, f"{how} reads {name} with no default", file, line))
    for name, decision in _connections_through_config(tree, files).items():
        found.setdefault(name, decision)
    for schema in (f for f in tree.files if f.endswith(".prisma")):
        text = tree.text(schema) or ""
        url, provider = _PRISMA_URL.search(text), _PRISMA_PROVIDER.search(text.split("datasource", 1)[-1])
        if url and (provider is None or provider.group("provider") != "sqlite"):
            where = text.count("\n", 0, url.start()) + 1
            kind = provider.group("provider") if provider else "database"
            found.setdefault(url.group("name"), Decision(None, f"the Prisma schema's {kind} datasource", schema, where))
    found.pop("NODE_ENV", None)  # HiveMind sets it (production) when the app starts
    for name in [n for n in found if n.startswith(_BROWSER_PREFIXES)]:
        del found[name]  # a front end's, inlined by its bundler: not the server's to read
    if loads_dotenv and tree.has(".env"):
        for name in _DOTENV_NAME.findall(tree.text(".env") or ""):
            found.pop(name, None)
    return found


def _connections(text: str) -> list[tuple[str, int, str]]:
    needed = []
    bound: dict[str, tuple[str, int]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        for read in _READ.finditer(line):
            name = read.group("a") or read.group("b")
            if _FALLBACK.match(line[read.end() :]):
                continue
            before = line[: read.start()]
            if _CONNECTS.search(before):
                needed.append((name, number, "a connection opened with process.env"))
            elif (binding := _BOUND.match(before)) is not None and not line[read.end() :].strip(" ;"):
                bound[binding.group("name")] = (name, number)
        for variable, (name, at) in bound.items():
            use = re.search(rf"(?<![\w$.]){re.escape(variable)}(?![\w$])", line)
            if use and number != at and _CONNECTS.search(line[: use.start()]):
                needed.append((name, at, f"a connection opened with {variable}, which"))
    return needed


def _connections_through_config(tree: SourceTree, files: list[str]) -> dict[str, Decision]:
    """A connection opened with a config object's property (`MongoClient.connect(config.mongodbUri)`)
    that the object sets to `process.env.X` with no fallback (`mongodbUri: process.env.MONGODB_URI,`).
    A property name that reads another variable elsewhere, or the same one with a fallback, is
    not followed: which object a use means is not known."""
    # key -> NAME (None: read with a fallback) -> where first
    properties: dict[str, dict[str | None, tuple[str, int]]] = {}
    for file in files:
        text = tree.text(file) or ""
        if "process.env" in text:
            for m in _PROPERTY.finditer(text):
                name = (m.group("a") or m.group("b")) if _PROPERTY_END.fullmatch(m.group("rest")) else None
                where = (file, text.count("\n", 0, m.start()) + 1)
                properties.setdefault(m.group("key"), {}).setdefault(name, where)
    followed = {
        key: (name, *where)
        for key, reads in properties.items()
        if len(reads) == 1
        for name, where in reads.items()
        if name is not None
    }
    if not followed:
        return {}
    use = re.compile(rf"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*\.(?P<key>{'|'.join(map(re.escape, followed))})\b")
    found: dict[str, Decision] = {}
    for file in files:
        text = tree.text(file) or ""
        for number, line in enumerate(text.splitlines(), start=1):
            for m in use.finditer(line):
                after = re.sub(r"^\s*(?:!|as\s+string)?", "", line[m.end() :])
                if not _CONNECTS.search(line[: m.start()]) or _FALLBACK.match(after):
                    continue
                if re.search(rf"\bif\s*\(\s*{re.escape(m.group(0))}\s*\)", text):
                    continue  # opened only when it is set
                needed, defined, at = followed[m.group("key")]
                how = f"a connection opened with {m.group(0)} ({file}:{number}), which"
                found.setdefault(needed, Decision(None, f"{how} reads {needed} with no default", defined, at))
    return found


def _connection_options(text: str) -> list[tuple[str, int, str]]:
    """The variables a database connection's options read with no fallback (a TypeORM config's
    `host: configService.get('MYSQL_DB_HOST')`)."""
    if not _CONNECTION_FILE.search(text):
        return []
    return [
        (
            m.group("a") or m.group("b"),
            text.count("\n", 0, m.start()) + 1,
            f"the database connection's {m.group('key')}",
        )
        for m in _CONNECTION_OPTION.finditer(text)
    ]


def _imported(tree: SourceTree, file: str, sources: list[str]) -> bool:
    """Whether another source imports `file` on a line that is not commented out (a NestJS
    module left out of the app's imports configures a connection nobody opens)."""
    stem = re.escape(file.rsplit("/", 1)[-1].rsplit(".", 1)[0])
    importing = re.compile(
        rf"""^(?!\s*(?://|/?\*)).*?(?:\bfrom\s*|\brequire\(\s*|\bimport\(\s*)['"][^'"]*/{stem}(?:\.[cm]?[jt]s)?['"]""",
        re.MULTILINE,
    )
    return any(importing.search(tree.text(other) or "") for other in sources if other != file)


def _schema(text: str) -> list[tuple[str, int, str]]:
    """The required keys of the schema the file checks process.env against."""
    if not _SCHEMA_PARSE.search(text):
        return []
    lines = text.splitlines()
    keys = [(n, m) for n, line in enumerate(lines) if (m := _SCHEMA_KEY.match(line))]
    needed = []
    for number, key in keys:
        # a key's value runs on to the next line at its indentation or less (z.union([...]) spans lines)
        depth = len(key.group("indent"))
        end = next(
            (n for n in range(number + 1, len(lines)) if lines[n].strip() and _indent(lines[n]) <= depth),
            len(lines),
        )
        value = "\n".join([key.group("value"), *lines[number + 1 : end]])
        if not _OPTIONAL.search(value):
            needed.append((key.group("name"), number + 1, "the environment schema"))
    return needed


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())
