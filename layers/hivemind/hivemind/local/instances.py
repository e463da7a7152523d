"""EC2 instances: the app part of the stack's own user data, run on this machine.

On AWS the instance's user data (templating/userdata.py) installs the runtime as root, unpacks
the source, writes app.env.sh, build.sh and start.sh, runs the build as the app user, starts
the app under systemd and signals CloudFormation once the app answers on 127.0.0.1 at its
health path, or leaves its last log lines in S3 and signals FAILURE.

Here, when the local CloudFormation creates an `AWS::EC2::Instance` with a `CreationPolicy`:
- the files the script writes are taken from the template's own `UserData` (its `Fn::Sub`
  resolved as CloudFormation does), and written under a scratch folder per instance that
  stands in for the instance's disk (`/opt/app`, `/opt/hivemind`, `/etc/hivemind`, ...: every
  such path in those files points into the folder);
- the runtime part (dnf, ruby-build, Composer, ...) is not run: the matching toolchain of this
  machine is used instead, and only the exact version the script installs (`toolchains.py`);
  where there is none the instance is *not rehearsed* and says why;
- build.sh runs, then start.sh as its own process group, with the plan's environment only (plus
  a HOME and caches of the instance's own, and the host's CA bundle and proxy variables), the
  port variable pointing at a free loopback port;
- the instance signals SUCCESS once the app answers at its health path with a status its
  `case` accepts (the plan's health_codes: below 400 unless planned), and FAILURE (after
  leaving the failure log where the template says, as `fail()` does) when a command fails,
  the app exits, the app answers only with errors for the bootstrap's window, or nothing
  answers within it.

What differs from AWS (also in docs/LOCAL_RUNTIME.md): commands run as this process's user,
not `app`; no systemd (a crashed app is not restarted: its exit fails the boot at once); the
app's port may differ from the plan's (its port variable says which); the window for an app
that answers with errors is scaled like the state machine's waits.
"""

from __future__ import annotations

import base64
import contextlib
import fnmatch
import functools
import io
import json
import logging
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hivemind.local import toolchains

log = logging.getLogger("hivemind.local")

# Where the user data keeps what the app needs; each becomes a folder inside the instance's own.
INSTANCE_PATHS = (
    "/opt/app",
    "/opt/hivemind",
    "/etc/hivemind",
    "/var/log/hivemind",
    "/var/lib/hivemind",
    "/var/cache/hivemind",
)
_MAPPED = re.compile("(" + "|".join(re.escape(p) for p in INSTANCE_PATHS) + r")(?![\w.-])")
# what `fail()` keeps of each log (templating/userdata.py)
FAILURE_LINES, FAILURE_LINE_CHARS = 60, 400
# the bootstrap's curl loop: 90 tries, 5 s apart
BOOT_WINDOW_S = 90 * 5
POLL_S = 0.2
# host variables an install needs behind a proxy or a private CA; nothing else of the host's
PASSED_THROUGH = (
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "PIP_CERT",
    "NODE_EXTRA_CA_CERTS",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_FIND_LINKS",
    "npm_config_registry",
)


class BootFailed(Exception):
    """The instance's bootstrap failed: it left `log_text` and signalled FAILURE, or (not
    `signalled`) the creation policy's timeout passed first."""

    def __init__(self, why: str, log_text: str = "", *, signalled: bool = True):
        super().__init__(why)
        self.log_text, self.signalled = log_text, signalled


@dataclass
class Instance:
    """One emulated instance that runs (or could not run) its app."""

    instance_id: str
    private_ip: str
    folder: Path
    port: int = 0  # the port the template's app listens on (the target group's)
    local_port: int = 0  # where it listens here
    health_url: str = ""
    not_rehearsed: str | None = None  # why, when the app could not run here
    process: subprocess.Popen[bytes] | None = None
    status_code: int | None = None  # of the bootstrap's last health check
    checks: int = 0
    terminated: bool = False
    # where this rehearsal behaved unlike AWS, for the deployment's record
    differences: list[str] = field(default_factory=list)
    # seconds: "boot" in all, and of it "runtime" (venv, corepack), "build", "start" (start.sh to an answer)
    timings: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def address(self, port: int) -> tuple[str, int] | None:
        """Where a connection to the instance's `port` lands here (None: nothing listens there)."""
        if self.terminated or self.not_rehearsed or port != self.port:
            return None
        return "127.0.0.1", self.local_port


_instances: dict[str, Instance] = {}
_lock = threading.Lock()


def get(instance_id: str) -> Instance | None:
    with _lock:
        return _instances.get(instance_id)


def every() -> list[Instance]:
    """Every instance of this runtime, terminated or not."""
    with _lock:
        return list(_instances.values())


def running() -> list[Instance]:
    with _lock:
        return [i for i in _instances.values() if not i.terminated]


# ---------------------------------------------------------------------------------- the user data
def resolve_sub(text: str, resolve: Callable[[str], Any]) -> str:
    """`Fn::Sub` as CloudFormation does it: `${!X}` is the literal `${X}`, `${Name}` a reference."""

    def one(match: re.Match[str]) -> str:
        inner = match.group(1)
        if inner.startswith("!"):
            return "${" + inner[1:] + "}"
        return str(resolve(inner))

    return re.sub(r"\$\{([^}]*)\}", one, text)


def user_data_script(resource_json: dict[str, Any], resolve: Callable[[str], Any]) -> str | None:
    """The instance's user data as the instance would read it, or None when it has none."""
    user_data = resource_json.get("Properties", {}).get("UserData")
    if isinstance(user_data, dict) and "Fn::Base64" in user_data:
        inner = user_data["Fn::Base64"]
        if isinstance(inner, dict) and isinstance(inner.get("Fn::Sub"), str):
            return resolve_sub(inner["Fn::Sub"], resolve)
        if isinstance(inner, str):
            return inner
    if isinstance(user_data, str):
        with contextlib.suppress(ValueError):
            return base64.b64decode(user_data).decode()
    return None


def written_files(script: str) -> dict[str, str]:
    """The files the script writes with `printf '%s\\n' WORDS > PATH` (shell.write_file), by path."""
    files: dict[str, str] = {}
    for match in re.finditer(r"^printf '%s\\n' ", script, re.MULTILINE):
        lexer = shlex.shlex(script[match.end() :], posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words: list[str] = []
        for token in lexer:
            if token == ">":
                files[next(lexer)] = "".join(word + "\n" for word in words)
                break
            if token in (";", "&&", "||", "|"):
                break
            words.append(token)
    return files


def created_folders(script: str) -> list[str]:
    """The folders the script makes (`mkdir -p`, `install -d`) inside the instance's own paths:
    the runtime part makes some of them (nginx's state folder) and is not run here."""
    found: list[str] = []
    for match in re.finditer(r"^\s*(?:mkdir -p|install -d)\s+(.*)$", script, re.MULTILINE):
        words = shlex.split(match.group(1).split(";")[0].split("&&")[0], comments=True)
        skip = False
        for word in words:
            if skip:
                skip = False
            elif word in ("-o", "-g", "-m"):
                skip = True
            elif word.startswith(INSTANCE_PATHS) and "$" not in word:
                found.append(word)
    return found


def header(script: str) -> dict[str, str]:
    """The `# hivemind: key=value ...` line of the script (templating/userdata.py)."""
    match = re.search(r"^# hivemind: (.*)$", script, re.MULTILINE)
    return dict(part.split("=", 1) for part in match.group(1).split() if "=" in part) if match else {}


def health_codes(script: str) -> list[str] | None:
    """The `case` patterns of the statuses the bootstrap's curl loop signals SUCCESS on."""
    match = re.search(r"^\s*case \$code in ([0-9?|]+)\) signal 0", script, re.MULTILINE)
    return match.group(1).split("|") if match else None


def health_url(script: str) -> str | None:
    """The URL the bootstrap's curl loop checks before signalling SUCCESS."""
    match = re.search(r"curl -sS -o /dev/null -w '%\{http_code\}' --max-time \d+ (.*)$", script, re.MULTILINE)
    if not match:
        return None
    lexer = shlex.shlex(match.group(1), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return next(iter(lexer), None)


# ------------------------------------------------------------------------------------- boot
def boot(
    *,
    instance_id: str,
    private_ip: str,
    script: str,
    parameters: dict[str, str],
    s3: Any,
    timeout_s: float,
    time_scale: float,
    scratch: Path,
    cache: Path,
) -> Instance:
    """Run the app part of `script` as the instance would; returns once it signalled SUCCESS or
    could not be rehearsed (`not_rehearsed` says why). Raises BootFailed after leaving the
    failure log where its script copies it."""
    folder = Path(tempfile.mkdtemp(prefix=f"{instance_id}-", dir=scratch))
    folder.chmod(0o755)  # run as root, nginx's workers are `nobody`: they read the site like the app user would
    instance = Instance(instance_id=instance_id, private_ip=private_ip, folder=folder)
    with _lock:
        _instances[instance_id] = instance
    logs = folder / "var/log"
    logs.mkdir(parents=True)
    bootstrap_log, app_log = logs / "hivemind-bootstrap.log", logs / "app.log"
    started = time.perf_counter()
    try:
        _boot(instance, script, parameters, s3, timeout_s, time_scale, cache, bootstrap_log, app_log)
        instance.timings["boot"] = time.perf_counter() - started
    except BootFailed as failure:
        text = _failure_log(failure, bootstrap_log, app_log)
        if failure.signalled:
            _leave_failure_log(s3, s3_copy(script, "/tmp/hivemind-failure.log"), text)
        stop(instance_id)
        raise BootFailed(str(failure), text, signalled=failure.signalled) from None
    return instance


def _boot(
    instance: Instance,
    script: str,
    parameters: dict[str, str],
    s3: Any,
    timeout_s: float,
    time_scale: float,
    cache: Path,
    bootstrap_log: Path,
    app_log: Path,
) -> None:
    deadline = time.monotonic() + timeout_s
    facts = header(script)
    files = written_files(script)
    url, codes = health_url(script), health_codes(script)
    missing = [
        p for p in ("/opt/hivemind/build.sh", "/opt/hivemind/start.sh", "/etc/hivemind/app.env.sh") if p not in files
    ]
    if not facts or url is None or codes is None or missing:
        instance.not_rehearsed = "its user data is not a HiveMind app bootstrap (no app scripts to run)"
        return
    instance.port = int(facts["port"])
    language = facts.get("language") or ""
    node = toolchains.installed_node(script) if language == "static" else None
    toolchain = toolchains.find(language, facts.get("runtime") or "", cache, node=node)
    if isinstance(toolchain, str):
        instance.not_rehearsed = toolchain
        return
    port_env = facts.get("port_env")
    instance.local_port = _free_port() if port_env else instance.port
    if not port_env and not _port_free(instance.port):
        instance.not_rehearsed = (
            f"the app binds port {instance.port} itself (no port variable) and that port is in use on this machine"
        )
        return

    root = instance.folder
    bucket, key = s3_copy(script, "/tmp/source.zip") or ("", "")
    with bootstrap_log.open("a") as text_out:
        text_out.write(f"+ aws s3 cp s3://{bucket}/{key} /tmp/source.zip\n")
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            _unzip(archive, root / "opt/app")
    except Exception as exc:
        raise BootFailed(f"the source bundle could not be fetched: {exc}") from exc
    for path, text in files.items():
        if not path.startswith(INSTANCE_PATHS) or path.startswith("/etc/systemd"):
            continue
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_map_paths(text, root))
        target.chmod(0o755 if path.endswith(".sh") else 0o644)
    env_file = root / "etc/hivemind/app.env.sh"
    with env_file.open("a") as env_out:
        env_out.write(f"export AWS_DEFAULT_REGION={shlex.quote(parameters.get('AWS::Region', 'us-east-1'))}\n")
        if port_env:  # the app's port here: the variable the template sets, pointed at a free port
            env_out.write(f"export {port_env}={instance.local_port}\nexport HIVEMIND_PORT={instance.local_port}\n")
    for folder in ("var/lib/hivemind", "var/cache/hivemind", "home/app", "tmp", *created_folders(script)):
        (root / folder.lstrip("/")).mkdir(parents=True, exist_ok=True)
    env = _environment(root, cache, toolchain)
    scripts = files.get("/etc/hivemind/app.env.sh", "") + files.get("/opt/hivemind/start.sh", "")
    reads = _aws_stand_in(root, scripts, parameters.get("AWS::Region", "us-east-1"))
    env["PATH"] = f"{root / STAND_IN_BIN}:{env['PATH']}"
    mark = time.perf_counter()
    prepared = toolchain.prepare(root / "opt/app", env, bootstrap_log)
    instance.timings["runtime"] = time.perf_counter() - mark
    if prepared:
        raise BootFailed(prepared)

    mark = time.perf_counter()
    code = _run_to_end(root, "build.sh", "the build", env, bootstrap_log, deadline)
    instance.differences = _differences(toolchain, root, bootstrap_log)
    if reads:
        instance.differences.append(
            f"the instance's aws CLI was a stand-in answering its {reads} parameter and secret read(s) from the local "
            "SSM and Secrets Manager as they were at boot (its role's permissions were not checked)"
        )
    if code != 0:
        unreachable = _unreachable_host(bootstrap_log, env)
        if unreachable:
            instance.not_rehearsed = (
                f"not rehearsable here: the build reached for {unreachable}, which this machine cannot reach "
                f"(build.sh exited with status {code}; an instance on AWS has the internet)"
            )
            return
        raise BootFailed(f"build.sh exited with status {code}")
    if "/opt/hivemind/release.sh" in files:  # the release phase: once, after the build
        code = _run_to_end(root, "release.sh", "the release phase", env, bootstrap_log, deadline)
        if code != 0:
            raise BootFailed(f"release.sh exited with status {code}")
    with bootstrap_log.open("ab") as out:
        out.write(b"+ systemctl enable --now hivemind-app\n")
    instance.timings["build"] = time.perf_counter() - mark
    mark = time.perf_counter()
    with app_log.open("ab") as app_out:
        instance.process = _spawn(root, "start.sh", env, app_out)
    _start_cloudwatch_agent(instance, files, {"/var/log/hivemind/app.log": app_log, BOOTSTRAP_LOG: bootstrap_log})
    instance.health_url = re.sub(r"^http://127\.0\.0\.1:\d+", f"http://127.0.0.1:{instance.local_port}", url)
    _wait_until_answering(instance, codes, deadline, time_scale, bootstrap_log)
    instance.timings["start"] = time.perf_counter() - mark


# what a failed download prints when the name does not resolve (npm/node-gyp, curl, pip/requests)
_UNRESOLVED = re.compile(
    r"getaddrinfo (?:ENOTFOUND|EAI_AGAIN) (?P<a>[\w.-]+)|Could not resolve host: (?P<b>[\w.-]+)"
    r"|Failed to resolve '(?P<c>[\w.-]+)'|host='(?P<d>[\w.-]+)'.*(?:NameResolutionError|Name or service not known)"
)


def _unreachable_host(bootstrap_log: Path, env: dict[str, str]) -> str | None:
    """The host a failed build could not resolve, when it is not the package registry this
    machine does reach (a failure to reach the registry is the app's own problem)."""
    try:  # the failure's own lines: a download that failed earlier and was recovered from does not count
        lines = bootstrap_log.read_text(errors="replace").splitlines()
    except OSError:
        return None
    scripts = _in_install_scripts(lines)
    text = "\n".join(line for n, line in enumerate(lines) if n >= len(lines) - FAILURE_LINES and n not in scripts)
    reachable = {"registry.npmjs.org", "pypi.org", "files.pythonhosted.org"}
    for name in ("npm_config_registry", "PIP_INDEX_URL"):
        if env.get(name):
            reachable.add(urllib.parse.urlsplit(env[name]).hostname or "")
    # ... unless what it failed to install is what the failure misses: an optional dependency whose
    # install script could not download (sharp's libvips from github.com), which npm drops silently
    for package, host in reversed(_dropped_installs(lines)):
        mentioned = rf"""["']{re.escape(package)}["']|node_modules/{re.escape(package)}\b"""
        if host not in reachable and re.search(mentioned, text):
            return host
    hosts = [next(g for g in m.groups() if g) for m in _UNRESOLVED.finditer(text)]
    if "is related to network connectivity" in text:  # node-gyp names no host in its error, only its GETs
        hosts += re.findall(r"gyp http GET https?://([\w.-]+)/", text)
    return next((host for host in reversed(hosts) if host not in reachable), None)


# npm's header for a dependency's install script (shown with foreground-scripts): `> sharp@0.32.6 install`
_SCRIPT_HEADER = re.compile(r"^> (?P<package>(?:@[\w.-]+/)?[\w.-]+)@\S+ (?:preinstall|install|postinstall)$")


# what ends a script's output: npm's own lines, its summary, or the header of a script that is not an
# install (`> example-astro@0.0.1 build`; the command a header echoes, `> node install.js`, does not)
_SCRIPTS_DONE = re.compile(
    r"^(?:added|removed|changed|up to date|audited) \d*|^npm (?:error|ERR!|warn|WARN)\b"
    r"|^> (?:@[\w.-]+/)?[\w.-]+@\S+ (?!(?:pre|post)?install$)\S+$"
)


def _in_install_scripts(lines: list[str]) -> dict[int, str]:
    """Line number -> the package whose install script printed it (npm's foreground output)."""
    inside: dict[int, str] = {}
    package = None
    for number, line in enumerate(lines):
        header = _SCRIPT_HEADER.match(line.strip())
        if header:
            package = header.group("package")
        elif _SCRIPTS_DONE.match(line.strip()):
            package = None
        elif package:
            inside[number] = package
    return inside


def _dropped_installs(lines: list[str]) -> list[tuple[str, str]]:
    """(package, host) for each dependency install script that failed to resolve a host (its
    download failed; it may have built another way, or npm dropped it if optional)."""
    return [
        (package, next(g for g in unresolved.groups() if g))
        for number, package in _in_install_scripts(lines).items()
        if (unresolved := _UNRESOLVED.search(lines[number]))
    ]


def unreachable_while_answering(instance: Instance, status: int | None) -> str | None:
    """Why a health check that failed with a 5xx is not the app's fault but this machine's: the
    app's log (its last lines) shows it could not resolve a public host it reached for while
    answering (koyeb/example-remix-tailwind-application's index loader fetches
    hacker-news.firebaseio.com). A name with no dot (`db`, `redis`: a compose service) or a
    private one is the app's own requirement, not the internet."""
    if status is None or status < 500:
        return None
    try:
        lines = (instance.folder / "var/log/app.log").read_text(errors="replace").splitlines()[-FAILURE_LINES:]
    except OSError:
        return None
    hosts = [next(g for g in m.groups() if g) for m in _UNRESOLVED.finditer("\n".join(lines))]
    public = [h for h in hosts if "." in h and not h.endswith((".local", ".internal", ".localhost"))]
    if not public:
        return None
    return (
        f"not rehearsable here: the app answered its health check {status} after failing to reach {public[-1]}, "
        "which this machine cannot reach (an instance on AWS has the internet)"
    )


def _differences(toolchain: toolchains.Toolchain, root: Path, bootstrap_log: Path) -> list[str]:
    """Where this instance's commands ran unlike on AWS, as far as they reached the difference."""
    found = []
    if os.geteuid() == 0:
        found.append(
            "the app's commands ran as root (not the `app` user) in a view of this machine where only the "
            "instance's folders are writable: a write elsewhere fails as 'Read-only file system', where AWS "
            "says 'Permission denied'"
            if sandboxed()
            else "the app's commands ran as root, not as the `app` user: a write outside the app's own folders "
            "(say, to /etc) that AWS would refuse succeeded here"
        )
    texts = []
    for path in (root / "opt/hivemind/build.sh", root / "opt/hivemind/start.sh", bootstrap_log):
        with contextlib.suppress(OSError):
            texts.append(path.read_text(errors="replace"))
    seen = "\n".join(texts)
    found += [sentence for reached, sentence in toolchain.differences if reached(root, seen)]
    return found


def _run_to_end(root: Path, script: str, what: str, env: dict[str, str], log: Path, deadline: float) -> int:
    """`runuser -u app -- /opt/hivemind/<script>` as the user data runs it: its exit status; the
    creation policy's timeout passing first ends its whole process group."""
    with log.open("ab") as out:
        out.write(f"+ runuser -u app -- /opt/hivemind/{script}\n".encode())
        out.flush()
        process = _spawn(root, script, env, out)
        try:
            return process.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _end_group(process, grace_s=5)
            raise BootFailed(f"{what} did not finish within the creation policy's timeout", signalled=False) from None


def _spawn(root: Path, script: str, env: dict[str, str], out: Any) -> subprocess.Popen[bytes]:
    """One of the instance's scripts, in the app's folder, as a process group of its own; when this
    process is root, in a private mount namespace where only the instance's folder and the package
    caches can be written (on AWS the `app` user can write its own folders only)."""
    command = ["bash", str(root / "opt/hivemind" / script)]
    if sandboxed():
        # what the app user may write on AWS too: /tmp and /var/tmp (the instance's folder may lie in /tmp)
        caches = sorted({Path(env[v]) for v in _CACHE_VARIABLES if v in env})
        writable = [root, *caches, Path("/tmp"), Path("/var/tmp")]
        steps = [
            f"mkdir -p {shlex.quote(str(w))} && mount --bind {shlex.quote(str(w))} {shlex.quote(str(w))}"
            for w in writable
        ]
        steps += ["mount -o remount,bind,ro /", f"exec {shlex.join(command)}"]
        command = ["unshare", "--mount", "--propagation", "private", "--", "bash", "-c", " && ".join(steps)]
    return subprocess.Popen(
        command,
        cwd=root / "opt/app",
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait_until_answering(
    instance: Instance, codes: list[str], deadline: float, time_scale: float, bootstrap_log: Path
) -> None:
    """The bootstrap's curl loop: SUCCESS at the first answer its `case` accepts; FAILURE when the app exits,
    answers only with errors for the (scaled) window, or nothing answers within the window."""
    started = time.monotonic()
    window = min(BOOT_WINDOW_S, max(0.0, deadline - started))
    error_window = max(3.0, BOOT_WINDOW_S * time_scale)
    first_error: float | None = None
    assert instance.process is not None
    while True:
        code = instance.process.poll()
        if code is not None:  # (on AWS systemd restarts it until the bootstrap's window ends)
            raise BootFailed(f"the app exited with status {code} before it answered on its health path")
        status = _get_status(instance.health_url)
        instance.checks += 1
        instance.status_code = status
        now = time.monotonic()
        if status is not None and any(fnmatch.fnmatchcase(str(status), code) for code in codes):
            return
        if status is not None:
            first_error = first_error if first_error is not None else now
            if now - first_error > error_window:
                break
        if now - started > window:
            break
        time.sleep(POLL_S)
    offline = unreachable_while_answering(instance, instance.status_code)
    if offline is not None:
        instance.not_rehearsed = offline
        return
    path = urllib.parse.urlsplit(instance.health_url).path or "/"
    # the user data's own last line
    last = str(instance.status_code) if instance.status_code else "000 (no answer within 4 s, or no connection)"
    why = f"the app never answered on its health path {path}: last status {last}"
    raise BootFailed(why)


def _get_status(url: str, timeout_s: float = 4) -> int | None:
    """curl -fsS --max-time 4 without following redirects: the status, or None when nothing answered."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(_NoRedirect, urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout_s) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (OSError, ValueError):
        return None


_CACHE_VARIABLES = ("PIP_CACHE_DIR", "UV_CACHE_DIR", "npm_config_cache", "COREPACK_HOME")


@functools.cache
def sandboxed() -> bool:
    """Whether the app's commands run in a read-only view of this machine: only when this process
    is root (anyone else's writes are limited already) and a mount namespace can be made here."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = "mount --bind / / 2>/dev/null; mount -o remount,bind,ro / && ! touch /.hivemind-ro-probe 2>/dev/null"
    try:
        done = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "--", "bash", "-c", probe],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


# start.sh reads each secret when the app starts (templating/userdata.py `_secret_exports`)
_READS = re.compile(
    r"aws (?P<service>ssm) get-parameter --with-decryption --name (?P<name>\S+) --query Parameter\.Value"
    r"|aws (?P<service2>secretsmanager) get-secret-value --secret-id (?P<name2>\S+) --query SecretString"
)
STAND_IN_BIN = "opt/hivemind-local/bin"
_STAND_IN = r"""#!{python}
# The instance's `aws`, here: answers the parameter and secret reads of start.sh with what the
# local runtime resolved when the instance booted (local/instances.py); nothing else.
import json, sys
args = sys.argv[1:]
def flag(name):
    return args[args.index(name) + 1] if name in args and args.index(name) + 1 < len(args) else None
if args[:2] == ["ssm", "get-parameter"]:
    key, operation = "ssm " + str(flag("--name")), "GetParameter"
elif args[:2] == ["secretsmanager", "get-secret-value"]:
    key, operation = "secretsmanager " + str(flag("--secret-id")), "GetSecretValue"
else:
    said = " ".join(args)
    sys.stderr.write("aws (the local rehearsal's stand-in) answers parameter and secret reads only: %s\n" % said)
    sys.exit(252)
answer = json.load(open({answers!r})).get(key)
if answer is None:
    sys.stderr.write("aws (the local rehearsal's stand-in): %s was not read at boot\n" % key)
    sys.exit(252)
if "error" in answer:
    said = (answer["error"], operation, answer["message"])
    sys.stderr.write("\nAn error occurred (%s) when calling the %s operation: %s\n" % said)
    sys.exit(254)
print(answer["value"])
"""


def _aws_stand_in(root: Path, start_script: str, region: str) -> int:
    """Put the instance's `aws` on its PATH: the reads start.sh makes (`aws ssm get-parameter`,
    `aws secretsmanager get-secret-value`), answered from the local SSM and Secrets Manager as they
    are now (a missing one with AWS's error). The number of reads."""
    import json
    import sys

    from botocore.exceptions import ClientError

    from hivemind.aws.clients import client

    answers: dict[str, dict[str, str]] = {}
    for found in _READS.finditer(start_script):
        service = found["service"] or found["service2"]
        name = shlex.split(found["name"] or found["name2"])[0]
        try:
            if service == "ssm":
                value = client("ssm", region).get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
            else:
                value = client("secretsmanager", region).get_secret_value(SecretId=name)["SecretString"]
            answers[f"{service} {name}"] = {"value": str(value)}
        except ClientError as exc:
            error = exc.response.get("Error", {})
            answers[f"{service} {name}"] = {"error": str(error.get("Code")), "message": str(error.get("Message", ""))}
    folder = root / STAND_IN_BIN
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "answers.json").write_text(json.dumps(answers))
    (folder / "answers.json").chmod(0o600)
    shim = folder / "aws"
    shim.write_text(_STAND_IN.format(python=sys.executable, answers=str(folder / "answers.json")))
    shim.chmod(0o755)
    return len(answers)


def _environment(root: Path, cache: Path, toolchain: toolchains.Toolchain) -> dict[str, str]:
    home = root / "home/app"
    env = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
    env.update(
        {
            "PATH": ":".join([*toolchain.path, "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": str(home),
            "USER": "app",
            "LANG": "C.UTF-8",
            "TMPDIR": str(root / "tmp"),
            # the package caches are shared between instances, so an unchanged app installs quickly
            "PIP_CACHE_DIR": str(cache / "pip"),
            "UV_CACHE_DIR": str(cache / "uv"),
            "npm_config_cache": str(cache / "npm"),
            "COREPACK_HOME": str(cache / "corepack"),
            "npm_config_update_notifier": "false",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        }
    )
    env.update(toolchain.env)
    return env


def _map_paths(text: str, root: Path) -> str:
    return _MAPPED.sub(lambda m: f"{root}{m.group(1)}", text)


def _unzip(archive: zipfile.ZipFile, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for info in archive.infolist():
        path = (target / info.filename).resolve()
        if not path.is_relative_to(target.resolve()):
            raise ValueError(f"unsafe path in the source bundle: {info.filename}")
        archive.extract(info, target)
        mode = info.external_attr >> 16
        if mode & 0o111 and path.is_file():
            path.chmod(path.stat().st_mode | 0o111)


def _failure_log(failure: BootFailed, bootstrap_log: Path, app_log: Path) -> str:
    """What `fail()` uploads: the last lines of the bootstrap log, then of the app's log."""
    if failure.log_text:
        return failure.log_text

    def tail(path: Path) -> list[str]:
        try:
            lines = path.read_text(errors="replace").splitlines()
        except OSError:
            return []
        return [line[:FAILURE_LINE_CHARS] for line in lines[-FAILURE_LINES:]]

    boot_lines = tail(bootstrap_log)
    if not boot_lines or str(failure) not in boot_lines[-1]:
        boot_lines.append(str(failure)[:FAILURE_LINE_CHARS])
    return "\n".join([*boot_lines, "--- app log ---", *tail(app_log)]) + "\n"


def s3_copy(script: str, local_path: str) -> tuple[str, str] | None:
    """(bucket, key) of the script's `aws s3 cp` to or from `local_path`, as CloudFormation resolved it."""
    escaped = re.escape(local_path)
    match = re.search(rf"aws s3 cp s3://([^/\s]+)/(\S+) {escaped}\b", script) or re.search(
        rf"aws s3 cp {escaped} s3://([^/\s]+)/(\S+)", script
    )
    return (match.group(1), match.group(2)) if match else None


def _leave_failure_log(s3: Any, location: tuple[str, str] | None, text: str) -> None:
    if location is None:
        return
    bucket, key = location
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=text.encode())
    except Exception as exc:  # noqa: BLE001 - `aws s3 cp ... || true` on the instance
        log.warning("the failure log could not be left at s3://%s/%s: %s", bucket, key, exc)


# ----------------------------------------------------------------------- the CloudWatch agent
AGENT_CONFIG = "/opt/hivemind/cloudwatch.json"
BOOTSTRAP_LOG = "/var/log/hivemind-bootstrap.log"
AGENT_EVERY_S = 0.5


def _start_cloudwatch_agent(instance: Instance, files: dict[str, str], paths: dict[str, Path]) -> None:
    """What the user data's `amazon-cloudwatch-agent-ctl -a fetch-config` starts once the app
    runs: each file its config collects, shipped line by line to its log group and stream
    (`{instance_id}` in a stream name is the instance's id), until the instance is terminated.
    Files the emulation does not keep are listed in the bootstrap log, not shipped."""
    try:
        collect = json.loads(files[AGENT_CONFIG])["logs"]["logs_collected"]["files"]["collect_list"]
    except (KeyError, ValueError, TypeError):
        return
    shipped = []
    for entry in collect:
        path = paths.get(entry.get("file_path", ""))
        if path is None:
            with paths[BOOTSTRAP_LOG].open("a") as out:
                out.write(f"cloudwatch agent (emulated): {entry.get('file_path')} is not kept here, not shipped\n")
            continue
        stream = str(entry.get("log_stream_name", "{instance_id}")).replace("{instance_id}", instance.instance_id)
        shipped.append((path, str(entry.get("log_group_name", "")), stream))
    threading.Thread(target=_ship, args=(instance, shipped), daemon=True, name=f"agent-{instance.instance_id}").start()


def _ship(instance: Instance, shipped: list[tuple[Path, str, str]]) -> None:
    from moto.logs.models import logs_backends

    from hivemind.local.state import ACCOUNT, REGION, logs_lock

    backend = logs_backends[ACCOUNT][REGION]
    offsets = dict.fromkeys((path for path, _, _ in shipped), 0)
    while True:
        last = instance.terminated
        for path, group, stream in shipped:
            try:
                with path.open("rb") as source:
                    source.seek(offsets[path])
                    data = source.read()
            except OSError:
                continue
            complete = data[: data.rfind(b"\n") + 1]
            if not complete:
                continue
            offsets[path] += len(complete)
            now = int(time.time() * 1000)
            lines = [{"timestamp": now, "message": line} for line in complete.decode(errors="replace").splitlines()]
            with logs_lock, contextlib.suppress(Exception):  # its group gone (the stack deleted): lines lost
                if stream not in backend.groups[group].streams:
                    backend.create_log_stream(group, stream)
                backend.put_log_events(group, stream, lines)
        if last:
            return
        time.sleep(AGENT_EVERY_S)


# --------------------------------------------------------------------------------- termination
def stop(instance_id: str, grace_s: float = 5) -> None:
    """The instance is terminated: its app's process group ends (SIGTERM, then SIGKILL)."""
    with _lock:
        instance = _instances.get(instance_id)
    if instance is None:
        return
    with instance.lock:
        instance.terminated = True
        process, instance.process = instance.process, None
    if process is not None:
        _end_group(process, grace_s)


def stop_all() -> None:
    with _lock:
        ids = list(_instances)
    for instance_id in ids:
        stop(instance_id)
    with _lock:
        for instance in _instances.values():
            shutil.rmtree(instance.folder, ignore_errors=True)
        _instances.clear()


def _end_group(process: subprocess.Popen[bytes], grace_s: float) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace_s)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # what is left of the group (a server's workers)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace_s)


# ------------------------------------------------------------------------------------------ ports
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        # as servers bind: connections that just closed (TIME_WAIT) do not keep the port taken
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def listens_beyond_loopback(port: int) -> bool | None:
    """Whether something listens on `port` on an address other than loopback (what a load
    balancer in the VPC needs); None when /proc does not say."""
    found: list[bool] = []
    for name, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            rows = Path(name).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            parts = row.split()
            if len(parts) < 4 or parts[3] != "0A":  # LISTEN
                continue
            address, _, hex_port = parts[1].partition(":")
            if int(hex_port, 16) != port:
                continue
            found.append(not _loopback(address, width))
    if not found:
        return None
    return any(found)


def _loopback(address: str, width: int) -> bool:
    if width == 8:
        return address.endswith("7F")  # 127.x.x.x, little-endian
    if address == "00000000000000000000000001000000":  # ::1
        return True
    return address.startswith("0000000000000000FFFF0000") and address.endswith("7F")  # ::ffff:127.x


def patch_termination() -> None:
    """A terminated instance's app stops (its process group ends)."""
    from moto.ec2.models.instances import Instance

    original = Instance.terminate

    def terminate(self: Any) -> Any:
        stop(self.id)
        return original(self)

    Instance.terminate = terminate
