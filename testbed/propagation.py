"""IAM's eventual consistency, as EC2 shows it: for some seconds after an instance profile is
created, RunInstances, AssociateIamInstanceProfile and ReplaceIamInstanceProfileAssociation refuse
it with AWS's own error (InvalidParameterValue, "Invalid IAM Instance Profile name"). Profiles the
testbed seeds itself are old by the time anyone asks. `--iam-propagation-seconds 0` turns it off."""

import threading
import time

import faults

PROFILE_ACTIONS = {"RunInstances", "AssociateIamInstanceProfile", "ReplaceIamInstanceProfileAssociation"}


class Propagation:
    def __init__(self, seconds):
        self.seconds = seconds
        self.lock = threading.Lock()
        self.created = {}  # profile name -> monotonic time it was created
        self.armed = False  # set once the seed is in place

    def check(self, environ):
        """Records new instance profiles; refuses a profile EC2 would not see yet."""
        if self.seconds <= 0 or not self.armed:
            return None
        service, action, _, form = faults.identify(environ)
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
