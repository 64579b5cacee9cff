"""A strict IMDSv2 endpoint answering for one moto instance with that instance's real data.

PUT /latest/api/token needs X-aws-ec2-metadata-token-ttl-seconds (1..21600, else 400) and is
refused when X-Forwarded-For is present; a GET without a valid, unexpired token gets 401 when the
instance's HttpTokens is "required" — and, strictly, also when it is "optional" (moto's launch
default) unless the testbed runs with --imds-allow-v1, which honours "optional" as AWS does;
HttpEndpoint "disabled" answers 404. Every tokenless request is counted; tests read the counts
at GET /_testbed/stats.

`iam/security-credentials/<role>` serves real temporary credentials of the instance's role,
from moto's STS (AssumeRole, renewed before they expire): requests signed with them are
authorized against that role's policies (authz.py). The testbed runs one endpoint that tests
point at an instance (POST /_testbed/instance) and one per instance its commands run on.
"""

import json
import secrets
import threading
import time
from datetime import timezone

from moto.sts.models import sts_backends

import httpd

CREDENTIAL_SECONDS = 3600


class Imds:
    def __init__(self, ec2, iam, account, region, allow_v1=False, instance_id=None):
        self.allow_v1 = allow_v1
        self.account = account
        self.region = region
        self.ec2 = ec2
        self.iam = iam
        self.instance_id = instance_id
        self.tokens = {}  # token -> expiry (monotonic seconds)
        self.credentials = {}  # (role ARN, session) -> moto's AssumedRole
        self.stats = {"requests": 0, "tokenless": 0, "rejected": 0}
        self.lock = threading.Lock()

    def instance(self):
        if not self.instance_id:
            return None
        found = self.ec2.describe_instances(InstanceIds=[self.instance_id])["Reservations"]
        return found[0]["Instances"][0] if found else None

    def role_of(self, inst):
        profile = (inst.get("IamInstanceProfile") or {}).get("Arn")
        if not profile:
            return None, None
        name = profile.rsplit("/", 1)[-1]
        roles = self.iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
        return roles, (roles["Roles"][0]["RoleName"] if roles["Roles"] else None)

    def tree(self, inst, path=""):
        """The metadata paths this endpoint serves, as a dict path -> text: all of them, or those
        a request for `path` may need (the VPC and the role are read only for their paths)."""
        iface = inst["NetworkInterfaces"][0] if inst.get("NetworkInterfaces") else {}
        mac = iface.get("MacAddress") or "02:00:00:00:00:01"
        wants = lambda prefix: path == "" or path.startswith(prefix)  # noqa: E731
        vpc = self.ec2.describe_vpcs(VpcIds=[inst["VpcId"]])["Vpcs"][0] if inst.get("VpcId") and wants("network") else {}
        az = inst["Placement"]["AvailabilityZone"]
        macp = f"network/interfaces/macs/{mac}/"
        t = {
            "ami-id": inst["ImageId"],
            "instance-id": inst["InstanceId"],
            "instance-type": inst["InstanceType"],
            "local-ipv4": inst.get("PrivateIpAddress", ""),
            "mac": mac,
            "placement/availability-zone": az,
            "placement/region": az[:-1],
            "network/interfaces/macs/": mac + "/",
            macp + "security-group-ids": "\n".join(g["GroupId"] for g in inst.get("SecurityGroups", [])),
            macp + "subnet-id": inst.get("SubnetId", ""),
            macp + "vpc-id": inst.get("VpcId", ""),
            macp + "vpc-ipv4-cidr-block": vpc.get("CidrBlock", ""),
        }
        profile, role = self.role_of(inst) if wants("iam") else (None, None)
        if profile:
            t["iam/info"] = json.dumps({
                "Code": "Success", "LastUpdated": "2026-01-01T00:00:00Z",
                "InstanceProfileArn": profile["Arn"], "InstanceProfileId": profile["InstanceProfileId"],
            })
        if role:
            t["iam/security-credentials/"] = role
            c = self.role_credentials(profile["Roles"][0]["Arn"], inst["InstanceId"])
            t[f"iam/security-credentials/{role}"] = json.dumps({
                "Code": "Success", "LastUpdated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "Type": "AWS-HMAC",
                "AccessKeyId": c.access_key_id, "SecretAccessKey": c.secret_access_key,
                "Token": c.session_token, "Expiration": c.expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
            })
        return t

    def role_credentials(self, role_arn, session):
        """The role's temporary credentials, as EC2 hands them to the instance: renewed well
        before they expire."""
        with self.lock:
            held = self.credentials.get((role_arn, session))
            if held is None or held.expiration.replace(tzinfo=timezone.utc).timestamp() - time.time() < CREDENTIAL_SECONDS / 2:
                sts = sts_backends[self.account]["aws"]
                held = sts.assume_role(region_name=self.region, role_session_name=session, role_arn=role_arn,
                                       policy=None, duration=CREDENTIAL_SECONDS, external_id=None)
                self.credentials[(role_arn, session)] = held
            return held


def listing(tree, path):
    """A directory listing, as IMDS answers `…/` paths."""
    names = sorted({k[len(path):].split("/", 1)[0] + ("/" if "/" in k[len(path):] else "") for k in tree if k.startswith(path) and k != path})
    return "\n".join(names) if names else None


def handler_for(imds):
    class Handler(httpd.Handler):
        def do_PUT(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path != "/latest/api/token":
                return self.reply(404, "Not Found")
            if self.headers.get("X-Forwarded-For"):
                return self.reply(403, "Forbidden")
            ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
            if not ttl or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                return self.reply(400, "Bad Request")
            token = secrets.token_urlsafe(32)
            with imds.lock:
                imds.tokens[token] = time.monotonic() + int(ttl)
            self.reply(200, token, headers=[("X-aws-ec2-metadata-token-ttl-seconds", ttl)])

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/_testbed/instance":
                imds.instance_id = json.loads(body or b"{}").get("instance_id")
                return self.reply(200, "{}", "application/json")
            if self.path == "/_testbed/reset":
                with imds.lock:
                    imds.stats = {k: 0 for k in imds.stats}
                return self.reply(200, "{}", "application/json")
            self.reply(404, "Not Found")

        def do_GET(self):
            if self.path == "/_testbed/stats":
                return self.reply(200, json.dumps(imds.stats), "application/json")
            with imds.lock:
                imds.stats["requests"] += 1
                token = self.headers.get("X-aws-ec2-metadata-token")
                if not token:
                    imds.stats["tokenless"] += 1
                valid = token is not None and imds.tokens.get(token, 0) > time.monotonic()
            inst = imds.instance()
            if inst is None:
                return self.reply(404, "no instance is selected for this metadata endpoint")
            options = inst.get("MetadataOptions") or {}
            if options.get("HttpEndpoint") == "disabled":
                return self.reply(404, "Not Found")
            v1_allowed = imds.allow_v1 and options.get("HttpTokens") == "optional"
            if not valid and (token or not v1_allowed):
                with imds.lock:
                    imds.stats["rejected"] += 1
                return self.reply(401, "Unauthorized")
            prefix = "/latest/meta-data/"
            if not self.path.startswith(prefix):
                return self.reply(404, "Not Found")
            path = self.path[len(prefix):]
            tree = imds.tree(inst, path)
            if path in tree:
                return self.reply(200, tree[path])
            found = listing(tree, path if path == "" or path.endswith("/") else path + "/")
            if found is not None:
                return self.reply(200, found)
            self.reply(404, "Not Found")

    return Handler


def serve(imds, port):
    return httpd.serve(handler_for(imds), port)
