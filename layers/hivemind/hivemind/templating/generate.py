"""A CloudFormation template from a plan: the stack an experienced AWS engineer would write.

VPC with two public subnets in two AZs, an internet-facing ALB (dropping invalid headers)
with an HTTP listener, a target group with the plan's health check, an instance security
group that accepts only the ALB on the app port, and one EC2 instance (Amazon Linux 2023 via
the SSM public parameter, IMDSv2 required, encrypted gp3, SSM instead of SSH) whose user
data installs the runtime, fetches the source bundle, builds, runs the app under systemd,
ships its log to CloudWatch and signals CloudFormation once the app answers locally.

Every user-controlled value reaches the template as a parameter or as data: values in user
data are shell-quoted and their `${` escaped for `Fn::Sub`, so no value can change the
template's structure or the script's.
"""

from __future__ import annotations

import functools
from typing import Any

from hivemind.models import DeploymentPlan, StackOptions
from hivemind.templating import releases
from hivemind.templating.runtimes import boot_timeout
from hivemind.templating.shell import literal_sub
from hivemind.templating.userdata import user_data

AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
VPC_CIDR, SUBNET_CIDRS = "10.0.0.0/16", ("10.0.0.0/24", "10.0.1.0/24")
# The target group's health check; workflow/target.py bounds its wait with these in mind.
HEALTH_CHECK = {"interval": 15, "timeout": 5, "healthy": 2, "unhealthy": 3}
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
_ARN_PREFIX = "arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:"


def _ref(name: str) -> dict[str, Any]:
    return {"Ref": name}


def _tags(plan: DeploymentPlan, deployment_id: str, name: str) -> list[dict[str, Any]]:
    return [
        {"Key": "Name", "Value": {"Fn::Sub": f"${{AWS::StackName}}-{name}"}},
        {"Key": "hivemind:deployment-id", "Value": deployment_id},
        {"Key": "hivemind:app", "Value": plan.app_name},
        {"Key": "hivemind:managed-by", "Value": "hivemind"},
    ]


def _split_bundle(uri: str | None) -> tuple[str, str]:
    if not uri or not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ValueError(f"the plan's source_bundle must be s3://bucket/key, got {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def render_template(
    plan: DeploymentPlan,
    *,
    deployment_id: str,
    stack_name: str,
    options: StackOptions | None = None,
    failure_log: str | None = None,
    permissions_boundary: str | None = None,
    alarm_topic: str | None = None,
) -> dict[str, Any]:
    """The template for `plan`, as a dict of plain JSON values and long-form intrinsics.

    `failure_log` (s3://bucket/key) is where the instance leaves the last lines of its bootstrap
    and app logs when it fails, for the Medic: CloudFormation's rollback deletes the log group.
    `permissions_boundary` (HiveMind's AppInstanceBoundary) bounds the instance role: the role
    CloudFormation may create for an app can never do more than that policy allows.

    `alarm_topic` (an SNS topic ARN) is notified by the stack's alarms (`_alarms`); without it the
    alarms are there, in the console, and notify nobody.

    The instance, its role, profile and security group, and the parameters they read, form the
    deployment's release: their logical ids end in its suffix (templating/releases.py), so that an
    update creates the new release beside the one serving instead of replacing it in place.
    """
    options = options or StackOptions()
    release = releases.suffix(deployment_id)
    bucket, key = _split_bundle(plan.source_bundle or "s3://source-bucket-not-set/source.zip")
    log_bucket, log_key = _split_bundle(failure_log or "s3://failure-log-bucket-not-set/failure.log")
    tags = functools.partial(_tags, plan, deployment_id)
    new_network = options.vpc_id is None
    resources: dict[str, Any] = _network(tags) if new_network else {}
    resources.update(_load_balancer(plan, tags, https=options.certificate_arn is not None, new_network=new_network))
    resources.update(_release(plan, tags, release, deployment_id, new_network=new_network))
    resources.update(_alarms(tags, release, deployment_id, notify=alarm_topic is not None))
    parameters: dict[str, Any] = _release_parameters(release, bucket, key, log_bucket, log_key)
    if options.vpc_id:
        parameters["VpcId"] = {
            "Type": "AWS::EC2::VPC::Id",
            "Default": options.vpc_id,
            "Description": "the existing VPC",
        }
        parameters["SubnetIds"] = {
            "Type": "List<AWS::EC2::Subnet::Id>",
            "Default": ",".join(options.subnet_ids),
            "Description": "existing public subnets, in at least two Availability Zones",
        }
    if permissions_boundary:
        parameters["PermissionsBoundary"] = {
            "Type": "String",
            "Default": permissions_boundary,
            "Description": "HiveMind's bound on every app instance role (AppInstanceBoundary)",
        }
        resources[f"InstanceRole{release}"]["Properties"]["PermissionsBoundary"] = _ref("PermissionsBoundary")
    if alarm_topic:
        parameters["AlarmTopicArn"] = {
            "Type": "String",
            "Default": alarm_topic,
            "Description": "the SNS topic the app's alarms notify",
        }
    if options.certificate_arn:
        parameters["CertificateArn"] = {
            "Type": "String",
            "Default": options.certificate_arn,
            "Description": "ACM certificate for the HTTPS listener",
        }
    scheme = "https" if options.certificate_arn else "http"
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"HiveMind web stack for {plan.app_name} ({plan.language}"
        f"{'/' + plan.framework if plan.framework else ''}), deployment {deployment_id}",
        "Metadata": {"hivemind": {"deployment-id": deployment_id, "stack-name": stack_name}},
        "Parameters": parameters,
        "Resources": resources,
        "Outputs": {
            "URL": {"Description": "the app's URL", "Value": {"Fn::Sub": f"{scheme}://${{LoadBalancer.DNSName}}"}},
            "LoadBalancerDNSName": {"Value": {"Fn::GetAtt": ["LoadBalancer", "DNSName"]}},
            "TargetGroupArn": {"Value": _ref("TargetGroup")},
            "InstanceId": {"Value": _ref(f"WebInstance{release}")},
            "Release": {"Description": "the deployment whose instance serves", "Value": deployment_id},
            "LogGroupName": {"Value": _ref("AppLogGroup")},
        },
    }


def _secret_statements(plan: DeploymentPlan) -> list[dict[str, Any]]:
    """Read access to exactly the secrets the app references (values never reach the template).
    A secret's ARN ends in `-` and six random characters: `-??????` matches those and nothing
    else (`name-*` would also grant `name-prod-…`)."""
    refs = [*plan.secrets.values(), *plan.environment_refs.values()]
    ssm = sorted({ref.removeprefix("ssm:").lstrip("/") for ref in refs if ref.startswith("ssm:")})
    vaults = sorted(
        {ref.removeprefix("secretsmanager:") for ref in plan.secrets.values() if ref.startswith("secretsmanager:")}
    )
    statements: list[dict[str, Any]] = []
    if ssm:
        statements.append(
            {
                "Sid": "ReadOwnParameters",
                "Effect": "Allow",
                "Action": "ssm:GetParameter",
                "Resource": [
                    {"Fn::Sub": _ARN_PREFIX.format(service="ssm") + f"parameter/{literal_sub(p)}"} for p in ssm
                ],
            }
        )
    if vaults:
        statements.append(
            {
                "Sid": "ReadOwnSecrets",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": [
                    v
                    if v.startswith("arn:")
                    else {"Fn::Sub": _ARN_PREFIX.format(service="secretsmanager") + f"secret:{literal_sub(v)}-??????"}
                    for v in vaults
                ],
            }
        )
    return statements


def _vpc(new_network: bool) -> dict[str, Any]:
    return _ref("Vpc") if new_network else _ref("VpcId")


def _subnets(new_network: bool) -> Any:
    return [_ref("SubnetA"), _ref("SubnetB")] if new_network else _ref("SubnetIds")


def _instance_subnet(new_network: bool) -> Any:
    return _ref("SubnetA") if new_network else {"Fn::Select": [0, _ref("SubnetIds")]}


def _network(tags: Any) -> dict[str, Any]:
    resources: dict[str, Any] = {
        "Vpc": {
            "Type": "AWS::EC2::VPC",
            "Properties": {
                "CidrBlock": VPC_CIDR,
                "EnableDnsSupport": True,
                "EnableDnsHostnames": True,
                "Tags": tags("vpc"),
            },
        },
        "InternetGateway": {"Type": "AWS::EC2::InternetGateway", "Properties": {"Tags": tags("igw")}},
        "GatewayAttachment": {
            "Type": "AWS::EC2::VPCGatewayAttachment",
            "Properties": {"VpcId": _ref("Vpc"), "InternetGatewayId": _ref("InternetGateway")},
        },
        "PublicRouteTable": {
            "Type": "AWS::EC2::RouteTable",
            "Properties": {"VpcId": _ref("Vpc"), "Tags": tags("public")},
        },
        "DefaultRoute": {
            "Type": "AWS::EC2::Route",
            "DependsOn": "GatewayAttachment",
            "Properties": {
                "RouteTableId": _ref("PublicRouteTable"),
                "DestinationCidrBlock": "0.0.0.0/0",
                "GatewayId": _ref("InternetGateway"),
            },
        },
    }
    for index, (suffix, cidr) in enumerate(zip("AB", SUBNET_CIDRS, strict=True)):
        resources[f"Subnet{suffix}"] = {
            "Type": "AWS::EC2::Subnet",
            "Properties": {
                "VpcId": _ref("Vpc"),
                "CidrBlock": cidr,
                "AvailabilityZone": {"Fn::Select": [index, {"Fn::GetAZs": ""}]},
                "MapPublicIpOnLaunch": True,
                "Tags": tags(f"public-{suffix.lower()}"),
            },
        }
        resources[f"Subnet{suffix}RouteTableAssociation"] = {
            "Type": "AWS::EC2::SubnetRouteTableAssociation",
            "Properties": {"SubnetId": _ref(f"Subnet{suffix}"), "RouteTableId": _ref("PublicRouteTable")},
        }
    return resources


def _load_balancer(plan: DeploymentPlan, tags: Any, *, https: bool, new_network: bool) -> dict[str, Any]:
    public_ports = [80, 443] if https else [80]
    resources: dict[str, Any] = {
        "LoadBalancerSecurityGroup": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": "HTTP(S) from the internet to the load balancer",
                "VpcId": _vpc(new_network),
                "SecurityGroupIngress": [
                    {
                        "IpProtocol": "tcp",
                        "FromPort": port,
                        "ToPort": port,
                        "CidrIp": "0.0.0.0/0",
                        "Description": f"{'HTTPS' if port == 443 else 'HTTP'} from anywhere",
                    }
                    for port in public_ports
                ],
                "Tags": tags("alb"),
            },
        },
        "LoadBalancer": {
            "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "Properties": {
                "Type": "application",
                "Scheme": "internet-facing",
                "Subnets": _subnets(new_network),
                "SecurityGroups": [_ref("LoadBalancerSecurityGroup")],
                "LoadBalancerAttributes": [
                    {"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"},
                    {"Key": "idle_timeout.timeout_seconds", "Value": "60"},
                ],
                "Tags": tags("alb"),
            },
        },
        "TargetGroup": {
            "Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
            "Properties": {
                "VpcId": _vpc(new_network),
                "Protocol": "HTTP",
                "Port": plan.port,
                "TargetType": "instance",
                "HealthCheckEnabled": True,
                "HealthCheckProtocol": "HTTP",
                "HealthCheckPath": plan.health_path,
                "HealthCheckPort": "traffic-port",
                "HealthCheckIntervalSeconds": HEALTH_CHECK["interval"],
                "HealthCheckTimeoutSeconds": HEALTH_CHECK["timeout"],
                "HealthyThresholdCount": HEALTH_CHECK["healthy"],
                "UnhealthyThresholdCount": HEALTH_CHECK["unhealthy"],
                "Matcher": {"HttpCode": plan.health_codes},
                "TargetGroupAttributes": [{"Key": "deregistration_delay.timeout_seconds", "Value": "30"}],
                "Tags": tags("tg"),
            },
        },
        "HttpListener": {
            "Type": "AWS::ElasticLoadBalancingV2::Listener",
            "Properties": {
                "LoadBalancerArn": _ref("LoadBalancer"),
                "Port": 80,
                "Protocol": "HTTP",
                "DefaultActions": [_redirect_to_https() if https else _forward()],
            },
        },
    }
    if https:
        resources["HttpsListener"] = {
            "Type": "AWS::ElasticLoadBalancingV2::Listener",
            "Properties": {
                "LoadBalancerArn": _ref("LoadBalancer"),
                "Port": 443,
                "Protocol": "HTTPS",
                "SslPolicy": TLS_POLICY,
                "Certificates": [{"CertificateArn": _ref("CertificateArn")}],
                "DefaultActions": [_forward()],
            },
        }
    return resources


def _forward() -> dict[str, Any]:
    return {"Type": "forward", "TargetGroupArn": _ref("TargetGroup")}


def _redirect_to_https() -> dict[str, Any]:
    return {
        "Type": "redirect",
        "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"},
    }


def _alarms(tags: Any, release: str, deployment_id: str, *, notify: bool) -> dict[str, Any]:
    """What someone running the app wants to hear about: the load balancer's own 5xx (no target
    answered), the app's 5xx, an unhealthy target, slow answers (p90 over 2 s), and the release's
    instance failing its status checks. Thresholds are a starting point, not a tuning."""
    actions = {"AlarmActions": [_ref("AlarmTopicArn")], "OKActions": [_ref("AlarmTopicArn")]} if notify else {}
    balancer = {"Name": "LoadBalancer", "Value": {"Fn::GetAtt": ["LoadBalancer", "LoadBalancerFullName"]}}
    group = {"Name": "TargetGroup", "Value": {"Fn::GetAtt": ["TargetGroup", "TargetGroupFullName"]}}

    def alarm(description: str, namespace: str, metric: str, dimensions: list[Any], **how: Any) -> dict[str, Any]:
        return {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmDescription": description,
                "Namespace": namespace,
                "MetricName": metric,
                "Dimensions": dimensions,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "TreatMissingData": "notBreaching",
                **how,
                **actions,
                "Tags": tags("alarm"),
            },
        }

    elb = "AWS/ApplicationELB"
    return {
        "LoadBalancer5xxAlarm": alarm(
            "The load balancer answered 5xx itself: no healthy target, or a target that did not answer",
            elb,
            "HTTPCode_ELB_5XX_Count",
            [balancer],
            Statistic="Sum",
            Period=300,
            EvaluationPeriods=1,
            Threshold=10,
        ),
        "App5xxAlarm": alarm(
            "The app answered 5xx to 10 or more requests within 5 minutes",
            elb,
            "HTTPCode_Target_5XX_Count",
            [balancer],
            Statistic="Sum",
            Period=300,
            EvaluationPeriods=1,
            Threshold=10,
        ),
        "UnhealthyHostsAlarm": alarm(
            "A target of the app's load balancer is unhealthy (for 2 minutes)",
            elb,
            "UnHealthyHostCount",
            [group, balancer],
            Statistic="Maximum",
            Period=60,
            EvaluationPeriods=2,
            Threshold=1,
        ),
        "ResponseTimeAlarm": alarm(
            "The app's p90 response time is over 2 s (for 3 minutes)",
            elb,
            "TargetResponseTime",
            [balancer],
            ExtendedStatistic="p90",
            Period=60,
            EvaluationPeriods=3,
            Threshold=2,
        ),
        f"StatusCheckAlarm{release}": {
            **alarm(
                "The app's instance fails its EC2 status checks (for 2 minutes)",
                "AWS/EC2",
                "StatusCheckFailed",
                [{"Name": "InstanceId", "Value": _ref(f"WebInstance{release}")}],
                Statistic="Maximum",
                Period=60,
                EvaluationPeriods=2,
                Threshold=1,
            ),
            "Metadata": {releases.METADATA: {"Release": deployment_id}},
        },
    }


def _release_parameters(release: str, bucket: str, key: str, log_bucket: str, log_key: str) -> dict[str, Any]:
    return {
        f"ImageId{release}": {
            "Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
            "Default": AMI_PARAMETER,
            "Description": "Amazon Linux 2023 AMI, resolved from the SSM public parameter",
        },
        f"SourceBucket{release}": {"Type": "String", "Default": bucket, "Description": "bucket of the source bundle"},
        f"SourceKey{release}": {"Type": "String", "Default": key, "Description": "key of the source bundle (a zip)"},
        f"FailureLogBucket{release}": {
            "Type": "String",
            "Default": log_bucket,
            "Description": "bucket of the failure log",
        },
        f"FailureLogKey{release}": {
            "Type": "String",
            "Default": log_key,
            "Description": "where a failed boot leaves its last log lines",
        },
    }


def _release(plan: DeploymentPlan, tags: Any, release: str, deployment_id: str, *, new_network: bool) -> dict[str, Any]:
    """The shared log group, and the release: the instance with its role, profile and security group."""
    instance_extra = {"DependsOn": "DefaultRoute"} if new_network else {}

    def owned() -> dict[str, Any]:  # one dict each: a shared one would be a YAML alias, which Guard cannot read
        return {"Metadata": {releases.METADATA: {"Release": deployment_id}}}

    return {
        "AppLogGroup": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {"RetentionInDays": 14, "Tags": tags("logs")},
        },
        f"InstanceSecurityGroup{release}": {
            "Type": "AWS::EC2::SecurityGroup",
            **owned(),
            "Properties": {
                "GroupDescription": "The app port, from the load balancer only",
                "VpcId": _vpc(new_network),
                "SecurityGroupIngress": [
                    {
                        "IpProtocol": "tcp",
                        "FromPort": plan.port,
                        "ToPort": plan.port,
                        "SourceSecurityGroupId": {"Fn::GetAtt": ["LoadBalancerSecurityGroup", "GroupId"]},
                        "Description": "app port from the load balancer",
                    }
                ],
                "Tags": tags("app"),
            },
        },
        f"InstanceRole{release}": {
            "Type": "AWS::IAM::Role",
            **owned(),
            "Properties": {
                "Description": "The app server: SSM access, its own log group, its own source bundle",
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
                    ],
                },
                "ManagedPolicyArns": [
                    {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"}
                ],
                "Policies": [
                    {
                        "PolicyName": "app-server",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Sid": "ReadOwnSourceBundle",
                                    "Effect": "Allow",
                                    "Action": "s3:GetObject",
                                    "Resource": {
                                        "Fn::Sub": f"arn:${{AWS::Partition}}:s3:::${{SourceBucket{release}}}"
                                        f"/${{SourceKey{release}}}"
                                    },
                                },
                                {
                                    "Sid": "LeaveOwnFailureLog",
                                    "Effect": "Allow",
                                    "Action": "s3:PutObject",
                                    "Resource": {
                                        "Fn::Sub": f"arn:${{AWS::Partition}}:s3:::${{FailureLogBucket{release}}}"
                                        f"/${{FailureLogKey{release}}}"
                                    },
                                },
                                *_secret_statements(plan),
                                {
                                    "Sid": "ShipOwnLogs",
                                    "Effect": "Allow",
                                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                                    "Resource": {"Fn::Sub": "${AppLogGroup.Arn}"},
                                },
                            ],
                        },
                    }
                ],
                "Tags": tags("instance-role"),
            },
        },
        f"InstanceProfile{release}": {
            "Type": "AWS::IAM::InstanceProfile",
            **owned(),
            "Properties": {"Roles": [_ref(f"InstanceRole{release}")]},
        },
        f"WebInstance{release}": {
            "Type": "AWS::EC2::Instance",
            **instance_extra,
            **owned(),
            "CreationPolicy": {"ResourceSignal": {"Count": 1, "Timeout": boot_timeout(plan)}},
            "Properties": {
                "ImageId": _ref(f"ImageId{release}"),
                # a literal, so that cfn-lint checks it against the region's instance types
                "InstanceType": plan.instance_type,
                "SubnetId": _instance_subnet(new_network),
                "SecurityGroupIds": [{"Fn::GetAtt": [f"InstanceSecurityGroup{release}", "GroupId"]}],
                "IamInstanceProfile": _ref(f"InstanceProfile{release}"),
                "MetadataOptions": {"HttpTokens": "required", "HttpEndpoint": "enabled", "HttpPutResponseHopLimit": 1},
                "BlockDeviceMappings": [
                    {
                        "DeviceName": "/dev/xvda",
                        "Ebs": {"VolumeSize": 16, "VolumeType": "gp3", "Encrypted": True, "DeleteOnTermination": True},
                    }
                ],
                "UserData": {"Fn::Base64": {"Fn::Sub": user_data(plan, release)}},
                "Tags": [*tags("app"), {"Key": "hivemind:release", "Value": deployment_id}],
            },
        },
    }
