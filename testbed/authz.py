"""IAM, enforced as AWS enforces it, for every principal but the operator: a request signed with
the temporary credentials of a role (an instance's, from its IMDS) or an IAM user's keys is
allowed only when that principal's policies allow the action on the resource and none denies it
(moto's own policy evaluation, the one its INITIAL_NO_AUTH_ACTION_COUNT mode uses). The operator's
keys (`testing`, what kenv and the tests run with) stay admin, as an account's administrator does.
A refusal is AWS's error in the service's own shape: UnauthorizedOperation (EC2), AccessDenied
(query protocols), AccessDeniedException (JSON protocols).

Resources are named for the actions whose policies name them (a secret, a parameter, a security
group); any other action is checked against `*`. A secret's resource policy is evaluated too, for
what kenv's locks use: an explicit Deny (Principal `*`, the action, and a StringNotEquals /
StringNotLike condition on aws:PrincipalArn) refuses every principal it does not exempt, whatever
their identity policies allow. Signatures are not checked."""

import fnmatch
import json
import re

from moto.iam.access_control import CreateAccessKeyFailure, create_access_key
from moto.iam.models import iam_backends

import arns
import faults
import iampolicy

OPERATOR_KEY = "testing"
# The testbed's own clients (Cloud9 launching instances, IMDS reading them): admin too, and never
# hit by injected chaos, which is for the operator's calls.
TESTBED_KEY = "testbed"
PARTITION = "aws"


SESSION_ACTIONS = {("ssm", "StartSession"), ("ssm", "TerminateSession"), ("ssm", "ResumeSession"),
                   ("ec2-instance-connect", "SendSSHPublicKey")}


class Authz:
    def __init__(self, account, region, cloud9_envs=dict):
        self.account = account
        self.region = region
        self.arns = arns.Arns(account, region, cloud9_envs)

    def iam(self):
        return iam_backends[self.account][PARTITION]

    def check(self, environ):
        """None when the request may go on; otherwise AWS's refusal."""
        found = re.search(r"Credential=([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
        if not found or found.group(1) in (OPERATOR_KEY, TESTBED_KEY):
            return None
        service, action, json_protocol, form = faults.identify(environ)
        if not action:
            return None
        headers = {"X-Amz-Security-Token": environ["HTTP_X_AMZ_SECURITY_TOKEN"]} if "HTTP_X_AMZ_SECURITY_TOKEN" in environ else {}
        try:
            principal = create_access_key(self.account, PARTITION, found.group(1), headers)
        except CreateAccessKeyFailure:
            return faults.error_response(service, invalid_key(service, json_protocol), json_protocol)
        qualified = f"{service}:{action}"
        params = faults.json_body(environ) if json_protocol else {k: v[0] for k, v in form.items()}
        documents = [iampolicy.document_of(p) for p in principal.collect_policies()]
        who = self.principal_context(principal)
        verdict, needed, resource = iampolicy.ALLOW, qualified, "*"
        for needed, resource, context in self.resources(service, action, params):
            verdict = iampolicy.evaluate(documents, needed, resource, {**who, **context})
            if verdict != iampolicy.ALLOW:
                break
        boundary = self.boundary_of(principal)
        if verdict == iampolicy.ALLOW and boundary is not None:
            for needed, resource, context in self.resources(service, action, params):
                if iampolicy.evaluate([boundary], needed, resource, {**who, **context}) != iampolicy.ALLOW:
                    verdict = None
                    why = f"because no permissions boundary allows the {needed} action"
                    message = f"User: {principal.arn} is not authorized to perform: {needed} on resource: {resource} {why}"
                    return faults.error_response(service, denied(service, json_protocol, message), json_protocol)
        if verdict == iampolicy.ALLOW and self.resource_denies(service, params, qualified, principal):
            needed, why = qualified, "with an explicit deny in a resource-based policy"
        elif verdict == iampolicy.ALLOW or qualified == "sts:GetCallerIdentity":
            return None
        else:
            why = ("with an explicit deny in an identity-based policy" if verdict == iampolicy.DENY
                   else f"because no identity-based policy allows the {needed} action")
        message = f"User: {principal.arn} is not authorized to perform: {needed} on resource: {resource} {why}"
        return faults.error_response(service, denied(service, json_protocol, message), json_protocol)

    def boundary_of(self, principal):
        """The document of a role session's or user's permissions boundary, or None: what it may
        do is what its policies allow and its boundary allows too."""
        iam = self.iam()
        user = getattr(principal, "_owner_user_name", None)
        role = getattr(principal, "_owner_role_name", None)
        try:
            entity = iam.get_user(user) if user else iam.get_role(role) if role else None
        except Exception:
            return None
        arn = getattr(entity, "permissions_boundary_arn", None) if entity else None
        if not arn:
            return None
        try:
            return iampolicy.document_of(iam.get_policy(arn))
        except Exception:
            return {"Statement": []}

    def caller_name(self, environ):
        """The name a session of this caller begins with: a user's name, a role session's name,
        `operator` for the operator's keys."""
        found = re.search(r"Credential=([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
        if not found or found.group(1) in (OPERATOR_KEY, TESTBED_KEY):
            return "operator"
        headers = {"X-Amz-Security-Token": environ["HTTP_X_AMZ_SECURITY_TOKEN"]} if "HTTP_X_AMZ_SECURITY_TOKEN" in environ else {}
        try:
            principal = create_access_key(self.account, PARTITION, found.group(1), headers)
        except CreateAccessKeyFailure:
            return "unknown"
        return getattr(principal, "_owner_user_name", None) or getattr(principal, "_session_name", "unknown")

    def principal_context(self, principal):
        """The request context's keys about who asks: aws:username for a user, the principal's
        ARN and its tags (a role session's are its role's)."""
        iam = self.iam()
        user = getattr(principal, "_owner_user_name", None)
        role = getattr(principal, "_owner_role_name", None)
        entity = iam.get_user(user) if user else iam.get_role(role) if role else None
        context = {"aws:PrincipalArn": entity.arn if entity else principal.arn}
        if user:
            context.update({"aws:username": user, "aws:userid": entity.id})
        elif role:
            context["aws:userid"] = f"{entity.id}:{principal._session_name}"
        tags = iam.list_user_tags(user) if user else iam.list_role_tags(role, None)[0] if role else []
        for t in tags:
            context[f"aws:PrincipalTag/{t['Key']}"] = t["Value"]
        return context

    def resources(self, service, action, params):
        """Each action the request needs allowed, on each resource it acts on (an ARN), with the
        condition keys it brings (a target's tags, the request's). A request on several must be
        allowed on each."""
        qualified = f"{service}:{action}"
        return [(qualified, r, c) for r, c in self.sessions_resources(service, action, params)] \
            if (service, action) in SESSION_ACTIONS \
            else self.arns.of(service, action, params) or [(qualified, self.resource(service, action, params), {})]

    def sessions_resources(self, service, action, params):
        """What opening a box acts on: the instance (its tags as `ssm:resourceTag/…`) and the
        session document; a session; an instance, for a key (`aws:ResourceTag/…`, `ec2:osuser`)."""
        base = f"arn:aws:{service}:{self.region}:{self.account}"
        if service == "ssm" and action == "StartSession":
            document = params.get("DocumentName") or "SSM-SessionManagerRunShell"
            owner = self.account if document.startswith("SSM-") else ""
            target = params.get("Target", "")
            tags = {f"ssm:resourceTag/{k}": v for k, v in self.instance_tags(target).items()}
            return [(f"arn:aws:ec2:{self.region}:{self.account}:instance/{target}", tags),
                    (f"arn:aws:ssm:{self.region}:{owner}:document/{document}", {})]
        if service == "ssm" and action in ("TerminateSession", "ResumeSession"):
            return [(f"{base}:session/{params.get('SessionId', '')}", {})]
        if service == "ec2-instance-connect" and action == "SendSSHPublicKey":
            target = params.get("InstanceId", "")
            tags = self.instance_tags(target)
            keys = {f"{prefix}/{k}": v for k, v in tags.items() for prefix in ("aws:ResourceTag", "ec2:ResourceTag")}
            keys["ec2:osuser"] = params.get("InstanceOSUser", "")
            return [(f"arn:aws:ec2:{self.region}:{self.account}:instance/{target}", keys)]
        return []

    def instance_tags(self, instance_id):
        from moto.ec2.models import ec2_backends
        try:
            instance = ec2_backends[self.account][self.region].get_instance(instance_id)
        except Exception:
            return {}
        return {t["key"]: t["value"] for t in instance.get_tags()}

    def resource(self, service, action, params):
        """The ARN a policy names for this request's resource, or `*`."""
        base = f"arn:aws:{service}:{self.region}:{self.account}"
        if service == "secretsmanager" and params.get("SecretId"):
            from moto.secretsmanager.models import secretsmanager_backends
            try:
                return secretsmanager_backends[self.account][self.region].describe_secret(params["SecretId"]).arn
            except Exception:
                return f"{base}:secret:{params['SecretId']}"
        if service == "ssm" and action.startswith("GetParameter") and params.get("Name"):
            return f"{base}:parameter/{params['Name'].lstrip('/')}"
        if service == "ec2" and params.get("GroupId"):
            return f"{base}:security-group/{params['GroupId']}"
        return "*"

    def resource_denies(self, service, params, action, principal):
        """Whether a secret's resource policy explicitly denies this principal the action."""
        if service != "secretsmanager" or not params.get("SecretId"):
            return False
        from moto.secretsmanager.models import secretsmanager_backends
        try:
            document = secretsmanager_backends[self.account][self.region].describe_secret(params["SecretId"]).policy
        except Exception:
            return False
        if not document:
            return False
        owner = getattr(principal, "_owner_role_name", None)
        arn = self.iam().get_role(owner).arn if owner else principal.arn
        statements = json.loads(document).get("Statement", [])
        for s in statements if isinstance(statements, list) else [statements]:
            actions = s.get("Action", [])
            actions = actions if isinstance(actions, list) else [actions]
            if s.get("Effect") != "Deny" or not any(fnmatch.fnmatchcase(action, a) for a in actions):
                continue
            condition = s.get("Condition") or {}
            exempt = [v for op in ("StringNotEquals", "StringNotLike") for v in iampolicy.as_list(condition.get(op, {}).get("aws:PrincipalArn"))]
            if not condition or not any(fnmatch.fnmatchcase(arn, e) for e in exempt):
                return True
        return False

    def role_allows(self, role_name, action, resource="*"):
        """Whether a role's policies allow an action (what the SSM agent's registration needs)."""
        iam = self.iam()
        policies = [iam.get_role_policy(role_name, name)[1] for name in iam.list_role_policies(role_name)]
        policies += iam.list_attached_role_policies(role_name)[0]
        documents = [iampolicy.document_of(p) for p in policies]
        return iampolicy.evaluate(documents, action, resource, {}) == iampolicy.ALLOW



def denied(service, json_protocol, message):
    if service == "ec2":
        return {"code": "UnauthorizedOperation", "message": f"You are not authorized to perform this operation. {message}", "status": 403}
    if json_protocol:
        return {"code": "AccessDeniedException", "message": message, "status": 400}
    return {"code": "AccessDenied", "message": message, "status": 403}


def invalid_key(service, json_protocol):
    if service == "ec2":
        return {"code": "AuthFailure", "message": "AWS was not able to validate the provided access credentials", "status": 401}
    code = "UnrecognizedClientException" if json_protocol else "InvalidClientTokenId"
    return {"code": code, "message": "The security token included in the request is invalid.", "status": 400 if json_protocol else 403}
