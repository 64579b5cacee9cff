"""Eventual consistency, as EC2 shows it.

- IAM's: for some seconds after an instance profile is created, RunInstances,
  AssociateIamInstanceProfile and ReplaceIamInstanceProfileAssociation refuse it with AWS's own
  error (InvalidParameterValue, "Invalid IAM Instance Profile name"). `--iam-propagation-seconds 0`
  turns it off.
- EC2's own: for a moment after a security group is created, RunInstances naming it answers
  InvalidGroup.NotFound, as AWS documents ("Eventual consistency in the Amazon EC2 API").
  `--group-propagation-seconds 0` turns it off.

What the testbed seeds itself is old by the time anyone asks, and the testbed's own calls (Cloud9
launching an environment's instance, as its stack does) are not held back."""

import threading
import time

import faults

PROFILE_ACTIONS = {"RunInstances", "AssociateIamInstanceProfile", "ReplaceIamInstanceProfileAssociation"}


# Security group id -> monotonic time it was created (recorded by testbed.patch_moto).
NEW_GROUPS = {}


class Propagation:
    def __init__(self, seconds, group_seconds):
        self.seconds = seconds
        self.group_seconds = group_seconds
        self.lock = threading.Lock()
        self.created = {}  # profile name -> monotonic time it was created
        self.armed = False  # set once the seed is in place

    def check(self, environ):
        """Records new instance profiles; refuses a profile or a group EC2 would not see yet."""
        if not self.armed or "Credential=testbed/" in environ.get("HTTP_AUTHORIZATION", ""):
            return None
        service, action, _, form = faults.identify(environ)
        if service == "ec2" and action == "RunInstances" and self.group_seconds > 0:
            for key, values in form.items():
                made = NEW_GROUPS.get(values[0]) if "SecurityGroupId" in key else None
                if made is not None and time.monotonic() - made < self.group_seconds:
                    fault = {"code": "InvalidGroup.NotFound", "message": f"The security group '{values[0]}' does not exist",
                             "status": 400}
                    return faults.error_response("ec2", fault, False)
        if self.seconds <= 0:
            return None
        if service == "iam" and action == "CreateInstanceProfile":
            with self.lock:
                self.created[form.get("InstanceProfileName", [""])[0]] = time.monotonic()
            return None
        if service != "ec2" or action not in PROFILE_ACTIONS:
            return None
        for field, kind in (("IamInstanceProfile.Name", "name"), ("IamInstanceProfile.Arn", "arn")):
            given = form.get(field, [""])[0]
            name = given.rsplit("/", 1)[-1]
            with self.lock:
                made = self.created.get(name)
            if given and made is not None and time.monotonic() - made < self.seconds:
                message = (f"Value ({given}) for parameter iamInstanceProfile.{kind} is invalid. "
                           f"Invalid IAM Instance Profile {'name' if kind == 'name' else 'ARN'}")
                fault = {"code": "InvalidParameterValue", "message": message, "status": 400}
                return faults.error_response("ec2", fault, False)
        return None
