"""Apps that ship a Dockerfile (or Containerfile): the instance builds the image and runs it.

Detection reads the final stage only (what runs): EXPOSE for the port, ENV and the code for the
port variable, CMD/ENTRYPOINT as the evidence of how it starts, HEALTHCHECK for the health path.
A real server app in a supported language outranks this (the chooser prefers a recognised
framework), so a Flask app with a Dockerfile is still planned as Python unless asked otherwise.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass

from hivemind.planning.decisions import Decision, Detection, default
from hivemind.planning.documents import entry
from hivemind.planning.ports import PORT_VAR
from hivemind.planning.procfile import web_command
from hivemind.planning.tree import SourceTree

LANGUAGE = "docker"
MANIFESTS: tuple[str, ...] = ("Dockerfile", "Containerfile")
PROCFILE_WORDS = frozenset({"docker"})
IMAGE = "hivemind-app"
CONTAINER = "hivemind-app"
# The names of the variables the container gets (one a line, values from the docker CLI's own
# environment); written by templating/userdata.py from the plan.
ENV_FILE = "/opt/hivemind/docker.env"
DEFAULT_PORT = 8080
# Building an image beside the Docker daemon needs more memory than a t3.micro's 1 GiB.
INSTANCE_TYPE = "t3.small"
_VARIABLE = re.compile(r"\$(?:\{(?P<braced>[A-Za-z_]\w*)(?::?-(?P<fallback>[^}]*))?\}|(?P<bare>[A-Za-z_]\w*))")
_PORT_NAME = re.compile(r"^" + PORT_VAR + r"$")
_CMD_PORT = re.compile(
    r"""(?:(?:0\.0\.0\.0|\[::\]|::|localhost|127\.0\.0\.1)?:|--port[=\s"',]+|\s-p[\s"',]+)(?P<port>\d{2,5})\b"""
)
_CMD_PORT_ENV = re.compile(r"\$\{?(?P<env>" + PORT_VAR + r")\b")
_HEALTH_URL = re.compile(
    r"https?://(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])(?::(?P<port>\d{2,5}))?(?P<path>/[^\s'\"|;&]*)"
)
# Code that reads a port variable, in the languages people put in containers.
_CODE_PORT_ENV = re.compile(
    r"""(?:Getenv|LookupEnv|env::var|env!|getenv|environ\.get|environ\[|process\.env\.|process\.env\[|ENV\[|ENV\.fetch"""
    r"""|System\.getenv|Environment\.GetEnvironmentVariable|System\.get_env)\s*\(?\s*['"]?(?P<env>"""
    + PORT_VAR
    + r""")\b"""
)
# Ports that well-known base images EXPOSE themselves, so a Dockerfile built FROM them often does not
# say it again: image name (no registry, no tag; a `-variant` tag suffix after `:`) -> port.
IMAGE_PORTS = (
    (re.compile(r"^(?:library/|nginx/)?nginx$"), 80),
    (re.compile(r"^(?:nginxinc/nginx-unprivileged|bitnami/nginx|bitnami/apache)$"), 8080),
    (re.compile(r"^(?:library/)?(?:httpd|caddy)$"), 80),
    (re.compile(r"^(?:library/)?php:.*apache"), 80),
    (re.compile(r"^(?:library/)?(?:tomcat|jetty)$"), 8080),
)
_CODE_SUFFIXES = (".go", ".rs", ".py", ".js", ".mjs", ".ts", ".rb", ".java", ".kt", ".cs", ".php", ".ex", ".exs")


@dataclass(frozen=True)
class Instruction:
    line: int
    keyword: str
    args: str


def detect(tree: SourceTree) -> Detection | None:
    dockerfile = next((name for name in MANIFESTS if tree.has(name)), None)
    if dockerfile is None or _contradicted(tree):
        return None
    instructions = parse(tree.text(dockerfile) or "")
    stage, variables = final_stage(instructions)
    if not stage:
        return None
    image = _base_image(instructions, stage[0])
    port, port_env = _port(tree, dockerfile, instructions, stage, variables)
    build = f"docker build -t {IMAGE} ." if dockerfile == "Dockerfile" else f"docker build -f {dockerfile} -t {IMAGE} ."
    return {
        "language": Decision("docker", f"{dockerfile} builds the app's image", dockerfile, stage[0].line),
        "framework": default(None, "the image decides how the app runs; no framework is read inside it"),
        "runtime_version": Decision(image, "the base image of the final stage", dockerfile, stage[0].line),
        "install_command": default(None, "the image build installs the app's dependencies"),
        "build_command": Decision(build, f"{dockerfile} is built on the instance", dockerfile, 1),
        "start_command": _start(dockerfile, stage, image),
        "port": port,
        "port_env": port_env,
        "health_path": _health(dockerfile, stage),
        "instance_type": default(INSTANCE_TYPE, "building an image beside the Docker daemon needs 2 GiB of memory"),
    }


# HIVEMIND_PORT is the plan's final port (templating/userdata.py exports it), so a port override
# in hivemind.toml or the request moves the published port too.
RUN_COMMAND = f'docker run --rm --name {CONTAINER} -p "$HIVEMIND_PORT:$HIVEMIND_PORT" --env-file {ENV_FILE} {IMAGE}'


def _contradicted(tree: SourceTree) -> bool:
    """A Procfile web process or hivemind.toml's language says the app runs some other way."""
    procfile = web_command(tree)
    if procfile is not None and str(procfile.value).split()[0].rsplit("/", 1)[-1] not in PROCFILE_WORDS:
        return True
    if tree.has("hivemind.toml"):
        try:
            language = entry(tomllib.loads(tree.text("hivemind.toml") or ""), "plan", "language")
        except tomllib.TOMLDecodeError:
            return False  # the planner reports the broken file itself
        return language not in (None, LANGUAGE)
    return False


def parse(text: str) -> list[Instruction]:
    """A Dockerfile's instructions, continuation lines joined, comments dropped."""
    found: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if not pending:
            start = number
        if line.endswith("\\"):
            pending.append(line[:-1].strip())
            continue
        pending.append(line)
        keyword, _, args = " ".join(p for p in pending if p).partition(" ")
        found.append(Instruction(start, keyword.upper(), args.strip()))
        pending = []
    return found


def final_stage(instructions: list[Instruction]) -> tuple[list[Instruction], dict[str, str]]:
    """The last stage's instructions (its FROM first) and the variables it defines, resolved.
    A global ARG (before the first FROM) is seen in the stage only where the stage declares it again."""
    starts = [i for i, ins in enumerate(instructions) if ins.keyword == "FROM"]
    if not starts:
        return [], {}
    globals_: dict[str, str] = {}
    for ins in instructions[: starts[0]]:
        if ins.keyword == "ARG":
            globals_.update(_assignments(ins.args, legacy=False))
    stage = instructions[starts[-1] :]
    variables: dict[str, str] = {}
    for ins in stage:
        if ins.keyword == "ARG":
            for word in ins.args.split():
                if "=" not in word:
                    variables[word] = globals_.get(word, "")
        if ins.keyword in ("ARG", "ENV"):
            assigned = _assignments(ins.args, legacy=ins.keyword == "ENV")
            variables.update({name: _resolve(value, variables) for name, value in assigned.items()})
    return stage, variables


def _assignments(args: str, *, legacy: bool) -> dict[str, str]:
    """`NAME=value NAME2="v"` (or ENV's legacy `NAME value`) -> {NAME: value}."""
    words = re.findall(r"""(?:[^\s"']+|"[^"]*"|'[^']*')+""", args)
    if legacy and words and "=" not in words[0]:
        return {words[0]: " ".join(words[1:]).strip("\"'")}
    pairs = (w.partition("=") for w in words)
    return {name: value.strip("\"'") for name, sep, value in pairs if sep}


def _resolve(text: str, variables: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group("braced") or match.group("bare")
        return variables.get(name, match.group("fallback") or "")

    return _VARIABLE.sub(value, text)


def _base_image(instructions: list[Instruction], origin: Instruction) -> str:
    """The image the final stage starts from, following `FROM <earlier stage>` back to a real image."""
    stages = {}
    for ins in instructions:
        if ins.keyword == "FROM":
            words = [w for w in ins.args.split() if not w.startswith("--")]
            if len(words) >= 3 and words[1].lower() == "as":
                stages[words[2].lower()] = words[0]
    image = next((w for w in origin.args.split() if not w.startswith("--")), "scratch")
    seen: set[str] = set()
    while image.lower() in stages and image.lower() not in seen:
        seen.add(image.lower())
        image = stages[image.lower()]
    return image


def _port(
    tree: SourceTree,
    dockerfile: str,
    instructions: list[Instruction],
    stage: list[Instruction],
    variables: dict[str, str],
) -> tuple[Decision, Decision]:
    port_env = _port_env(tree, dockerfile, stage)
    for ins in stage:
        if ins.keyword == "EXPOSE":
            for word in _resolve(ins.args, variables).split():
                number = word.split("/")[0]
                if number.isdigit() and 0 < int(number) < 65536:
                    return Decision(int(number), f"the image exposes {word}", dockerfile, ins.line), port_env
    if port_env.value is not None and str(variables.get(str(port_env.value), "")).isdigit():
        return (
            Decision(
                int(variables[str(port_env.value)]), f"the image sets {port_env.value}", dockerfile, port_env.line
            ),
            port_env,
        )
    for ins in stage:
        hit = _CMD_PORT.search(ins.args) if ins.keyword in ("CMD", "ENTRYPOINT") else None
        if hit:
            port = int(hit.group("port"))
            return Decision(port, f"the image's {ins.keyword} binds {port}", dockerfile, ins.line), port_env
    image_port = _image_port(_base_image(instructions, stage[0]))
    if image_port is not None and port_env.value is None:
        return Decision(image_port, f"the base image {stage[0].args} listens on {image_port}", dockerfile,
                        stage[0].line), port_env  # fmt: skip
    if port_env.value is not None:
        return (
            Decision(DEFAULT_PORT, f"the app reads {port_env.value}; HiveMind sets it to this", port_env.file,
                     port_env.line),
            port_env,
        )  # fmt: skip
    return default(DEFAULT_PORT, "the image exposes no port; a common container port"), port_env


def _image_port(image: str) -> int | None:
    """The port a well-known base image listens on (its own EXPOSE), None for others."""
    name = image.split("@")[0]
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        name = rest  # drop a registry host: public.ecr.aws/nginx/nginx, docker.io/library/nginx
    repository, _, tag = name.partition(":")
    for regex, port in IMAGE_PORTS:
        if regex.match(repository) or (tag and regex.match(f"{repository}:{tag}")):
            return port
    return None


def _port_env(tree: SourceTree, dockerfile: str, stage: list[Instruction]) -> Decision:
    for ins in stage:
        if ins.keyword == "ENV":
            name = next((n for n in _assignments(ins.args, legacy=True) if _PORT_NAME.match(n)), None)
            if name:
                return Decision(name, f"the image sets {name}, so the app reads it", dockerfile, ins.line)
    for ins in stage:
        hit = _CMD_PORT_ENV.search(ins.args) if ins.keyword in ("CMD", "ENTRYPOINT") else None
        if hit:
            env = hit.group("env")
            return Decision(env, f"the image's {ins.keyword} binds ${env}", dockerfile, ins.line)
    code = tree.first(_CODE_PORT_ENV, tree.with_suffix(*_CODE_SUFFIXES))
    if code:
        env = code.match.group("env")
        return Decision(env, f"the app reads {env}", code.file, code.line)
    return default(None, "neither the image nor the code reads a port variable")


def _start(dockerfile: str, stage: list[Instruction], image: str) -> Decision:
    command = next((ins for ins in reversed(stage) if ins.keyword in ("ENTRYPOINT", "CMD")), None)
    if command is None:
        return Decision(RUN_COMMAND, f"the base image {image} says how it starts", dockerfile, stage[0].line)
    return Decision(
        RUN_COMMAND, f"the image starts with its {command.keyword}: {command.args}", dockerfile, command.line
    )


def _health(dockerfile: str, stage: list[Instruction]) -> Decision:
    for ins in stage:
        hit = _HEALTH_URL.search(ins.args) if ins.keyword == "HEALTHCHECK" else None
        if hit:
            path = hit.group("path")
            return Decision(path, f"the image's HEALTHCHECK requests {path}", dockerfile, ins.line)
    return default("/", "no HEALTHCHECK in the image")
