"""The Cloud9 API moto lacks: the JSON 1.1 protocol aws-sdk-cloud9 speaks, backed by real
instances in moto's EC2 (launched in the environment's subnet in a security group of the
environment's own, as Cloud9's stack makes one, tagged as Cloud9 tags them), so EC2 describe calls see them as on AWS."""

import json
import re
import secrets
import threading
import time

TARGET_PREFIX = "AWSCloud9WorkspaceManagementService."
IMAGE_ALIASES = {"amazonlinux-2023-x86_64", "amazonlinux-2-x86_64", "ubuntu-22.04-x86_64"}
SSM_IMAGE_PREFIX = "resolve:ssm:/aws/service/cloud9/amis/"
SSM_PROFILE = "AWSCloud9SSMInstanceProfile"


class Cloud9Error(Exception):
    def __init__(self, kind, message, status=400):
        super().__init__(message)
        self.kind, self.message, self.status = kind, message, status


def bad(message):
    return Cloud9Error("BadRequestException", message)


def not_found(message):
    return Cloud9Error("NotFoundException", message, 404)


class Cloud9:
    def __init__(self, clients, region, account, create_seconds):
        self.ec2 = clients("ec2")
        self.iam = clients("iam")
        self.region, self.account = region, account
        self.create_seconds = create_seconds
        self.envs = {}  # id -> environment record
        self.tokens = {}  # clientRequestToken -> id
        self.lock = threading.Lock()

    # --- WSGI -------------------------------------------------------------------------------
    def wsgi(self, environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")[len(TARGET_PREFIX):]
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length) if length else b"{}"
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                raise Cloud9Error("SerializationException", "the request body is not JSON")
            if not isinstance(body, dict):
                raise Cloud9Error("SerializationException", "the request body is not a JSON object")
            handler = getattr(self, "op_" + target, None)
            if handler is None:
                raise Cloud9Error("UnknownOperationException", f"unknown operation {target!r}")
            with self.lock:
                result = handler(body)
            status, payload, headers = "200 OK", result, []
        except Cloud9Error as e:
            reasons = {400: "Bad Request", 404: "Not Found", 409: "Conflict", 500: "Internal Server Error"}
            status = f"{e.status} {reasons.get(e.status, 'Error')}"
            payload = {"__type": e.kind, "message": e.message}
            headers = [("x-amzn-ErrorType", e.kind)]
        except Exception as e:  # never a traceback to the client: an AWS-shaped 500
            status, headers = "500 Internal Server Error", [("x-amzn-ErrorType", "InternalServerErrorException")]
            payload = {"__type": "InternalServerErrorException", "message": f"testbed error: {type(e).__name__}: {e}"}
        data = json.dumps(payload).encode()
        start_response(status, [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(data)))] + headers)
        return [data]

    # --- helpers ----------------------------------------------------------------------------
    def arn(self, env_id):
        return f"arn:aws:cloud9:{self.region}:{self.account}:environment:{env_id}"

    def env(self, env_id):
        if not isinstance(env_id, str) or env_id not in self.envs:
            raise not_found(f"environment {env_id!r} was not found")
        return self.envs[env_id]

    def env_by_arn(self, arn):
        if not isinstance(arn, str) or not arn.startswith(f"arn:aws:cloud9:{self.region}:"):
            raise bad(f"{arn!r} is not a Cloud9 environment ARN")
        return self.env(arn.rsplit(":", 1)[-1])

    def ready(self, env):
        return time.monotonic() - env["created"] >= self.create_seconds

    def own_group(self, name, env_id, vpc_id, connection):
        """The security group Cloud9 makes for each environment (its CloudFormation stack's): no
        inbound rule for an SSM environment, SSH from Cloud9's addresses for an SSH one."""
        group = self.ec2.create_security_group(
            GroupName=f"aws-cloud9-{name}-{env_id}-InstanceSecurityGroup-{secrets.token_hex(6).upper()}",
            Description="Security group for AWS Cloud9 instance", VpcId=vpc_id,
            TagSpecifications=[{"ResourceType": "security-group", "Tags": [{"Key": "aws:cloud9:environment", "Value": env_id}]}],
        )["GroupId"]
        if connection == "CONNECT_SSH":
            ssh = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "13.112.0.0/14"}]}
            self.ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[ssh])
        return group

    def image_id(self):
        """The AMI environments launch (read once: describing moto's images takes most of a second)."""
        if not hasattr(self, "_image"):
            images = self.ec2.describe_images(Owners=["amazon"])["Images"] or self.ec2.describe_images()["Images"]
            self._image = images[0]["ImageId"]
        return self._image

    @staticmethod
    def tags_of(body, key="tags"):
        tags = body.get(key) or []
        if not isinstance(tags, list) or not all(isinstance(t, dict) and isinstance(t.get("Key"), str) and isinstance(t.get("Value"), str) for t in tags):
            raise bad("tags must be a list of {Key, Value}")
        for t in tags:
            if t["Key"].lower().startswith("aws:"):
                raise bad(f"tag key {t['Key']!r}: the aws: prefix is reserved")
        return tags

    # --- operations -------------------------------------------------------------------------
    def op_CreateEnvironmentEC2(self, body):
        name, itype, image, subnet = (body.get(k) for k in ("name", "instanceType", "imageId", "subnetId"))
        if not isinstance(name, str) or not 1 <= len(name) <= 60:
            raise bad("name is required: 1 to 60 characters")
        if not isinstance(itype, str) or not re.fullmatch(r"[a-z][a-z0-9-]*[0-9][a-z0-9-]*\.[a-z0-9]+", itype):
            raise bad(f"instanceType {itype!r} does not match an EC2 instance type")
        if not isinstance(image, str) or image.removeprefix(SSM_IMAGE_PREFIX) not in IMAGE_ALIASES:
            raise bad(f"imageId {image!r} is not a valid image alias or SSM path")
        connection = body.get("connectionType", "CONNECT_SSH")
        if connection not in ("CONNECT_SSH", "CONNECT_SSM"):
            raise bad(f"connectionType {connection!r} must be CONNECT_SSH or CONNECT_SSM")
        stop = body.get("automaticStopTimeMinutes")
        if stop is not None and (not isinstance(stop, int) or isinstance(stop, bool) or not 0 <= stop <= 20160):
            raise bad("automaticStopTimeMinutes must be 0 to 20160")
        if subnet is None:
            raise bad("subnetId is required for an environment in a VPC")
        if not isinstance(subnet, str) or not re.fullmatch(r"subnet-([0-9a-f]{8}|[0-9a-f]{17})", subnet):
            raise bad(f"subnetId {subnet!r} is not a subnet id")
        tags = self.tags_of(body)
        token = body.get("clientRequestToken")
        if token in self.tokens:
            return {"environmentId": self.tokens[token]}
        if any(e["name"] == name for e in self.envs.values()):
            raise Cloud9Error("ConflictException", f"an environment named {name!r} already exists", 409)
        subnets = self.ec2.describe_subnets(Filters=[{"Name": "subnet-id", "Values": [subnet]}])["Subnets"]
        if not subnets:
            raise bad(f"subnet {subnet!r} does not exist")
        if connection == "CONNECT_SSM":
            try:
                self.iam.get_instance_profile(InstanceProfileName=SSM_PROFILE)
            except self.iam.exceptions.NoSuchEntityException:
                raise bad(f"a CONNECT_SSM environment needs the instance profile {SSM_PROFILE}; create it (path /cloud9/) first")
        env_id = secrets.token_hex(16)
        owner = body.get("ownerArn") or f"arn:aws:iam::{self.account}:root"
        if "ownerArn" in body:
            self.principal(owner)
        instance_tags = [
            {"Key": "aws:cloud9:environment", "Value": env_id},
            {"Key": "aws:cloud9:owner", "Value": owner},
            {"Key": "Name", "Value": f"aws-cloud9-{name}-{env_id}"},
        ] + tags
        launch = dict(
            ImageId=self.image_id(), MinCount=1, MaxCount=1, InstanceType=itype, SubnetId=subnet,
            SecurityGroupIds=[self.own_group(name, env_id, subnets[0]["VpcId"], connection)],
            TagSpecifications=[{"ResourceType": "instance", "Tags": instance_tags}],
        )
        if connection == "CONNECT_SSM":
            launch["IamInstanceProfile"] = {"Name": SSM_PROFILE}
        instance = self.ec2.run_instances(**launch)["Instances"][0]
        self.envs[env_id] = {
            "id": env_id, "name": name, "description": body.get("description"), "type": "ec2",
            "connectionType": connection, "arn": self.arn(env_id), "ownerArn": owner,
            "managedCredentialsStatus": "ENABLED_ON_CREATE", "created": time.monotonic(),
            "instanceId": instance["InstanceId"], "tags": tags, "automaticStopTimeMinutes": stop,
            "members": {},  # user ARN -> read-write | read-only (the owner is not among them)
        }
        if token:
            self.tokens[token] = env_id
        return {"environmentId": env_id}

    def describe(self, env):
        out = {k: env[k] for k in ("id", "name", "type", "connectionType", "arn", "ownerArn", "managedCredentialsStatus")}
        if env.get("description"):
            out["description"] = env["description"]
        out["lifecycle"] = {"status": "CREATED" if self.ready(env) else "CREATING"}
        return out

    def op_DescribeEnvironments(self, body):
        ids = body.get("environmentIds")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 25:
            raise bad("environmentIds must list 1 to 25 ids")
        return {"environments": [self.describe(self.envs[i]) for i in ids if i in self.envs]}

    def op_DescribeEnvironmentStatus(self, body):
        env = self.env(body.get("environmentId"))
        if self.ready(env):
            return {"status": "ready", "message": "Environment is ready to use"}
        return {"status": "creating", "message": "Environment is being created"}

    def op_ListEnvironments(self, body):
        ids = sorted(self.envs, key=lambda i: self.envs[i]["created"])
        start = int(body.get("nextToken") or 0)
        size = body.get("maxResults") or 25
        if not isinstance(size, int) or not 0 <= size <= 25:
            raise bad("maxResults must be 0 to 25")
        page = ids[start:start + size]
        out = {"environmentIds": page}
        if start + size < len(ids):
            out["nextToken"] = str(start + size)
        return out

    def op_UpdateEnvironment(self, body):
        env = self.env(body.get("environmentId"))
        action = body.get("managedCredentialsAction")
        if action is not None:
            if action not in ("ENABLE", "DISABLE"):
                raise bad("managedCredentialsAction must be ENABLE or DISABLE")
            env["managedCredentialsStatus"] = "ENABLED_BY_OWNER" if action == "ENABLE" else "DISABLED_BY_OWNER"
        if "name" in body:
            if not isinstance(body["name"], str) or not 1 <= len(body["name"]) <= 60:
                raise bad("name must be 1 to 60 characters")
            env["name"] = body["name"]
        if "description" in body:
            env["description"] = body["description"]
        return {}

    def op_DeleteEnvironment(self, body):
        env = self.env(body.get("environmentId"))
        self.ec2.terminate_instances(InstanceIds=[env["instanceId"]])
        # Cloud9's stack goes with the environment, its group with it.
        for group in self.ec2.describe_security_groups(Filters=[{"Name": "tag:aws:cloud9:environment", "Values": [env["id"]]}])["SecurityGroups"]:
            try:
                self.ec2.delete_security_group(GroupId=group["GroupId"])
            except Exception:
                pass  # still attached elsewhere (kenv's own, by hand): AWS's stack deletion fails too
        del self.envs[env["id"]]
        self.tokens = {t: i for t, i in self.tokens.items() if i != env["id"]}
        return {}

    # --- memberships: who may open an environment besides its owner ---------------------------
    def principal(self, arn):
        """Refuses an ARN that names no IAM user or role of the account, as Cloud9 does."""
        prefix = f"arn:aws:iam::{self.account}:"
        kind, _, path = (arn or "").removeprefix(prefix).partition("/") if (arn or "").startswith(prefix) else ("", "", "")
        try:
            if kind == "user" and path:
                return self.iam.get_user(UserName=path.rsplit("/", 1)[-1])
            if kind == "role" and path:
                return self.iam.get_role(RoleName=path.rsplit("/", 1)[-1])
        except Exception:
            pass
        raise bad(f"{arn!r} is not an IAM user or role of account {self.account}")

    def membership(self, env, arn):
        permissions = "owner" if arn == env["ownerArn"] else env["members"][arn]
        return {"permissions": permissions, "userId": arn.rsplit("/", 1)[-1], "userArn": arn, "environmentId": env["id"]}

    def permissions(self, body):
        wanted = body.get("permissions")
        if wanted not in ("read-write", "read-only"):
            raise bad("permissions must be read-write or read-only")
        return wanted

    def op_CreateEnvironmentMembership(self, body):
        env, arn = self.env(body.get("environmentId")), body.get("userArn")
        permissions = self.permissions(body)
        self.principal(arn)
        if arn == env["ownerArn"] or arn in env["members"]:
            raise Cloud9Error("ConflictException", f"{arn} is already a member of the environment", 409)
        env["members"][arn] = permissions
        return {"membership": self.membership(env, arn)}

    def op_UpdateEnvironmentMembership(self, body):
        env, arn = self.env(body.get("environmentId")), body.get("userArn")
        permissions = self.permissions(body)
        if arn not in env["members"]:
            raise not_found(f"{arn} is not a member of the environment")
        env["members"][arn] = permissions
        return {"membership": self.membership(env, arn)}

    def op_DeleteEnvironmentMembership(self, body):
        env, arn = self.env(body.get("environmentId")), body.get("userArn")
        if arn == env["ownerArn"]:
            raise bad("the owner's membership cannot be deleted")
        if env["members"].pop(arn, None) is None:
            raise not_found(f"{arn} is not a member of the environment")
        return {}

    def op_DescribeEnvironmentMemberships(self, body):
        if not body.get("environmentId") and not body.get("userArn"):
            raise bad("environmentId or userArn is required")
        envs = [self.env(body["environmentId"])] if body.get("environmentId") else list(self.envs.values())
        found = [self.membership(e, a) for e in envs for a in [e["ownerArn"], *sorted(e["members"])]]
        found = [m for m in found if body.get("userArn") in (None, m["userArn"])
                 and (not body.get("permissions") or m["permissions"] in body["permissions"])]
        start, size = int(body.get("nextToken") or 0), body.get("maxResults") or 25
        out = {"memberships": found[start:start + size]}
        if start + size < len(found):
            out["nextToken"] = str(start + size)
        return out

    def op_TagResource(self, body):
        env = self.env_by_arn(body.get("ResourceARN"))
        tags = self.tags_of(body, "Tags")
        keep = [t for t in env["tags"] if t["Key"] not in {n["Key"] for n in tags}]
        env["tags"] = keep + tags
        if tags:
            self.ec2.create_tags(Resources=[env["instanceId"]], Tags=tags)
        return {}

    def op_UntagResource(self, body):
        env = self.env_by_arn(body.get("ResourceARN"))
        keys = body.get("TagKeys")
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise bad("TagKeys must be a list of strings")
        env["tags"] = [t for t in env["tags"] if t["Key"] not in keys]
        if keys:
            self.ec2.delete_tags(Resources=[env["instanceId"]], Tags=[{"Key": k} for k in keys])
        return {}

    def op_ListTagsForResource(self, body):
        return {"Tags": self.env_by_arn(body.get("ResourceARN"))["tags"]}
