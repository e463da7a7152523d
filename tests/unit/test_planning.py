"""The planner on small repositories written for the test, each field checked with its evidence."""

import json
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from hivemind.errors import PlanError, SourceError
from hivemind.models import PlanOverrides
from hivemind.planning import make_plan, python
from hivemind.planning.tree import SourceTree
from tests.conftest import EXAMPLES
from tests.fixtures.repo import real_files
from tests.fixtures.repo import write_files as repo
from tests.fixtures.repos import CORPUS


def plan_of(root: Path, **overrides):
    return make_plan(root, app_name="app", overrides=PlanOverrides(**overrides))


def test_flask_example():
    plan = plan_of(EXAMPLES / "flask-app")
    assert (plan.language, plan.framework, plan.runtime_version) == ("python", "flask", "3.12")
    assert plan.install_command == "pip install -r requirements.txt"
    assert plan.build_command is None
    assert plan.start_command == "gunicorn --bind 0.0.0.0:$PORT --workers 2 app:app"
    assert (plan.port, plan.port_env, plan.health_path) == (5000, "PORT", "/")
    port = plan.why("port")
    assert (port.file, port.source) == ("app.py", "detected")
    assert 'os.environ.get("PORT", 5000)' in (EXAMPLES / "flask-app" / "app.py").read_text().splitlines()[port.line - 1]
    assert plan.why("start_command").file == "Procfile"


def test_express_example():
    plan = plan_of(EXAMPLES / "express-app")
    assert (plan.language, plan.framework, plan.runtime_version) == ("node", "express", "22")
    assert (plan.install_command, plan.build_command, plan.start_command) == ("npm install", None, "npm start")
    assert (plan.port, plan.port_env, plan.health_path) == (3000, "PORT", "/")
    assert plan.why("port").file == "server.js"


def test_hard_coded_port_has_no_port_env(tmp_path):
    root = repo(
        tmp_path,
        {
            "requirements.txt": "flask\n",
            "main.py": "from flask import Flask\napp = Flask(__name__)\n\n@app.get('/ping')\ndef ping():\n"
            "    return 'pong'\n\nif __name__ == '__main__':\n    app.run(host='0.0.0.0', port=8123)\n",
        },
    )
    plan = plan_of(root)
    assert (plan.port, plan.port_env) == (8123, None)
    assert plan.start_command == "python main.py"
    assert (plan.health_path, plan.why("health_path").line) == ("/ping", 4)


def test_custom_port_variable_and_health_route_not_at_root(tmp_path):
    root = repo(
        tmp_path,
        {
            "package.json": '{"name": "x", "scripts": {"start": "node index.js", "build": "tsc"},'
            ' "dependencies": {"fastify": "^5.0.0"}}',
            "package-lock.json": "{}",
            "index.js": "const app = require('fastify')()\napp.get('/healthz', async () => 'ok')\n"
            "app.listen({ port: Number(process.env.APP_PORT ?? 8080) })\n",
        },
    )
    plan = plan_of(root)
    assert (plan.framework, plan.install_command, plan.build_command) == ("fastify", "npm ci", "npm run build")
    assert (plan.port, plan.port_env, plan.health_path) == (8080, "APP_PORT", "/healthz")


@pytest.mark.parametrize(
    ("lockfile", "install", "build"),
    [
        ("pnpm-lock.yaml", "pnpm install --frozen-lockfile", "pnpm run build"),
        ("yarn.lock", "yarn install --frozen-lockfile", "yarn run build"),
    ],
)
def test_node_package_manager_follows_the_lockfile(tmp_path, lockfile, install, build):
    root = repo(
        tmp_path,
        {
            "package.json": '{"scripts": {"start": "node s.js", "build": "vite build"}}',
            lockfile: "",
            "s.js": "require('http').createServer().listen(3000)\n",
        },
    )
    plan = plan_of(root)
    assert (plan.install_command, plan.build_command, plan.start_command.split()[0]) == (install, build, lockfile[:4])


def test_hivemind_toml_wins_over_detection_and_the_request_wins_over_both(tmp_path):
    root = repo(
        tmp_path,
        {
            "requirements.txt": "flask\ngunicorn\n",
            "app.py": "from flask import Flask\napp = Flask(__name__)\n",
            "hivemind.toml": '[plan]\nport = 9000\nhealth_path = "/up"\ninstance_type = "t3.small"\n',
        },
    )
    plan = plan_of(root, instance_type="t3.medium")
    assert (plan.port, plan.health_path, plan.instance_type) == (9000, "/up", "t3.medium")
    assert plan.why("port").source == "hivemind.toml" and plan.why("port").line == 2
    assert plan.why("instance_type").source == "request"
    assert plan.why("framework").source == "detected"


def test_unknown_hivemind_toml_key_is_a_clear_error(tmp_path):
    root = repo(tmp_path, {"requirements.txt": "flask\n", "hivemind.toml": "[plan]\nprot = 80\n"})
    with pytest.raises(PlanError, match=r"unknown key.*prot"):
        plan_of(root)


def test_unsupported_folder_says_what_was_looked_for(tmp_path):
    root = repo(tmp_path, {"README.md": "# nothing to run\n"})
    with pytest.raises(PlanError, match=r"no supported application.*package\.json.*requirements\.txt"):
        plan_of(root)


def test_no_start_command_is_a_clear_error(tmp_path):
    root = repo(tmp_path, {"package.json": '{"name": "lib"}'})
    with pytest.raises(PlanError, match="cannot tell how to start"):
        plan_of(root)


def test_subdir_plans_the_app_in_that_folder_and_rejects_escapes(tmp_path):
    root = repo(
        tmp_path,
        {
            "docs/conf.py": "x = 1\n",
            "services/web/package.json": '{"scripts": {"start": "node a.js"}}',
            "services/web/a.js": "require('http').createServer().listen(4000)\n",
        },
    )
    plan = plan_of(root, subdir="services/web")
    assert (plan.language, plan.port, plan.subdir) == ("node", 4000, "services/web")
    with pytest.raises(PlanError, match="inside the source"):
        plan_of(root, subdir="../etc")


def test_vendored_folders_are_never_read(tmp_path):
    root = repo(
        tmp_path,
        {
            "node_modules/express/package.json": '{"scripts": {"start": "node x"}}',
            ".venv/pyvenv.cfg": "",
            ".venv/lib/app.py": "app.run(port=1)\n",
            "requirements.txt": "flask\n",
            "app.py": "from flask import Flask\napp = Flask(__name__)\n"
            "if __name__ == '__main__':\n    app.run(port=5055)\n",
        },
    )
    plan = plan_of(root)
    assert (plan.language, plan.port) == ("python", 5055)
    assert all(e.file is None or not e.file.startswith((".venv", "node_modules")) for e in plan.evidence)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_repository_plans_as_expected(tmp_path, name):
    repo_ = CORPUS[name]
    plan = make_plan(
        repo_.write(tmp_path), app_name="app", overrides=PlanOverrides(**repo_.overrides), environment=repo_.environment
    )
    got = {field: getattr(plan, field) for field in repo_.expected}
    assert got == repo_.expected
    for field in ("language", "start_command", "port"):
        why = plan.why(field)
        assert why is not None and why.reason, field


def test_a_monorepo_with_two_apps_and_no_recipe_is_a_clear_error_naming_them(tmp_path):
    root = repo(
        tmp_path,
        {
            "apps/api/requirements.txt": "flask\n",
            "apps/api/app.py": "from flask import Flask\napp = Flask(__name__)\n",
            "apps/web/package.json": '{"scripts": {"start": "node s.js"}}',
            "apps/web/s.js": "require('http').createServer().listen(3000)\n",
        },
    )
    with pytest.raises(PlanError, match=r"2 apps \(apps/api, apps/web\).*--subdir"):
        plan_of(root)
    assert plan_of(root, subdir="apps/web").language == "node"


def test_a_workspace_root_is_not_the_app_its_one_app_folder_is(tmp_path):
    root = repo(
        tmp_path,
        {
            "package.json": '{"private": true, "scripts": {"lint": "eslint ."}}',
            "pnpm-workspace.yaml": "packages:\n  - 'packages/*'\n",
            "packages/ui/package.json": '{"name": "ui", "main": "index.js"}',
            "packages/server/package.json": '{"scripts": {"start": "node main.js"}}',
            "packages/server/main.js": "require('http').createServer().listen(process.env.PORT || 5050)\n",
        },
    )
    plan = plan_of(root)
    assert (plan.subdir, plan.port) == ("packages/server", 5050)
    assert plan.why("subdir").file == "packages/server/package.json"


def test_only_examples_are_never_deployed_on_their_own(tmp_path):
    root = repo(
        tmp_path,
        {
            "setup.py": "from setuptools import setup\nsetup(name='lib')\n",
            "lib/__init__.py": "",
            "examples/flask/requirements.txt": "flask\n",
            "examples/flask/app.py": "from flask import Flask\napp = Flask(__name__)\n",
        },
    )
    with pytest.raises(PlanError, match=r"only examples or tests \(examples/flask\)"):
        plan_of(root)


def test_a_literal_port_in_the_procfile_wins_over_the_code(tmp_path):
    root = repo(
        tmp_path,
        {
            "requirements.txt": "flask\ngunicorn\n",
            "Procfile": "web: gunicorn -b 0.0.0.0:8443 app:app\n",
            "app.py": "import os\nfrom flask import Flask\napp = Flask(__name__)\n"
            "port = os.environ.get('PORT', 5000)\n",
        },
    )
    plan = plan_of(root)
    assert (plan.port, plan.port_env, plan.why("port").file) == (8443, None, "Procfile")


@pytest.mark.parametrize(
    ("files", "error", "message"),
    [
        ({}, SourceError, "the source has no files"),
        ({"node_modules/x/index.js": "1"}, SourceError, "the source has no files"),
        ({"logo.png": "\x89PNG\r\n\x1a\n\x00\x00", "a.bin": "\x00\x01"}, SourceError, "only binary files"),
        ({"notes.txt": "hello"}, PlanError, "no supported application found"),
    ],
)
def test_sources_with_nothing_to_run_say_why(tmp_path, files, error, message):
    root = repo(tmp_path, files)
    with pytest.raises(error, match=message):
        plan_of(root)


def test_a_uwsgi_procfile_chooses_python_over_a_frontend_and_fixes_the_port(tmp_path):
    root = repo(
        tmp_path,
        {
            "requirements.txt": "Django\nuwsgi\n",
            "manage.py": "import django\n",
            "site/wsgi.py": "application = None\n",
            "package.json": '{"scripts": {"start": "node assets.js"}, "dependencies": {"express": "^4"}}',
            "assets.js": "require('express')().listen(3000)\n",
            "Procfile": "web: uwsgi --http :8000 --module site.wsgi\n",
        },
    )
    plan = plan_of(root)
    assert (plan.language, plan.port, plan.port_env) == ("python", 8000, None)
    assert plan.start_command == "uwsgi --http :8000 --module site.wsgi"


def test_committed_build_output_is_not_read_as_the_app_s_code(tmp_path):
    root = repo(
        tmp_path,
        {
            "package.json": '{"scripts": {"build": "tsc", "start": "node dist/main.js"}}',
            "dist/main.js": "require('http').createServer().listen(9999)\n",
            "main.ts": "import http from 'http'\nhttp.createServer().listen(process.env.PORT || 4100)\n",
        },
    )
    plan = plan_of(root)
    assert (plan.port, plan.port_env, plan.why("port").file) == (4100, "PORT", "main.ts")


@pytest.mark.parametrize("version", ["3.3 $(touch /tmp/pwned)", "3.3;id", "${Foo}", "3.3\nrm -rf /"])
def test_a_runtime_version_that_is_not_a_version_never_reaches_the_instance(tmp_path, version):
    root = repo(
        tmp_path,
        {
            "requirements.txt": "flask\n",
            "app.py": "from flask import Flask\napp = Flask(__name__)\n",
            "hivemind.toml": f"[plan]\nruntime_version = {json.dumps(version)}\n",
        },
    )
    with pytest.raises(PlanError, match=r"hivemind.toml \[plan\] runtime_version: String should match pattern"):
        plan_of(root)
    (root / "hivemind.toml").unlink()
    (root / ".python-version").write_text(version)  # a detector reads only the version's digits
    assert plan_of(root).runtime_version in ("3.3", "3.12")
    with pytest.raises(ValidationError):
        PlanOverrides(runtime_version=version)


ODD_MANIFESTS = {
    "pyproject.toml": ['project = "demo"\n[tool]\npoetry = "yes"\n', "[project]\ndependencies = 'flask'\n"],
    "Pipfile": ['packages = ["flask"]\nrequires = 3\n'],
    "package.json": ['{"scripts": "x", "dependencies": [], "engines": "node"}', "[1, 2]", '"just a string"', "{"],
    "composer.json": ['{"require": "php", "config": []}', "null"],
    "go.mod": ["module\ngo\nrequire (\n"],
    "pom.xml": ["<project><modules>"],
    "Gemfile": ['ruby "\n', "gem\n"],
    "Dockerfile": ["FROM\nEXPOSE\nCMD [\n", "EXPOSE 99999999\n"],
    "hivemind.toml": ['plan = "x"\n', "[plan]\nport = 'eighty'\n"],
}


@pytest.mark.parametrize(("name", "text"), [(name, text) for name, texts in ODD_MANIFESTS.items() for text in texts])
def test_odd_manifests_plan_or_say_why_but_never_crash(tmp_path, name, text):
    root = repo(tmp_path, {name: text, "app.py": "from flask import Flask\napp = Flask(__name__)\n"})
    try:
        plan_of(root)
    except (PlanError, SourceError) as exc:
        assert str(exc)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"mkdocs.yml": "site_name: handbook\n", "docs/index.md": "# handbook\n"},
            "MkDocs site.*commit the built site/",
        ),
        (
            {"_config.yml": "title: diary\n", "index.html": "---\nlayout: home\n---\n{{ content }}\n"},
            "Jekyll site.*commit the built _site/",
        ),
    ],
)
def test_a_site_generator_hivemind_does_not_install_is_a_clear_error(tmp_path, files, message):
    with pytest.raises(PlanError, match=message):
        plan_of(repo(tmp_path, files))


def test_a_site_generator_config_beside_an_app_is_its_documentation(tmp_path):
    root = repo(
        tmp_path,
        {
            "requirements.txt": "flask\n",
            "app.py": "from flask import Flask\napp = Flask(__name__)\n",
            "mkdocs.yml": "site_name: api docs\n",
            "docs/index.md": "# api\n",
        },
    )
    assert (plan_of(root).language, plan_of(root).framework) == ("python", "flask")


def test_a_procfile_reading_port_in_braces_sets_port_env(tmp_path):
    root = repo(
        tmp_path,
        {
            "package.json": '{"scripts": {"start": "node s.js"}}',
            "s.js": "require('http').createServer().listen(3000)\n",
            "Procfile": "web: node s.js --port=${PORT:-3000}\n",
        },
    )
    plan = plan_of(root)
    assert (plan.port_env, plan.why("port_env").file) == ("PORT", "Procfile")


def test_frameworks_name_every_secret_they_still_need():
    from hivemind.models import DeploymentPlan
    from hivemind.planning import missing_secret

    base = dict(app_name="a", language="node", runtime_version="20", start_command="npm start", port=1337)
    strapi = DeploymentPlan(
        **base, framework="strapi", secrets={"APP_KEYS": "ssm:/s/keys"}, environment={"JWT_SECRET": "x"}
    )
    needed = missing_secret(strapi)
    assert needed and "API_TOKEN_SALT, ADMIN_JWT_SECRET, TRANSFER_TOKEN_SALT" in needed and "APP_KEYS" not in needed
    assert missing_secret(DeploymentPlan(**{**base, "framework": "express"})) is None
    rails = DeploymentPlan(**{**base, "framework": "rails", "secrets": {"RAILS_MASTER_KEY": "ssm:/r/key"}})
    assert missing_secret(rails) is None


def test_an_app_folder_that_is_not_a_workspace_member_installs_on_its_own(tmp_path):
    root = repo(
        tmp_path,
        {
            "package.json": '{"private": true, "workspaces": ["packages/*"]}',
            "package-lock.json": "{}",
            "packages/lib/package.json": '{"name": "lib", "main": "index.js"}',
            "examples/demo/package.json": '{"scripts": {"start": "node s.js"}, "dependencies": {"express": "^4"}}',
            "examples/demo/s.js": "require('express')().listen(3000)\n",
        },
    )
    assert plan_of(root, subdir="examples/demo").install_command == "npm install"
    (root / "package.json").write_text('{"private": true, "workspaces": {"packages": ["packages/*", "examples/*"]}}')
    assert plan_of(root, subdir="examples/demo").install_command == "(cd ../.. && npm ci)"


def test_a_key_the_repository_carries_itself_is_not_missing(tmp_path):
    from hivemind.planning import missing_secret

    root = CORPUS["laravel-11-up-vite"].write(tmp_path)
    plan = plan_of(root)
    assert plan.warnings == [missing_secret(plan, root)] and "APP_KEY" in plan.warnings[0]
    (root / ".env").write_text("APP_NAME=shop\nAPP_KEY=base64:c2VjcmV0\n")
    assert missing_secret(plan, root) is None and plan_of(root).warnings == []
    (root / ".env").write_text("APP_KEY=\n")  # set to nothing: still missing
    assert missing_secret(plan, root) is not None
    rails = CORPUS["rails-71-up-no-root"].write(tmp_path / "rails")
    assert "RAILS_MASTER_KEY" in (missing_secret(plan_of(rails), rails) or "")
    (rails / "config" / "master.key").write_text("0123456789abcdef\n")
    assert missing_secret(plan_of(rails), rails) is None


@pytest.mark.parametrize(
    ("procfile", "start"),
    [
        ("web: vendor/bin/heroku-php-apache2 public/", "/opt/hivemind/php-serve.sh public"),
        ("web: heroku-php-nginx -C nginx.conf web/", "/opt/hivemind/php-serve.sh web"),
        ("web: heroku-php-nginx", "/opt/hivemind/php-serve.sh ."),
    ],
)
def test_heroku_php_procfiles_are_served_the_same_way_here(tmp_path, procfile, start):
    root = repo(
        tmp_path,
        {
            "composer.json": '{"require": {"php": "^8.2", "slim/slim": "^4.14"}}',
            "public/index.php": "<?php\n$app->get('/', fn () => 'ok');\n",
            "web/index.php": "<?php echo 'ok';\n",
            "Procfile": procfile + "\n",
        },
    )
    plan = plan_of(root)
    assert (plan.language, plan.start_command, plan.why("start_command").file) == ("php", start, "Procfile")


def test_a_heroku_php_procfile_with_an_odd_document_root_is_a_plan_error(tmp_path):
    root = repo(tmp_path, {"composer.json": "{}", "index.php": "<?php\n", "Procfile": "web: heroku-php-nginx 'a;b'\n"})
    with pytest.raises(PlanError):
        plan_of(root)


def test_the_procfile_s_other_processes_are_named_and_a_web_process_into_nowhere_is_set_aside(tmp_path):
    root = repo(
        tmp_path,
        {
            "package.json": '{"scripts": {"start": "node server.js"}, "dependencies": {"express": "^4"}}',
            "server.js": "require('express')().listen(process.env.PORT || 5000)\n",
            "Procfile": "web: cd client && yarn start\nworker: node jobs.js\nrelease: node migrate.js\n",
        },
    )
    plan = plan_of(root)
    assert (plan.start_command, plan.why("start_command").file) == ("npm start", "package.json")
    assert plan.warnings == [
        "the Procfile's worker process is not run: HiveMind runs the web process (and the release phase) only"
        " (Procfile:2)",
        "the Procfile's web process changes into a folder the source does not have: planned from the code instead"
        " (Procfile:1)",
    ]
    # the release phase runs on each instance after the build, before the app starts
    assert (plan.release_command, plan.why("release_command").file) == ("node migrate.js", "Procfile")


def test_the_smoke_test_gets_the_get_routes_the_app_declares(tmp_path):
    # Given the routes of mjhea0/flaskr-tdd's project/app.py, as that repository declares them
    repo(
        tmp_path,
        {
            "requirements.txt": "Flask==3.0.0\ngunicorn==22.0.0\n",
            "project/app.py": "\n".join(
                [
                    "from flask import Flask",
                    "app = Flask(__name__)",
                    '@app.route("/")',
                    '@app.route("/add", methods=["POST"])',
                    '@app.route("/login", methods=["GET", "POST"])',
                    '@app.route("/logout")',
                    '@app.route("/delete/<int:post_id>", methods=["GET"])',
                    '@app.route("/search/", methods=["GET"])',
                ]
            ),
        },
    )
    plan = make_plan(tmp_path, app_name="flaskr")
    # Then the smoke test tries the ones a GET reaches without data: not POST-only, not parameterised
    assert plan.health_path == "/"
    assert plan.routes == ["/login", "/logout", "/search/"]


def test_a_clients_port_variable_is_not_the_apps(tmp_path):
    # Given miguelgrinberg/microblog's files as they are: a mail server's port read in config.py,
    # and a Procfile whose server is gunicorn with no bind of its own
    repo(
        tmp_path,
        {
            "requirements.txt": "Flask==3.0.3\ngunicorn==22.0.0\n",
            "config.py": "import os\nclass Config:\n    MAIL_PORT = int(os.environ.get('MAIL_PORT') or 25)\n",
            "microblog.py": "from app import create_app\napp = create_app()\n",
            "app/__init__.py": "from flask import Flask\ndef create_app():\n    return Flask(__name__)\n",
            "Procfile": "web: flask db upgrade; flask translate compile; gunicorn microblog:app\n",
        },
    )
    plan = make_plan(tmp_path, app_name="microblog")
    # Then the port variable is the one gunicorn reads, not MAIL_PORT, and the release steps stay
    assert plan.port_env == "PORT" and plan.port != 25
    assert plan.start_command == "flask db upgrade; flask translate compile; gunicorn microblog:app"


@pytest.mark.parametrize(
    ("lockfile_version", "install"),
    [("5.3", "corepack pnpm@7 install"), ("'6.0'", "corepack pnpm@8 install"), ("'9.0'", "pnpm install")],
)
def test_an_old_pnpm_lockfile_is_installed_by_a_pnpm_that_reads_it(tmp_path, lockfile_version, install):
    # NaoyaMiyagawa/vue3-vite-todo: pnpm-lock.yaml `lockfileVersion: 5.3`, no packageManager; today's pnpm
    # said "The lockfileVersion of 5.3 is incompatible with this version of pnpm" (its rehearsal, 2026-11-29)
    repo(
        tmp_path,
        {
            "package.json": json.dumps({"name": "x", "scripts": {"start": "node server.js"}}),
            "pnpm-lock.yaml": f"lockfileVersion: {lockfile_version}\n\nspecifiers:\n",
            "server.js": "require('http').createServer().listen(process.env.PORT || 3000)\n",
        },
    )
    plan = make_plan(tmp_path, app_name="x")
    assert plan.install_command == f"{install} --frozen-lockfile"
    # the same pnpm starts it (chrisindark/nestjs-getting-started: `pnpm run build` under today's pnpm
    # called the v6 lockfile broken and reinstalled everything unpinned)
    assert plan.start_command == f"{install.removesuffix(' install')} start"


def test_a_python_version_said_only_by_the_ci_workflow_or_a_nested_dockerfile_is_honoured(tmp_path):
    # borys25ol/fastapi-todo-example-app: no version file; its CI and docker/app/Dockerfile say 3.10.4.
    # Planned as 3.12, it crashed at import (pydantic 1.9 under 3.12: "'not' is not a valid parameter name").
    files = {
        "requirements.txt": "# python 3.10.4\n\nalembic==1.7.7\nfastapi==0.70.1\nuvicorn==0.15.0\n",
        "main/app.py": "from fastapi import FastAPI\napp = FastAPI()\n",
        ".github/workflows/run_linters.yml": (
            "jobs:\n  build:\n    steps:\n      - name: Initialize python 3.10\n"
            "        uses: actions/setup-python@v1\n        with:\n          python-version: 3.10.4\n"
        ),
    }
    repo(tmp_path / "ci", files)
    assert make_plan(tmp_path / "ci", app_name="x").runtime_version == "3.10"
    docker = {k: v for k, v in files.items() if not k.startswith(".github")}
    repo(tmp_path / "docker", {**docker, "deploy/web.Dockerfile": "# base\nFROM python:3.10.4-slim\n"})
    plan = make_plan(tmp_path / "docker", app_name="x")
    assert (plan.runtime_version, plan.why("runtime_version").file) == ("3.10", "deploy/web.Dockerfile")
    matrix = '      - uses: actions/setup-python@v5\n        with:\n          python-version: ["3.9", "3.11"]\n'
    repo(tmp_path / "matrix", {**docker, ".github/workflows/test.yml": matrix})
    assert make_plan(tmp_path / "matrix", app_name="x").runtime_version == "3.11"


def test_an_app_whose_packages_nothing_installs_stops_at_plan_naming_them(tmp_path):
    # shreys7/django-todo: manage.py and a Django project, no requirements.txt; planned as gunicorn, its
    # rehearsal failed with "exec: gunicorn: not found" (2026-11-29)
    files = {
        "manage.py": "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'todoApp.settings')\n",
        "todoApp/__init__.py": "",
        "todoApp/settings.py": "ROOT_URLCONF = 'todoApp.urls'\n",
        "todoApp/wsgi.py": "from django.core.wsgi import get_wsgi_application\napplication = get_wsgi_application()\n",
        "todoApp/urls.py": "from django.urls import path\nurlpatterns = [path('', lambda r: None)]\n",
    }
    repo(tmp_path, files)
    with pytest.raises(PlanError, match=r"needs Django and gunicorn, which no requirements.txt.*lists"):
        make_plan(tmp_path, app_name="todo")
    # the user can say how to install them instead
    plan = plan_of(tmp_path, install_command="pip install Django==4.2.16 gunicorn==23.0.0")
    assert plan.start_command.startswith("gunicorn todoApp.wsgi:application")


@pytest.mark.parametrize(("setting", "warned"), [("ALLOWED_HOSTS = []", True), ('ALLOWED_HOSTS = ["*"]', False)])
def test_django_settings_that_refuse_the_load_balancers_health_checks_are_a_warning(tmp_path, setting, warned):
    # render-examples/django's mysite/settings.py: `ALLOWED_HOSTS = []`, then only RENDER_EXTERNAL_HOSTNAME
    # appended; rehearsed, the load balancer's checks (Host: <private ip>:8000) got 400 and it never turned healthy
    settings = f"{setting}\nRENDER_EXTERNAL_HOSTNAME = os.environ.get('RENDER_EXTERNAL_HOSTNAME')\n"
    settings += "if RENDER_EXTERNAL_HOSTNAME:\n    ALLOWED_HOSTS.append(RENDER_EXTERNAL_HOSTNAME)\n"
    repo(
        tmp_path,
        {
            "requirements.txt": "Django==5.1.4\ngunicorn==23.0.0\n",
            "manage.py": "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')\n",
            "mysite/settings.py": "import os\n" + settings,
            "mysite/wsgi.py": "from django.core.wsgi import get_wsgi_application\napplication = get_wsgi_application()",
        },
    )
    warnings = make_plan(tmp_path, app_name="site").warnings
    assert any("ALLOWED_HOSTS" in w and "mysite/settings.py:2" in w for w in warnings) is warned


def test_an_app_that_binds_beyond_localhost_only_on_some_platform_is_a_warning(tmp_path):
    # render-examples/fastify-hello-world's app.js, lines 1-2 and 12 as they are; rehearsed, the instance's
    # own check passed and the load balancer's failed (it listened on localhost only)
    app = (
        "const port = process.env.PORT || 3000;\n"
        'const host = ("RENDER" in process.env) ? `0.0.0.0` : `localhost`;\n'
        "const fastify = require('fastify')({ logger: true })\n"
        "fastify.get('/', function (request, reply) { reply.send('hi') })\n"
        "fastify.listen({host: host, port: port }, function (err, address) {})\n"
    )
    repo(
        tmp_path,
        {
            "package.json": json.dumps(
                {
                    "name": "x",
                    "main": "app.js",
                    "scripts": {"start": "node app.js"},
                    "dependencies": {"fastify": "^4.0.0"},
                }
            ),
            "app.js": app,
        },
    )
    warnings = make_plan(tmp_path, app_name="x").warnings
    assert any("binds 0.0.0.0 only when RENDER is set" in w and "(app.js:2)" in w for w in warnings)


def test_an_nx_node_app_runs_what_its_build_writes_with_prisma_generated(tmp_path):
    # gothinkster/node-express-realworld-example-app: `"start": "nx serve"` (a watching dev server),
    # project.json's build target writes dist/api from src/main.ts, Prisma's schema in src/prisma/.
    # Rehearsed as planned before, nx kept restarting a server that crashed with
    # '@prisma/client did not initialize yet. Please run "prisma generate"' and nothing answered.
    project = {
        "name": "api",
        "targets": {
            "build": {"executor": "@nx/esbuild:esbuild", "options": {"outputPath": "dist/api", "main": "src/main.ts"}},
            "serve": {"executor": "@nx/js:node", "options": {"buildTarget": "api:build"}},
        },
    }
    package = {
        "name": "api",
        "scripts": {"start": "nx serve", "build": "nx build", "test": "nx test"},
        "dependencies": {"@prisma/client": "^4.16.1", "express": "^4.18.2"},
        "devDependencies": {"nx": "17.0.0", "prisma": "^4.16.1"},
        "prisma": {"schema": "src/prisma/schema.prisma"},
    }
    repo(
        tmp_path,
        {
            "package.json": json.dumps(package),
            "package-lock.json": "{}",
            "project.json": json.dumps(project),
            "src/main.ts": "const PORT = process.env.PORT || 3000;\napp.listen(PORT, () => {});\n",
            "src/prisma/schema.prisma": 'datasource db {\n  provider = "postgresql"\n  url = env("DATABASE_URL")\n}\n',
        },
    )
    with pytest.raises(PlanError, match=r"without DATABASE_URL \(src/prisma/schema.prisma:3\)"):
        make_plan(tmp_path, app_name="api")
    plan = make_plan(tmp_path, app_name="api", secrets={"DATABASE_URL": "ssm:/api/database-url"})
    assert plan.start_command == "node dist/api/main.js"
    assert plan.build_command == "npx prisma generate --schema src/prisma/schema.prisma && npm run build"


NEEDED_AT_START = {
    # the rehearsal of each, before: "KeyError: 'DBUSER'"; "AttributeError: 'NoneType' object has no
    # attribute 'split'" (settings.py:29); create_engine(None) at app/db.py:19; int(os.getenv("REDIS_PORT"))
    "azure-samples-msdocs-flask-postgresql": {
        "DBUSER": "azureproject/development.py:4",
        "DBNAME": "azureproject/development.py:7",
    },
    # (its DJANGO_ALLOWED_HOSTS, read with no default too, HiveMind sets: see the next test)
    "testdrivenio-django-on-docker": {"SECRET_KEY": "hello_django/settings.py:23"},
    "testdrivenio-fastapi-crud-async": {"DATABASE_URL": "app/db.py:16"},
    # mongoose.connect(CONNECTION_STRING) -> MongooseError; Redis ECONNREFUSED 127.0.0.1:6379; zod's
    # "Some .env variables are invalid!"
    "koyeb-example-mern-application": {"CONNECTION_STRING": "app.js:8"},
    "fly-apps-node-dictaphone": {"REDIS_URL": "pubsub.js:3", "DATABASE_URL": "db.js:8"},
    "madanimatronic-simple-express-api-pg": {
        "APP_NAME": "src/config/env.ts:10",
        "JWT_ACCESS_SECRET": "src/config/env.ts:16",
        "POSTGRES_DB": "src/config/env.ts:29",
    },
    # TypeORM: "Unable to connect to the database ... ECONNREFUSED 127.0.0.1:3306" (its MongoModule,
    # configured the same way, is commented out of app.module.ts: not asked for)
    "chrisindark-nestjs-getting-started": {
        "MYSQL_DB_HOST": "src/utils/mysql/mysql.module.ts:17",
        "MYSQL_DB_DATABASE": "src/utils/mysql/mysql.module.ts:21",
    },
    "yanliu1111-fastapi-crud-app": {
        "DATABASE_URL": "src/config.py:10",
        "REDIS_PORT": "src/config.py:14",
        "DOMAIN": "src/config.py:30",  # the eleventh
    },
}


@pytest.mark.parametrize("name", sorted(NEEDED_AT_START))
def test_what_the_app_cannot_start_without_stops_the_plan_unless_the_request_gives_it(tmp_path, name):
    # real repositories (tests/fixtures/real/README.md), which were planned and then failed at start
    source = repo(tmp_path, real_files(name))
    with pytest.raises(PlanError, match="cannot work without") as stopped:
        make_plan(source, app_name="x")
    message = str(stopped.value)
    named = re.findall(r"\b([A-Z][A-Z0-9_]+)\b(?= \(|,|\))", message)
    assert not [n for n in named if n.startswith("MONGO_")]
    for variable, where in NEEDED_AT_START[name].items():
        # the first eight with where they are read, the rest by name
        assert f"{variable} ({where})" in message or (variable in named and named.index(variable) >= 8), variable
    # given them (one as a secret), the same repository plans
    plan = make_plan(source, app_name="x", environment=dict.fromkeys(named[1:], "v"), secrets={named[0]: "ssm:/x"})
    assert plan.language in ("python", "node")


@pytest.mark.parametrize(
    ("name", "environment"),
    [("koyeb-example-django", {}), ("testdrivenio-django-on-docker", {"SECRET_KEY": "s"})],
)
def test_the_variable_django_reads_its_allowed_hosts_from_lets_the_load_balancer_in(tmp_path, name, environment):
    # koyeb/example-django's rehearsal: the health checks answered 400 (DisallowedHost), its
    # ALLOWED_HOSTS = os.getenv("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
    source = repo(tmp_path, real_files(name))
    plan = make_plan(source, app_name="x", environment=environment)
    assert plan.environment["DJANGO_ALLOWED_HOSTS"] == "*"
    why = plan.why("environment.DJANGO_ALLOWED_HOSTS")
    assert why is not None and why.file.endswith("settings.py") and why.line == 29
    assert not any("ALLOWED_HOSTS" in w for w in plan.warnings)
    # the request's own value wins
    mine = make_plan(source, app_name="x", environment={**environment, "DJANGO_ALLOWED_HOSTS": "example.com"})
    assert mine.environment["DJANGO_ALLOWED_HOSTS"] == "example.com"
    assert mine.why("environment.DJANGO_ALLOWED_HOSTS") is None


def test_what_runs_only_in_a_branch_or_a_script_is_not_needed_at_start(tmp_path):
    # heroku/python-getting-started's settings read DATABASE_URL only `if IS_HEROKU_APP:`; a
    # seeding script (not imported by the app) reads MONGODB_URI; a value checked with `in os.environ`
    guarded = (
        'if IS_HEROKU_APP:\n    DATABASES = {\n        "default": dj_database_url.config(\n'
        '            env="DATABASE_URL",\n        ),\n    }\n'
    )
    repo(
        tmp_path,
        {
            "requirements.txt": "Flask==3.1.3\ngunicorn==23.0.0\ndj-database-url==2.3.0\n",
            "Procfile": "web: gunicorn app:app\n",
            "app.py": "import os\nfrom flask import Flask\nimport settings\napp = Flask(__name__)\n"
            "KEY = os.environ['KEY'] if 'KEY' in os.environ else 'dev'\n",
            # a default given when the variable is missing, then read
            "settings.py": guarded + "if 'SENTRY_DSN' not in os.environ:\n    os.environ['SENTRY_DSN'] = ''\n"
            "SENTRY_DSN = os.environ['SENTRY_DSN']\n",
            "db_seeds.py": "import os\nURI = os.environ['MONGODB_URI']\n",
        },
    )
    assert make_plan(tmp_path, app_name="x").start_command == "gunicorn app:app"


def test_a_node_read_with_a_fallback_an_optional_key_or_a_committed_env_is_not_needed(tmp_path):
    repo(
        tmp_path,
        {
            "package.json": '{"scripts": {"start": "node server.js"}, "dependencies": {"express": "4.21.2"}}',
            "server.js": "require('dotenv').config();\nconst mongoose = require('mongoose');\n"
            "mongoose.connect(process.env.MONGO_URI || 'mongodb://localhost/app');\n"
            "const redis = createClient({ url: process.env.REDIS_URL ?? undefined });\n"
            "const pool = new Pool({ connectionString: process.env.DATABASE_URL });\n"
            "const env = z.object({\n  NODE_ENV: z.string(),\n  SENTRY_DSN: z.string().optional(),\n"
            "  LOG_LEVEL: z\n    .string()\n    .default('info'),\n}).parse(process.env);\n"
            "require('http').createServer().listen(process.env.PORT || 3000);\n",
            ".env": "DATABASE_URL=postgres://localhost/app\n",
        },
    )
    assert make_plan(tmp_path, app_name="x").start_command == "npm start"


def test_a_django_too_old_for_any_installable_python_stops_at_plan(tmp_path):
    # jukanntenn/django-blog-tutorial pins Django==1.10.6 (README: "Django 1.10 和 Python 3.5") and
    # names no Python: it was planned on 3.12, where its Markdown==2.6.8 fails to build (`import imp`)
    source = repo(tmp_path, real_files("jukanntenn-django-blog-tutorial"))
    with pytest.raises(PlanError, match=r"Django 1\.10\.6 runs on Python 3\.5 at most.*\(requirements.txt:1\)"):
        make_plan(source, app_name="blog")
    (source / ".python-version").write_text("3.7\n")  # the owner's word wins: what stops it next is its
    with pytest.raises(PlanError, match=r"ALLOWED_HOSTS = \[\]\) never allows.*\(blogproject/settings.py:27\)"):
        make_plan(source, app_name="blog")  # ALLOWED_HOSTS = [], which refuses every health check


def test_a_django_project_migrates_before_it_starts_and_hosts_that_refuse_every_health_check_stop_the_plan(
    tmp_path,
):
    # fly-apps/django-dictaphone: its rehearsal answered 500 "no such table: clips_clip" (nothing
    # ran migrate); then, migrated, 400 to every health check: its ALLOWED_HOSTS is
    # [f'{os.environ.get("FLY_APP_NAME")}.fly.dev'] or [] (settings.py:36-39), names only, no variable
    # HiveMind can set to let the load balancer in
    source = repo(tmp_path, real_files("fly-apps-django-dictaphone"))
    detected = python.detect(SourceTree.scan(source))
    assert detected is not None
    assert (detected["release_command"].value, detected["release_command"].file) == (
        "python manage.py migrate --noinput",
        "manage.py",
    )
    assert detected["start_command"].value == "uvicorn dictaphone.asgi:application --host 0.0.0.0 --port $PORT"
    with pytest.raises(PlanError, match=r"ALLOWED_HOSTS .* never allows .*\(dictaphone/settings.py:36\)"):
        make_plan(source, app_name="x")


def test_hosts_computed_at_start_are_only_a_warning(tmp_path):
    # render-examples/django appends RENDER_EXTERNAL_HOSTNAME to ALLOWED_HOSTS = [] (mysite/settings.py:30-33):
    # what it holds is not known before it runs
    plan = make_plan(repo(tmp_path, real_files("render-examples-django")), app_name="x")
    assert any("ALLOWED_HOSTS" in w for w in plan.warnings)


def test_a_requirement_over_git_protocol_stops_at_plan_naming_the_line(tmp_path):
    # honnisha/sanic-sqlalchemy-example's backend/requirements.txt:16: its rehearsal failed at pip
    # ("git clone ... did not run successfully, exit code 128"): GitHub no longer serves git://
    source = repo(tmp_path, real_files("honnisha-sanic-sqlalchemy-example"))
    with pytest.raises(PlanError, match=r"over git://, which GitHub no longer serves.*\(requirements.txt:16\)"):
        make_plan(source, app_name="x")


def test_a_node_app_without_a_root_route_is_checked_on_a_route_it_has_or_warned_it_has_none(tmp_path):
    # koyeb/example-koa-prisma defines @koa/router GET /notes and /notes/:id and no /: Koa answers / with
    # 404, where the plan said "/" ("no route found in the code")
    koa = make_plan(
        repo(tmp_path / "koa", real_files("koyeb-example-koa-prisma")), app_name="x", secrets={"DATABASE_URL": "ssm:/x"}
    )
    assert (koa.health_path, koa.why("health_path").file, koa.why("health_path").line) == ("/notes", "src/index.js", 12)
    # li-kuan-gi/todo-list-express-api has no GET route at all (POST /signup, /login): its rehearsal with
    # the right port got 404 on / for 450 s, the app up. An answer below 500 is what shows it is up
    todo_source = repo(tmp_path / "todo", real_files("li-kuan-gi-todo-list-express-api"))
    todo = make_plan(todo_source, app_name="x", environment={"MONGODB_URI": "mongodb://db/todo"})
    why = todo.why("health_codes")
    assert (todo.health_path, todo.health_codes, why.file, why.line) == ("/", "200-499", "src/app.ts", 13)
    assert why.reason.startswith('the app defines no GET route (only app.post("/signup"')
    # a health path the request gives is checked with the usual statuses, unless it gives those too
    given = make_plan(
        todo_source, app_name="x", environment={"MONGODB_URI": "m"}, overrides=PlanOverrides(health_path="/signup")
    )
    assert (given.health_codes, given.why("health_codes")) == ("200-399", None)
    same = make_plan(
        todo_source, app_name="x", environment={"MONGODB_URI": "m"}, overrides=PlanOverrides(health_path="/")
    )
    assert same.health_codes == "200-499"  # the path detected, given again: its statuses stay
    both = PlanOverrides(health_path="/signup", health_codes="200,405")
    assert (
        make_plan(todo_source, app_name="x", environment={"MONGODB_URI": "m"}, overrides=both).health_codes == "200,405"
    )


def test_a_connection_opened_with_a_config_objects_property_names_the_variable_it_holds(tmp_path):
    # li-kuan-gi/todo-list-express-api: src/config.ts:2 `mongodbUri: process.env.MONGODB_URI`, and
    # src/mongodb-client.ts:9 `MongoClient.connect(config.mongodbUri as string)` on every request
    source = repo(tmp_path, real_files("li-kuan-gi-todo-list-express-api"))
    with pytest.raises(PlanError, match=r"cannot work without MONGODB_URI \(src/config.ts:2\)"):
        make_plan(source, app_name="x")


EXPRESS = '{"dependencies": {"express": "^4.21.2", "mongoose": "^8.0.0"}, "scripts": {"start": "node server.js"}}'
SERVER = 'const express = require("express")\nconst app = express()\n%s\napp.listen(process.env.PORT || 3000)\n'


@pytest.mark.parametrize(
    "files",
    [
        # a default where the connection is opened
        {
            "config.js": "module.exports = {\n  mongoUri: process.env.MONGO_URI,\n}\n",
            "server.js": SERVER
            % 'const config = require("./config")\nrequire("mongoose").connect(config.mongoUri || "mongodb://localhost/dev")',
        },
        # a property name two objects share, read with a default in one of them
        {
            "hooks.js": "exports.hooks = {\n  url: process.env.SLACK_WEBHOOK_URL,\n}\n",
            "db.js": 'exports.db = {\n  url: process.env.DATABASE_URL || "mongodb://localhost/x",\n}\n',
            "server.js": SERVER % 'const { db } = require("./db")\nrequire("mongoose").connect(db.url)',
        },
        # opened only when it is set
        {
            "config.js": "module.exports = {\n  redisUrl: process.env.REDIS_URL,\n}\n",
            "server.js": SERVER % 'const config = require("./config")\n'
            'if (config.redisUrl) { require("redis").createClient(config.redisUrl) }',
        },
        # a front end's variable, which its bundler inlines
        {
            "server.js": SERVER % "",
            "client/src/config.js": "export default {\n  apiUrl: process.env.REACT_APP_API_URL,\n}\n",
            "client/src/socket.js": 'import config from "./config"\nexport const socket = io.connect(config.apiUrl)\n',
        },
    ],
)
def test_a_config_property_is_not_required_where_it_has_a_default_is_ambiguous_or_optional(tmp_path, files):
    # (the reviewer's cases, written in the shapes real apps use: each stopped at Plan before 0d3bdb1)
    plan = make_plan(repo(tmp_path, {"package.json": EXPRESS, **files}), app_name="x")
    assert (plan.framework, plan.environment, plan.secrets) == ("express", {}, {})


def test_get_routes_the_plan_cannot_place_keep_the_usual_statuses_and_a_warning(tmp_path):
    # a router of another name mounted under a prefix: GET /users/me exists, / may 404
    routes = 'const users = express.Router()\nusers.get("/me", (q, r) => r.send("me"))\napp.use("/users", users)\n'
    server = SERVER % (routes + 'app.post("/login", (q, r) => r.send("x"))')
    plan = make_plan(repo(tmp_path, {"package.json": EXPRESS, "server.js": server}), app_name="x")
    assert plan.health_codes == "200-399"
    assert any(w.startswith("no GET route of the app is seen at / or at a health path") for w in plan.warnings)


def test_health_codes_are_checked_with_a_clear_error_and_the_default_leaves_the_digest_alone(tmp_path):
    with pytest.raises(ValidationError, match=r"codes or ranges from 200 to 499, comma-separated"):
        PlanOverrides(health_codes="200-599")
    assert PlanOverrides(health_codes=404).health_codes == "404"  # hivemind.toml's `health_codes = 404`
    plan = make_plan(repo(tmp_path, real_files("koyeb-example-django")), app_name="x")
    assert plan.model_copy(update={"health_codes": "200-399"}).digest() == plan.digest()
    assert plan.model_copy(update={"health_codes": "200-499"}).digest() != plan.digest()


def test_alembic_migrations_are_the_release_step_when_they_connect_where_the_deployment_says(tmp_path):
    # fastapi/full-stack-fastapi-template runs `alembic upgrade head` in its prestart script; its
    # app/alembic/env.py:67 sets sqlalchemy.url from the app's settings (DATABASE_URL)
    given = dict.fromkeys(
        ["SECRET_KEY", "PROJECT_NAME", "DATABASE_URL", "FIRST_SUPERUSER", "FIRST_SUPERUSER_PASSWORD"], "x"
    )
    full = make_plan(
        repo(tmp_path / "full", real_files("fastapi-full-stack-fastapi-template")), app_name="x", environment=given
    )
    why = full.why("release_command")
    assert (full.release_command, why.file, why.line) == ("python -m alembic upgrade head", "app/alembic/env.py", 67)
    # testdrivenio/fastapi-sqlmodel-alembic: env.py uses alembic.ini's URL, which names the compose
    # service `db`; given DATABASE_URL, its rehearsal answered /ping 200 and /songs 500 (no tables)
    fixed = make_plan(
        repo(tmp_path / "fixed", real_files("testdrivenio-fastapi-sqlmodel-alembic")),
        app_name="x",
        environment={"DATABASE_URL": "postgresql+asyncpg://u:p@h/db"},
    )
    assert fixed.release_command is None
    assert any("alembic.ini fixes their database (host db)" in w and "(alembic.ini:61)" in w for w in fixed.warnings)


def test_a_fastapi_route_under_nested_prefixes_and_an_aliased_router_is_found(tmp_path):
    # borys25ol/fastapi-todo-example-app: main/api/v1/routes/status.py:9 `@router.get("")` ("Health check
    # for API"), included with `include_router(router=status.router, prefix="/status")` by a router the
    # app imports `as api_router` and mounts at /api/v1; its FastAPI(**settings.fastapi_kwargs) serves
    # the docs at /, so the plan's /docs answered 404 for the whole boot window
    source = repo(tmp_path, real_files("borys25ol-fastapi-todo-example-app"))
    plan = make_plan(source, app_name="x", environment={"DATABASE_URL": "postgresql://h/db", "SECRET_KEY": "s"})
    why = plan.why("health_path")
    assert (plan.health_path, why.file, why.line) == ("/api/v1/status", "main/api/v1/routes/status.py", 9)
    # and its Alembic env.py sets the URL from the app's settings (main/db/migrations/env.py:12)
    assert (plan.release_command, plan.why("release_command").line) == ("python -m alembic upgrade head", 12)


def test_the_example_in_a_django_urls_docstring_is_not_a_route(tmp_path):
    # koyeb/example-django's urls.py is Django's generated one: its docstring shows
    # `path('', views.home, name='home')`, and the plan cited that line as the app's /
    plan = make_plan(repo(tmp_path, real_files("koyeb-example-django")), app_name="x")
    why = plan.why("health_path")
    assert (plan.health_path, why.file) == ("/", None) and why.reason == "no route found in the code"


def test_the_fixed_values_of_app_json_env_are_the_apps_environment(tmp_path):
    # jelmerdejong/flask-app-blueprint's app.json sets APP_SETTINGS=config.ProductionConfig (Heroku
    # sets it on creating the app); without it the app ran config.DevelopmentConfig, DEBUG on.
    # Its SECRET_KEY is `generator: secret`: not a value to plan (config.py falls back to one)
    source = repo(tmp_path, real_files("jelmerdejong-flask-app-blueprint"))
    plan = make_plan(source, app_name="x")
    assert plan.environment == {"APP_SETTINGS": "config.ProductionConfig"}
    why = plan.why("environment.APP_SETTINGS")
    assert (why.file, why.line) == ("app.json", 11)
    assert make_plan(source, app_name="x", environment={"APP_SETTINGS": "config.Mine"}).environment == {
        "APP_SETTINGS": "config.Mine"
    }


def test_a_front_end_whose_build_another_folder_serves_is_not_deployed_alone_unasked(tmp_path):
    # miguelgrinberg/react-flask-app: its api/api.py is Flask with static_folder='../build' (Dockerfile.combo
    # builds the React app and runs gunicorn there). Planned as the front end alone, its rehearsal served /
    # while /api/time answered index.html: half the app, silently
    source = repo(tmp_path, real_files("miguelgrinberg-react-flask-app"))
    with pytest.raises(PlanError, match=r"the app in api/ serves the build of the app at the root \(api/api.py:4"):
        make_plan(source, app_name="x")
    assert make_plan(source, app_name="x", overrides=PlanOverrides(subdir=".")).language == "static"


def test_an_asgi_only_django_project_runs_under_an_asgi_server(tmp_path):
    # fly-apps/django-dictaphone: dictaphone/asgi.py (Channels' ProtocolTypeRouter) and no wsgi.py; it was
    # planned as `manage.py runserver`, Django's development server
    repo(
        tmp_path,
        {
            "requirements.txt": "Django==5.1.1\nchannels==4.1.0\n",
            "manage.py": "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'dictaphone.settings')\n",
            "dictaphone/__init__.py": "",
            "dictaphone/settings.py": "ROOT_URLCONF = 'dictaphone.urls'\nALLOWED_HOSTS = ['*']\n",
            "dictaphone/asgi.py": "from channels.routing import ProtocolTypeRouter\n"
            "from django.core.asgi import get_asgi_application\n"
            "application = ProtocolTypeRouter({'http': get_asgi_application()})\n",
        },
    )
    plan = make_plan(tmp_path, app_name="dictaphone")
    assert plan.start_command == "uvicorn dictaphone.asgi:application --host 0.0.0.0 --port $PORT"
    assert plan.install_command == "pip install -r requirements.txt && pip install uvicorn"
