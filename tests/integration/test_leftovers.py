"""What still carries a deployment's tag after its stack is gone, confirmed by each service (moto)."""

from hivemind.aws import clients
from hivemind.aws.leftovers import left_behind

TAG = {"Key": "hivemind:deployment-id", "Value": "d-1"}


def test_what_still_carries_the_tag_and_exists_is_left_and_a_terminated_instance_is_not(aws):
    ec2, logs = clients.client("ec2", "us-east-1"), clients.client("logs", "us-east-1")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": [TAG]}])["Vpc"]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    instance = ec2.run_instances(
        ImageId=image, MinCount=1, MaxCount=1, TagSpecifications=[{"ResourceType": "instance", "Tags": [TAG]}]
    )["Instances"][0]["InstanceId"]
    ec2.terminate_instances(InstanceIds=[instance])
    logs.create_log_group(logGroupName="/hivemind/app", tags={TAG["Key"]: TAG["Value"]})
    ec2.create_vpc(
        CidrBlock="10.8.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": [{**TAG, "Value": "d-2"}]}]
    )

    def service(name):
        return clients.client(name, "us-east-1")

    tagging = service("resourcegroupstaggingapi")
    left = left_behind(tagging, service, "d-1")
    assert sorted(a.split(":")[2] for a in left) == ["ec2", "logs"]
    assert any(a.endswith(f"vpc/{vpc['VpcId']}") for a in left) and not any(instance in a for a in left)

    ec2.delete_vpc(VpcId=vpc["VpcId"])
    logs.delete_log_group(logGroupName="/hivemind/app")
    assert left_behind(tagging, service, "d-1") == []
