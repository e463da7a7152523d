"""PHP behind nginx: the configs the user data writes from the plan, the supervisor that runs
php-fpm and nginx as one service, and the values that must stay inert on the way."""

import glob
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from hivemind.errors import PlanError
from hivemind.models import PlanOverrides
from hivemind.planning import make_plan, static
from hivemind.planning.php import SERVE, served
from hivemind.templating import php_fpm
from hivemind.templating.nginx import PHP_SOCKET, PHP_STATE_DIR, STATE_DIR, php_nginx_config
from tests.fixtures.corpus import php
from tests.fixtures.userdata import instance_script, raw_user_data

HOSTILE = "'\"; rm -rf / #${AWS::AccountId}\nINJECTED=1\n!Ref X `id` $(curl evil)"
# A folder name may hold anything but a slash.
HOSTILE_FOLDER = "a'\"; rm -rf ~ #${AWS::AccountId} $(id) `id` {x}"


def _plan(root: Path, environment: dict[str, str] | None = None, **overrides):
    return make_plan(
        root, app_name="app", overrides=PlanOverrides(**overrides), environment=environment, source_bundle="s3://b/k"
    )


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _written(script: str, tmp_path: Path, target: str) -> str:
    """What the user data's `printf ... > target` command writes (a quoted line may span lines)."""
    lines = script.splitlines()
    end = next(i for i, line in enumerate(lines) if line.endswith(f"> {target}"))
    start = max(i for i in range(end + 1) if lines[i].startswith("printf '%s\\n'"))
    local = tmp_path / "written" / Path(target).name
    local.parent.mkdir(exist_ok=True)
    command = "\n".join(lines[start : end + 1]).replace(f"> {target}", f"> {local}")
    subprocess.run(["bash", "-c", command], check=True)
    return local.read_text()


@pytest.mark.parametrize("name", sorted(php.REPOS))
def test_the_user_data_writes_the_plans_nginx_and_php_fpm_configs(tmp_path, name):
    # Given a PHP app's plan
    plan = _plan(php.REPOS[name].write(tmp_path / "src"))
    script = instance_script(raw_user_data(plan))
    docroot, front = served(plan.start_command) or ("", "")
    # When the user data writes nginx's config, php-fpm's and the supervisor
    nginx = _written(script, tmp_path, static.NGINX_CONF)
    fpm = _written(script, tmp_path, php_fpm.FPM_CONF)
    serve = _written(script, tmp_path, SERVE)
    # Then each is HiveMind's, byte for byte, for this plan's document root, front controller and port
    assert nginx == "\n".join(php_nginx_config(plan.port, docroot, front)) + "\n"
    assert fpm == "\n".join(php_fpm.fpm_config()) + "\n"
    assert serve == "\n".join(php_fpm.supervisor()) + "\n" and f"chmod 0755 {SERVE}" in script
    assert f"root {docroot};" in nginx and f"listen {plan.port};" in nginx
    assert f"try_files $uri $uri/ /{front}?$query_string;" in nginx
    assert f"fastcgi_pass unix:{PHP_SOCKET};" in nginx and f"listen = {PHP_SOCKET}" in fpm
    assert "fastcgi_param SCRIPT_FILENAME $realpath_root$fastcgi_script_name;" in nginx
    assert "gzip on;" in nginx and r"location ~ /\.(?!well-known/) {" in nginx
    assert "clear_env = no" in fpm
    # and the service runs the supervisor; PHP's built-in server is gone
    assert _written(script, tmp_path, "/opt/hivemind/start.sh").endswith(f"\nexec {plan.start_command}\n")
    assert " -S 0.0.0.0" not in script and "PHP_CLI_SERVER_WORKERS" not in script
    assert '"php$candidate-fpm"' in script and "dnf install -y nginx" in script
    assert f"install -d -o app -g app -m 0750 {STATE_DIR} {PHP_STATE_DIR}" in script


def test_symfony_3_routes_to_app_php_in_web():
    plan_start = php.REPOS["symfony-3-web-app-php"].expected["start_command"]
    assert served(plan_start) == ("web", "app.php")
    config = "\n".join(php_nginx_config(8080, "web", "app.php"))
    assert "root web;" in config and "try_files $uri $uri/ /app.php?$query_string;" in config
    assert "index app.php index.html;" in config


def test_a_port_override_moves_nginx_and_a_start_override_moves_the_document_root(tmp_path):
    root = _write(tmp_path / "src", {"web/index.php": "<?php echo 1;\n", "hivemind.toml": "[plan]\nport = 9000\n"})
    plan = _plan(root, start_command=f"{SERVE} web/")
    assert (plan.port, served(plan.start_command)) == (9000, ("web", "index.php"))
    config = _written(instance_script(raw_user_data(plan)), tmp_path, static.NGINX_CONF)
    assert "listen 9000;" in config and "root web;" in config


def test_a_procfile_start_wins_and_leaves_hiveminds_servers_unused(tmp_path):
    files = {**php.REPOS["slim-public-index"].files, "Procfile": "web: php -S 0.0.0.0:$PORT -t public\n"}
    plan = _plan(_write(tmp_path / "src", files))
    assert (plan.language, plan.start_command, plan.port_env) == ("php", "php -S 0.0.0.0:$PORT -t public", "PORT")
    script = instance_script(raw_user_data(plan))
    assert _written(script, tmp_path, "/opt/hivemind/start.sh").endswith("\nexec php -S 0.0.0.0:$PORT -t public\n")
    assert "root public;" in _written(script, tmp_path, static.NGINX_CONF)


@pytest.mark.parametrize(
    "start",
    [
        f"{SERVE} ../../etc",
        f"{SERVE} 'my docs'",
        f"{SERVE} public; curl evil",
        f"{SERVE} public $(id)",
        f"{SERVE} public index.php\nINJECTED=1",
        f"{SERVE} public{{x}}",
    ],
)
def test_the_supervisor_with_an_odd_document_root_is_refused(tmp_path, start):
    plan = _plan(php.REPOS["slim-public-index"].write(tmp_path), start_command=start)
    with pytest.raises(PlanError, match="takes a document root"):
        raw_user_data(plan)


def test_hostile_folder_and_environment_stay_inert(tmp_path):
    # Given a PHP app in a folder with quotes, `${...}`, `$(...)` and braces in its name, and a hostile value
    root = tmp_path / "src"
    _write(root / HOSTILE_FOLDER, php.REPOS["slim-public-index"].files)
    plan = _plan(root, environment={"NOTE": HOSTILE}, subdir=HOSTILE_FOLDER)
    assert plan.subdir == HOSTILE_FOLDER
    # When CloudFormation renders the user data (it fails on a reference that is not HiveMind's)
    script = instance_script(raw_user_data(plan))
    checked = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
    # Then it is valid bash, the nginx config holds no path of the app, and start.sh enters the folder
    assert checked.returncode == 0, checked.stderr
    assert HOSTILE_FOLDER not in _written(script, tmp_path, static.NGINX_CONF)
    start = _written(script, tmp_path, "/opt/hivemind/start.sh")
    env = _written(script, tmp_path, "/etc/hivemind/app.env.sh")
    (tmp_path / "opt" / "app" / HOSTILE_FOLDER).mkdir(parents=True)
    probe = start.replace(f"exec {plan.start_command}", 'printf %s "$PWD"; printf "\\n%s" "$NOTE"')
    probe = probe.replace("/etc/hivemind/app.env.sh", str(tmp_path / "written" / "app.env.sh"))
    probe = probe.replace("/opt/app/", f"{tmp_path}/opt/app/")
    assert env.startswith("export ")
    ran = subprocess.run(["bash", "-c", probe], text=True, capture_output=True)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == f"{tmp_path}/opt/app/{HOSTILE_FOLDER}\n{HOSTILE}"


def _fake(bin_dir: Path, name: str, body: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / name).write_text(f"#!/bin/bash\n{body}\n")
    (bin_dir / name).chmod(0o755)


def _alive(pid_file: Path) -> bool:
    try:
        os.kill(int(pid_file.read_text()), 0)
    except (ProcessLookupError, ValueError, FileNotFoundError):
        return False
    return True


def _supervisor(tmp_path: Path) -> Path:
    script = tmp_path / "php-serve.sh"
    script.write_text("\n".join(php_fpm.supervisor()) + "\n")
    (tmp_path / "app" / "public").mkdir(parents=True)
    (tmp_path / "app" / "public" / "index.php").write_text("<?php echo 'ok';\n")
    return script


@pytest.mark.parametrize("which", ["php-fpm", "nginx"])
def test_the_supervisor_exits_when_either_child_exits_and_stops_the_other(tmp_path, which):
    # Given fakes: the one under test exits with status 3, the other runs until stopped
    script, bin_dir = _supervisor(tmp_path), tmp_path / "bin"
    for name in ("php-fpm", "nginx"):
        body = "sleep 0.3; exit 3" if name == which else f"echo $$ > {tmp_path}/{name}.pid; exec sleep 60"
        _fake(bin_dir, name, body)
    # When the supervisor runs them
    started = time.monotonic()
    ran = subprocess.run(
        ["bash", str(script), "public"],
        cwd=tmp_path / "app",
        env={"PATH": f"{bin_dir}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    # Then it exits with that status, at once, having stopped the other
    other = "nginx" if which == "php-fpm" else "php-fpm"
    assert ran.returncode == 3 and time.monotonic() - started < 10
    assert f"php-serve: {which} exited with status 3" in ran.stderr
    assert not _alive(tmp_path / f"{other}.pid")


def test_the_supervisor_passes_its_arguments_and_stops_both_on_sigterm(tmp_path):
    script, bin_dir = _supervisor(tmp_path), tmp_path / "bin"
    for name in ("php-fpm", "nginx"):
        _fake(bin_dir, name, f'echo "$*" > {tmp_path}/{name}.args; echo $$ > {tmp_path}/{name}.pid; exec sleep 60')
    process = subprocess.Popen(
        ["bash", str(script), "public"], cwd=tmp_path / "app", env={"PATH": f"{bin_dir}:/usr/bin:/bin"}
    )
    deadline = time.monotonic() + 10
    while not all((tmp_path / f"{n}.pid").exists() for n in ("php-fpm", "nginx")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (tmp_path / "php-fpm.args").read_text().strip() == f"-F -y {php_fpm.FPM_CONF}"
    assert (tmp_path / "nginx.args").read_text().strip() == f"-e stderr -p {tmp_path}/app/ -c {static.NGINX_CONF}"
    process.terminate()
    assert process.wait(timeout=10) == 143
    assert not _alive(tmp_path / "php-fpm.pid") and not _alive(tmp_path / "nginx.pid")


def test_the_supervisor_refuses_a_missing_document_root(tmp_path):
    script = _supervisor(tmp_path)
    ran = subprocess.run(["bash", str(script), "web"], cwd=tmp_path / "app", capture_output=True, text=True)
    assert ran.returncode == 1 and "php-serve: no document root" in ran.stderr


def _php_fpm() -> str | None:
    found = shutil.which("php-fpm") or sorted(glob.glob("/usr/sbin/php-fpm*"))
    return found if isinstance(found, str) else (found[-1] if found else None)


needs_servers = pytest.mark.skipif(
    shutil.which("nginx") is None or _php_fpm() is None, reason="nginx and php-fpm are not both installed here"
)


def _local_configs(tmp_path: Path, port: int, docroot: str, front: str) -> dict[str, str]:
    """nginx's and php-fpm's configs and the supervisor, with every HiveMind path moved into tmp_path."""
    moves = {STATE_DIR: tmp_path / "state" / "nginx", PHP_STATE_DIR: tmp_path / "state" / "php"}
    for folder in moves.values():
        folder.mkdir(parents=True, exist_ok=True)
    texts = {
        "nginx.conf": php_nginx_config(port, docroot, front),
        "php-fpm.conf": php_fpm.fpm_config(),
        "php-serve.sh": php_fpm.supervisor(),
    }
    out = {}
    for name, lines in texts.items():
        text = "\n".join(lines) + "\n"
        for old, new in moves.items():
            text = text.replace(old, str(new))
        out[name] = text.replace("/opt/hivemind/", f"{tmp_path}/").replace(
            f"listen {port};", f"listen 127.0.0.1:{port};"
        )
        (tmp_path / name).write_text(out[name])
    return out


@needs_servers
@pytest.mark.parametrize(("docroot", "front"), [("public", "index.php"), ("web", "app.php"), (".", "index.php")])
def test_nginx_and_php_fpm_accept_the_configs(tmp_path, docroot, front):
    _local_configs(tmp_path, 8080, docroot, front)
    (tmp_path / "app" / docroot).mkdir(parents=True, exist_ok=True)
    nginx = subprocess.run(
        ["nginx", "-t", "-e", "stderr", "-p", f"{tmp_path}/app/", "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    assert nginx.returncode == 0, nginx.stderr
    as_root = ["-R"] if os.geteuid() == 0 else []  # php-fpm refuses root unless told
    fpm = subprocess.run(
        [str(_php_fpm()), "-t", *as_root, "-y", str(tmp_path / "php-fpm.conf")], capture_output=True, text=True
    )
    assert fpm.returncode == 0, fpm.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


@needs_servers
def test_the_supervisor_serves_a_php_app_through_nginx_and_php_fpm(tmp_path):
    # Given a front controller that shows what PHP sees, a static file, a dotfile and the real servers
    port = _free_port()
    _local_configs(tmp_path, port, "public", "index.php")
    app = _write(
        tmp_path / "app",
        {
            "public/index.php": "<?php echo $_SERVER['REQUEST_URI'], '|', getenv('NOTE'), '|', $_GET['q'] ?? '',"
            " '|', $_SERVER['SCRIPT_FILENAME'];\n",
            "public/css/site.css": "body { margin: 0; }\n",
            "public/.env": "SECRET=1\n",
            "public/upload.jpg": "<?php echo 'ran';\n",
        },
    )
    root = os.geteuid() == 0  # as root, php-fpm needs -R and nginx's workers root's user to reach tmp_path
    as_root = ("-R", "-g 'user root;'") if root else ("", "")
    _fake(tmp_path / "bin", "php-fpm", f'exec {_php_fpm()} {as_root[0]} "$@"')
    _fake(tmp_path / "bin", "nginx", f'exec {shutil.which("nginx")} {as_root[1]} "$@"')
    env = {"PATH": f"{tmp_path}/bin:/usr/bin:/bin:/usr/sbin", "NOTE": HOSTILE}
    log = (tmp_path / "app.log").open("w")
    server = subprocess.Popen(
        ["bash", str(tmp_path / "php-serve.sh"), "public"], cwd=app, env=env, stdout=log, stderr=log
    )
    try:
        # When the app is asked for a route, a file, a dotfile and an upload dressed as PHP
        deadline, answer = time.monotonic() + 20, (0, "")
        while time.monotonic() < deadline and answer[0] != 200 and server.poll() is None:
            time.sleep(0.2)
            try:
                answer = _get(f"http://127.0.0.1:{port}/orders/7?q=x")
            except OSError:
                continue
        # Then the route reaches the front controller with the environment start.sh exported
        assert answer == (200, f"/orders/7?q=x|{HOSTILE}|x|{app.resolve()}/public/index.php"), log_text(tmp_path)
        assert _get(f"http://127.0.0.1:{port}/css/site.css") == (200, "body { margin: 0; }\n")
        assert _get(f"http://127.0.0.1:{port}/.env")[0] == 404
        assert _get(f"http://127.0.0.1:{port}/upload.jpg/x.php")[0] == 404
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def log_text(tmp_path: Path) -> str:
    return (tmp_path / "app.log").read_text()
