"""IAM's evaluation of identity-based policies, as AWS does it within one account, for the testbed's
enforcement (moto's own ignores Resource patterns' variables, most condition operators, and turns
a failed condition into a Deny).

A statement applies when its Action (or NotAction) matches the action, its Resource (or
NotResource) the resource, and every condition holds; an applying Deny wins, otherwise an applying
Allow allows, otherwise the request is implicitly denied. Wildcards `*` and `?` match as IAM's do
(case-insensitively for actions). Policy variables `${aws:username}`, `${aws:userid}`,
`${aws:PrincipalArn}`, `${aws:PrincipalTag/KEY}` (and any other context key) are replaced by the
request's values; one the request lacks matches nothing. Conditions: the String, Arn and Bool
operators, Null, each with `IfExists`; several values of one key are alternatives (any may match),
several keys and operators must all hold; a key the request lacks fails a condition (but
`...IfExists` and the negated operators hold)."""

import fnmatch
import json
import re

ALLOW, DENY = "Allow", "Deny"
UNRESOLVED = "\x00unresolved\x00"  # what a variable the request lacks becomes: it matches nothing


def document_of(policy):
    """The JSON document of a policy as moto's principals collect them (a managed policy, an inline
    policy's text, or a record with its document)."""
    if hasattr(policy, "versions"):
        doc = next(v.document for v in policy.versions if v.is_default)
    elif isinstance(policy, str):
        doc = policy
    else:
        doc = policy["policy_document"]
    return json.loads(doc) if isinstance(doc, str) else doc


def evaluate(documents, action, resource, context):
    """ALLOW, DENY (explicit), or None (no statement allows)."""
    verdict = None
    for doc in documents:
        statements = doc.get("Statement", [])
        for s in statements if isinstance(statements, list) else [statements]:
            if not applies(s, action, resource, context):
                continue
            if s.get("Effect") == DENY:
                return DENY
            if s.get("Effect") == ALLOW:
                verdict = ALLOW
    return verdict


def applies(statement, action, resource, context):
    if "NotAction" in statement:
        if any(glob(a, action, fold=True) for a in as_list(statement["NotAction"])):
            return False
    elif not any(glob(a, action, fold=True) for a in as_list(statement.get("Action"))):
        return False
    if "NotResource" in statement:
        if any(glob(substitute(r, context), resource) for r in as_list(statement["NotResource"])):
            return False
    elif not any(glob(substitute(r, context), resource) for r in as_list(statement.get("Resource", "*"))):
        return False
    return all(holds(op, key, as_list(values), context)
               for op, keys in (statement.get("Condition") or {}).items() for key, values in keys.items())


def holds(operator, key, expected, context):
    if_exists = operator.endswith("IfExists")
    op = operator.removesuffix("IfExists")
    present = key in context
    if op == "Null":
        return any(str(e).lower() == ("false" if present else "true") for e in expected)
    if not present:
        return if_exists or op.startswith(("StringNot", "ArnNot"))
    actual = [str(v) for v in as_list(context[key])]
    wanted = [substitute(str(e), context) for e in expected]
    match = {
        "StringEquals": lambda a, e: a == e,
        "StringNotEquals": lambda a, e: a == e,
        "StringEqualsIgnoreCase": lambda a, e: a.lower() == e.lower(),
        "StringNotEqualsIgnoreCase": lambda a, e: a.lower() == e.lower(),
        "StringLike": lambda a, e: glob(e, a),
        "StringNotLike": lambda a, e: glob(e, a),
        "ArnEquals": lambda a, e: glob(e, a),
        "ArnLike": lambda a, e: glob(e, a),
        "ArnNotEquals": lambda a, e: glob(e, a),
        "ArnNotLike": lambda a, e: glob(e, a),
        "Bool": lambda a, e: a.lower() == e.lower(),
    }.get(op)
    if match is None:
        return False  # an operator the testbed does not know: the statement does not apply
    found = any(match(a, e) for a in actual for e in wanted)
    return not found if "Not" in op else found


def substitute(text, context):
    return re.sub(r"\$\{([^}]+)\}", lambda m: str(context.get(m.group(1), UNRESOLVED)), text)


def glob(pattern, value, fold=False):
    if UNRESOLVED in pattern:
        return False
    if fold:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def as_list(value):
    return [] if value is None else value if isinstance(value, list) else [value]
