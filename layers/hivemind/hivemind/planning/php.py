"""PHP apps: Laravel, Lumen, Slim, Symfony (2 to 7), CodeIgniter 4, Mezzio/Laminas, WordPress and
plain PHP, from composer.json or a front controller.

They run as in production on Elastic Beanstalk or Heroku: php-fpm runs the PHP, nginx serves the
static files and sends every other path to the front controller, both as the app user under one
supervisor script (templating/php_fpm.py) that the start command names with the document root.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hivemind.errors import PlanError
from hivemind.planning.decisions import WARNING, Decision, Detection, default
from hivemind.planning.documents import table
from hivemind.planning.routes import HEALTH_NAMES, pick_health_path
from hivemind.planning.tree import Hit, SourceTree

LANGUAGE = "php"
# composer.json only: a manifest marks an app folder, and public/ (with its index.php) belongs to the app
# above it; detect() still plans a plain PHP app from its index.php.
MANIFESTS: tuple[str, ...] = ("composer.json",)
PROCFILE_WORDS = frozenset({"php", "php-fpm", "heroku-php-apache2", "heroku-php-nginx", "frankenphp"})
# The PHP series Amazon Linux 2023 packages (php8.2, php8.3, php8.4), oldest first.
PACKAGED = ((8, 2), (8, 3), (8, 4))
DEFAULT_VERSION = "8.3"
DEFAULT_PORT = 8080
# HiveMind's supervisor of php-fpm and nginx: `php-serve.sh DOCROOT [FRONT]`, from the app's folder.
SERVE = "/opt/hivemind/php-serve.sh"
INSTALL = "composer install --no-dev --optimize-autoloader --no-interaction"
FRAMEWORKS = (
    ("laravel/framework", "laravel"),
    ("laravel/lumen-framework", "lumen"),
    ("slim/slim", "slim"),
    ("symfony/framework-bundle", "symfony"),
    ("symfony/symfony", "symfony"),
    ("codeigniter4/framework", "codeigniter"),
    ("mezzio/mezzio", "mezzio"),
    ("laminas/laminas-mvc", "laminas"),
)
# Files only a WordPress tree has at its root.
WORDPRESS_FILES = ("wp-settings.php", "wp-config-sample.php", "wp-blog-header.php")
_VERSION = re.compile(r"(\d+)\.(\d+)")
_ROUTE = re.compile(
    r"""(?:Route::(?:get|any|match\([^)]*\),)|\$(?:app|router|group|r|routes)->(?:get|any|map\([^)]*\),))"""
    r"""\s*\(\s*['"](?P<path>[^'"]*)['"]"""
)
# `#[Route('/x')]` (PHP 8 attribute) or `@Route("/x")` (a docblock annotation, Symfony 5 and older)
_SYMFONY_ROUTE = re.compile(r"""(?:#\[|@)Route\(\s*(?:path:\s*|path\s*=\s*)?['"](?P<path>/?[^'"]*)['"](?P<rest>.*)""")
_PHP_CLASS = re.compile(r"^\s*(?:(?:final|abstract|readonly)\s+)*class\s+\w+")
_SYMFONY_YAML = re.compile(r"""^\s*path:\s*['"]?(?P<path>/[^'"\s]*)""")
# phpdotenv: `Dotenv::createImmutable(__DIR__)` (v4, v5), `Dotenv::create(...)` (v3), `new Dotenv(...)`
# (v2), then `->load()`, which throws when the .env file is missing (`safeLoad()` does not)
_DOTENV_CREATE = re.compile(
    r"""Dotenv(?:::(?:create(?:Immutable|Mutable|UnsafeImmutable|UnsafeMutable)?)|\s*)\(\s*(?P<dir>[^,)]*(?:\([^)]*\))?[^,)]*)"""
)
_DOTENV_GUARD = re.compile(r"\bfile_exists\b|\btry\s*\{|\bis_file\b|\bis_readable\b")
_LARAVEL_HEALTH = re.compile(r"""\bhealth:\s*['"](?P<path>/[^'"]*)['"]""")


def _composer(tree: SourceTree) -> dict[str, Any]:
    try:
        value = json.loads(tree.text("composer.json") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# Front controllers, by document root: most frameworks use public/, Yii 2 web/, CakePHP webroot/,
# Nette www/; a plain app serves its own folder.
ENTRIES = ("public/index.php", "web/index.php", "webroot/index.php", "www/index.php", "index.php", "web/app.php")
# Symfony reads its environment from APP_ENV (`prod`, not `production`), and with a .env saying
# `dev` it would boot the dev-only bundles that `composer install --no-dev` leaves out.
SYMFONY_ENV = "APP_ENV=prod APP_DEBUG=0"


def detect(tree: SourceTree) -> Detection | None:
    entry = next((f for f in ENTRIES if tree.has(f)), None)
    if not tree.has("composer.json") and entry is None:
        return None
    composer = _composer(tree)
    require = table(composer, "require")
    manifest = "composer.json" if tree.has("composer.json") else str(entry)
    decisions: Detection = {"language": Decision("php", f"{manifest} is a PHP project file", manifest, 1)}
    framework = _framework(tree, require)
    decisions["framework"] = framework
    decisions["runtime_version"] = _version(tree, composer, require)
    if not tree.has("composer.json"):
        decisions["install_command"] = default(None, "no composer.json: nothing to install")
    elif framework.value == "symfony" and entry == "web/app.php":
        decisions["install_command"] = Decision(
            f"SYMFONY_ENV=prod {INSTALL}",
            "composer.json lists the dependencies; Symfony 2/3's post-install scripts read SYMFONY_ENV",
            framework.file,
            framework.line,
        )
    elif framework.value == "symfony":
        decisions["install_command"] = Decision(
            f"{SYMFONY_ENV} {INSTALL}",
            "composer.json lists the dependencies; Symfony's post-install scripts boot the app, so in prod",
            framework.file,
            framework.line,
        )
    else:
        decisions["install_command"] = Decision(
            INSTALL, "composer.json lists the dependencies; no dev packages in production", "composer.json", 1
        )
    decisions["build_command"] = _build(tree)
    needs_env = _stops_without_dotenv(tree)
    if needs_env is not None:
        folder, hit = needs_env
        env_file = f"{folder}/.env" if folder != "." else ".env"
        build = decisions["build_command"]
        decisions["build_command"] = Decision(
            f"{build.value} && touch {env_file}" if build.value else f"touch {env_file}",
            f"phpdotenv's load() ({hit.file}:{hit.line}) throws when {env_file} is missing, which the repository"
            " does not hold: the build writes an empty one" + (f"; {build.reason}" if build.value else ""),
            hit.file,
            hit.line,
        )
        decisions[f"{WARNING}dotenv"] = Decision(
            None,
            f"the app reads its settings from {env_file}, which is not deployed: the build writes an empty one,"
            " so pass each setting in the deployment's environment or secrets",
            hit.file,
            hit.line,
        )
    decisions["start_command"] = _start(tree, framework.value, entry)
    decisions["port"] = default(
        DEFAULT_PORT, "HiveMind's nginx config listens here (an unprivileged port for the app user)"
    )
    decisions["port_env"] = default(None, "nginx reads its port from HiveMind's config, not the environment")
    decisions["health_path"] = _health(tree, framework.value, entry)
    return decisions


def _framework(tree: SourceTree, require: dict[str, Any]) -> Decision:
    wordpress = next((f for f in WORDPRESS_FILES if tree.has(f)), None)
    if wordpress is not None:
        return Decision(
            "wordpress",
            f"{wordpress} is WordPress's; it needs a MySQL database: until wp-config.php (or its DB_* settings)"
            " names one it only shows its setup page, and uploads or plugins written at run time stay on the"
            " instance",
            wordpress,
            1,
        )
    for package, name in FRAMEWORKS:
        if package in require:
            return Decision(
                name, f"{package} is a dependency", "composer.json", tree.line_of("composer.json", f'"{package}"')
            )
    if tree.has("artisan"):
        return Decision("laravel", "artisan is Laravel's console", "artisan", 1)
    return default(None, "no PHP framework recognised: plain PHP")


def _version(tree: SourceTree, composer: dict[str, Any], require: dict[str, Any]) -> Decision:
    pinned = table(composer, "config", "platform").get("php")
    match = _VERSION.match(pinned) if isinstance(pinned, str) else None
    if match:
        return Decision(
            f"{match.group(1)}.{match.group(2)}",
            f"composer.json's config.platform.php is {pinned!r}",
            "composer.json",
            tree.line_of("composer.json", '"platform"'),
        )
    constraint = require.get("php")
    if isinstance(constraint, str) and _VERSION.search(constraint):
        line = tree.line_of("composer.json", '"php"')
        chosen = next((v for v in PACKAGED if satisfies(v, constraint)), None)
        if chosen:
            return Decision(
                f"{chosen[0]}.{chosen[1]}",
                f"require.php is {constraint!r}: the oldest PHP on Amazon Linux 2023 that satisfies it",
                "composer.json",
                line,
            )
        lowest = _VERSION.search(constraint)
        assert lowest is not None
        return Decision(
            f"{lowest.group(1)}.{lowest.group(2)}",
            f"require.php is {constraint!r}, which no PHP packaged on Amazon Linux 2023 satisfies",
            "composer.json",
            line,
        )
    return default(DEFAULT_VERSION, "no PHP version required; a supported PHP on Amazon Linux 2023")


def satisfies(version: tuple[int, int], constraint: str) -> bool:
    """Whether some `version[0].version[1].x` release meets a Composer constraint (`^8.2`,
    `>=8.1 <8.4`, `~8.2.0`, `8.3.*`, `^7.4 || ^8.0`)."""
    for alternative in re.split(r"\s*\|\|?\s*", constraint.strip()):
        parts = [p for p in re.split(r"[\s,]+", alternative) if p]
        if parts and all(_meets(version, part) for part in parts):
            return True
    return False


def _meets(version: tuple[int, int], part: str) -> bool:
    match = re.match(
        r"^(?P<op>\^|~|>=|<=|>|<|==|=|!=)?v?(?P<major>\d+)(?:\.(?P<minor>\d+|\*))?(?P<rest>(?:\.[\d*]+)*)", part
    )
    if part in ("*", "x") or match is None:
        return part in ("*", "x")
    op = match.group("op") or ""
    major = int(match.group("major"))
    minor_text = match.group("minor")
    minor = int(minor_text) if minor_text and minor_text != "*" else None
    wanted = (major, minor or 0)
    if op == "^":
        return wanted <= version < (major + 1, 0) if major > 0 else version == wanted
    if op == "~":
        upper = (major, (minor or 0) + 1) if match.group("rest") else (major + 1, 0)
        return wanted <= version < upper if minor is not None else version[0] == major
    if op in (">=", ">"):
        return version >= wanted
    if op == "<":
        return version < wanted or (version == wanted and bool(match.group("rest").strip(".0")))
    if op == "<=":
        return version <= wanted
    if op == "!=":
        return True
    return version[0] == major and (minor is None or version[1] == minor)


def _build(tree: SourceTree) -> Decision:
    try:
        package = json.loads(tree.text("package.json") or "{}") if tree.has("package.json") else {}
    except ValueError:
        package = {}
    scripts = package.get("scripts") if isinstance(package, dict) else None
    if isinstance(scripts, dict) and "build" in scripts:
        install = "npm ci" if tree.has("package-lock.json") else "npm install"
        return Decision(
            f"{install} && npm run build",
            f"package.json builds the front-end assets: {scripts['build']}",
            "package.json",
            tree.line_of("package.json", '"build"'),
        )
    return default(None, "PHP needs no build step")


def _start(tree: SourceTree, framework: object, entry: str | None) -> Decision:
    prefix = f"env {SYMFONY_ENV} " if framework == "symfony" else ""
    if entry is not None and "/" in entry:
        docroot = entry.rsplit("/", 1)[0]
    else:
        docroot = "public" if framework in ("laravel", "symfony", "slim") else "."
    shown = f"{docroot}/" if docroot != "." else "the app folder"
    if framework == "laravel":
        evidence = ("artisan", 1) if tree.has("artisan") else ("composer.json", 1)
        return Decision(
            f"{prefix}{serve_command('public')}",
            "php-fpm behind nginx, with public/ as the document root and public/index.php as the front controller",
            *evidence,
        )
    if entry is not None and not entry.endswith("index.php"):
        front = entry.rsplit("/", 1)[-1]
        return Decision(
            f"{prefix}{serve_command(docroot, front)}",
            f"php-fpm behind nginx, with {shown} as the document root and {entry} as the front controller",
            entry,
            1,
        )
    index = f"{docroot}/index.php" if docroot != "." else "index.php"
    if tree.has(index):
        return Decision(
            f"{prefix}{serve_command(docroot)}",
            f"php-fpm behind nginx, with {shown} as the document root; paths that are not files go to {index}",
            index,
            1,
        )
    return default(None, f"no {index} to serve")


def serve_command(docroot: str, front: str = "index.php") -> str:
    """HiveMind's supervisor of php-fpm and nginx, serving `docroot` (a plain folder name, relative
    to the app's folder) with `front` as the front controller."""
    return f"{SERVE} {docroot}" if front == "index.php" else f"{SERVE} {docroot} {front}"


_FOLDER = r"(?:\.|[A-Za-z0-9_][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_][A-Za-z0-9_.-]*)*/?)"
_SERVED = re.compile(
    rf"^(?:env(?:\s+[A-Za-z_][A-Za-z0-9_]*=\S*)*\s+)?{re.escape(SERVE)}"
    rf"(?:\s+(?P<docroot>{_FOLDER})(?:\s+(?P<front>[A-Za-z0-9_][A-Za-z0-9_.-]*\.php))?)?\s*$"
)


_HEROKU_PHP = re.compile(r"^(?:vendor/bin/)?heroku-php-(?:apache2|nginx)\b(?P<args>.*)$")


def from_procfile(command: str) -> str | None:
    """Heroku's PHP web servers (`heroku-php-nginx public/`) are not on an instance: the same
    document root under HiveMind's php-fpm and nginx. None for any other command."""
    match = _HEROKU_PHP.match(command.strip())
    if match is None:
        return None
    # the document root is the first argument that is not an option (-C, -F, -i take a value)
    words, docroot, skip = match.group("args").split(), ".", False
    for word in words:
        if skip:
            skip = False
        elif word in ("-C", "-F", "-i", "-l"):
            skip = True
        elif not word.startswith("-"):
            docroot = word.strip("/") or "."
            break
    command = serve_command(docroot)
    served(command)  # a document root that is not a plain folder is a PlanError here, not on the instance
    return command


def served(start_command: str) -> tuple[str, str] | None:
    """(document root, front controller) when the start command runs HiveMind's supervisor, else None.

    Raises PlanError when it names the supervisor with a document root that is not a plain folder
    inside the app: the nginx config holds the document root as a bare word."""
    if SERVE not in start_command:
        return None
    match = _SERVED.match(start_command.strip())
    docroot = match.group("docroot") if match else None
    if match is None or ".." in (docroot or "").split("/"):
        raise PlanError(
            f"start command {start_command!r}: {SERVE} takes a document root (a plain folder inside the app,"
            " such as public) and optionally the front controller's file name (such as app.php)"
        )
    return (docroot or ".").strip("/") or ".", match.group("front") or "index.php"


def _health(tree: SourceTree, framework: object, entry: str | None) -> Decision:
    if framework == "laravel":
        # the health route Laravel 11 declares answers without sessions, cookies or the database,
        # which `/` (the web middleware group) needs: with no APP_KEY or sessions table it fails
        declared = tree.first(_LARAVEL_HEALTH, [f for f in ("bootstrap/app.php",) if tree.has(f)])
        if declared:
            path = declared.match.group("path")
            return Decision(
                path, f"Laravel's health route {path}, declared in withRouting()", declared.file, declared.line
            )
    sources = tree.with_suffix(".php", top_levels=3)
    routes = list(tree.search(_ROUTE, sources))
    if framework == "codeigniter":
        routes += tree.search(_ROUTE, [f for f in ("app/Config/Routes.php",) if tree.has(f)])
    if framework == "wordpress":
        return Decision(
            "/",
            "WordPress answers / (a redirect to its setup page until a database is configured)",
            entry or "index.php",
            1,
        )
    if framework == "symfony":
        routes += _symfony_routes(tree, tree.with_suffix(".php", top_levels=4))
        routes += tree.search(_SYMFONY_YAML, [f for f in ("config/routes.yaml",) if tree.has(f)])
    found = pick_health_path(routes, ("/up", *HEALTH_NAMES))
    if found.source == "default" and framework is None and entry is not None:
        return Decision("/", f"{entry} answers /", entry, 1)
    return found


def _symfony_routes(tree: SourceTree, files: list[str]) -> list[Hit]:
    """Controller routes, each under its class's own `#[Route]` prefix; GET routes only when the
    route names its methods."""
    found: list[Hit] = []
    for name in files:
        text = tree.text(name) or ""
        if "Route" not in text:
            continue
        prefix, in_class = "", False
        for number, line in enumerate(text.splitlines(), start=1):
            match = _SYMFONY_ROUTE.search(line)
            if match:
                if not in_class:
                    prefix = match.group("path")
                elif "methods" not in match.group("rest") or "GET" in match.group("rest"):
                    path = "/" + "/".join(p.strip("/") for p in (prefix, match.group("path")) if p.strip("/"))
                    found.append(_hit(name, number, path))
            if not in_class and _PHP_CLASS.match(line):
                in_class = True
    return found


def _hit(file: str, line: int, path: str) -> Hit:
    match = re.fullmatch(r"(?P<path>.*)", path)
    assert match is not None  # `.*` matches any one-line path
    return Hit(file, line, match)


def _stops_without_dotenv(tree: SourceTree) -> tuple[str, Hit] | None:
    """(folder of the .env, where it is loaded) when the app loads a .env with phpdotenv's load(),
    unguarded, and the repository holds none there."""
    files = [f for f in tree.with_suffix(".php", top_levels=3) if "Dotenv" in (tree.text(f) or "")]
    for hit in tree.search(_DOTENV_CREATE, files):
        lines = (tree.text(hit.file) or "").splitlines()
        near = "\n".join(lines[hit.line - 1 : hit.line + 2])
        before = "\n".join(lines[max(hit.line - 4, 0) : hit.line - 1])
        if not re.search(r"->load\(\s*\)", near) or _DOTENV_GUARD.search(before + near):
            continue
        here = hit.file.rsplit("/", 1)[0] if "/" in hit.file else "."
        argument = hit.match.group("dir")
        if argument.strip() == "__DIR__":
            folder = here
        elif re.search(r"dirname\(\s*__DIR__\s*\)|__DIR__\s*\.\s*['\"]/\.\./?['\"]", argument):
            folder = here.rsplit("/", 1)[0] if "/" in here else "."
        else:
            folder = "."
        if not tree.has(f"{folder}/.env" if folder != "." else ".env"):
            return folder, hit
    return None
