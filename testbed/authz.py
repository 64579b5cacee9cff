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

from moto.iam.access_control import CreateAccessKeyFailure, IAMPolicy, PermissionResult, create_access_key
from moto.iam.models import iam_backends

import faults

OPERATOR_KEY = "testing"
# The testbed's own clients (Cloud9 launching instances, IMDS reading them): admin too, and never
# hit by injected chaos, which is for the operator's calls.
TESTBED_KEY = "testbed"
PARTITION = "aws"


class Authz:
    def __init__(self, account, region):
        self.account = account
        self.region = region

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
        resource = self.resource(service, action, params)
        verdict = evaluate(principal.collect_policies(), qualified, resource)
        if verdict == PermissionResult.PERMITTED and self.resource_denies(service, params, qualified, principal):
            why = "with an explicit deny in a resource-based policy"
        elif verdict == PermissionResult.PERMITTED or qualified == "sts:GetCallerIdentity":
            return None
        else:
            why = ("with an explicit deny in an identity-based policy" if verdict == PermissionResult.DENIED
                   else f"because no identity-based policy allows the {qualified} action")
        message = f"User: {principal.arn} is not authorized to perform: {qualified} on resource: {resource} {why}"
        return faults.error_response(service, denied(service, json_protocol, message), json_protocol)

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
            exempt = [v for op in ("StringNotEquals", "StringNotLike") for v in as_list(condition.get(op, {}).get("aws:PrincipalArn"))]
            if not condition or not any(fnmatch.fnmatchcase(arn, e) for e in exempt):
                return True
        return False

    def role_allows(self, role_name, action, resource="*"):
        """Whether a role's policies allow an action (what the SSM agent's registration needs)."""
        iam = self.iam()
        policies = [iam.get_role_policy(role_name, name)[1] for name in iam.list_role_policies(role_name)]
        policies += iam.list_attached_role_policies(role_name)[0]
        return evaluate(policies, action, resource) == PermissionResult.PERMITTED


def evaluate(policies, action, resource):
    """An explicit deny wins; otherwise some allow is needed."""
    verdict = PermissionResult.NEUTRAL
    for policy in policies:
        result = IAMPolicy(policy).is_action_permitted(action, resource)
        if result == PermissionResult.DENIED:
            return result
        if result == PermissionResult.PERMITTED:
            verdict = result
    return verdict


def as_list(value):
    return [] if value is None else value if isinstance(value, list) else [value]


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
