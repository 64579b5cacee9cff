"""The SSM agent's reach, as SendCommand shows it: AWS refuses a command for an instance that is
not running (its agent cannot be online) with InvalidInstanceId, "Instances [[i-…]] not in a
valid state for account …". moto accepts such a command and reports it successful."""

import io
import json

import faults

TARGET = "AmazonSSM.SendCommand"


class Agent:
    def __init__(self, clients, account):
        self.clients = clients
        self.account = account

    def check(self, environ):
        if environ.get("HTTP_X_AMZ_TARGET", "") != TARGET:
            return None
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        ids = (json.loads(body or b"{}").get("InstanceIds") or [])
        if not ids:
            return None
        found = self.clients("ec2").describe_instances(InstanceIds=ids)
        states = {i["InstanceId"]: i["State"]["Name"] for r in found["Reservations"] for i in r["Instances"]}
        idle = [i for i in ids if states.get(i) != "running"]
        if not idle:
            return None
        listed = ", ".join(f"[{i}]" for i in idle)
        fault = {"code": "InvalidInstanceId", "message": f"Instances [{listed}] not in a valid state for account {self.account}",
                 "status": 400}
        return faults.error_response("ssm", fault, True)
