"""What a request acts on, as IAM authorizes it: each resource's ARN with the condition keys it
brings (its tags as `aws:ResourceTag/…`, the request's tags as `aws:RequestTag/…`, the policy an
attach or detach names as `iam:PolicyARN`), and the actions a request implies (`iam:PassRole` on the
role of an instance profile handed to EC2, with `iam:PassedToService`). AWS authorizes a request on
every resource it names; an action IAM cannot scope is checked against `*`.

This covers what kenv's plan, apply and destroy call, so that an operator holding only `kenv
iam-policy`'s output is held to it as AWS would hold them: EC2 (instances, security groups, tags,
launches), IAM (roles, instance profiles, policies), Cloud9 environments, Secrets Manager secrets,
SSM parameters, documents and Run Command."""

import re

from moto.ec2.models import ec2_backends
from moto.iam.models import iam_backends
from moto.secretsmanager.models import secretsmanager_backends

PARTITION = "aws"
EC2_SERVICE = "ec2.amazonaws.com"


def numbered(params, prefix):
    """`InstanceId.1`, `InstanceId.2`, … → their values, in order."""
    found = [(int(m.group(1)), v) for k, v in params.items() if (m := re.fullmatch(re.escape(prefix) + r"\.(\d+)", k))]
    return [v for _, v in sorted(found)]


def query_tags(params, prefix):
    """`PREFIX.N.Key` / `PREFIX.N.Value` → {key: value}."""
    keys = {m.group(1): v for k, v in params.items() if (m := re.fullmatch(re.escape(prefix) + r"\.(\d+)\.Key", k))}
    return {key: params.get(f"{prefix}.{n}.Value", "") for n, key in keys.items()}


def tag_spec(params, kind):
    """The tags a TagSpecification gives resources of `kind` (`instance`, `security-group`)."""
    for n in sorted({m.group(1) for k in params if (m := re.fullmatch(r"TagSpecification\.(\d+)\.ResourceType", k))}):
        if params.get(f"TagSpecification.{n}.ResourceType") == kind:
            return query_tags(params, f"TagSpecification.{n}.Tag")
    return {}


def context(prefix, tags):
    return {f"{prefix}/{k}": v for k, v in tags.items()}


class Arns:
    def __init__(self, account, region, cloud9_envs):
        self.account, self.region = account, region
        self.cloud9_envs = cloud9_envs  # environment id → its record (with `tags`)

    def ec2(self):
        return ec2_backends[self.account][self.region]

    def iam(self):
        return iam_backends[self.account][PARTITION]

    def of(self, service, action, params):
        """[(action, resource, context)] the request needs allowed; None: the action on `*`."""
        handler = getattr(self, f"{service.replace('-', '_')}_{action}", None) or getattr(self, f"{service.replace('-', '_')}_any", None)
        return handler(action, params) if handler else None

    # EC2 ------------------------------------------------------------------------------------
    def ec2_arn(self, kind, ident, account=None):
        return f"arn:aws:ec2:{self.region}:{self.account if account is None else account}:{kind}/{ident}"

    def instance(self, ident):
        try:
            tags = {t["key"]: t["value"] for t in self.ec2().get_instance(ident).get_tags()}
        except Exception:
            tags = {}
        return self.ec2_arn("instance", ident), context("aws:ResourceTag", tags)

    def group(self, ident):
        try:
            group = self.ec2().get_security_group_from_id(ident)
            tags = {t["key"]: t["value"] for t in group.get_tags()} if group else {}
        except Exception:
            tags = {}
        return self.ec2_arn("security-group", ident), context("aws:ResourceTag", tags)

    def by_id(self, ident):
        return self.group(ident) if ident.startswith("sg-") else self.instance(ident)

    def pass_role(self, profile_name=None, profile_arn=None, role_name=None):
        """iam:PassRole on the role an instance profile holds (or the role named)."""
        names = [role_name] if role_name else []
        if profile_name or profile_arn:
            name = profile_name or profile_arn.rsplit("/", 1)[-1]
            try:
                names = [r.name for r in self.iam().get_instance_profile(name).roles]
            except Exception:
                names = []
        return [("iam:PassRole", self.role_arn(n), {"iam:PassedToService": EC2_SERVICE}) for n in names]

    def ec2_any(self, action, params):
        if action.startswith("Describe"):
            return None
        return (self.ec2_request(action, params) or []) + self.tagged_on_create(action, params) or None

    def tagged_on_create(self, action, params):
        """ec2:CreateTags on what a request makes with tags (its TagSpecification), with
        `ec2:CreateAction` naming the request, as EC2 authorizes tagging on creation."""
        made = {"RunInstances": "instance", "CreateSecurityGroup": "security-group",
                "AuthorizeSecurityGroupIngress": "security-group-rule", "AuthorizeSecurityGroupEgress": "security-group-rule"}
        tags = tag_spec(params, made.get(action, ""))
        if not tags:
            return []
        keys = {"ec2:CreateAction": action, **context("aws:RequestTag", tags)}
        return [("ec2:CreateTags", self.ec2_arn(made[action], "*"), keys)]

    def ec2_request(self, action, params):
        if action in ("CreateTags", "DeleteTags"):
            request = context("aws:RequestTag", query_tags(params, "Tag")) if action == "CreateTags" else {}
            return [(f"ec2:{action}", arn, {**ctx, **request}) for arn, ctx in map(self.by_id, numbered(params, "ResourceId"))]
        if action in ("ModifyInstanceAttribute", "ModifyInstanceMetadataOptions", "AssociateIamInstanceProfile"):
            arn, ctx = self.instance(params.get("InstanceId", ""))
            passed = self.pass_role(profile_name=params.get("IamInstanceProfile.Name"), profile_arn=params.get("IamInstanceProfile.Arn")) \
                if action == "AssociateIamInstanceProfile" else []
            return [(f"ec2:{action}", arn, ctx)] + passed
        if action in ("StartInstances", "StopInstances", "TerminateInstances"):
            return [(f"ec2:{action}", *self.instance(i)) for i in numbered(params, "InstanceId")]
        if action == "ReplaceIamInstanceProfileAssociation":
            association = params.get("AssociationId", "")
            found = self.ec2().iam_instance_profile_associations
            instance = next((i for i, a in found.items() if a.association_id == association), "")
            arn, ctx = self.instance(instance)
            passed = self.pass_role(profile_name=params.get("IamInstanceProfile.Name"), profile_arn=params.get("IamInstanceProfile.Arn"))
            return [(f"ec2:{action}", arn, ctx)] + passed
        if action in ("AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress", "RevokeSecurityGroupIngress",
                      "RevokeSecurityGroupEgress", "DeleteSecurityGroup") and params.get("GroupId"):
            return [(f"ec2:{action}", *self.group(params["GroupId"]))]
        if action == "CreateSecurityGroup":
            request = context("aws:RequestTag", tag_spec(params, "security-group"))
            return [("ec2:CreateSecurityGroup", self.ec2_arn("security-group", "*"), request),
                    ("ec2:CreateSecurityGroup", self.ec2_arn("vpc", params.get("VpcId", "")), {})]
        if action == "RunInstances":
            request = context("aws:RequestTag", tag_spec(params, "instance"))
            groups = numbered(params, "SecurityGroupId") + numbered(params, "NetworkInterface.1.SecurityGroupId")
            needed = [("ec2:RunInstances", self.ec2_arn("instance", "*"), request),
                      ("ec2:RunInstances", self.ec2_arn("network-interface", "*"), {}),
                      ("ec2:RunInstances", self.ec2_arn("volume", "*"), {}),
                      ("ec2:RunInstances", self.ec2_arn("image", params.get("ImageId", ""), account=""), {}),
                      ("ec2:RunInstances", self.ec2_arn("subnet", params.get("SubnetId") or params.get("NetworkInterface.1.SubnetId", "")), {})]
            needed += [("ec2:RunInstances", self.ec2_arn("security-group", g), {}) for g in groups]
            return needed + self.pass_role(profile_name=params.get("IamInstanceProfile.Name"), profile_arn=params.get("IamInstanceProfile.Arn"))
        return None

    # IAM ------------------------------------------------------------------------------------
    def iam_arn(self, what):
        return f"arn:aws:iam::{self.account}:{what}"

    def role_arn(self, name, path=None):
        try:
            return self.iam().get_role(name).arn
        except Exception:
            return self.iam_arn(f"role{path or '/'}{name}")

    def iam_any(self, action, params):
        policy = {"iam:PolicyARN": params["PolicyArn"]} if params.get("PolicyArn") else {}
        if params.get("PermissionsBoundary"):
            policy["iam:PermissionsBoundary"] = params["PermissionsBoundary"]
        request = context("aws:RequestTag", query_tags(params, "Tags.member"))
        if action in ("ListRoles", "ListPolicies"):
            return None
        if action == "AddRoleToInstanceProfile":
            return [(f"iam:{action}", self.profile_arn(params.get("InstanceProfileName", "")), {})] + \
                self.pass_role(role_name=params.get("RoleName"))
        if "InstanceProfileName" in params:
            arn = self.profile_arn(params["InstanceProfileName"], params.get("Path"))
            return [(f"iam:{action}", arn, request)] + self.tagged_as_made(action, "TagInstanceProfile", arn, request)
        if action == "DetachUserPolicy":
            return [(f"iam:{action}", self.iam_arn(f"user/{params.get('UserName', '')}"), policy)]
        if action == "DetachGroupPolicy":
            return [(f"iam:{action}", self.iam_arn(f"group/{params.get('GroupName', '')}"), policy)]
        if "RoleName" in params:
            arn = self.role_arn(params["RoleName"], params.get("Path"))
            return [(f"iam:{action}", arn, {**policy, **request})] + self.tagged_as_made(action, "TagRole", arn, request)
        if action == "CreatePolicy":
            arn = self.iam_arn(f"policy{params.get('Path', '/')}{params.get('PolicyName', '')}")
            return [(f"iam:{action}", arn, request)] + self.tagged_as_made(action, "TagPolicy", arn, request)
        if params.get("PolicyArn"):
            return [(f"iam:{action}", params["PolicyArn"], {})]
        return None

    @staticmethod
    def tagged_as_made(action, tagging, arn, request):
        """IAM's create calls given tags need the tagging action on what they make too."""
        return [(f"iam:{tagging}", arn, request)] if action.startswith("Create") and request else []

    def profile_arn(self, name, path=None):
        try:
            return self.iam().get_instance_profile(name).arn
        except Exception:
            return self.iam_arn(f"instance-profile{path or '/'}{name}")

    # Cloud9 ---------------------------------------------------------------------------------
    def cloud9_arn(self, env_id):
        return f"arn:aws:cloud9:{self.region}:{self.account}:environment:{env_id}"

    def cloud9_env(self, env_id):
        env = self.cloud9_envs().get(env_id) or {}
        tags = {t["Key"]: t["Value"] for t in env.get("tags", [])}
        return self.cloud9_arn(env_id), context("aws:ResourceTag", tags)

    def cloud9_any(self, action, params):
        qualified = f"cloud9:{action}"
        if action == "CreateEnvironmentEC2":
            tags = {t.get("Key"): t.get("Value") for t in params.get("tags") or [] if isinstance(t, dict)}
            return [(qualified, "*", context("aws:RequestTag", tags))]
        if action in ("TagResource", "UntagResource"):
            env_id = str(params.get("ResourceARN", "")).rsplit(":", 1)[-1]
            arn, ctx = self.cloud9_env(env_id)
            tags = {t.get("Key"): t.get("Value") for t in params.get("Tags") or [] if isinstance(t, dict)}
            return [(qualified, arn, {**ctx, **context("aws:RequestTag", tags)})]
        if action == "DescribeEnvironments":
            return [(qualified, *self.cloud9_env(e)) for e in params.get("environmentIds") or []] or None
        if params.get("environmentId"):
            return [(qualified, *self.cloud9_env(params["environmentId"]))]
        return None

    # Secrets Manager ------------------------------------------------------------------------
    def secretsmanager_any(self, action, params):
        if not params.get("SecretId"):
            return None
        base = f"arn:aws:secretsmanager:{self.region}:{self.account}"
        try:
            secret = secretsmanager_backends[self.account][self.region].describe_secret(params["SecretId"])
            arn, tags = secret.arn, {t["Key"]: t["Value"] for t in secret.tags or []}
        except Exception:
            arn, tags = f"{base}:secret:{params['SecretId']}", {}
        return [(f"secretsmanager:{action}", arn, context("aws:ResourceTag", tags))]

    # SSM ------------------------------------------------------------------------------------
    def ssm_arn(self, what, aws_owned=False):
        return f"arn:aws:ssm:{self.region}:{'' if aws_owned else self.account}:{what}"

    def parameter(self, name):
        name = name.lstrip("/")
        return self.ssm_arn(f"parameter/{name}", aws_owned=name.startswith("aws/"))

    def document(self, name):
        return self.ssm_arn(f"document/{name}", aws_owned=name.startswith(("AWS-", "Amazon")))

    def ssm_any(self, action, params):
        qualified = f"ssm:{action}"
        if action in ("GetParameter", "PutParameter", "DeleteParameter") and params.get("Name"):
            return [(qualified, self.parameter(params["Name"]), {})]
        if action in ("GetDocument", "DescribeDocument", "CreateDocument", "UpdateDocument",
                      "UpdateDocumentDefaultVersion", "DeleteDocument") and params.get("Name"):
            return [(qualified, self.document(params["Name"]), {})]
        if action in ("AddTagsToResource", "RemoveTagsFromResource", "ListTagsForResource"):
            ident = params.get("ResourceId", "")
            arn = self.document(ident) if params.get("ResourceType") == "Document" else self.parameter(ident)
            return [(qualified, arn, {})]
        if action == "SendCommand":
            needed = [(qualified, self.document(params.get("DocumentName", "")), {})]
            for i in params.get("InstanceIds") or []:
                arn, ctx = self.instance(i)
                needed.append((qualified, arn, {k.replace("aws:ResourceTag", "ssm:resourceTag"): v for k, v in ctx.items()}))
            return needed
        return None
