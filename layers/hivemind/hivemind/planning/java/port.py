"""The port the app binds and the variable that sets it: a Procfile passing $PORT, else the
framework's port setting (`server.port`, `quarkus.http.port`, `micronaut.server.port`),
Dropwizard's connector, Ktor's application.conf, or the port the code reads or passes to the server.
"""

from __future__ import annotations

import re

from hivemind.planning.decisions import Decision, default
from hivemind.planning.java.config import _dropwizard_config
from hivemind.planning.java.project import _in_modules, _sources
from hivemind.planning.ports import PORT_VAR
from hivemind.planning.procfile import web_command
from hivemind.planning.tree import Hit, SourceTree

DEFAULT_PORT = 8080
# The main port setting of each framework, the variable that always overrides it, its default.
PORT_SETTINGS: dict[str, tuple[str, str, int, str]] = {
    "spring-boot": ("server.port", "SERVER_PORT", 8080, "Spring Boot"),
    "quarkus": ("quarkus.http.port", "QUARKUS_HTTP_PORT", 8080, "Quarkus"),
    "micronaut": ("micronaut.server.port", "MICRONAUT_SERVER_PORT", 8080, "Micronaut"),
}
# The port a framework binds when the code names none.
CODE_DEFAULT_PORTS = {"javalin": 8080, "spark": 4567, "ktor": 8080, "dropwizard": 8080}
_JAVA_ENV_PORT = re.compile(
    r"""(?:getenv\(\s*\)\s*\.getOrDefault\(\s*"(?P<env>""" + PORT_VAR + r""")"\s*,\s*"(?P<default>\d{2,5})"|"""
    r"""(?:getenv|environment\(\s*\)\s*\.get)\(\s*"(?P<env2>""" + PORT_VAR + r""")"\s*\)"""
    r"""(?:[^;\n]*?(?:\?:|orElse\(|:)\s*"?(?P<default2>\d{2,5}))?)"""
)
# `app.start(7000)`, `port(4567)`, `embeddedServer(Netty, port = 8080)`, `Javalin.create().start(7070)`
_CODE_PORT = re.compile(r"""(?:\.start\(\s*|\bport\(\s*|\bport\s*=\s*)(?P<port>\d{2,5})\b""")
# `return 4567;`, `"4567"`, Kotlin's `?: 4567`, a ternary's `: 4567;`
_NEAR_RETURN = re.compile(
    r"""\breturn\s+(?P<port>\d{2,5})\s*;|"(?P<str>\d{2,5})"|\?:\s*(?P<elvis>\d{2,5})\b|[^?:]:\s*(?P<ternary>\d{2,5})\s*;"""
)
# Ktor's application.conf (HOCON): `port = 8080` and `port = ${?PORT}` in ktor.deployment.
_HOCON_PORT = re.compile(r"""^\s*port\s*[=:]\s*(?:(?P<port>\d{2,5})|\$\{\??(?P<env>\w+)\})""")
_YAML_KTOR_PORT = re.compile(
    r"""^\s*port\s*:\s*["']?(?:\$\{?(?P<env>\w+)\}?(?::(?P<default>\d{2,5}))?|(?P<port>\d{2,5}))"""
)
_PLACEHOLDER = re.compile(r"^\$\{(?P<name>[^:}]+)(?::(?P<default>.*))?\}$")
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


def _port(tree: SourceTree, config: dict[str, tuple[str, str, int]], framework: Decision) -> tuple[Decision, Decision]:
    procfile = web_command(tree)
    reads = (
        Decision("PORT", "the Procfile's web process passes $PORT to the app", procfile.file, procfile.line)
        if procfile is not None and re.search(r"\$\{?PORT\b", str(procfile.value))
        else None
    )
    name = str(framework.value)
    if name in PORT_SETTINGS:
        port, env = _setting_port(config, framework, *PORT_SETTINGS[name])
    elif name == "dropwizard":
        port, env = _dropwizard_port(tree)
    else:
        port, env = _code_port(tree, name)
    return port, reads or env


def _setting_port(
    config: dict[str, tuple[str, str, int]], framework: Decision, key: str, variable: str, fallback: int, label: str
) -> tuple[Decision, Decision]:
    """The port from the framework's own setting (`server.port`, `quarkus.http.port`, ...), which
    the environment variable `variable` always overrides."""
    entry = config.get(key)
    if entry is None:
        return default(fallback, f"no {key} set; {label}'s default port"), Decision(
            variable, f"{label} always reads {key} from {variable}", framework.file, framework.line
        )
    value, file, line = entry
    placeholder = _PLACEHOLDER.match(value)
    if placeholder:
        name, fallback_text = placeholder.group("name").strip(), placeholder.group("default") or ""
        digits = re.search(r"(\d{2,5})\}*$", fallback_text)
        if _ENV_NAME.match(name):
            env = Decision(name, f"{key} is {value} in {file}", file, line)
        else:
            env = Decision(variable, f"{label} reads {variable} over any {key} in a file", file, line)
        if digits:
            port = int(digits.group(1))
            return Decision(port, f"{key} is {value}: {port} when {name} is not set", file, line), env
        return Decision(fallback, f"{key} is {value} with no default; HiveMind sets it", file, line), env
    if value.isdigit() and 0 < int(value) < 65536:
        return Decision(int(value), f"{key} is {value} in {file}", file, line), Decision(
            variable, f"{label} reads {variable}, which overrides {key} in {file}", file, line
        )
    return default(fallback, f"{key} {value!r} is not a fixed port; {label}'s default"), Decision(
        variable, f"{label} reads {key} from {variable}", file, line
    )


def _dropwizard_port(tree: SourceTree) -> tuple[Decision, Decision]:
    """The first application connector's port in Dropwizard's configuration (before its admin one)."""
    fallback = default(CODE_DEFAULT_PORTS["dropwizard"], "no configuration file; Dropwizard's default port")
    config = _dropwizard_config(tree)
    if config is None:
        return fallback, default(None, "Dropwizard reads no port variable")
    lines = (tree.text(config) or "").splitlines()
    section = None
    for number, line in enumerate(lines, start=1):
        key = re.match(r"^\s*-?\s*(\w+)\s*:\s*(.*?)\s*$", line)
        if key is None:
            continue
        if key.group(1) in ("applicationConnectors", "adminConnectors", "connector"):
            section = key.group(1)
        elif key.group(1) == "port" and section in ("applicationConnectors", "connector"):
            value = key.group(2).strip("'\"")
            env = re.match(r"^\$\{(?P<env>\w+)(?::-(?P<default>\d{2,5}))?\}$", value)
            if env:
                port = int(env.group("default") or CODE_DEFAULT_PORTS["dropwizard"])
                return (
                    Decision(port, f"{config} sets the port to {value}", config, number),
                    Decision(
                        env.group("env"),
                        f"{config} reads {env.group('env')} (with variable substitution)",
                        config,
                        number,
                    ),
                )
            if value.isdigit():
                return (
                    Decision(int(value), f"{config}'s application connector binds {value}", config, number),
                    Decision(None, f"{config} fixes the port", config, number),
                )
    return default(CODE_DEFAULT_PORTS["dropwizard"], f"{config} sets no port; Dropwizard's default"), Decision(
        None, "Dropwizard reads no port variable", config, 1
    )


def _code_port(tree: SourceTree, framework: str) -> tuple[Decision, Decision]:
    """Ktor's configuration file, else the port the code reads from the environment (with its
    fallback), else the one it passes to the server, else the framework's default."""
    fallback = CODE_DEFAULT_PORTS.get(framework, DEFAULT_PORT)
    if framework == "ktor":
        found = _ktor_config_port(tree)
        if found is not None:
            return found
    sources = _sources(tree)
    env_hit = tree.first(_JAVA_ENV_PORT, sources)
    if env_hit is not None:
        env = env_hit.match.group("env") or env_hit.match.group("env2")
        value = env_hit.match.group("default") or env_hit.match.group("default2") or _fallback_near(tree, env_hit)
        port = int(value) if value else fallback
        why = f"the app binds {port} when {env} is not set" if value else f"{env} has no default in the code"
        return Decision(port, why, env_hit.file, env_hit.line), Decision(
            env, f"the app reads {env}", env_hit.file, env_hit.line
        )
    hit = tree.first(_CODE_PORT, sources)
    if hit is not None:
        port = int(hit.match.group("port"))
        return Decision(port, f"the app listens on {port}", hit.file, hit.line), Decision(
            None, "the port is hard-coded", hit.file, hit.line
        )
    what = f"{framework}'s default port" if framework in CODE_DEFAULT_PORTS else "the usual port of Java web servers"
    return default(fallback, f"no port found in the code; {what}"), default(None, "no port variable read")


def _fallback_near(tree: SourceTree, hit: Hit) -> str | None:
    """A port literal in the few lines after an environment read (`return 4567;`, `?: 8080`)."""
    lines = (tree.text(hit.file) or "").splitlines()
    for line in lines[hit.line - 1 : hit.line + 4]:
        near = _NEAR_RETURN.search(line)
        if near:
            return near.group("port") or near.group("str") or near.group("elvis") or near.group("ternary")
    return None


def _ktor_config_port(tree: SourceTree) -> tuple[Decision, Decision] | None:
    """`ktor.deployment.port` in application.conf (`port = 8080` then `port = ${?PORT}`) or application.yaml."""
    for name in _in_modules(tree, tuple(f"src/main/resources/application.{e}" for e in ("conf", "yaml", "yml"))):
        if not tree.has(name):
            continue
        regex = _HOCON_PORT if name.endswith(".conf") else _YAML_KTOR_PORT
        port: tuple[int, int] | None = None
        env: tuple[str, int] | None = None
        for hit in tree.search(regex, [name]):
            if hit.match.group("port"):
                port = port or (int(hit.match.group("port")), hit.line)
            if hit.match.group("env"):
                env = env or (hit.match.group("env"), hit.line)
            if hit.match.groupdict().get("default"):
                port = port or (int(hit.match.group("default")), hit.line)
        if port is None and env is None:
            continue
        port_decision = (
            Decision(port[0], f"ktor.deployment.port is {port[0]} in {name}", name, port[1])
            if port
            else default(DEFAULT_PORT, f"{name} sets no fixed port; Ktor's usual one")
        )
        if env is not None:
            return port_decision, Decision(env[0], f"{name} reads the port from {env[0]}", name, env[1])
        assert port is not None
        return port_decision, Decision(None, f"{name} fixes the port", name, port[1])
    return None
