"""Read a source tree and decide how to build and run it, with the evidence for each decision.

Precedence, highest first: the request's overrides, the repository's `hivemind.toml`
(`[plan]` table, same field names), a Procfile's `web:` process, detection, defaults.
"""

from __future__ import annotations

import contextlib
import re
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from pydantic import ValidationError

from hivemind.errors import PlanError, SourceError
from hivemind.models import DeploymentPlan, PlanOverrides
from hivemind.planning import docker, go, java, layout, node, php, python, ruby, static
from hivemind.planning.decisions import NEEDS_ENV, REQUIRED, SETS_ENV, STOP, WARNING, Decision, Detection, default
from hivemind.planning.procfile import app_json_environment, release_command, web_command
from hivemind.planning.procfile import warnings as procfile_warnings
from hivemind.planning.tree import SourceTree


class Language(Protocol):
    LANGUAGE: str
    MANIFESTS: tuple[str, ...]
    PROCFILE_WORDS: frozenset[str]

    def detect(self, tree: SourceTree) -> Detection | None: ...


# Every supported language is one module with `detect(tree)`, its `LANGUAGE` name, its
# `MANIFESTS` (named in the error when nothing is found) and its `PROCFILE_WORDS` (the first
# words of a Procfile web command that mean this language). The order breaks ties: a real server runtime before the
# Dockerfile, the Dockerfile before serving files as a static site.
LANGUAGES: tuple[Language, ...] = (python, node, go, java, ruby, php, docker, static)


PLAN_FIELDS = tuple(PlanOverrides.model_fields)
# a literal port in a start command: --bind 0.0.0.0:8080, -b :8080, --port 8080, -p 8080, --port=8080,
# uwsgi's --http :8000 / --http-socket :8000, runserver 0.0.0.0:8000
_FIXED_PORT = re.compile(
    r"(?:--bind|-b|--http|--http-socket|--listen)[= ]\S*:(\d{2,5})\b|(?:--port|-p)[= ](\d{2,5})\b"
    r"|runserver \S*?:?(\d{2,5})\b"
)
DEFAULT_INSTANCE_TYPE = "t3.micro"
_READS_PORT = re.compile(r"\$\{?PORT\b")  # $PORT or ${PORT} (also ${PORT:-8080})


def make_plan(
    root: Path,
    *,
    app_name: str,
    overrides: PlanOverrides | None = None,
    environment: dict[str, str] | None = None,
    secrets: dict[str, str] | None = None,
    source_bundle: str | None = None,
    environment_refs: dict[str, str] | None = None,
) -> DeploymentPlan:
    """The DeploymentPlan for the app at `root`, or in the folder `overrides.subdir` names, or in
    the one app folder of a monorepo (see `_find_app`)."""
    overrides = overrides or PlanOverrides()
    whole = SourceTree.scan(root)
    if not whole.files:
        raise SourceError("the source has no files (after skipping version control, dependency and build folders)")
    folders = layout.app_folders(whole, {m for language in LANGUAGES for m in language.MANIFESTS})
    if overrides.subdir:
        subdir = _subdir(root, overrides.subdir)
        where = Decision(subdir, "the request's subdir", source="request")
    else:
        where = layout.find_app(whole, folders, _runnable)
        subdir = str(where.value)
    tree = layout.own_tree(whole, subdir, folders)
    app_root = tree.root
    if not tree.files:
        raise SourceError(f"{subdir} has no files")
    repo_file = _repository_overrides(tree)
    decisions = _detect(tree, overrides.language or repo_file.get("language"))
    routes = list(decisions["health_path"].routes) if "health_path" in decisions else []
    if subdir != "." and decisions["language"].value in ("node", "static"):
        node.in_workspace(whole, subdir, decisions)
    decisions["subdir"] = where
    decisions.setdefault("instance_type", default(DEFAULT_INSTANCE_TYPE, "smallest general-purpose burstable size"))
    detected_path = decisions["health_path"].value if "health_path" in decisions else None
    for name, value in repo_file.items():
        decisions[name] = Decision(
            value, "set in hivemind.toml", "hivemind.toml", tree.line_of("hivemind.toml", name), source="hivemind.toml"
        )
    for name, value in overrides.provided().items():
        decisions[name] = Decision(value, "set in the deployment request", source="request")  # type: ignore[arg-type]
    path, codes = decisions.get("health_path"), decisions.get("health_codes")
    if path and codes and path.value != detected_path and codes.source == "detected":
        del decisions["health_codes"]  # the statuses detected were for the path detected, not the one given
    _require(decisions, app_root)
    values: dict[str, Any] = {name: decisions[name].value for name in PLAN_FIELDS if name in decisions}
    given = {*(environment or {}), *(environment_refs or {}), *(secrets or {})}
    planned = {
        name.removeprefix(SETS_ENV): d
        for name, d in decisions.items()
        if name.startswith(SETS_ENV) and name.removeprefix(SETS_ENV) not in given
    }
    try:
        plan = DeploymentPlan(
            app_name=app_name,
            environment={**{name: str(d.value) for name, d in planned.items()}, **(environment or {})},
            environment_refs=dict(environment_refs or {}),
            secrets=dict(secrets or {}),
            source_bundle=source_bundle,
            evidence=[decisions[name].evidence(name) for name in PLAN_FIELDS if name in decisions]
            + [d.evidence(f"environment.{name}") for name, d in planned.items()],
            warnings=_warnings(tree, decisions),
            routes=[r for r in routes if "health_path" not in decisions or r != decisions["health_path"].value],
            **values,
        )
    except ValidationError as exc:
        raise PlanError(f"the plan is not valid: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}") from exc
    missing = _missing_environment(decisions, plan)
    if missing:
        raise PlanError(missing)
    secret = missing_secret(plan, root)
    return plan.model_copy(update={"warnings": [*plan.warnings, secret]}) if secret else plan


def _missing_environment(decisions: Detection, plan: DeploymentPlan) -> str | None:
    """The Plan's error naming the variables the app reads at start with no default that
    nothing gives it: without them it cannot start, so the deployment stops before any stack."""
    # (a committed .env does not count: gunicorn, uvicorn and node do not read it)
    given = {*plan.environment, *plan.environment_refs, *plan.secrets}
    if plan.port_env:
        given.add(plan.port_env)
    missing = [(name.removeprefix(NEEDS_ENV), d) for name, d in decisions.items() if name.startswith(NEEDS_ENV)]
    missing = [(name, d) for name, d in missing if name not in given]
    if not missing:
        return None
    named = ", ".join(f"{name} ({d.file}:{d.line})" if d.file else name for name, d in missing[:8])
    more = f" and {len(missing) - 8} more ({', '.join(name for name, _ in missing[8:])})" if len(missing) > 8 else ""
    return (
        f"the app cannot work without {named}{more}: it reads {'them' if len(missing) > 1 else 'it'} with no "
        "default. Pass each in the deployment's environment (--env NAME=VALUE) or as a secret "
        "(--secret NAME=ssm:/parameter/name)"
    )


def _runnable(tree: SourceTree) -> bool:
    """Whether detection (with a Procfile or hivemind.toml) knows how to start an app here."""
    try:
        decisions = _detect(tree)
        decisions.update({k: Decision(v, "") for k, v in _repository_overrides(tree).items()})
    except (PlanError, SourceError):
        return False
    start = decisions.get("start_command")
    return start is not None and start.value is not None


# Frameworks that refuse to serve without secrets of the deployment's own, which the repository
# never holds: each group needs one of its names, from the request's environment or secrets.
REQUIRED_SECRETS: dict[str, tuple[tuple[str, ...], ...]] = {
    "rails": (("SECRET_KEY_BASE", "RAILS_MASTER_KEY"),),
    "laravel": (("APP_KEY",),),
    "strapi": (("APP_KEYS",), ("API_TOKEN_SALT",), ("ADMIN_JWT_SECRET",), ("TRANSFER_TOKEN_SALT",), ("JWT_SECRET",)),
}


# Files through which a repository gives those secrets itself (demo and tutorial repositories do).
KEY_FILES = {"RAILS_MASTER_KEY": ("config/master.key", "config/credentials/production.key")}
_DOTENV = re.compile(r"^\s*(?:export\s+)?(?P<name>[A-Za-z_]\w*)\s*=\s*['\"]?\S", re.MULTILINE)


def missing_secret(plan: DeploymentPlan, source: Path | None = None) -> str | None:
    """What the app needs and neither the request nor the source (its folder inside `source`)
    gives, as a sentence; None when nothing is missing."""
    given = {
        *plan.environment,
        *plan.environment_refs,
        *plan.secrets,
        *(_given_by_repository(source / plan.subdir) if source else ()),
    }
    missing = [group for group in REQUIRED_SECRETS.get(plan.framework or "", ()) if given.isdisjoint(group)]
    if not missing:
        return None
    wanted = ", ".join(" or ".join(group) for group in missing)
    return (
        f"a {plan.framework} app needs {wanted} to start in production: pass each as a secret "
        f"(--secret {missing[0][0]}=ssm:/your/parameter) or in the environment"
    )


def _given_by_repository(app: Path) -> set[str]:
    """The secrets the app's folder carries itself: key files, and names set in a committed .env."""
    given = {name for name, files in KEY_FILES.items() if any((app / f).is_file() for f in files)}
    with contextlib.suppress(OSError):  # no .env: nothing given that way
        given |= set(_DOTENV.findall((app / ".env").read_text(errors="replace")))
    return given


def _subdir(root: Path, subdir: str | None) -> str:
    if not subdir or subdir.strip("/") in ("", "."):
        return "."
    relative = PurePosixPath(subdir.strip("/"))
    if ".." in relative.parts or relative.is_absolute():
        raise PlanError(f"subdir {subdir!r} must be a folder inside the source")
    if not (root / relative).is_dir():
        raise PlanError(f"subdir {subdir!r} is not a folder of the source")
    return relative.as_posix()


def _repository_overrides(tree: SourceTree) -> dict[str, Any]:
    if not tree.has("hivemind.toml"):
        return {}
    try:
        table = tomllib.loads(tree.text("hivemind.toml") or "").get("plan", {})
        if not isinstance(table, dict):
            raise PlanError("hivemind.toml: plan must be a table ([plan] with one key a line)")
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(f"hivemind.toml is not valid TOML: {exc}") from exc
    unknown = sorted(set(table) - set(PLAN_FIELDS))
    if unknown:
        raise PlanError(
            f"hivemind.toml [plan] has unknown key(s) {', '.join(unknown)}; known: {', '.join(PLAN_FIELDS)}"
        )
    try:
        return PlanOverrides(**table).provided()
    except ValidationError as exc:
        first = exc.errors()[0]
        raise PlanError(f"hivemind.toml [plan] {first['loc'][0]}: {first['msg']}") from exc


def _detect(tree: SourceTree, named: str | None = None) -> Detection:
    """The best candidate: the language the request or hivemind.toml names, then the Procfile's,
    then one with a recognised framework, then one that knows how to start; ties go to the order
    of LANGUAGES."""
    candidates = [found for language in LANGUAGES if (found := _detect_one(language, tree)) is not None]
    if not candidates:
        looked = ", ".join(sorted({m for language in LANGUAGES for m in language.MANIFESTS}))
        if tree.is_binary_only():
            raise SourceError(f"the source holds only binary files ({len(tree.files)}, e.g. {tree.files[0]})")
        raise PlanError(
            f"no supported application found in {tree.root.name or tree.root}: looked for {looked}, "
            "and an index.php or index.html to serve; set start_command in hivemind.toml to run something else"
        )
    procfile = web_command(tree)
    wanted = None
    if procfile is not None:
        first_word = str(procfile.value).split()[0].rsplit("/", 1)[-1]
        wanted = next((lang for lang in LANGUAGES if first_word in lang.PROCFILE_WORDS), None)

    def score(found: Detection) -> tuple[bool, bool, bool, bool]:
        detected = found["language"].value
        start = found.get("start_command")
        return (
            named is not None and detected == named,
            wanted is not None and detected == wanted.LANGUAGE,
            found.get("framework", default(None, "")).value is not None,
            start is not None and start.value is not None,
        )

    best: Detection = max(candidates, key=score)  # max keeps the first of equals
    decisions = {**best, **procfile_warnings(tree)}
    if (release := release_command(tree)) is not None:
        decisions["release_command"] = release
    decisions.update(app_json_environment(tree))
    if procfile is not None:
        # a Procfile command that runs only on Heroku becomes its equivalent here
        language = decisions["language"].value
        translated = (
            php.from_procfile(str(procfile.value))
            if language == "php"
            else go.from_procfile(str(procfile.value), tree)
            if language == "go"
            else None
        )
        decisions["start_command"] = (
            Decision(
                translated, f"the Procfile's {procfile.value!r}, as this instance runs it", procfile.file, procfile.line
            )
            if translated
            else procfile
        )
        fixed = _FIXED_PORT.search(str(procfile.value))
        if fixed:
            port = int(next(g for g in fixed.groups() if g))
            decisions["port"] = Decision(port, f"the Procfile's web process binds {port}", procfile.file, procfile.line)
            decisions["port_env"] = Decision(None, "the Procfile fixes the port", procfile.file, procfile.line)
        # the Procfile is the evidence whenever the port variable is the one it reads
        if _READS_PORT.search(str(procfile.value)) and decisions.get("port_env", default(None, "")).value in (
            None,
            "PORT",
        ):
            decisions["port_env"] = Decision(
                "PORT", "the Procfile's web process binds $PORT", procfile.file, procfile.line
            )
    return decisions


# a server bound to the loopback address: the instance answers itself, the load balancer never
_LOOPBACK = re.compile(r"""(?<![\w.])(?:127\.0\.0\.1|localhost)(?![\w.])""")


def _warnings(tree: SourceTree, decisions: Detection) -> list[str]:
    """What may keep the app from working once deployed: the detectors' own `warning:*` entries,
    and a port bound to the loopback address (on the line that binds it, or in the start command)."""
    found = [
        f"{d.reason} ({d.file}:{d.line})" if d.file else d.reason
        for name, d in decisions.items()
        if name.startswith(WARNING)
    ]
    port = decisions.get("port")
    line = (tree.text(port.file) or "").splitlines()[port.line - 1] if port and port.file and port.line else ""
    start = decisions.get("start_command")
    if _LOOPBACK.search(line) and port is not None:
        found.append(
            f"the app binds the loopback address ({port.file}:{port.line}), which the load balancer cannot reach: "
            "listen on 0.0.0.0"
        )
    elif start is not None and _LOOPBACK.search(str(start.value or "")):
        found.append(f"the start command binds the loopback address: {start.value}")
    return found


def _detect_one(language: Language, tree: SourceTree) -> Detection | None:
    """One detector's candidate; a detector that trips over an odd file is a PlanError naming the
    language and the way out, never a stack trace."""
    done = tree.__dict__.setdefault("_detected", {})  # the layout check and the plan ask the same tree
    if language.LANGUAGE in done:
        found = done[language.LANGUAGE]
        return dict(found) if found is not None else None
    try:
        found = done[language.LANGUAGE] = language.detect(tree)
        return dict(found) if found is not None else None
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError) as exc:
        raise PlanError(
            f"HiveMind could not read this {language.LANGUAGE} project ({type(exc).__name__}: {exc}); "
            "set the plan's fields in hivemind.toml"
        ) from exc


def _require(decisions: Detection, app_root: Path) -> None:
    if decisions.get("start_command") is None or decisions["start_command"].value is None:
        raise PlanError(
            f"cannot tell how to start the app in {app_root.name}: add a Procfile with a web: line, a start script, "
            "or set start_command in hivemind.toml"
        )
    for name, needed in decisions.items():
        if name.startswith(STOP):
            raise PlanError(f"{needed.reason} ({needed.file}:{needed.line})" if needed.file else needed.reason)
        field = name.removeprefix(REQUIRED)
        if name.startswith(REQUIRED) and (field not in decisions or decisions[field].value is None):
            where = f" ({needed.file}:{needed.line})" if needed.file else ""
            raise PlanError(f"{needed.reason}{where}; or set {field} in hivemind.toml")


__all__ = ["make_plan", "missing_secret"]
