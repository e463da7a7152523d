"""What the local runtime reads from a stack's user data to rehearse the app: the files the
script writes, its health URL and header, and Fn::Sub as CloudFormation resolves it."""

from __future__ import annotations

import platform
import shutil
import subprocess
from pathlib import Path

import pytest

from hivemind.local import instances, toolchains
from hivemind.models import DeploymentPlan
from hivemind.models.plan import accepts
from hivemind.templating.userdata import user_data
from tests.fixtures.plans import plan as flask_plan

HOSTILE = "'\"; rm -rf / #${AWS::AccountId}\n!Ref X `id` $(curl evil) > /etc/passwd"


def _script(plan: DeploymentPlan) -> str:
    refs = {
        "AWS::StackName": "hivemind-app",
        "AWS::Region": "us-east-1",
        "SourceBucket": "b",
        "SourceKey": "k",
    }  # release "" (user_data's default)
    return instances.resolve_sub(user_data(plan), lambda name: refs.get(name, f"<{name}>"))


def test_the_files_the_script_writes_are_read_back_byte_for_byte_even_hostile_values():
    # Given a plan whose environment holds quotes, newlines, redirections and CloudFormation syntax
    plan = flask_plan().model_copy(update={"environment": {"HOSTILE": HOSTILE, "PLAIN": "x"}})
    # When its user data is resolved as CloudFormation would and its files are read back
    files = instances.written_files(_script(plan))
    # Then app.env.sh exports exactly the values (as bash would read them), and the scripts are there
    env = files["/etc/hivemind/app.env.sh"]
    assert "export HOSTILE=" in env and "${AWS::AccountId}" in env and "export PLAIN=x\n" in env
    assert {"/opt/hivemind/build.sh", "/opt/hivemind/start.sh"} <= set(files)
    assert files["/opt/hivemind/start.sh"].startswith("#!/bin/bash\n") and "exec " in files["/opt/hivemind/start.sh"]
    assert "/etc/passwd" not in files  # a value's "> /etc/passwd" is data, not a redirection


def test_the_header_and_health_url_say_what_the_instance_runs():
    plan = flask_plan().model_copy(update={"health_path": "/health", "port": 5000, "port_env": "PORT"})
    script = _script(plan)
    assert instances.header(script) == {
        "language": "python",
        "runtime": plan.runtime_version,
        "port": "5000",
        "port_env": "PORT",
    }
    assert instances.health_url(script) == "http://127.0.0.1:5000/health"


def test_fn_sub_resolves_references_and_keeps_escaped_literals():
    resolved = instances.resolve_sub("a ${Name} ${!Literal} ${Res.Attr} $plain", lambda n: n.upper())
    assert resolved == "a NAME ${Literal} RES.ATTR $plain"


def test_paths_of_the_instance_point_into_its_folder_and_nothing_else_moves(tmp_path):
    text = ". /etc/hivemind/app.env.sh\ncd /opt/app/web\nexport PATH=/opt/app/.venv/bin:$PATH\n/opt/apple /etc/hosts\n"
    mapped = instances._map_paths(text, tmp_path)
    assert f". {tmp_path}/etc/hivemind/app.env.sh" in mapped and f"cd {tmp_path}/opt/app/web" in mapped
    assert f"PATH={tmp_path}/opt/app/.venv/bin:$PATH" in mapped and "/opt/apple /etc/hosts" in mapped


@pytest.mark.parametrize(
    ("matcher", "status", "passed"),
    [
        ("200-399", 200, True),
        ("200-399", 302, True),
        ("200-399", 404, False),
        ("200,302", 302, True),
        ("200", 201, False),
    ],
)
def test_a_target_group_matcher_is_read_as_aws_reads_it(matcher, status, passed):
    assert accepts(matcher, status) is passed


def test_a_python_version_this_machine_lacks_is_named_with_what_it_has(tmp_path):
    verdict = toolchains.find("python", "2.1", tmp_path)
    assert isinstance(verdict, str) and verdict.startswith(
        "not rehearsable here: Python 2.1 requested; this machine has"
    )


@pytest.mark.parametrize("language", ["go", "java", "ruby", "php", "docker"])
def test_languages_whose_registries_are_out_of_reach_are_not_rehearsable(tmp_path, language):
    verdict = toolchains.find(language, "1", tmp_path)
    assert isinstance(verdict, str) and verdict.startswith("not rehearsable here: ")


# ------------------------------------------------------------------ what this machine cannot do
FIXTURES = Path(__file__).parent.parent / "fixtures" / "rehearsal"


def test_a_build_that_failed_for_a_host_this_machine_cannot_reach_is_named(tmp_path):
    # Given bcrypt's real build log from troylugar/koa-todos-api (github.com and nodejs.org unreachable)
    log = tmp_path / "bootstrap.log"
    log.write_text(
        "+ runuser -u app -- /opt/hivemind/build.sh\n" + (FIXTURES / "koa-todos-api.bcrypt-build.log").read_text()
    )
    # Then the host named is the last one the build failed to reach
    assert instances._unreachable_host(log, {}) == "nodejs.org"


def test_an_optional_dependency_dropped_for_want_of_the_internet_is_named_where_the_build_misses_it(tmp_path):
    # Given koyeb/example-astro's real build: sharp's install script fails on github.com, npm drops the
    # optional package, and the build fails later on `Rollup failed to resolve import "sharp"`
    real = (FIXTURES / "astro-sharp.build.log").read_text()
    log = tmp_path / "bootstrap.log"
    log.write_text("+ runuser -u app -- /opt/hivemind/build.sh\n" + real)
    assert instances._unreachable_host(log, {}) == "github.com"
    # however far above the failure the dropped install is
    script, rest = real.split("> esbuild@0.19.12 postinstall", 1)
    log.write_text(script + "x\n" * (2 * instances.FAILURE_LINES) + "> esbuild@0.19.12 postinstall" + rest)
    assert instances._unreachable_host(log, {}) == "github.com"
    # a failure that does not miss that package is the app's own
    failure = "src/pages/index.astro(3,1): error TS2304: Cannot find name 'y'.\n"
    log.write_text(script + "added 474 packages in 29s\n" + failure)
    assert instances._unreachable_host(log, {}) is None


def test_a_build_that_failed_at_the_registry_or_for_its_own_reasons_is_the_apps_failure(tmp_path):
    log = tmp_path / "bootstrap.log"
    # a recovered download early in the log does not excuse a later compile error
    early = "npm error node-pre-gyp WARN Hit error getaddrinfo ENOTFOUND github.com\n"
    log.write_text(early + "x\n" * instances.FAILURE_LINES + "src/index.ts(3,1): error TS2304: Cannot find name 'y'.\n")
    assert instances._unreachable_host(log, {}) is None
    log.write_text(
        "npm error request to https://registry.example.internal/x failed, reason: "
        "getaddrinfo ENOTFOUND registry.example.internal\n"
    )
    assert instances._unreachable_host(log, {"npm_config_registry": "https://registry.example.internal/"}) is None


def test_an_app_that_answers_500_for_want_of_the_internet_is_not_rehearsed_not_failed(tmp_path):
    # Given the real app log of koyeb/example-remix-tailwind-application (GET / -> 500: its loader
    # fetches hacker-news.firebaseio.com)
    instance = instances.Instance(instance_id="i-1", private_ip="10.0.0.9", folder=tmp_path)
    (tmp_path / "var/log").mkdir(parents=True)
    app_log = tmp_path / "var/log/app.log"
    app_log.write_text((FIXTURES / "remix-tailwind.app.log").read_text())
    # Then the 500 is this machine's, named; a 404 or an answer is the app's
    why = instances.unreachable_while_answering(instance, 500)
    assert why is not None and why.startswith("not rehearsable here: ") and "hacker-news.firebaseio.com" in why
    assert instances.unreachable_while_answering(instance, 404) is None
    # a compose service's name (no dot) is the app's own requirement: a database it was not given
    app_log.write_text("Error: getaddrinfo ENOTFOUND db\n    at GetAddrInfoReqWrap.onlookup\nGET / 500\n")
    assert instances.unreachable_while_answering(instance, 500) is None


def test_a_static_site_with_a_build_step_gets_the_node_its_user_data_installs(tmp_path, monkeypatch):
    plan = DeploymentPlan(
        app_name="site",
        language="static",
        runtime_version=str(toolchains._node_major(shutil.which("node") or "") or "20"),
        install_command="npm ci",
        build_command="npm run build",
        start_command="nginx",
        port=8080,
    )
    script = _script(plan)
    assert toolchains.installed_node(script) == plan.runtime_version
    assert (
        toolchains.installed_node(_script(plan.model_copy(update={"install_command": None, "build_command": None})))
        is None
    )
    if shutil.which("node") is None or (shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists()):
        pytest.skip("node and nginx are not both installed here")
    monkeypatch.setattr(toolchains, "_registry_signs_packages", lambda: True)
    found = toolchains.find("static", "nginx", tmp_path, node=plan.runtime_version)
    assert isinstance(found, toolchains.Toolchain)
    assert any(Path(p, "node").exists() for p in found.path) and any(Path(p, "nginx").exists() for p in found.path)


def test_an_unsigned_registry_turns_corepacks_check_off_and_says_so_where_yarn_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(toolchains, "_registry_signs_packages", lambda: False)
    toolchain = toolchains._with_corepack(tmp_path)
    assert toolchain.env["COREPACK_INTEGRITY_KEYS"] == "0"
    root, log = tmp_path / "i", tmp_path / "bootstrap.log"
    (root / "opt/hivemind").mkdir(parents=True)
    (root / "opt/hivemind/build.sh").write_text("#!/bin/bash\nset -e\nnpm ci\n")
    log.write_text("")
    assert not any("corepack" in d for d in instances._differences(toolchain, root, log))
    (root / "opt/hivemind/build.sh").write_text("#!/bin/bash\nset -e\nyarn install --frozen-lockfile\n")
    assert any("COREPACK_INTEGRITY_KEYS=0" in d for d in instances._differences(toolchain, root, log))


def test_a_node_from_the_registry_runs_with_the_npm_it_ships_with(tmp_path, monkeypatch):
    # the host's npm 11 refuses Node 16 ("npm v11.19.1 does not support Node.js v16.20.2"): Node 16 gets npm 8
    monkeypatch.setattr(toolchains, "_registry_signs_packages", lambda: True)
    monkeypatch.setattr(toolchains, "_node_major", lambda node: "20")  # whatever the host has, not 16
    arch = {"x86_64": "x64", "aarch64": "arm64"}.get(platform.machine(), "x64")
    folder = tmp_path / "node" / "16" / "node_modules"
    node = folder / f"node-linux-{arch}" / "bin" / "node"
    node.parent.mkdir(parents=True)
    node.write_text("#!/bin/sh\necho v16.20.2\n")
    node.chmod(0o755)
    (folder / "npm" / "bin").mkdir(parents=True)
    for tool in ("npm", "npx"):
        (folder / "npm" / "bin" / f"{tool}-cli.js").write_text("")
    found = toolchains.find("node", "16", tmp_path)
    assert isinstance(found, toolchains.Toolchain)
    shim = Path(found.path[1]) / "npm"
    assert found.path[0] == str(node.parent) and f'exec "{node}" "{folder}/npm/bin/npm-cli.js"' in shim.read_text()
    assert "npm_config_dangerously_allow_all_scripts" not in found.env  # npm 8 runs install scripts itself


def test_a_venv_gets_what_ensurepip_installs_from_a_venv_made_once(tmp_path):
    # Given this machine's own Python series, and an empty package cache
    import subprocess
    import sys

    series = f"{sys.version_info.major}.{sys.version_info.minor}"
    toolchain = toolchains.find("python", series, tmp_path / "cache")
    assert isinstance(toolchain, toolchains.Toolchain)
    log = tmp_path / "bootstrap.log"
    # When two instances make their app's venv
    apps = [tmp_path / name / "opt/app" for name in ("first", "second")]
    for app in apps:
        app.mkdir(parents=True)
        assert toolchain.prepare(app, {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, log) is None
    # Then ensurepip ran once, into the cache; each venv's pip is its own and runs
    seeds = list((tmp_path / "cache" / "venv-seeds").iterdir())
    assert len(seeds) == 1 and log.read_text().count(f"-m venv (once, kept in {seeds[0].parent})") == 1
    for app in apps:
        pip = app / ".venv/bin/pip"
        assert f"{app}/.venv/bin/python" in pip.read_text()[:512] and str(seeds[0]) not in pip.read_text()
        shown = subprocess.run([str(pip), "--version"], capture_output=True, text=True, check=True).stdout
        assert str(app / ".venv/lib") in shown


def test_a_node_cached_without_its_npm_is_completed_from_the_registry(tmp_path, monkeypatch):
    # Given a Node 16 in the cache from before HiveMind fetched npm with it (the re-audit's
    # koyeb/example-express-prisma: "npm v11.19.1 does not support Node.js v16.20.2")
    monkeypatch.setattr(toolchains, "_node_major", lambda node: "20")
    arch = {"x86_64": "x64", "aarch64": "arm64"}.get(platform.machine(), "x64")
    node = tmp_path / "node" / "16" / "node_modules" / f"node-linux-{arch}" / "bin" / "node"
    node.parent.mkdir(parents=True)
    node.write_text("#!/bin/sh\necho v16.20.2\n")
    asked: list[list[str]] = []

    def install(command, **kwargs):
        asked.append(command)
        return subprocess.CompletedProcess(command, 1, "", "npm ERR! offline in this test")

    monkeypatch.setattr(toolchains.subprocess, "run", install)
    # When the toolchain is looked up, the registry is asked for Node 16 with npm 8 again
    found = toolchains._node_from_registry("16", tmp_path)
    assert asked and "npm@8" in asked[0] and "node-linux-" in " ".join(asked[0])
    assert isinstance(found, str) and "fetching Node 16 from the npm registry failed" in found
