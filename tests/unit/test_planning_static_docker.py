"""Static sites, Dockerfile apps and the Node detector: what the corpus cannot express, such as the
user data they produce, the nginx config, hostile values on the way into a container, and the
choices made between candidates."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from hivemind.errors import PlanError
from hivemind.models import PlanOverrides
from hivemind.planning import docker, make_plan, node, static
from hivemind.planning.tree import SourceTree
from hivemind.templating.nginx import STATE_DIR, nginx_config
from tests.fixtures.repo import write_files as write
from tests.fixtures.repos import CORPUS
from tests.fixtures.userdata import instance_script, raw_user_data

HOSTILE = "'\"; rm -rf / #${AWS::AccountId}\nINJECTED=1\n!Ref X `id` $(curl evil)"


def plan_of(root: Path, environment: dict[str, str] | None = None, **overrides):
    return make_plan(root, app_name="app", overrides=PlanOverrides(**overrides), environment=environment)


def user_data(plan) -> str:
    """The script as CloudFormation's Fn::Sub leaves it for the instance."""
    return instance_script(raw_user_data(plan))


def writer(script: str, target: str) -> str:
    """The `printf ... > target` command of the script (a quoted value may span lines)."""
    lines = script.splitlines()
    end = next(i for i, line in enumerate(lines) if line.endswith(f"> {target}"))
    start = max(i for i in range(end + 1) if lines[i].startswith("printf '%s\\n'"))
    return "\n".join(lines[start : end + 1])


def run_writers(script: str, tmp_path: Path, *targets: str) -> dict[str, Path]:
    """Run the writers of `targets` with each target moved into tmp_path; -> target -> written file."""
    written = {}
    for target in targets:
        local = tmp_path / Path(target).name
        command = writer(script, target).replace(f"> {target}", f"> {local}")
        subprocess.run(["bash", "-c", command], check=True)
        written[target] = local
    return written


@pytest.mark.parametrize(
    "name",
    ["static-plain-html", "vite-react-spa", "angular-application-builder-pnpm", "dockerfile-rust-expose",
     "containerfile-code-reads-port"],
)  # fmt: skip
def test_user_data_is_valid_bash(tmp_path, name):
    plan = plan_of(CORPUS[name].write(tmp_path), environment={"NOTE": HOSTILE})
    script = user_data(plan)
    checked = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
    assert checked.returncode == 0, checked.stderr


def test_spa_config_falls_back_to_index_and_arrives_byte_for_byte(tmp_path):
    # Given a Vite SPA
    plan = plan_of(CORPUS["vite-react-spa"].write(tmp_path / "src"))
    script = user_data(plan)
    # When the user data writes the nginx config
    written = run_writers(script, tmp_path, static.NGINX_CONF)[static.NGINX_CONF].read_text()
    # Then it is the config for this plan, with the SPA fallback, gzip and the plan's port
    assert written == "\n".join(nginx_config(plan)) + "\n"
    assert "try_files $uri $uri/ /index.html;" in written
    assert "gzip on;" in written and f"listen {plan.port};" in written
    assert "dnf install -y nginx" in script and f"install -d -o app -g app -m 0750 {STATE_DIR}" in script
    # and Node is installed for the build, before the build runs as the app user
    assert script.index("dnf install -y nodejs22") < script.index("runuser -u app -- /opt/hivemind/build.sh")
    assert plan.start_command.startswith("nginx ") and "http.server" not in script


def test_plain_site_answers_unknown_paths_404_and_needs_no_node(tmp_path):
    plan = plan_of(CORPUS["static-plain-html"].write(tmp_path))
    config = "\n".join(nginx_config(plan))
    assert "=404;" in config and "/index.html;" not in config.split("location / {")[1].split("}")[0]
    assert "nodejs" not in user_data(plan)


def test_a_port_override_moves_nginx_without_touching_the_start_command(tmp_path):
    root = write(tmp_path, {"index.html": "<h1>hi</h1>\n", "hivemind.toml": "[plan]\nport = 9000\n"})
    plan = plan_of(root)
    assert plan.port == 9000
    assert any(line.strip() == "listen 9000;" for line in nginx_config(plan))
    assert "9000" not in plan.start_command and "http://127.0.0.1:9000/" in user_data(plan)


def test_a_port_override_moves_the_published_container_port(tmp_path):
    # Given a Dockerfile whose EXPOSE is wrong, corrected in hivemind.toml
    root = write(
        tmp_path / "src",
        {"Dockerfile": "FROM caddy:2\nEXPOSE 3000\n", "hivemind.toml": "[plan]\nport = 9000\n"},
    )
    plan = plan_of(root)
    assert (plan.port, plan.start_command) == (9000, docker.RUN_COMMAND)
    # When the service's start script runs (with a docker that prints its arguments)
    files = run_writers(user_data(plan), tmp_path, "/etc/hivemind/app.env.sh", "/opt/hivemind/start.sh")
    start = files["/opt/hivemind/start.sh"]
    start.write_text(
        start.read_text()
        .replace("/etc/hivemind/app.env.sh", str(files["/etc/hivemind/app.env.sh"]))
        .replace("cd /opt/app", f"cd {root}")
    )
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "docker").write_text('#!/bin/sh\necho "$@"\n')
    (tmp_path / "bin" / "docker").chmod(0o755)
    ran = subprocess.run(
        ["bash", str(start)], capture_output=True, text=True, env={"PATH": f"{tmp_path}/bin:/usr/bin:/bin"}
    )
    # Then the container is published on the plan's port
    assert ran.returncode == 0, ran.stderr
    assert " -p 9000:9000 " in f" {ran.stdout.strip()} "


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed here")
def test_nginx_accepts_the_config(tmp_path):
    plan = plan_of(CORPUS["vite-react-spa"].write(tmp_path / "src"))
    (tmp_path / "state").mkdir()
    (tmp_path / "dist").mkdir()
    config = tmp_path / "nginx.conf"
    config.write_text("\n".join(nginx_config(plan)).replace(STATE_DIR, str(tmp_path / "state")) + "\n")
    args = plan.start_command.replace('"$PWD"', str(tmp_path)).replace(static.NGINX_CONF, str(config)).split()
    checked = subprocess.run([*args, "-t"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_hostile_values_reach_the_container_as_values_never_as_lines(tmp_path):
    # Given a Dockerfile app whose environment holds a value with newlines, quotes and `NAME=` text
    plan = plan_of(
        CORPUS["dockerfile-env-port-and-healthcheck"].write(tmp_path / "src"),
        environment={"NOTE": HOSTILE, "bad name": "x"},
    )
    script = user_data(plan)
    assert subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True).returncode == 0
    # When the user data writes the env file and the environment
    files = run_writers(script, tmp_path, docker.ENV_FILE, "/etc/hivemind/app.env.sh")
    # Then the env file holds names only (docker takes each value from its own environment) ...
    names = files[docker.ENV_FILE].read_text().splitlines()
    assert names == ["AWS_DEFAULT_REGION", "NOTE", "PORT"]
    assert f"--env-file {docker.ENV_FILE}" in plan.start_command
    # ... and the value the docker CLI sees is the value, byte for byte
    env = files["/etc/hivemind/app.env.sh"]
    seen = subprocess.run(["bash", "-c", f'. {env}; printf %s "$NOTE"'], capture_output=True, text=True, check=True)
    assert seen.stdout == HOSTILE
    assert "INJECTED" not in files[docker.ENV_FILE].read_text()


def test_docker_user_data_installs_docker_and_lets_the_app_user_use_it(tmp_path):
    plan = plan_of(CORPUS["dockerfile-rust-expose"].write(tmp_path))
    script = user_data(plan)
    for step in ("dnf install -y docker", "systemctl enable --now docker", "usermod -aG docker app"):
        assert step in script
    assert script.index("usermod -aG docker app") < script.index("runuser -u app -- /opt/hivemind/build.sh")
    dropin = run_writers(script, tmp_path, "/etc/systemd/system/hivemind-app.service.d/docker.conf")
    text = next(iter(dropin.values())).read_text()
    assert "Requires=docker.service" in text and "ExecStartPre=-/usr/bin/docker rm -f hivemind-app" in text
    assert plan.build_command == "docker build -t hivemind-app ."


def test_a_procfile_or_hivemind_toml_for_another_runtime_contradicts_the_dockerfile(tmp_path):
    dockerfile = 'FROM alpine:3.20\nEXPOSE 8080\nCMD ["/app"]\n'
    procfile_root = write(tmp_path / "a", {"Dockerfile": dockerfile, "Procfile": "web: bin/server\n"})
    assert docker.detect(SourceTree.scan(procfile_root)) is None
    toml_root = write(tmp_path / "b", {"Dockerfile": dockerfile, "hivemind.toml": '[plan]\nlanguage = "go"\n'})
    assert docker.detect(SourceTree.scan(toml_root)) is None
    with pytest.raises(PlanError, match="no supported application"):
        plan_of(procfile_root)


def test_a_node_server_without_a_start_script_is_run_from_its_dockerfile(tmp_path):
    root = write(
        tmp_path,
        {
            "package.json": '{"scripts": {"build": "tsc"}, "devDependencies": {"typescript": "^5"}}',
            "src/index.ts": "import http from 'node:http'\nhttp.createServer().listen(7070)\n",
            "Dockerfile": "FROM node:20-alpine\nCOPY . .\nRUN npm ci && npm run build\nEXPOSE 7070\n"
            'CMD ["node", "dist/index.js"]\n',
        },
    )
    plan = plan_of(root)
    assert (plan.language, plan.port, plan.why("start_command").line) == ("docker", 7070, 5)


def test_multi_stage_variables_and_legacy_env_are_read(tmp_path):
    text = (
        "ARG PORT=9090\nARG UNUSED=1\nFROM golang:1.22 AS build\nRUN go build -o /out/app .\n"
        "FROM gcr.io/distroless/static-debian12\nARG PORT\nENV APP_PORT ${PORT:-9091}\nEXPOSE ${PORT}\n"
        'ENTRYPOINT ["/app"]\n'
    )
    stage, variables = docker.final_stage(docker.parse(text))
    assert stage[0].args == "gcr.io/distroless/static-debian12"
    assert variables == {"PORT": "9090", "APP_PORT": "9090"}  # the global ARG only where redeclared
    found = docker.detect(SourceTree.scan(write(tmp_path, {"Dockerfile": text})))
    assert found is not None
    assert (found["port"].value, found["port"].line, found["port_env"].value) == (9090, 8, "APP_PORT")
    assert found["runtime_version"].value == "gcr.io/distroless/static-debian12"


@pytest.mark.parametrize(
    ("files", "language"),
    [
        # SvelteKit with the Node adapter renders on a server: not a static site
        (
            {
                "package.json": '{"scripts": {"build": "vite build"}, "devDependencies": {"@sveltejs/kit": "^2",'
                ' "@sveltejs/adapter-node": "^5", "vite": "^5"}}',
            },
            None,
        ),
        # ... with adapter-static it is one, built into build/
        (
            {
                "package.json": '{"scripts": {"build": "vite build"}, "devDependencies": {"@sveltejs/kit": "^2",'
                ' "@sveltejs/adapter-static": "^3", "vite": "^5"}}',
            },
            "build",
        ),
        # Astro in server output mode needs its Node adapter
        (
            {
                "package.json": '{"scripts": {"build": "astro build"}, "dependencies": {"astro": "^4"}}',
                "astro.config.mjs": "import node from '@astrojs/node'\nexport default { output: 'server' }\n",
            },
            None,
        ),
        # `serve -s build` is a file server: nginx does that job
        (
            {
                "package.json": '{"scripts": {"start": "serve -s build", "build": "react-scripts build"}}',
            },
            "build",
        ),
        # a real server start script is the Node detector's
        ({"package.json": '{"scripts": {"start": "node server.js", "build": "vite build"}}'}, None),
    ],
)
def test_single_page_app_or_not(tmp_path, files, language):
    found = static.detect(SourceTree.scan(write(tmp_path, files)))
    if language is None:
        assert found is None
    else:
        assert found is not None and f'"$PWD"/{language}/' in str(found["start_command"].value)


def test_a_served_folder_with_an_odd_name_stays_one_word():
    assert static.serve_command("dist/my app;rm -rf ~") == (
        "nginx -e stderr -p \"$PWD\"/'dist/my app;rm -rf ~/' -c /opt/hivemind/nginx.conf"
    )


@pytest.mark.parametrize(
    ("code", "port", "env"),
    [
        ("server.listen({ host: '::', port: 4000 })", 4000, None),
        ("const { PORT = 5050 } = process.env\napp.listen(PORT)", 5050, "PORT"),
        ("app.listen(Number(process.env.PORT) || 4100)", 4100, "PORT"),
        ("const port = parseInt(process.env['HTTP_PORT'] ?? '4200', 10)", 4200, "HTTP_PORT"),
    ],
)
def test_node_port_forms(tmp_path, code, port, env):
    root = write(tmp_path, {"package.json": '{"scripts": {"start": "node s.js"}}', "s.js": code + "\n"})
    plan = plan_of(root)
    assert (plan.port, plan.port_env) == (port, env)


@pytest.mark.parametrize(
    ("nvmrc", "engines", "major"),
    [
        ("lts/iron", None, "20"),
        ("lts/*", None, "22"),
        ("v18.19.1", None, "18"),
        (None, ">=18", "22"),
        (None, "^18 || ^20", "20"),
        (None, ">=16 <19", "18"),
        (None, "22.x", "22"),
        (None, "~18.17.0", "18"),
        (None, "18 - 22", "22"),
        (None, ">=24", "24"),
    ],
)
def test_node_version(tmp_path, nvmrc, engines, major):
    files = {"package.json": json.dumps({"engines": {"node": engines}}) if engines else "{}"}
    if nvmrc:
        files[".nvmrc"] = nvmrc + "\n"
    tree = SourceTree.scan(write(tmp_path, files))
    assert node.version(tree, node.read_package(tree)).value == major


@pytest.mark.parametrize(
    ("package_manager", "lockfile", "command"),
    [
        ("pnpm@9.1.0", None, "pnpm install"),
        ("yarn@1.22.22", "yarn.lock", "yarn install --frozen-lockfile"),
        ("yarn@4.1.0", "yarn.lock", "yarn install --immutable"),
        ("npm@10.8.0", "package-lock.json", "npm ci"),
    ],
)
def test_package_manager_field_names_the_manager(tmp_path, package_manager, lockfile, command):
    files = {"package.json": json.dumps({"packageManager": package_manager})}
    if lockfile:
        files[lockfile] = ""
    tree = SourceTree.scan(write(tmp_path, files))
    manager, decision = node.install(tree, node.read_package(tree))
    assert (manager, decision.value, decision.line) == (package_manager.split("@")[0], command, 1)


def test_a_development_server_is_not_a_start_command(tmp_path):
    root = write(tmp_path, {"package.json": '{"scripts": {"start": "vite"}}'})
    with pytest.raises(PlanError, match="cannot tell how to start"):
        plan_of(root)


def _vite_app(root, build_script):
    # mydobie/simple-vite-react-app: `"build": "npm run lint && npm run build:ci"`, `"build:ci": "vite build"`,
    # index.html at the root loading /src/main.tsx; it was planned as plain files and would have served
    # the unbuilt index.html
    scripts = {
        "dev": " vite",
        "build:ci": "vite build",
        "lint": "tsc && npm run format",
        "format": "prettier --check .",
    }
    return write(
        root,
        {
            "package.json": json.dumps({"name": "app", "scripts": {**scripts, "build": build_script}}),
            "package-lock.json": "{}",
            "index.html": '<div id="root"></div>\n    <script type="module" src="/src/main.tsx"></script>\n',
            "src/main.tsx": "import React from 'react'\n",
        },
    )


def test_a_build_script_that_delegates_to_vite_is_a_vite_site(tmp_path):
    plan = make_plan(_vite_app(tmp_path, "npm run lint && npm run build:ci"), app_name="app")
    assert (plan.language, plan.framework, plan.build_command) == ("static", "vite", "npm run build")
    assert "dist/" in plan.start_command


def test_pages_that_load_source_code_with_no_build_stop_at_plan(tmp_path):
    with pytest.raises(PlanError, match=r"index.html loads /src/main.tsx, source code a build must compile"):
        make_plan(_vite_app(tmp_path, "my-own-bundler"), app_name="app")
