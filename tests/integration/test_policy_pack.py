"""The Guard policy pack, run by the real cfn-guard binary: each rule catches a template with
exactly its flaw, and the generated templates pass the whole pack."""

import copy
import json

import pytest

from hivemind.policy import check_template, guard_findings
from hivemind.templating import render_template, to_yaml
from tests.fixtures.plans import CERT, plan
from tests.fixtures.repos import CORPUS

PLAN = plan(source_bundle="s3://artifacts/d-1/source.zip")
CLEAN = render_template(PLAN, deployment_id="d-1", stack_name="hivemind-flask-app")


def _props(t, logical_id):
    return t["Resources"][logical_id]["Properties"]


def imds(t):
    _props(t, "WebInstanceD1")["MetadataOptions"]["HttpTokens"] = "optional"


def launch_template_imds(t):
    t["Resources"]["Template"] = {
        "Type": "AWS::EC2::LaunchTemplate",
        "Properties": {
            "LaunchTemplateData": {"InstanceType": "t3.micro", "MetadataOptions": {"HttpTokens": "optional"}}
        },
    }


def ebs(t):
    _props(t, "WebInstanceD1")["BlockDeviceMappings"][0]["Ebs"]["Encrypted"] = False


def volume(t):
    t["Resources"]["Data"] = {"Type": "AWS::EC2::Volume", "Properties": {"AvailabilityZone": "us-east-1a", "Size": 8}}


def open_app_port(t):
    _props(t, "InstanceSecurityGroupD1")["SecurityGroupIngress"].append(
        {"IpProtocol": "tcp", "FromPort": 5000, "ToPort": 5000, "CidrIp": "0.0.0.0/0"}
    )


def open_ingress_resource(t):
    t["Resources"]["OpenIngress"] = {
        "Type": "AWS::EC2::SecurityGroupIngress",
        "Properties": {
            "GroupId": {"Fn::GetAtt": ["InstanceSecurityGroupD1", "GroupId"]},
            "IpProtocol": "tcp",
            "FromPort": 8080,
            "ToPort": 8080,
            "CidrIp": "0.0.0.0/0",
        },
    }


def ssh(t):
    _props(t, "InstanceSecurityGroupD1")["SecurityGroupIngress"].append(
        {
            "IpProtocol": "tcp",
            "FromPort": 22,
            "ToPort": 22,
            "SourceSecurityGroupId": {"Fn::GetAtt": ["LoadBalancerSecurityGroup", "GroupId"]},
        }
    )


def invalid_headers(t):
    attributes = _props(t, "LoadBalancer")["LoadBalancerAttributes"]
    attributes[0]["Value"] = "false"


def certificate_on_http(t):
    _props(t, "HttpListener")["Certificates"] = [{"CertificateArn": CERT}]


def https_without_redirect(t):
    t["Resources"]["HttpsListener"] = {
        "Type": "AWS::ElasticLoadBalancingV2::Listener",
        "Properties": {
            "LoadBalancerArn": {"Ref": "LoadBalancer"},
            "Port": 443,
            "Protocol": "HTTPS",
            "Certificates": [{"CertificateArn": CERT}],
            "DefaultActions": [{"Type": "forward", "TargetGroupArn": {"Ref": "TargetGroup"}}],
        },
    }


def admin_role(t):
    statements = _props(t, "InstanceRoleD1")["Policies"][0]["PolicyDocument"]["Statement"]
    statements.append({"Effect": "Allow", "Action": ["ec2:*"], "Resource": "*"})


def admin_policy(t):
    t["Resources"]["Admin"] = {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyName": "admin",
            "Roles": [{"Ref": "InstanceRoleD1"}],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            },
        },
    }


def untagged(t):
    tags = _props(t, "TargetGroup")["Tags"]
    tags[:] = [tag for tag in tags if tag["Key"] != "hivemind:deployment-id"]


FLAWS = {
    "HM_IMDSV2_REQUIRED": (imds, "WebInstanceD1"),
    "HM_LAUNCH_TEMPLATE_IMDSV2_REQUIRED": (launch_template_imds, "Template"),
    "HM_EBS_ENCRYPTED": (ebs, "WebInstanceD1"),
    "HM_VOLUME_ENCRYPTED": (volume, "Data"),
    "HM_NO_OPEN_INGRESS_EXCEPT_HTTP": (open_app_port, "InstanceSecurityGroupD1"),
    "HM_NO_OPEN_INGRESS_RESOURCE_EXCEPT_HTTP": (open_ingress_resource, "OpenIngress"),
    "HM_NO_SSH": (ssh, "InstanceSecurityGroupD1"),
    "HM_ALB_DROPS_INVALID_HEADERS": (invalid_headers, "LoadBalancer"),
    "HM_CERTIFICATE_MEANS_HTTPS": (certificate_on_http, "HttpListener"),
    "HM_HTTP_REDIRECTS_TO_HTTPS": (https_without_redirect, "HttpListener"),
    "HM_NO_WILDCARD_ACTION_ON_WILDCARD_RESOURCE_ROLE": (admin_role, "InstanceRoleD1"),
    "HM_NO_WILDCARD_ACTION_ON_WILDCARD_RESOURCE_POLICY": (admin_policy, "Admin"),
    "HM_REQUIRED_TAGS": (untagged, "TargetGroup"),
}


def test_the_generated_templates_pass_lint_and_the_whole_pack():
    from hivemind.models import StackOptions

    node = PLAN.model_copy(update={"language": "node", "runtime_version": "20", "start_command": "npm start"})
    existing = {"vpc_id": "vpc-0123456789abcdef0", "subnet_ids": ["subnet-0aaa1111", "subnet-0bbb2222"]}
    variants = [
        StackOptions(),
        StackOptions(certificate_arn=CERT),
        StackOptions(**existing),
        StackOptions(**existing, certificate_arn=CERT),
    ]
    with_secrets = PLAN.model_copy(update={"secrets": {"DB": "ssm:/prod/db", "KEY": "secretsmanager:prod/key"}})
    for each in (PLAN, node, with_secrets):
        for options in variants:
            template = render_template(each, deployment_id="d-2", stack_name="s", options=options)
            assert check_template(to_yaml(template)) == [], options


def test_every_rule_in_the_pack_has_a_flawed_template_here():
    from hivemind.policy.guard import rule_files

    declared = {
        line.split()[1] for f in rule_files() for line in f.read_text().splitlines() if line.startswith("rule ")
    }
    assert declared == set(FLAWS)


@pytest.mark.parametrize("rule_id", sorted(FLAWS))
def test_each_rule_catches_exactly_its_flaw(rule_id):
    flaw, resource = FLAWS[rule_id]
    template = copy.deepcopy(CLEAN)
    flaw(template)
    body = to_yaml(template)
    findings = guard_findings(body)
    assert {f.rule_id for f in findings} == {rule_id}
    finding = next(f for f in findings if f.resource == resource)
    assert finding.fix and finding.severity == "error" and finding.tool == "guard"
    assert finding.path.startswith(f"Resources/{resource}")
    assert finding.line and resource in "\n".join(body.splitlines()[: finding.line]), "the line is in that resource"


def test_users_can_add_their_own_rules(tmp_path):
    (tmp_path / "size.guard").write_text(
        "let instances = Resources.*[ Type == 'AWS::EC2::Instance' ]\n"
        "rule ORG_ONLY_SMALL when %instances !empty {\n"
        '    %instances.Properties.InstanceType == "t3.nano"\n'
        "    <<fix: this organisation runs t3.nano only>>\n}\n"
    )
    findings = guard_findings(to_yaml(CLEAN), extra_rules=[tmp_path])
    assert [(f.rule_id, f.resource, f.fix) for f in findings] == [
        ("ORG_ONLY_SMALL", "WebInstanceD1", "this organisation runs t3.nano only")
    ]


def test_hivemind_s_own_template_passes_the_applicable_rules():
    from hivemind.local.sam import translate_template
    from tests.conftest import ROOT

    template, _ = translate_template(ROOT, "s3://code/placeholder.zip")
    applicable = {
        "HM_NO_WILDCARD_ACTION_ON_WILDCARD_RESOURCE_ROLE",
        "HM_NO_WILDCARD_ACTION_ON_WILDCARD_RESOURCE_POLICY",
        "HM_NO_SSH",
        "HM_NO_OPEN_INGRESS_EXCEPT_HTTP",
    }
    findings = [f for f in guard_findings(json.dumps(template)) if f.rule_id in applicable]
    assert findings == []


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_planner_fixture_gets_a_stack_that_passes_lint_and_the_pack(tmp_path, name):
    from hivemind.models import PlanOverrides
    from hivemind.planning import make_plan

    repo = CORPUS[name]
    plan = make_plan(
        repo.write(tmp_path),
        app_name="app",
        overrides=PlanOverrides(**repo.overrides),
        environment=repo.environment,
        source_bundle="s3://artifacts/deployments/d-1/source.zip",
    )
    assert check_template(to_yaml(render_template(plan, deployment_id="d-1", stack_name="hivemind-app"))) == []
