"""Ruby and PHP: what the fixture corpus cannot express — the user data each plan produces,
Composer's version constraints, and how each language wins over the other detectors."""

import subprocess
from pathlib import Path

import pytest

from hivemind.models import PlanOverrides
from hivemind.planning import make_plan
from hivemind.planning.php import satisfies
from tests.fixtures.corpus import php, ruby
from tests.fixtures.userdata import raw_user_data


def _plan(tmp_path: Path, repo, **overrides):
    return make_plan(
        repo.write(tmp_path), app_name="app", overrides=PlanOverrides(**overrides), source_bundle="s3://b/k.zip"
    )


def _user_data(plan) -> str:
    return raw_user_data(plan)


def _as_bash(script: str) -> str:
    """The script as the instance runs it: Fn::Sub turns `${!x}` into `${x}` (references are left as they are)."""
    return script.replace("${!", "${")


@pytest.mark.parametrize("name", sorted(ruby.REPOS))
def test_ruby_user_data_is_valid_bash_and_installs_the_planned_ruby(tmp_path, name):
    plan = _plan(tmp_path, ruby.REPOS[name])
    script = _user_data(plan)
    assert subprocess.run(["bash", "-n"], input=_as_bash(script), text=True, capture_output=True).returncode == 0
    series = ".".join(plan.runtime_version.split(".")[:2])
    assert (
        f"dnf install -y ruby{series} ruby{series}-devel ruby{series}-rubygems ruby{series}-rubygem-bundler" in script
    )
    assert "gcc" in script and "make" in script, "native gems need a compiler"
    assert "export PATH=/opt/hivemind/ruby/bin:$PATH" in script
    assert f"exec {plan.start_command}" in _start_script(script)


def test_an_exact_ruby_is_compiled_when_the_package_is_another_patch(tmp_path):
    plan = _plan(tmp_path, ruby.REPOS["rails-71-up-no-root"])
    script = _user_data(plan)
    assert plan.runtime_version == "3.2.2"
    assert '[ "$PACKAGED" = 3.2.2 ]' in script
    assert 'ruby-build "$TARGET" /opt/hivemind/ruby' in script and "TARGET=3.2.2" in script
    assert "dnf install -y libpq-devel" in script, "the pg gem links libpq"


@pytest.mark.parametrize(
    ("definitions", "outcome"), [("2.7.7\n2.7.10\n2.7.8\n3.1.4\n", "built 2.7.10"), ("3.1.4\n", "no")]
)
def test_an_unpackaged_ruby_series_is_compiled_at_its_newest_patch(tmp_path, definitions, outcome):
    # Given a Ruby 2.7 app (AL2023 packages 3.2 and 3.4 only), and fakes for dnf, git and ruby-build
    plan = _plan(tmp_path / "repo", ruby.REPOS["rack-config-ru"], runtime_version="2.7")
    script = _as_bash(_user_data(plan))
    snippet = script[script.index("PACKAGED=\n") : script.index("/opt/hivemind/ruby/bin/ruby --version")]
    fake, build = tmp_path / "bin", tmp_path / "ruby-build"
    fake.mkdir()
    tools = {
        "dnf": 'case "$*" in *ruby2.7*) exit 1 ;; esac',
        "git": f"mkdir -p {build}/bin && cp {fake}/ruby-build.fake {build}/bin/ruby-build",
        "nproc": "echo 2",
        "ruby-build.fake": f'if [ "$1" = --definitions ]; then printf {definitions!r}; '
        'else echo "built $1 into $2"; fi',
    }
    for name, body in tools.items():
        (fake / name).write_text(f"#!/bin/bash\n{body}\n")
        (fake / name).chmod(0o755)
    snippet = snippet.replace("/tmp/ruby-build", str(build)).replace("mkdir -p /opt/hivemind/ruby/bin", ":")
    # When the install runs
    ran = subprocess.run(
        ["bash", "-c", f"set -euo pipefail\nexport PATH={fake}:$PATH\n{snippet}"], text=True, capture_output=True
    )
    # Then the newest 2.7 patch is built, or the script says there is none
    if outcome == "no":
        assert ran.returncode == 1 and "ruby-build knows no Ruby 2.7.x" in ran.stdout
    else:
        assert ran.returncode == 0, ran.stderr
        assert "built 2.7.10 into /opt/hivemind/ruby" in ran.stdout


@pytest.mark.parametrize("name", sorted(php.REPOS))
def test_php_user_data_is_valid_bash_and_installs_php_fpm_and_a_verified_composer(tmp_path, name):
    plan = _plan(tmp_path, php.REPOS[name])
    script = _user_data(plan)
    assert subprocess.run(["bash", "-n"], input=_as_bash(script), text=True, capture_output=True).returncode == 0
    assert f"for candidate in {plan.runtime_version} " in script
    for part in ("cli", "fpm", "common", "mbstring", "xml", "pdo", "opcache"):
        assert f'"php$candidate-{part}"' in script
    assert "https://composer.github.io/installer.sig" in script and "sha384sum" in script
    assert script.index("sha384sum") < script.index("php /tmp/composer-setup.php")
    assert "export PATH=/opt/hivemind/php/bin:$PATH" in script


def test_the_php_fallback_loop_picks_the_first_series_dnf_has(tmp_path):
    # Given the install snippet, with a fake dnf that only knows PHP 8.3
    plan = _plan(tmp_path / "repo", php.REPOS["php-old-constraint"])
    assert plan.runtime_version == "7.4"
    snippet = _as_bash(_user_data(plan))
    start = snippet.index("PHPPKG=\n")
    end = snippet.index("EXTS=")
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "dnf").write_text('#!/bin/bash\nfor p in "${@:3}"; do case $p in php8.3-*) ;; *) exit 1 ;; esac; done\n')
    (fake / "dnf").chmod(0o755)
    # When it runs
    result = subprocess.run(
        ["bash", "-c", f"set -euo pipefail\nexport PATH={fake}:$PATH\n{snippet[start:end]}echo chose=$PHPPKG"],
        text=True,
        capture_output=True,
    )
    # Then it skipped 7.4 and 8.4 and installed 8.3
    assert result.returncode == 0, result.stderr
    assert "PHP 7.4 is not packaged" in result.stdout and result.stdout.strip().endswith("chose=php8.3")


@pytest.mark.parametrize(
    ("constraint", "version", "expected"),
    [
        ("^8.2", (8, 2), True),
        ("^8.2", (8, 1), False),
        ("^8.2", (9, 0), False),
        (">=8.1 <8.4", (8, 3), True),
        (">=8.1 <8.4", (8, 4), False),
        ("~8.2.0", (8, 3), False),
        ("~8.2", (8, 4), True),
        ("8.3.*", (8, 3), True),
        ("8.3.*", (8, 2), False),
        ("^7.4 || ^8.0", (8, 2), True),
        ("^7.4|^8.1", (7, 4), True),
        ("~7.4.0", (8, 2), False),
    ],
)
def test_composer_constraints(constraint, version, expected):
    assert satisfies(version, constraint) is expected


def test_rails_with_a_package_json_is_still_rails(tmp_path):
    # a jsbundling Rails app also has a package.json: Node must not win the chooser
    files = dict(ruby.REPOS["rails-71-up-no-root"].files)
    files["package.json"] = '{"name": "app", "private": true, "scripts": {"build": "esbuild app/javascript/*.*"}}'
    plan = _plan(tmp_path, type(ruby.REPOS["rails-71-up-no-root"])(files, {}))
    assert (plan.language, plan.framework) == ("ruby", "rails")
    assert "nodejs" in _user_data(plan), "assets:precompile runs the package.json build with Node"


def test_a_procfile_start_wins_and_keeps_rails_detection(tmp_path):
    files = dict(ruby.REPOS["rails-api-mac-lockfile"].files)
    files["Procfile"] = "web: bundle exec puma -C config/puma.rb\nworker: bundle exec sidekiq\n"
    plan = _plan(tmp_path, type(ruby.REPOS["rails-api-mac-lockfile"])(files, {}))
    assert (plan.language, plan.start_command) == ("ruby", "bundle exec puma -C config/puma.rb")


def _start_script(script: str) -> str:
    lines = script.splitlines()
    end = next(i for i, line in enumerate(lines) if line.endswith("> /opt/hivemind/start.sh"))
    return _as_bash("\n".join(lines[max(0, end - 5) : end + 1])).replace("'\\''", "'")
