"""The app server's user data: a bash script, used as the text of an `Fn::Sub`.

User-controlled values (environment, commands, paths) only ever appear as data (shell.py):
each is shell-quoted, written to a file with `printf '%s\\n'`, and its `${` escaped as `${!` so
that `Fn::Sub` leaves it alone. The script's own `${...}` are CloudFormation references
(`AWS::StackName`, `AWS::Region`, the release's `SourceBucket<R>`/`SourceKey<R>` parameters, the log
group), where `<R>` names the release (templating/releases.py) whose instance runs the script.
The runtime each language needs comes from runtimes.py.
"""

from __future__ import annotations

import re
import shlex

from hivemind.errors import PlanError
from hivemind.models import DeploymentPlan
from hivemind.templating.runtimes import RUNTIME_ENV, runtime
from hivemind.templating.shell import APP_DIR, app_dir, exec_last, literal, write_file

HEALTH_TRIES, HEALTH_SLEEP_S = 90, 5
# EC2 takes 16 KiB of user data; CloudFormation substitutes the stack name, region, buckets and
# keys into the script, so HiveMind keeps 1 KiB for them.
MAX_USER_DATA_BYTES = 15 * 1024
FAILURE_LINES, FAILURE_LINE_CHARS = 60, 400  # of each log, in the failure log the Medic reads


def case_patterns(codes: str) -> str:
    """A matcher ("200-399", "200,302") as the patterns of a bash `case` ("2??|3??", "200|302")."""
    wanted = {status for part in codes.split(",") for status in range(int(part[:3]), int(part.rpartition("-")[2]) + 1)}
    patterns = []
    for hundred in sorted({s // 100 for s in wanted}):
        if all(hundred * 100 + n in wanted for n in range(100)):
            patterns.append(f"{hundred}??")
            continue
        for ten in range(hundred * 10, hundred * 10 + 10):
            if all(ten * 10 + n in wanted for n in range(10)):
                patterns.append(f"{ten}?")
            else:
                patterns += [str(s) for s in range(ten * 10, ten * 10 + 10) if s in wanted]
    return "|".join(patterns)


def _secret_exports(plan: DeploymentPlan, refs: dict[str, str] | None = None) -> list[str]:
    """start.sh lines that read each secret when the app starts (so a restart picks up rotation);
    with `refs`, those references instead (app.env.sh: the environment kept in SSM)."""
    lines = []
    for name, ref in sorted((plan.secrets if refs is None else refs).items()):
        kind, _, target = ref.partition(":")
        if kind == "ssm":
            read = f"aws ssm get-parameter --with-decryption --name {shlex.quote(target)} --query Parameter.Value"
        else:
            read = f"aws secretsmanager get-secret-value --secret-id {shlex.quote(target)} --query SecretString"
        lines.append(f'{name}="$({read} --output text)"')
        lines.append(f"export {name}")
    return lines


# Set when the app starts, not while it builds (NODE_ENV=production at install time would make
# `npm ci` skip the devDependencies a build needs); the plan's own environment wins.
RUN_TIME_DEFAULTS: dict[str, dict[str, str]] = {
    "node": {"NODE_ENV": "production"},
    # the gems are installed into vendor/bundle: a Procfile's plain `ruby app.rb` finds them too
    # (bundler/setup while installing would refuse the missing gems)
    "ruby": {"RUBYOPT": "-rbundler/setup"},
}


def _run_time_defaults(plan: DeploymentPlan) -> list[str]:
    defaults = RUN_TIME_DEFAULTS.get(plan.language, {})
    return [
        f"export {name}={shlex.quote(value)}"
        for name, value in sorted(defaults.items())
        if name not in plan.environment
    ]


def _environment(plan: DeploymentPlan, path: list[str]) -> list[str]:
    # HIVEMIND_PORT: the port the load balancer sends to, whatever variable the app reads
    env = {**RUNTIME_ENV.get(plan.language, {}), **plan.environment, "HIVEMIND_PORT": str(plan.port)}
    if plan.port_env:
        env[plan.port_env] = str(plan.port)
    lines = [f"export {name}={shlex.quote(value)}" for name, value in sorted(env.items())]
    # the request's environment, kept in SSM SecureString parameters: read at boot, for the build too
    lines += _secret_exports(plan, plan.environment_refs)
    if path:
        lines.append(f"export PATH={':'.join(path)}:$PATH")
    return lines


def user_data(plan: DeploymentPlan, suffix: str = "") -> str:
    """The bootstrap script for `plan` (an Fn::Sub template string), run by `WebInstance<suffix>`
    (the suffix names the release, templating/releases.py)."""
    install_runtime, path = runtime(plan)
    workdir = app_dir(plan.subdir)
    # no `set -u` in the two scripts that run the app's own commands: a Procfile's `$JAVA_OPTS` or
    # `$WEB_CONCURRENCY` is empty when unset, as on Heroku
    build = ["#!/bin/bash", "set -eo pipefail", ". /etc/hivemind/app.env.sh", f"cd {shlex.quote(workdir)}"]
    build += [c for c in (plan.install_command, plan.build_command) if c]
    release = ["#!/bin/bash", "set -eo pipefail", ". /etc/hivemind/app.env.sh", *_run_time_defaults(plan)]
    release += _secret_exports(plan)
    release += [f"cd {shlex.quote(workdir)}", plan.release_command or "true"]
    start = [
        "#!/bin/bash",
        "set -eo pipefail",
        ". /etc/hivemind/app.env.sh",
        *_run_time_defaults(plan),
        *_secret_exports(plan),
        f"cd {shlex.quote(workdir)}",
        exec_last(plan.start_command),
    ]
    health_url = f"http://127.0.0.1:{plan.port}{plan.health_path}"
    unit = [
        "[Unit]",
        "Description=HiveMind app",
        "After=network-online.target",
        "Wants=network-online.target",
        "[Service]",
        "User=app",
        "Group=app",
        "ExecStart=/opt/hivemind/start.sh",
        "Restart=always",
        "RestartSec=3",
        "StandardOutput=append:/var/log/hivemind/app.log",
        "StandardError=append:/var/log/hivemind/app.log",
        "[Install]",
        "WantedBy=multi-user.target",
    ]
    script = "\n".join(
        [
            "#!/bin/bash",
            "# HiveMind app server bootstrap (generated): runtime, source, build, service, logs, signal.",
            _header(plan),
            "set -euo pipefail",
            "exec > >(tee -a /var/log/hivemind-bootstrap.log) 2>&1",
            f"signal() {{ /opt/aws/bin/cfn-signal -e $1 --stack ${{AWS::StackName}} --resource WebInstance{suffix}"
            " --region ${AWS::Region} || true; }",
            # a failed boot leaves its last log lines where the Medic reads them, then signals failure
            # (the app's log belongs to the app user: a symbolic link there is not followed as root)
            "fail() {",
            "  trap - EXIT",
            f"  {{ tail -n {FAILURE_LINES} /var/log/hivemind-bootstrap.log; echo '--- app log ---';"
            f" [ -L /var/log/hivemind/app.log ] || tail -n {FAILURE_LINES} /var/log/hivemind/app.log 2>/dev/null; }}"
            f" | cut -c1-{FAILURE_LINE_CHARS} > /tmp/hivemind-failure.log || true",
            f"  aws s3 cp /tmp/hivemind-failure.log s3://${{FailureLogBucket{suffix}}}/${{FailureLogKey{suffix}}}"
            " --region ${AWS::Region} || true",
            "  signal 1",
            "}",
            # every way out but success: a failed command (set -e), an explicit exit 1, an unset variable
            "trap 'status=$?; if [ \"$status\" -ne 0 ]; then fail; fi' EXIT",
            "dnf install -y aws-cfn-bootstrap amazon-cloudwatch-agent unzip",
            f"mkdir -p {APP_DIR} /opt/hivemind /etc/hivemind /var/log/hivemind",
            f"id app >/dev/null 2>&1 || useradd --system --home-dir {APP_DIR} --shell /sbin/nologin app",
            f"aws s3 cp s3://${{SourceBucket{suffix}}}/${{SourceKey{suffix}}} /tmp/source.zip"
            " --region ${AWS::Region}",
            f"unzip -q -o /tmp/source.zip -d {APP_DIR}",
            install_runtime,
            write_file("/etc/hivemind/app.env.sh", _environment(plan, path), "0640"),
            "echo export AWS_DEFAULT_REGION=${AWS::Region} >> /etc/hivemind/app.env.sh",
            write_file("/opt/hivemind/build.sh", build, "0755"),
            write_file("/opt/hivemind/start.sh", start, "0755"),
            *([write_file("/opt/hivemind/release.sh", release, "0755")] if plan.release_command else []),
            write_file("/etc/systemd/system/hivemind-app.service", unit),
            f"chown -R app:app {APP_DIR} /var/log/hivemind /etc/hivemind",
            "runuser -u app -- /opt/hivemind/build.sh",
            *(["runuser -u app -- /opt/hivemind/release.sh"] if plan.release_command else []),
            "systemctl daemon-reload",
            "systemctl enable --now hivemind-app",
            _cloudwatch_agent(),
            # the target group's matcher decides (redirects are not followed); 000 is no answer
            f"for attempt in $(seq 1 {HEALTH_TRIES}); do",
            f"  code=$(curl -sS -o /dev/null -w '%{{http_code}}' --max-time 4 {literal(health_url)} || true)",
            f"  case $code in {case_patterns(plan.health_codes)}) signal 0; exit 0 ;; esac",
            f"  sleep {HEALTH_SLEEP_S}",
            "done",
            "if [ \"$code\" = 000 ]; then code='000 (no answer within 4 s, or no connection)'; fi",
            f"echo the app never answered on its health path {literal(plan.health_path)}: last status $code",
            "exit 1",
            "",
        ]
    )
    size = len(script.encode())
    if size > MAX_USER_DATA_BYTES:
        raise PlanError(
            f"the instance's user data would be {size:,} bytes, over EC2's 16 KiB limit (with room for "
            "CloudFormation's substitutions): pass fewer or shorter environment values, or large ones as secrets"
        )
    return script


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _header(plan: DeploymentPlan) -> str:
    """One comment line that says what the script runs, for readers of the instance's user data
    (and the local runtime, which rehearses the app from it): never user-controlled text beyond
    the validated runtime version and port variable."""
    fields = [f"language={plan.language}", f"runtime={plan.runtime_version}", f"port={plan.port}"]
    if plan.port_env and _NAME.match(plan.port_env):
        fields.append(f"port_env={plan.port_env}")
    return "# hivemind: " + " ".join(fields)


def _cloudwatch_agent() -> str:
    config = (
        '{"logs": {"logs_collected": {"files": {"collect_list": ['
        '{"file_path": "/var/log/hivemind/app.log", "log_group_name": "${AppLogGroup}", '
        '"log_stream_name": "{instance_id}/app"}, '
        '{"file_path": "/var/log/hivemind-bootstrap.log", "log_group_name": "${AppLogGroup}", '
        '"log_stream_name": "{instance_id}/bootstrap"}]}}}}'
    )
    return (
        f"printf '%s\\n' '{config}' > /opt/hivemind/cloudwatch.json\n"
        "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s"
        " -c file:/opt/hivemind/cloudwatch.json || echo 'CloudWatch agent not started'"
    )
