"""kenv's local AWS testbed: moto (EC2, IAM, SSM, STS, Secrets Manager) with the Cloud9 API
mounted on the same endpoint, and a strict IMDSv2 endpoint beside it. It has AWS's defaults where
moto lacks them (a VPC's default security group admits all traffic from its own members; an
instance launched naming no group is put in it; Cloud9 makes a group per environment). It fails
where AWS fails:
IAM is enforced for every principal but the operator (authz.py), a new instance profile is
refused while IAM propagates (propagation.py), instances' SSM agents register some seconds after
launch and only with the permissions they need, and Run Command really runs (agent.py,
sandbox.py), Session Manager sessions and EC2 Instance Connect keys are granted by IAM
(sessions.py), against a Cloud One Workload Security manager stand-in (c1ws.py). Durations are
AWS's typical ones times --time-scale. Everything binds to 127.0.0.1. On start it seeds what a
real account has, then prints one JSON line saying where everything is, and serves until stopped
(or, with --watch-stdin, until its stdin closes).
"""

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time

# As EC2 does, RunInstances refuses an image id that is not an AMI it knows (an alias such as
# `amazonlinux-2023-x86_64` is InvalidAMIID.Malformed). MOTO_ENABLE_AMI_VALIDATION=false in the
# environment turns this off. Set before moto is imported: moto reads it then.
os.environ.setdefault("MOTO_ENABLE_AMI_VALIDATION", "true")

import boto3  # noqa: E402
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agent  # noqa: E402
import authz  # noqa: E402
import c1ws  # noqa: E402
import cloud9  # noqa: E402
import faults  # noqa: E402
import imds  # noqa: E402
import networks  # noqa: E402
import propagation  # noqa: E402
import sandbox  # noqa: E402
import sessions  # noqa: E402

ACCOUNT = "123456789012"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
# How long things take on AWS, typically, in seconds; the testbed takes these times --time-scale.
TYPICAL_SECONDS = {"cloud9_create": 40, "iam_propagation": 10, "group_propagation": 2, "agent_register": 30}
# The project secrets of the example (examples/kobanzaki), as the team's account has them.
SECRETS = {"kobanzaki/c1ws-tenant": "testbed-tenant-0d4c", "kobanzaki/c1ws-token": "testbed-token-7a91"}
CONSOLE_SESSION_PREFERENCES = {
    "schemaVersion": "1.0", "description": "Document to hold regional settings for Session Manager",
    "sessionType": "Standard_Stream",
    "inputs": {"s3BucketName": "", "s3KeyPrefix": "", "s3EncryptionEnabled": True, "cloudWatchLogGroupName": "",
               "cloudWatchEncryptionEnabled": True, "cloudWatchStreamingEnabled": True, "kmsKeyId": "",
               "idleSessionTimeout": "20", "maxSessionDuration": "", "runAsEnabled": False, "runAsDefaultUser": "",
               "shellProfile": {"windows": "", "linux": ""}},
}
TRUST_EC2_AND_CLOUD9 = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": ["ec2.amazonaws.com", "cloud9.amazonaws.com"]}, "Action": "sts:AssumeRole"}],
}


def patch_moto():
    """Where moto differs from AWS in what kenv relies on, make it behave as AWS does."""
    from moto.ec2.models.iam_instance_profile import IamInstanceProfileAssociationBackend

    # ReplaceIamInstanceProfileAssociation: AWS's DescribeInstances then shows the new profile;
    # moto 5.2.5 keeps showing the old one.
    original = IamInstanceProfileAssociationBackend.replace_iam_instance_profile_association

    def replace(self, association_id, iam_instance_profile_name=None, iam_instance_profile_arn=None):
        association = original(self, association_id, iam_instance_profile_name, iam_instance_profile_arn)
        self.modify_instance_attribute(association.instance.id, "iam_instance_profile",
                                       {"Arn": association.iam_instance_profile.arn, "Id": association.association_id})
        return association

    IamInstanceProfileAssociationBackend.replace_iam_instance_profile_association = replace

    # RunInstances with a count above one: AWS gives every instance the profile; moto only the
    # first (its response associates instances[0]). And AWS honours ClientToken.
    from moto.ec2.models.instances import InstanceBackend

    run_instances = InstanceBackend.run_instances

    def run(self, image_id, count, user_data, security_group_names, **kwargs):
        # A ClientToken makes RunInstances idempotent on AWS: the same token returns the
        # reservation it made (moto records the token and launches again). Without one the
        # SDK sends none and moto sets "ABCDE".
        token = kwargs.get("client_token")
        for made in list(self.reservations.values()) if token and token != "ABCDE" else []:
            if made.instances and made.instances[0].client_token == token:
                return made
        reservation = run_instances(self, image_id, count, user_data, security_group_names, **kwargs)
        name, arn = kwargs.get("iam_instance_profile_name"), kwargs.get("iam_instance_profile_arn")
        for instance in reservation.instances[1:] if name or arn else []:
            self.associate_iam_instance_profile(instance_id=instance.id, iam_instance_profile_name=name,
                                                iam_instance_profile_arn=arn)
        return reservation

    InstanceBackend.run_instances = run

    # ModifyInstanceAttribute InstanceType: EC2 changes the type of a stopped instance only.
    modify = InstanceBackend.modify_instance_attribute

    def modify_attribute(self, instance_id, key, value):
        state = self.get_instance(instance_id).state
        if key == "instance_type" and state != "stopped":
            from moto.ec2.exceptions import EC2ClientError
            raise EC2ClientError("IncorrectInstanceState", f"The instance '{instance_id}' is not in the 'stopped' state.")
        return modify(self, instance_id, key, value)

    InstanceBackend.modify_instance_attribute = modify_attribute

    # DescribeSecurityGroupRules: AWS gives a rule from another group its description; moto only
    # a CIDR rule's.
    from moto.ec2.models.security_groups import SecurityGroupRule

    # SendCommand naming instances (no Targets): moto adds every instance in the region to them.
    from moto.ssm.models import Command

    from_targets = Command._get_instance_ids_from_targets
    Command._get_instance_ids_from_targets = lambda command: from_targets(command) if command.targets else []

    SecurityGroupRule.description = property(
        lambda rule: rule.ip_range.get("Description") or rule.source_group.get("Description"))

    # A VPC's default security group: on AWS it admits all traffic from its own members (moto's
    # has no inbound rule at all).
    from moto.ec2.models.vpcs import VPCBackend

    create_vpc = VPCBackend.create_vpc

    def vpc_with_default_group(self, *args, **kwargs):
        vpc = create_vpc(self, *args, **kwargs)
        default = self.get_security_group_from_name("default", vpc_id=vpc.id)
        if default is not None and not default.ingress_rules:
            self.authorize_security_group_ingress(default.id, "-1", None, None, [], source_groups=[{"GroupId": default.id}],
                                                  vpc_id=vpc.id)
        return vpc

    VPCBackend.create_vpc = vpc_with_default_group

    # When each security group was made, for EC2's eventual consistency (propagation.py).
    from moto.ec2.models.security_groups import SecurityGroupBackend

    create_group = SecurityGroupBackend.create_security_group

    def recorded_group(self, *args, **kwargs):
        group = create_group(self, *args, **kwargs)
        propagation.NEW_GROUPS[group.id] = time.monotonic()
        return group

    SecurityGroupBackend.create_security_group = recorded_group

    # RunInstances naming no security group: on AWS the interface gets its VPC's default group
    # (moto attaches none).
    # And an instance shows its primary interface's groups (moto shows none when they were named
    # on the interface).
    def in_default_group(self, image_id, count, user_data, security_group_names, **kwargs):
        nics = kwargs.get("nics") or []
        for nic in nics:
            if int(nic.get("DeviceIndex", 0)) == 0:
                named = [g for key in ("Groups", "SecurityGroupId") for g in as_list(nic.pop(key, None))]
                kwargs["security_group_ids"] = list(kwargs.get("security_group_ids") or []) + named
        named = security_group_names or kwargs.get("security_group_ids") or any(n.get("NetworkInterfaceId") for n in nics)
        subnet = kwargs.get("subnet_id") or next((n.get("SubnetId") for n in nics if n.get("SubnetId")), None)
        if not named and subnet:
            default = self.get_security_group_from_name("default", vpc_id=self.get_subnet(subnet).vpc_id)
            kwargs["security_group_ids"] = [default.id] if default is not None else []
        return run(self, image_id, count, user_data, security_group_names, **kwargs)

    InstanceBackend.run_instances = in_default_group


def as_list(value):
    return [] if value is None else list(value.values()) if isinstance(value, dict) else value if isinstance(value, list) else [value]


class QuietHandler(MotoRequestHandler):
    def log_request(self, *args):
        pass


def seed(clients):
    """A VPC with a private subnet (no internet gateway) and the ssm, ssmmessages and ec2messages
    interface endpoints SSM reaches it through, its default security group, and the role and
    instance profile Cloud9 SSM environments need, which the Cloud9 API does not make (with the
    managed policy AWS attaches to it), the example's project secrets, and an internal server the
    environments reach: a GitHub Enterprise stand-in (an instance with a security group of its
    own, kenv's to add to but not to own, holding an admins' SSH rule someone else made), the team's
    developers as IAM users, and Session Manager preferences saved once from the console."""
    ec2, iam = clients("ec2"), clients("iam")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vpc], Tags=[{"Key": "Name", "Value": "kenv-testbed"}])
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]
    ec2.create_tags(Resources=[subnet["SubnetId"]], Tags=[{"Key": "Name", "Value": "kenv-testbed-private"}])
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}])
    region = ec2.meta.region_name
    for service in ("ssm", "ssmmessages", "ec2messages"):
        ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.{region}.{service}", VpcEndpointType="Interface",
                                SubnetIds=[subnet["SubnetId"]], PrivateDnsEnabled=True)
    iam.create_role(RoleName="AWSCloud9SSMAccessRole", Path="/service-role/", AssumeRolePolicyDocument=json.dumps(TRUST_EC2_AND_CLOUD9))
    iam.create_instance_profile(InstanceProfileName=cloud9.SSM_PROFILE, Path="/cloud9/")
    iam.add_role_to_instance_profile(InstanceProfileName=cloud9.SSM_PROFILE, RoleName="AWSCloud9SSMAccessRole")
    iam.attach_role_policy(RoleName="AWSCloud9SSMAccessRole", PolicyArn="arn:aws:iam::aws:policy/AWSCloud9SSMInstanceProfile")
    for name, value in SECRETS.items():
        clients("secretsmanager").create_secret(Name=name, SecretString=value)
    # The team's developers (the example's members) are IAM users of the account.
    for user in ("alice", "bob"):
        iam.create_user(UserName=user)
    # Session Manager preferences saved once from the console: nothing logged, 20-minute idle timeout.
    clients("ssm").create_document(Name="SSM-SessionManagerRunShell", DocumentType="Session", DocumentFormat="JSON",
                                   Content=json.dumps(CONSOLE_SESSION_PREFERENCES))
    ghe = ec2.create_security_group(GroupName="internal-ghe", Description="internal GitHub Enterprise", VpcId=vpc)["GroupId"]
    admins = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/16", "Description": "admins"}]}
    ec2.authorize_security_group_ingress(GroupId=ghe, IpPermissions=[admins])
    ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="m5.large", SubnetId=subnet["SubnetId"],
                      SecurityGroupIds=[ghe], TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "internal-ghe"}]}])
    return {"vpc_id": vpc, "subnet_id": subnet["SubnetId"], "availability_zone": subnet["AvailabilityZone"],
            "default_sg": groups["SecurityGroups"][0]["GroupId"], "ghe_sg": ghe}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, default=0, help="AWS endpoint port (0: a free one)")
    ap.add_argument("--imds-port", type=int, default=0, help="IMDS endpoint port (0: a free one)")
    ap.add_argument("--region", default="ap-northeast-1")
    ap.add_argument("--time-scale", type=float, default=0.05,
                    help="the testbed's durations are AWS's typical ones times this (default: a twentieth)")
    ap.add_argument("--create-seconds", type=float, help="how long a Cloud9 environment stays 'creating' (default: scaled)")
    ap.add_argument("--no-seed", action="store_true")
    ap.add_argument("--imds-allow-v1", action="store_true", help="honour HttpTokens=optional (tokenless reads allowed) as AWS does")
    ap.add_argument("--iam-propagation-seconds", type=float,
                    help="how long EC2 refuses a new instance profile, as AWS does while IAM propagates (0: never; default: scaled)")
    ap.add_argument("--group-propagation-seconds", type=float,
                    help="how long RunInstances does not see a new security group, as EC2's eventual consistency (default: scaled)")
    ap.add_argument("--agent-register-seconds", type=float,
                    help="how long after it runs an instance's SSM agent is Online (default: scaled)")
    ap.add_argument("--instances-dir", help="where instances' commands run (default: a temporary directory, removed at exit)")
    ap.add_argument("--watch-stdin", action="store_true", help="exit when standard input closes")
    args = ap.parse_args()
    for name, typical in TYPICAL_SECONDS.items():
        key = {"cloud9_create": "create_seconds"}.get(name, name + "_seconds")
        if getattr(args, key) is None:
            setattr(args, key, typical * args.time_scale)
    os.environ.update(CREDENTIALS)
    os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "true")
    # AWS's managed policies exist in every real account; roles attach them by ARN.
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

    patch_moto()
    moto_app = DomainDispatcherApplication(create_backend_app)
    holder = {}
    injected = faults.Faults()
    iam_lag = propagation.Propagation(args.iam_propagation_seconds, args.group_propagation_seconds)
    # Cloud9's environments (and their tags) are the Cloud9 emulation's, made below.
    enforced = authz.Authz(ACCOUNT, args.region, cloud9_envs=lambda: holder["cloud9"].envs if "cloud9" in holder else {})

    networks_apart = networks.Networks(ACCOUNT, args.region)

    def served(environ, start_response):
        answer = enforced.check(environ) or iam_lag.check(environ) or networks_apart.check(environ)
        if answer is None and "agent" in holder:
            answer = holder["agent"].check(environ) or holder["sessions"].check(environ)
        if answer is not None:
            return answer(environ, start_response)
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith(cloud9.TARGET_PREFIX):
            return holder["cloud9"].wsgi(environ, start_response)
        return moto_app(environ, start_response)

    def app(environ, start_response):
        answer = injected.admin(environ) or injected.check(environ) or injected.chaotic(environ, served)
        if answer is not None:
            return answer(environ, start_response)
        return served(environ, start_response)

    server = make_server("127.0.0.1", args.port, app, threaded=True, request_handler=QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"

    def clients(service):
        return boto3.client(service, endpoint_url=endpoint, region_name=args.region,
                            aws_access_key_id=authz.TESTBED_KEY, aws_secret_access_key="testing")

    holder["cloud9"] = cloud9.Cloud9(clients, args.region, ACCOUNT, args.create_seconds)
    # One pair of clients for every IMDS endpoint (making a boto3 client takes tens of ms).
    ec2, iam = clients("ec2"), clients("iam")
    metadata = imds.Imds(ec2, iam, ACCOUNT, args.region, allow_v1=args.imds_allow_v1)
    imds_server = imds.serve(metadata, args.imds_port)
    instances_dir = args.instances_dir or tempfile.mkdtemp(prefix="kenv-testbed-instances-")
    aws_cli = os.path.join(os.path.dirname(sys.executable), "aws")
    sandboxes = sandbox.Sandboxes(instances_dir, endpoint, args.region, args.time_scale, aws_cli)
    instance_imds, imds_lock = {}, threading.Lock()

    def imds_for(instance_id):
        """The instance's own IMDS endpoint, started on first use."""
        with imds_lock:
            if instance_id not in instance_imds:
                own = imds.Imds(ec2, iam, ACCOUNT, args.region, allow_v1=args.imds_allow_v1, instance_id=instance_id)
                instance_imds[instance_id] = f"http://127.0.0.1:{imds.serve(own, 0).server_address[1]}"
            return instance_imds[instance_id]

    holder["agent"] = agent.Agent(ACCOUNT, args.region, enforced, sandboxes, imds_for, args.agent_register_seconds, moto_app)
    holder["sessions"] = sessions.Sessions(holder["agent"], enforced, args.time_scale)
    manager = c1ws.serve(c1ws.Manager())
    info = {"endpoint": endpoint, "imds": f"http://127.0.0.1:{imds_server.server_address[1]}", "region": args.region,
            "account": ACCOUNT, "c1ws": f"http://127.0.0.1:{manager.server_address[1]}", "instances": instances_dir}
    if not args.no_seed:
        info.update(seed(clients))
    iam_lag.armed = True
    print(json.dumps(info), flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if args.watch_stdin:
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    stop.wait()
    server.shutdown()
    if not args.instances_dir:
        shutil.rmtree(instances_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
