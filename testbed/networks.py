"""EC2's networks, as AWS keeps them apart: a security group belongs to one VPC, and

- a rule may name another group as its source only when both are in one VPC, or in two VPCs
  peered with each other: otherwise AuthorizeSecurityGroupIngress/Egress answers
  InvalidGroup.NotFound, "You have specified two resources that belong to different networks.";
- an instance's groups are its subnet's VPC's: otherwise RunInstances answers InvalidParameter,
  "Security group … and subnet … belong to different networks."

moto accepts both."""

import re

from moto.ec2.models import ec2_backends

import faults


class Networks:
    def __init__(self, account, region):
        self.account, self.region = account, region

    def ec2(self):
        return ec2_backends[self.account][self.region]

    def vpc_of_group(self, group_id):
        try:
            group = self.ec2().get_security_group_from_id(group_id)
        except Exception:
            return None
        return group.vpc_id if group else None

    def peered(self, a, b):
        for pcx in getattr(self.ec2(), "vpc_pcxs", {}).values():
            ends = {pcx.vpc.id, pcx.peer_vpc.id}
            if ends == {a, b} and pcx._status.code == "active":
                return True
        return False

    def check(self, environ):
        service, action, _, form = faults.identify(environ)
        if service != "ec2":
            return None
        params = {k: v[0] for k, v in form.items()}
        if action in ("AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress"):
            target = self.vpc_of_group(params.get("GroupId", ""))
            sources = [v for k, v in params.items() if re.fullmatch(r"IpPermissions\.\d+\.Groups\.\d+\.GroupId", k)]
            for source in sources:
                theirs = self.vpc_of_group(source)
                if target and theirs and theirs != target and not self.peered(target, theirs):
                    fault = {"code": "InvalidGroup.NotFound", "status": 400,
                             "message": "You have specified two resources that belong to different networks."}
                    return faults.error_response("ec2", fault, False)
        if action == "RunInstances":
            subnet_id = params.get("SubnetId") or params.get("NetworkInterface.1.SubnetId")
            try:
                vpc = self.ec2().get_subnet(subnet_id).vpc_id if subnet_id else None
            except Exception:
                vpc = None
            groups = [v for k, v in params.items() if re.fullmatch(r"(NetworkInterface\.1\.)?SecurityGroupId\.\d+", k)]
            for group in groups:
                theirs = self.vpc_of_group(group)
                if vpc and theirs and theirs != vpc:
                    fault = {"code": "InvalidParameter", "status": 400,
                             "message": f"Security group {group} and subnet {subnet_id} belong to different networks."}
                    return faults.error_response("ec2", fault, False)
        return None
