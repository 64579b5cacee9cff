"""kenv's local AWS testbed: moto (EC2, IAM, SSM, STS, Secrets Manager) with the Cloud9 API
mounted on the same endpoint, and a strict IMDSv2 endpoint beside it. Everything binds to
127.0.0.1. On start it seeds what a real account has, then prints one JSON line saying where
everything is, and serves until stopped (or, with --watch-stdin, until its stdin closes).
"""

import argparse
import json
import os
import signal
import sys
import threading

# As EC2 does, RunInstances refuses an image id that is not an AMI it knows (an alias such as
# `amazonlinux-2023-x86_64` is InvalidAMIID.Malformed). MOTO_ENABLE_AMI_VALIDATION=false in the
# environment turns this off. Set before moto is imported: moto reads it then.
os.environ.setdefault("MOTO_ENABLE_AMI_VALIDATION", "true")

import boto3  # noqa: E402
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agent  # noqa: E402
import cloud9  # noqa: E402
import faults  # noqa: E402
import imds  # noqa: E402
import propagation  # noqa: E402

ACCOUNT = "123456789012"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
TRUST_EC2_AND_CLOUD9 = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": ["ec2.amazonaws.com", "cloud9.amazonaws.com"]}, "Action": "sts:AssumeRole"}],
}


def patch_moto():
    """Where moto differs from AWS in what kenv relies on, make it behave as AWS does.
    ReplaceIamInstanceProfileAssociation: AWS's DescribeInstances then shows the new profile;
    moto 5.2.5 keeps showing the old one."""
    from moto.ec2.models.iam_instance_profile import IamInstanceProfileAssociationBackend

    original = IamInstanceProfileAssociationBackend.replace_iam_instance_profile_association

    def replace(self, association_id, iam_instance_profile_name=None, iam_instance_profile_arn=None):
        association = original(self, association_id, iam_instance_profile_name, iam_instance_profile_arn)
        self.modify_instance_attribute(association.instance.id, "iam_instance_profile",
                                       {"Arn": association.iam_instance_profile.arn, "Id": association.association_id})
        return association

    IamInstanceProfileAssociationBackend.replace_iam_instance_profile_association = replace


class QuietHandler(MotoRequestHandler):
    def log_request(self, *args):
        pass


def seed(clients):
    """A VPC with a private subnet (no internet gateway) and the ssm, ssmmessages and ec2messages
    interface endpoints SSM reaches it through, its default security group, and the role and
    instance profile Cloud9 SSM environments need, which the Cloud9 API does not make."""
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
    return {"vpc_id": vpc, "subnet_id": subnet["SubnetId"], "availability_zone": subnet["AvailabilityZone"], "default_sg": groups["SecurityGroups"][0]["GroupId"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, default=0, help="AWS endpoint port (0: a free one)")
    ap.add_argument("--imds-port", type=int, default=0, help="IMDS endpoint port (0: a free one)")
    ap.add_argument("--region", default="ap-northeast-1")
    ap.add_argument("--create-seconds", type=float, default=1.0, help="how long a Cloud9 environment stays 'creating'")
    ap.add_argument("--no-seed", action="store_true")
    ap.add_argument("--imds-allow-v1", action="store_true", help="honour HttpTokens=optional (tokenless reads allowed) as AWS does")
    ap.add_argument("--iam-propagation-seconds", type=float, default=2.0,
                    help="how long EC2 refuses a new instance profile, as AWS does while IAM propagates (0: never)")
    ap.add_argument("--watch-stdin", action="store_true", help="exit when standard input closes")
    args = ap.parse_args()
    os.environ.update(CREDENTIALS)
    os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "true")
    # AWS's managed policies exist in every real account; roles attach them by ARN.
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

    patch_moto()
    moto_app = DomainDispatcherApplication(create_backend_app)
    holder = {}
    injected = faults.Faults()
    iam_lag = propagation.Propagation(args.iam_propagation_seconds)

    def app(environ, start_response):
        answer = injected.admin(environ) or injected.check(environ) or iam_lag.check(environ)
        if answer is None and "agent" in holder:
            answer = holder["agent"].check(environ)
        if answer is not None:
            return answer(environ, start_response)
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith(cloud9.TARGET_PREFIX):
            return holder["cloud9"].wsgi(environ, start_response)
        return moto_app(environ, start_response)

    server = make_server("127.0.0.1", args.port, app, threaded=True, request_handler=QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"

    def clients(service):
        return boto3.client(service, endpoint_url=endpoint, region_name=args.region,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    holder["cloud9"] = cloud9.Cloud9(clients, args.region, ACCOUNT, args.create_seconds)
    holder["agent"] = agent.Agent(clients, ACCOUNT)
    metadata = imds.Imds(clients, allow_v1=args.imds_allow_v1)
    imds_server = imds.serve(metadata, args.imds_port)
    info = {"endpoint": endpoint, "imds": f"http://127.0.0.1:{imds_server.server_address[1]}", "region": args.region, "account": ACCOUNT}
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


if __name__ == "__main__":
    main()
