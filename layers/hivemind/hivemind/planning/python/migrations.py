"""The release step a Python app's migrations need: run once on each instance after the build,
before the app starts (as Heroku's release phase and Render's pre-deploy command do).

- Django: `python manage.py migrate --noinput` when there is a manage.py (its own admin, auth
  and sessions keep their tables in migrations too).
- Alembic: `python -m alembic upgrade head` (with the app's folder on the import path, which
  env.py's imports of the app's models need; the `alembic` script alone does not put it there)
  when alembic.ini sits in the app's folder, its migrations have versions, and they connect
  where the deployment says: env.py takes the URL itself (from the environment or the app's
  settings: `set_main_option("sqlalchemy.url", ...)`, `create_engine(...)`) or alembic.ini's URL
  is SQLite's file. When alembic.ini fixes another database (a compose
  service's host, alembic's own placeholder), running them would fail the boot: a warning says
  so instead. Flask-Migrate's env.py needs the Flask app (`flask db upgrade`): not planned here.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping

from hivemind.planning.decisions import WARNING, Decision, Detection
from hivemind.planning.tree import SourceTree

_SCRIPT_LOCATION = re.compile(r"^[ \t]*script_location[ \t]*=[ \t]*(?P<where>\S+)[ \t]*$", re.MULTILINE)
_INI_URL = re.compile(r"^[ \t]*sqlalchemy\.url[ \t]*=[ \t]*(?P<url>\S.*?)[ \t]*$", re.MULTILINE)
# env.py choosing the URL itself, rather than alembic.ini's
_OWN_URL = re.compile(
    r"""set_(?:main|section)_option\([^)]*['"]sqlalchemy\.url['"]|\[\s*['"]sqlalchemy\.url['"]\s*\]\s*="""
    r"""|\bcreate_(?:async_)?engine\(|\bos\.environ\b|\bgetenv\("""
)
UPGRADE = "python -m alembic upgrade head"
_HOST = re.compile(r"@(?P<host>[^/:?\s]+)")


def release_of(tree: SourceTree, framework: str | int | None, deps: Mapping[str, object]) -> Detection:
    """`release_command`, or a `warning:migrations` when the migrations cannot be run as they stand."""
    if framework == "django" and tree.has("manage.py"):
        return {
            "release_command": Decision(
                "python manage.py migrate --noinput",
                "a Django project's migrations create its tables before it starts",
                "manage.py",
                1,
            )
        }
    if "alembic" in deps and tree.has("alembic.ini"):
        return _alembic(tree)
    return {}


def _alembic(tree: SourceTree) -> Detection:
    ini = tree.text("alembic.ini") or ""
    location = _SCRIPT_LOCATION.search(ini)
    if location is None:
        return {}
    folder = posixpath.normpath(location.group("where").replace("%(here)s", ".")).lstrip("/")
    env = f"{folder}/env.py" if folder != "." else "env.py"
    versions = [f for f in tree.files if f.startswith(f"{folder}/versions/") and f.endswith(".py")]
    script = tree.text(env)
    if script is None or not versions or "current_app" in script:
        return {}
    own = _OWN_URL.search(script)
    if own is not None:
        line = script.count("\n", 0, own.start()) + 1
        return {
            "release_command": Decision(
                UPGRADE,
                f"Alembic's migrations ({len(versions)} in {folder}/versions) create the app's tables; env.py "
                "takes the database's URL from the deployment",
                env,
                line,
            )
        }
    url = _INI_URL.search(ini)
    value = url.group("url") if url else ""
    line = ini.count("\n", 0, url.start()) + 1 if url else 1
    if value.startswith("sqlite"):
        return {
            "release_command": Decision(
                UPGRADE,
                f"Alembic's migrations ({len(versions)} in {folder}/versions) create the app's tables in the "
                f"SQLite file alembic.ini names ({value})",
                "alembic.ini",
                line,
            )
        }
    host = _HOST.search(value)
    where = f"host {host.group('host')}" if host else (value or "no URL")
    return {
        f"{WARNING}migrations": Decision(
            None,
            f"Alembic's migrations ({len(versions)} in {folder}/versions) are not run: alembic.ini fixes their "
            f"database ({where}) and {env} does not read the deployment's, so the app's tables are never made; "
            f"have env.py set sqlalchemy.url from the environment, then release_command `{UPGRADE}`",
            "alembic.ini",
            line,
        )
    }
