"""The user data's runtime part when Amazon Linux 2023 lacks the planned version: the exact
version is installed from its makers, or the bootstrap fails; never another version.

The script runs for real in bash here; only `dnf`, `curl`, `uname` and the downloaded programs are
stand-ins (this machine reaches neither dnf's mirrors nor nodejs.org nor GitHub)."""

from __future__ import annotations

import hashlib
import io
import subprocess
import tarfile
from pathlib import Path

import pytest

from hivemind.templating.runtimes import NODE_HOME, PYTHON_HOME, runtime
from tests.fixtures.plans import plan as flask_plan


def _stub(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text("#!/bin/bash\n" + body + "\n")
    path.chmod(0o755)


def _run(script: str, stubs: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    for real, fake in ((NODE_HOME, tmp_path / "node"), (PYTHON_HOME, tmp_path / "python"), ("/usr/bin/", f"{stubs}/")):
        script = script.replace(real, str(fake))
    script = script.replace("/tmp/node-dist", str(tmp_path / "dist")).replace("/opt/app", str(tmp_path / "app"))
    return subprocess.run(
        ["bash", "-c", "set -eo pipefail\n" + script],
        env={"PATH": f"{stubs}:/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )


def _node_release(mirror: Path, version: str, arch: str = "x64", *, corrupt: bool = False) -> None:
    """A nodejs.org folder with one tarball whose node prints `version`, and SHASUMS256.txt."""
    mirror.mkdir(parents=True)
    name = f"node-v{version}-linux-{arch}"
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:xz") as archive:
        for tool, body in (("node", f"echo v{version}"), ("npm", "true"), ("npx", "true"), ("corepack", "true")):
            text = f"#!/bin/bash\n{body}\n".encode()
            info = tarfile.TarInfo(f"{name}/bin/{tool}")
            info.size, info.mode = len(text), 0o755
            archive.addfile(info, io.BytesIO(text))
    (mirror / f"{name}.tar.xz").write_bytes(data.getvalue())
    digest = hashlib.sha256(data.getvalue() + (b"x" if corrupt else b"")).hexdigest()
    (mirror / "SHASUMS256.txt").write_text(f"{'0' * 64}  node-v{version}-darwin-x64.tar.xz\n{digest}  {name}.tar.xz\n")


@pytest.fixture
def stubs(tmp_path):
    folder = tmp_path / "bin"
    folder.mkdir()
    # AL2023 packages no python3.10 or nodejs16; python3-pip it has
    _stub(folder, "dnf", 'case "$*" in *python3.1*|*nodejs1*) echo "No match for argument: $3" >&2; exit 1;; esac')
    _stub(folder, "uname", "echo x86_64")
    _stub(folder, "alternatives", "exit 0")
    _stub(folder, "curl", f'cp "{tmp_path}/mirror/$(basename "${{@: -1}}")" .')
    return folder


def test_a_node_major_al2023_lacks_comes_checked_from_nodejs_org(tmp_path, stubs):
    _node_release(tmp_path / "mirror", "16.20.2")
    node = flask_plan().model_copy(update={"language": "node", "runtime_version": "16", "start_command": "node a"})
    ran = _run(runtime(node)[0], stubs, tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "node-v16.20.2-linux-x64.tar.xz: OK" in ran.stdout
    assert subprocess.run([stubs / "node", "--version"], capture_output=True, text=True).stdout == "v16.20.2\n"


def test_a_node_download_that_does_not_match_its_checksum_fails_the_bootstrap(tmp_path, stubs):
    _node_release(tmp_path / "mirror", "16.20.2", corrupt=True)
    node = flask_plan().model_copy(update={"language": "node", "runtime_version": "16", "start_command": "node a"})
    ran = _run(runtime(node)[0], stubs, tmp_path)
    assert ran.returncode != 0 and "FAILED" in ran.stdout + ran.stderr
    assert not (tmp_path / "node" / "bin" / "node").exists()


def test_a_python_series_al2023_lacks_is_installed_exactly_by_uv(tmp_path, stubs):
    # the system python3 has pip and (once installed) uv; uv's Python is 3.10 exactly
    managed = tmp_path / "python" / "cpython-3.10.16-linux-x86_64-gnu" / "bin" / "python3.10"
    managed.parent.mkdir(parents=True)
    _stub(managed.parent, "python3.10", 'if [ "$1 $2" = "-m venv" ]; then mkdir -p "$3/bin"; fi')
    _stub(
        stubs,
        "python3",
        f'case "$1 $2 $3 $4" in\n'
        f'  "-m pip install --quiet") echo "$@" >> {tmp_path}/pip.log ;;\n'
        f'  "-m uv python install") [ "$UV_PYTHON_INSTALL_DIR" = {tmp_path}/python ] ;;\n'
        f'  "-m uv python find") echo {managed} ;;\n'
        "  *) exit 1 ;;\n"
        "esac",
    )
    plan = flask_plan().model_copy(update={"runtime_version": "3.10"})
    ran = _run(runtime(plan)[0], stubs, tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "uv==" in (tmp_path / "pip.log").read_text()
    assert (tmp_path / "app" / ".venv" / "bin").is_dir()


def test_a_python_that_is_not_the_planned_series_fails_the_bootstrap(tmp_path, stubs):
    _stub(stubs, "dnf", "exit 0")  # "installed", but the interpreter found says it is another series
    _stub(stubs, "python3.10", 'if [ "$1" = -c ]; then echo "AssertionError: 3.9.20" >&2; exit 1; fi')
    plan = flask_plan().model_copy(update={"runtime_version": "3.10"})
    ran = _run(runtime(plan)[0], stubs, tmp_path)
    assert ran.returncode != 0 and not (tmp_path / "app" / ".venv").exists()
