"""Each language's runtime on Amazon Linux 2023: the commands (run as root, before the build)
that install the plan's runtime version, the PATH entries and environment the app then gets.

One function a language in RUNTIMES; a plan whose language has none is a PlanError.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable

from hivemind.errors import PlanError
from hivemind.models import DeploymentPlan
from hivemind.planning import docker as docker_plan
from hivemind.planning import node as node_plan
from hivemind.planning import php as php_plan
from hivemind.planning import static as static_plan
from hivemind.templating import php_fpm
from hivemind.templating.nginx import PHP_STATE_DIR, nginx_config, php_nginx_config
from hivemind.templating.nginx import STATE_DIR as NGINX_STATE_DIR
from hivemind.templating.shell import APP_DIR, app_dir, literal, write_file

# When Amazon Linux 2023 does not package the version a plan names, the instance installs that exact
# version from its makers instead of falling back to another one: Python from python-build-standalone
# through uv (pinned; uv checks each download's SHA-256), Node from nodejs.org (checked against its
# SHASUMS256.txt).
UV_VERSION = "0.13.8"
PYTHON_HOME = "/opt/hivemind/python"
NODE_HOME = "/opt/hivemind/node"


def _python(plan: DeploymentPlan) -> tuple[str, list[str]]:
    version = plan.runtime_version
    series = ".".join(version.split(".")[:2])
    python = f"python{series}"
    install = "\n".join(
        [
            f"if dnf install -y {python} {python}-pip; then PYTHON=$(command -v {python}); else",
            # not packaged for AL2023 (3.10, 3.14, ...): that exact series, never the system's 3.9
            "  dnf install -y python3-pip",
            f"  python3 -m pip install --quiet uv=={UV_VERSION}",
            f"  UV_PYTHON_INSTALL_DIR={PYTHON_HOME} python3 -m uv python install {series}",
            f"  PYTHON=$(UV_PYTHON_INSTALL_DIR={PYTHON_HOME} python3 -m uv python find --managed-python {series})",
            "fi",
            f'"$PYTHON" -c "import sys; assert sys.version.startswith(\'{series}.\'), sys.version"',
            f'"$PYTHON" -m venv {APP_DIR}/.venv',
        ]
    )
    return install, [f"{APP_DIR}/.venv/bin"]


def _node(plan: DeploymentPlan) -> tuple[str, list[str]]:
    major = plan.runtime_version.split(".")[0]
    install = "\n".join(
        [
            f"if dnf install -y nodejs{major} nodejs{major}-npm; then",
            f"  alternatives --set node /usr/bin/node-{major} 2>/dev/null || true",
            f"  alternatives --set npm /usr/bin/npm-{major} 2>/dev/null || true",
            "else",  # not packaged for AL2023 (16, 23, ...): that major from nodejs.org, never another
            "  arch=$(uname -m | sed 's/x86_64/x64/; s/aarch64/arm64/')",
            f"  base=https://nodejs.org/dist/latest-v{major}.x",
            f"  mkdir -p {NODE_HOME} /tmp/node-dist && cd /tmp/node-dist",
            '  curl -fsSLO "$base/SHASUMS256.txt"',
            '  tarball=$(grep -o "node-v[0-9.]*-linux-$arch.tar.xz" SHASUMS256.txt | head -n 1)',
            '  curl -fsSLO "$base/$tarball"',
            '  grep " $tarball\\$" SHASUMS256.txt | sha256sum -c -',
            f'  tar -xJf "$tarball" -C {NODE_HOME} --strip-components=1',
            f"  ln -sf {NODE_HOME}/bin/node {NODE_HOME}/bin/npm {NODE_HOME}/bin/npx {NODE_HOME}/bin/corepack /usr/bin/",
            "  cd /",
            "fi",
            f'node --version | grep -q "^v{major}\\."',
            "corepack enable 2>/dev/null || true",
        ]
    )
    return install, []


RUBY_HOME = "/opt/hivemind/ruby"
# Gems with native extensions that link a system library, and the -devel package each needs.
RUBY_GEM_LIBRARIES = {"pg": "libpq-devel", "mysql2": "mariadb-connector-c-devel", "sqlite3": "sqlite-devel"}


def _ruby(plan: DeploymentPlan) -> tuple[str, list[str]]:
    """AL2023's ruby{X.Y} when it is that series (and the exact patch, when the plan names one);
    otherwise that Ruby compiled by ruby-build, which checks each tarball's SHA-256.
    Either way its tools are linked into one folder on the app's PATH."""
    version = plan.runtime_version.strip()
    series = ".".join(version.split(".")[:2])
    exact = version if version.count(".") >= 2 else ""
    app = literal(app_dir(plan.subdir))
    libraries = " ".join(
        f"if grep -qE '^    {gem} \\(' {app}/Gemfile.lock 2>/dev/null; then dnf install -y {package}; fi;"
        for gem, package in RUBY_GEM_LIBRARIES.items()
    )
    install = "\n".join(
        [
            "dnf install -y gcc gcc-c++ make patch git tar libyaml-devel libffi-devel openssl-devel zlib-devel",
            libraries,
            f"mkdir -p {RUBY_HOME}/bin",
            "PACKAGED=",
            f"if dnf install -y ruby{series} ruby{series}-devel ruby{series}-rubygems ruby{series}-rubygem-bundler;"
            f" then PACKAGED=$(ruby{series} -e 'print RUBY_VERSION' 2>/dev/null || true); fi",
            f'if [ -n "$PACKAGED" ] && {{ [ -z {shlex.quote(exact)} ] || [ "$PACKAGED" = {shlex.quote(exact)} ]; }};'
            " then",
            "  for tool in ruby gem bundle bundler rake erb irb; do",
            f'    for candidate in /usr/bin/"$tool"{series} /usr/bin/ruby{series}-"$tool" /usr/bin/"$tool"; do',
            f'      if [ -x "$candidate" ]; then ln -sf "$candidate" {RUBY_HOME}/bin/"$tool"; break; fi',
            "    done",
            "  done",
            "else",
            f'  echo "Ruby {version} is not packaged for Amazon Linux 2023 (have: $PACKAGED); compiling it"',
            "  dnf install -y bzip2 readline-devel gdbm-devel ncurses-devel perl",
            "  rm -rf /tmp/ruby-build && git clone --depth 1 https://github.com/rbenv/ruby-build.git /tmp/ruby-build",
            f"  TARGET={shlex.quote(exact)}",
            # --definitions knows every release (--list only the maintained ones): the newest patch
            f'  if [ -z "$TARGET" ]; then TARGET=$(/tmp/ruby-build/bin/ruby-build --definitions'
            f" | grep -E '^{re.escape(series)}\\.[0-9]+$' | sort -V | tail -n 1 || true); fi",
            f'  if [ -z "$TARGET" ]; then echo "ruby-build knows no Ruby {series}.x"; exit 1; fi',
            f"  MAKE_OPTS=-j$(nproc) RUBY_CONFIGURE_OPTS=--disable-install-doc"
            f' /tmp/ruby-build/bin/ruby-build "$TARGET" {RUBY_HOME}',
            "fi",
            f"{RUBY_HOME}/bin/ruby --version",
            # jsbundling/cssbundling apps build their assets with Node during assets:precompile
            f"if [ -f {app}/package.json ]; then dnf install -y nodejs npm; corepack enable 2>/dev/null || true; fi",
        ]
    )
    return install, [f"{RUBY_HOME}/bin"]


PHP_BIN = "/opt/hivemind/php/bin"
PHP_CORE = ("cli", "fpm", "common", "mbstring", "xml", "pdo", "opcache")
PHP_SERIES = ("8.4", "8.3", "8.2")
# Extensions most apps use; each is installed when AL2023 packages it for this PHP, skipped otherwise.
PHP_USUAL = ("intl", "bcmath", "gd", "mysqlnd", "pgsql", "sodium", "zip", "process")


def _php(plan: DeploymentPlan) -> tuple[str, list[str]]:
    """AL2023's php{X.Y}-cli, -fpm and extensions (the newest packaged PHP when that series is not),
    the extensions composer.json requires, Composer checked against its published SHA-384, and nginx
    with the configs and supervisor (php_fpm.py) that the plan's start command runs as the app user.

    A start command of the app's own (a Procfile's, hivemind.toml's) leaves them unused."""
    served = php_plan.served(plan.start_command) or ("public", "index.php")
    series = ".".join(plan.runtime_version.strip().split(".")[:2])
    app = literal(app_dir(plan.subdir))
    # the plan's series first; when AL2023 does not package it, the newest series it does
    candidates = " ".join(dict.fromkeys((series, *PHP_SERIES)))
    core = " ".join(f'"$PHPPKG-{part}"' for part in PHP_CORE)
    install = "\n".join(
        [
            "PHPPKG=",
            f"for candidate in {candidates}; do",
            f"  if dnf install -y {core.replace('$PHPPKG', 'php$candidate')}; then PHPPKG=php$candidate; break; fi",
            '  echo "PHP $candidate is not packaged for Amazon Linux 2023"',
            "done",
            'if [ -z "$PHPPKG" ]; then echo "no PHP package could be installed"; exit 1; fi',
            f"EXTS='{' '.join(PHP_USUAL)}'",
            # composer.json/composer.lock name the extensions the app needs as "ext-<name>"
            f"for name in $(grep -ohE '\"ext-[a-z0-9_]+\"' {app}/composer.json {app}/composer.lock 2>/dev/null"
            " | tr -d '\"' | sed 's/^ext-//' | sort -u); do",
            "  case $name in pdo_mysql|mysqli) name=mysqlnd ;; pdo_pgsql) name=pgsql ;;"
            " dom|simplexml|xmlreader|xmlwriter|xsl) name=xml ;; pcntl|posix|sysvsem|shmop) name=process ;; esac",
            '  EXTS="$EXTS $name"',
            "done",
            "for name in $(echo $EXTS | tr ' ' '\\n' | sort -u); do",
            '  if rpm -q "$PHPPKG-$name" >/dev/null 2>&1 || php -m | grep -qix "$name"; then continue; fi',
            '  dnf install -y "$PHPPKG-$name" || echo "no package for the PHP extension $name"',
            "done",
            f"mkdir -p {PHP_BIN}",
            "EXPECTED=$(curl -fsSL https://composer.github.io/installer.sig)",
            "curl -fsSL -o /tmp/composer-setup.php https://getcomposer.org/installer",
            "ACTUAL=$(sha384sum /tmp/composer-setup.php | cut -d ' ' -f 1)",
            'if [ "$EXPECTED" != "$ACTUAL" ]; then echo "Composer installer: bad checksum"; exit 1; fi',
            f"php /tmp/composer-setup.php --quiet --install-dir={PHP_BIN} --filename=composer",
            "rm -f /tmp/composer-setup.php",
            # nginx and php-fpm run as the app user, from the service: the packages' own daemons stay off
            "dnf install -y nginx",
            f"mkdir -p {NGINX_STATE_DIR.rsplit('/', 1)[0]}",
            f"install -d -o app -g app -m 0750 {NGINX_STATE_DIR} {PHP_STATE_DIR}",
            # nginx reopens /dev/stdout for its access log: the service's log file must be the app user's
            "touch /var/log/hivemind/app.log",
            write_file(static_plan.NGINX_CONF, php_nginx_config(plan.port, *served)),
            write_file(php_fpm.FPM_CONF, php_fpm.fpm_config()),
            write_file(php_plan.SERVE, php_fpm.supervisor(), "0755"),
            f"if [ -f {app}/package.json ]; then dnf install -y nodejs npm; fi",
        ]
    )
    return install, [PHP_BIN]


GO_ROOT = "/usr/local/go"
# The go command's own defaults, which AL2023's Fedora-style go.env changes (GOPROXY=direct,
# GOSUMDB=off, GOTOOLCHAIN=local); the module and build caches live outside the app's folder.
GO_ENV = {
    "GOPATH": "/var/lib/hivemind/go",
    "GOCACHE": "/var/cache/hivemind/go-build",
    "GOPROXY": "https://proxy.golang.org,direct",
    "GOSUMDB": "sum.golang.org",
    "GOTOOLCHAIN": "auto",
}
_GO_VERSION = re.compile(r"^1\.(\d+)(?:\.\d+)?$")


def _go(plan: DeploymentPlan) -> tuple[str, list[str]]:
    """AL2023's golang; when it is older than the plan's Go, that release from go.dev instead."""
    lines = [
        "dnf install -y git tar",
        "dnf install -y golang || echo 'no packaged Go'",
        f"install -d -o app -g app {GO_ENV['GOPATH']} {GO_ENV['GOCACHE']}",
    ]
    wanted = plan.runtime_version.strip()
    match = _GO_VERSION.match(wanted)
    if match:
        # releases from Go 1.21 on are named go1.N.0; before, go1.N
        release = wanted if wanted.count(".") == 2 or int(match.group(1)) < 21 else f"{wanted}.0"
        lines += [
            "GO_HAVE=$(go env GOVERSION 2>/dev/null | sed 's/^go//' || true)",
            f'if [ -z "$GO_HAVE" ] || [ "$(printf \'%s\\n\' {wanted} "$GO_HAVE" | sort -V | head -n 1)" != {wanted} ];'
            " then",
            f'  echo "Go {wanted} is newer than the packaged Go ($GO_HAVE); installing go{release} from go.dev"',
            "  GO_ARCH=$(uname -m | sed 's/x86_64/amd64/;s/aarch64/arm64/')",
            f"  curl -fsSL -o /tmp/go.tar.gz https://go.dev/dl/go{release}.linux-$GO_ARCH.tar.gz",
            f"  rm -rf {GO_ROOT} && tar -C /usr/local -xzf /tmp/go.tar.gz && rm -f /tmp/go.tar.gz",
            "fi",
        ]
    return "\n".join(lines), [f"{GO_ROOT}/bin"]


JAVA_HOME = "/opt/hivemind/jdk"
GRADLE_VERSION = "8.10.2"
GRADLE_HOME = "/opt/hivemind/gradle"


def _java(plan: DeploymentPlan) -> tuple[str, list[str]]:
    """Corretto {N} from AL2023 (else from Corretto's own repository, else Corretto 21), linked at
    JAVA_HOME; Maven or Gradle only when the build calls them and not their wrappers."""
    digits = re.findall(r"\d+", plan.runtime_version)
    major = (digits[1] if digits[0] == "1" and len(digits) > 1 else digits[0]) if digits else "21"
    jdk = "java-1.8.0-amazon-corretto-devel" if major == "8" else f"java-{major}-amazon-corretto-devel"
    lines = [
        f"dnf install -y {jdk} || {{ rpm --import https://yum.corretto.aws/corretto.key"
        " && curl -fsSL -o /etc/yum.repos.d/corretto.repo https://yum.corretto.aws/corretto.repo"
        f" && dnf install -y {jdk}; }} || dnf install -y java-21-amazon-corretto-devel",
    ]
    commands = " ".join(c for c in (plan.install_command, plan.build_command) if c)
    if re.search(r"(?:^|[\s;&|(])mvn\s", commands):
        lines.append(f"dnf install -y maven-amazon-corretto{major} || dnf install -y maven")
    path = [f"{JAVA_HOME}/bin"]
    if re.search(r"(?:^|[\s;&|(])gradle\s", commands):
        lines += [
            f"curl -fsSL -o /tmp/gradle.zip https://services.gradle.org/distributions/gradle-{GRADLE_VERSION}-bin.zip",
            f"rm -rf {GRADLE_HOME} && unzip -q /tmp/gradle.zip -d /tmp/gradle"
            f" && mv /tmp/gradle/gradle-{GRADLE_VERSION} {GRADLE_HOME} && rm -rf /tmp/gradle /tmp/gradle.zip",
        ]
        path.append(f"{GRADLE_HOME}/bin")
    # the JDK the plan asked for, even when a Maven package pulled in another one as well
    lines += [
        f"JAVAC=$(rpm -ql {jdk} 2>/dev/null | grep '/bin/javac$' | head -n 1 || true)",
        'if [ -z "$JAVAC" ]; then JAVAC=$(readlink -f "$(command -v javac)"); fi',
        f'ln -sfn "$(dirname "$(dirname "$JAVAC")")" {JAVA_HOME}',
        f"{JAVA_HOME}/bin/java -version",
    ]
    return "\n".join(lines), path


# Environment variables a runtime needs at build and run time; the plan's environment wins over them.
RUNTIME_ENV: dict[str, dict[str, str]] = {
    "go": GO_ENV,
    "java": {"JAVA_HOME": JAVA_HOME},
    # what Heroku and Elastic Beanstalk set: frameworks read these to run in production mode
    "ruby": {"RAILS_ENV": "production", "RACK_ENV": "production"},
}
# Minutes an instance may take from boot to a healthy app (the CreationPolicy's timeout): a JVM
# build, a Ruby compiled from source or a Docker image build take longer than the rest.
BOOT_MINUTES: dict[str, int] = {"java": 30, "ruby": 30, "docker": 30}
DEFAULT_BOOT_MINUTES = 15


def boot_timeout(plan: DeploymentPlan) -> str:
    """The instance's signal timeout for this plan, as an ISO 8601 duration."""
    return f"PT{BOOT_MINUTES.get(plan.language, DEFAULT_BOOT_MINUTES)}M"


def _static(plan: DeploymentPlan) -> tuple[str, list[str]]:
    """nginx from AL2023 with HiveMind's config (templating/nginx.py), a folder the app user owns
    for its pid and temp files, and Node when the site has an install or build step."""
    lines = [
        "dnf install -y nginx",
        f"mkdir -p {NGINX_STATE_DIR.rsplit('/', 1)[0]}",
        f"install -d -o app -g app -m 0750 {NGINX_STATE_DIR}",
        # nginx reopens /dev/stdout for its access log: the service's log file must be the app user's
        # (the chown below), not created by systemd as root's
        "touch /var/log/hivemind/app.log",
        write_file(static_plan.NGINX_CONF, nginx_config(plan)),
    ]
    if plan.install_command or plan.build_command:
        major = plan.runtime_version if plan.runtime_version[:1].isdigit() else node_plan.DEFAULT_VERSION
        lines.append(_node(plan.model_copy(update={"runtime_version": major}))[0])
    return "\n".join(lines), []


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _docker(plan: DeploymentPlan) -> tuple[str, list[str]]:
    """Docker from AL2023, the app user in its group (to build and run the image), the names of the
    variables the container gets, and a drop-in that orders the service after Docker and clears a
    container left behind by a crash before each start.

    The env file holds names only: `docker run --env-file` then takes each value from its own
    environment (start.sh's, which sourced app.env.sh and read the secrets), byte for byte, so no
    value is ever parsed as a line of the file."""
    names = {*plan.environment, *plan.secrets, "AWS_DEFAULT_REGION", *([plan.port_env] if plan.port_env else [])}
    dropin = [
        "[Unit]",
        "After=docker.service",
        "Requires=docker.service",
        "[Service]",
        "SupplementaryGroups=docker",
        f"ExecStartPre=-/usr/bin/docker rm -f {docker_plan.CONTAINER}",
        f"ExecStop=/usr/bin/docker stop {docker_plan.CONTAINER}",
    ]
    install = [
        "dnf install -y docker",
        "systemctl enable --now docker",
        "usermod -aG docker app",
        write_file(docker_plan.ENV_FILE, sorted(n for n in names if _ENV_NAME.match(n))),
        "mkdir -p /etc/systemd/system/hivemind-app.service.d",
        write_file("/etc/systemd/system/hivemind-app.service.d/docker.conf", dropin),
    ]
    return "\n".join(install), []


# language -> (install commands run as root, PATH entries for the app); one function a language.
RUNTIMES: dict[str, Callable[[DeploymentPlan], tuple[str, list[str]]]] = {
    "python": _python,
    "node": _node,
    "docker": _docker,
    "static": _static,
    "ruby": _ruby,
    "php": _php,
    "go": _go,
    "java": _java,
}


def runtime(plan: DeploymentPlan) -> tuple[str, list[str]]:
    installer = RUNTIMES.get(plan.language)
    if installer is None:
        known = ", ".join(sorted(RUNTIMES))
        raise PlanError(f"HiveMind cannot run language {plan.language!r} on an instance; it runs {known}")
    return installer(plan)
