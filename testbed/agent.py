"""The SSM agent of every instance, as Systems Manager shows it (moto has none).

- **Registration.** An instance appears in DescribeInstanceInformation as Online only some
  seconds after it runs (`--agent-register-seconds`, on the time scale), and only when its
  instance profile's role may call ssm:UpdateInstanceInformation (AmazonSSMManagedInstanceCore or
  AWSCloud9SSMInstanceProfile). A registered instance that stops is ConnectionLost.
- **Run Command.** SendCommand naming an instance that is not Online is refused with AWS's
  InvalidInstanceId. AWS-RunShellScript then really runs on each instance (sandbox.py), bounded by
  its `executionTimeout`; GetCommandInvocation and ListCommandInvocations report Pending,
  InProgress, then Success, Failed, TimedOut or Cancelled (CancelCommand), with the exit code and
  the output truncated as AWS truncates it (24,000 characters; 2,500 in ListCommandInvocations).
"""

import json
import threading
import time
from datetime import datetime, timezone

from moto.ec2.models import ec2_backends
from moto.iam.models import iam_backends
from moto.ssm.models import ssm_backends
from werkzeug.wrappers import Response

import faults
from sandbox import Run

OUTPUT_LIMIT = 24000
LIST_OUTPUT_LIMIT = 2500
DEFAULT_EXECUTION_TIMEOUT = 3600


class Agent:
    def __init__(self, account, region, authz, sandboxes, imds_for, register_seconds, forward):
        self.account = account
        self.region = region
        self.authz = authz
        self.sandboxes = sandboxes
        self.imds_for = imds_for
        self.register_seconds = register_seconds
        self.forward = forward
        self.lock = threading.Lock()
        self.started = {}  # instance -> wall time of its last StartInstances
        self.registered = set()
        self.runs = {}  # command id -> {instance id -> sandbox.Run}

    def check(self, environ):
        """Answers what the agent decides; None passes the request on to moto."""
        service, action, _, form = faults.identify(environ)
        if service == "ec2" and action == "StartInstances":
            with self.lock:
                for key, values in form.items():
                    if key.startswith("InstanceId."):
                        self.started[values[0]] = time.time()
            return None
        if service != "ssm":
            return None
        handler = {
            "DescribeInstanceInformation": self.describe,
            "SendCommand": self.send,
            "GetCommandInvocation": self.invocation,
            "ListCommandInvocations": self.invocations,
            "CancelCommand": self.cancel,
        }.get(action)
        return handler(faults.json_body(environ)) if handler else None

    # -- registration ------------------------------------------------------------------------

    def instance(self, instance_id):
        try:
            return ec2_backends[self.account][self.region].get_instance(instance_id)
        except Exception:
            return None

    def role(self, inst):
        profile = inst.iam_instance_profile
        arn = profile.get("Arn") if isinstance(profile, dict) else None
        if not arn:
            return None
        try:
            roles = iam_backends[self.account]["aws"].get_instance_profile_by_arn(arn).roles
        except Exception:
            return None
        return roles[0].name if roles else None

    def ping_status(self, inst):
        """Online, ConnectionLost, or None for an instance whose agent never registered."""
        role = self.role(inst)
        may_register = role is not None and self.authz.role_allows(role, "ssm:UpdateInstanceInformation")
        with self.lock:
            since = max(inst.launch_time.replace(tzinfo=timezone.utc).timestamp(), self.started.get(inst.id, 0))
            if inst.state == "running" and may_register and time.time() - since >= self.register_seconds:
                self.registered.add(inst.id)
                return "Online"
            return "ConnectionLost" if inst.id in self.registered else None

    def describe(self, params):
        wanted = None
        for f in params.get("InstanceInformationFilterList") or []:
            if f.get("key") == "InstanceIds":
                wanted = set(f.get("valueSet") or [])
        for f in params.get("Filters") or []:
            if f.get("Key") == "InstanceIds":
                wanted = set(f.get("Values") or [])
        backend = ec2_backends[self.account][self.region]
        found = []
        for inst in backend.all_instances():
            if wanted is not None and inst.id not in wanted:
                continue
            status = self.ping_status(inst)
            if status:
                found.append({
                    "InstanceId": inst.id, "PingStatus": status, "LastPingDateTime": time.time(),
                    "AgentVersion": "3.3.1142.0", "IsLatestVersion": True, "PlatformType": "Linux",
                    "PlatformName": "Amazon Linux", "PlatformVersion": "2023", "ResourceType": "EC2Instance",
                    "IPAddress": inst.private_ip or "", "ComputerName": f"ip-{(inst.private_ip or '').replace('.', '-')}",
                })
        return json_response({"InstanceInformationList": found})

    # -- Run Command -------------------------------------------------------------------------

    def send(self, params):
        named = params.get("InstanceIds") or []
        idle = [i for i in named if not (inst := self.instance(i)) or self.ping_status(inst) != "Online"]
        if idle:
            listed = ", ".join(f"[{i}]" for i in idle)
            fault = {"code": "InvalidInstanceId", "message": f"Instances [{listed}] not in a valid state for account {self.account}",
                     "status": 400}
            return faults.error_response("ssm", fault, True)
        try:
            timeout = int((params.get("Parameters") or {}).get("executionTimeout", [DEFAULT_EXECUTION_TIMEOUT])[0])
        except (TypeError, ValueError):
            timeout = DEFAULT_EXECUTION_TIMEOUT
        commands = (params.get("Parameters") or {}).get("commands") or []
        agent = self

        def app(environ, start_response):
            answer = {}
            body = b"".join(agent.forward(environ, lambda status, headers, *_: answer.update(status=status, headers=headers)))
            if answer["status"].startswith("200"):
                command_id = json.loads(body)["Command"]["CommandId"]
                agent.run(command_id, params.get("Comment", ""), commands, timeout)
            start_response(answer["status"], answer["headers"])
            return [body]

        return app

    def run(self, command_id, comment, commands, timeout):
        targets = ssm_backends[self.account][self.region].get_command_by_id(command_id).instance_ids
        runs = {}
        for instance_id in targets:
            inst = self.instance(instance_id)
            run = Run(instance_id, comment, timeout)
            runs[instance_id] = run
            if inst is None or self.ping_status(inst) != "Online":
                run.status = "Undeliverable"
                continue
            self.sandboxes.start(run, command_id, commands, self.imds_for)
        with self.lock:
            self.runs[command_id] = runs

    def invocation(self, params):
        with self.lock:
            run = self.runs.get(params.get("CommandId"), {}).get(params.get("InstanceId"))
        if run is None:
            return None
        with run.lock:
            return json_response({
                "CommandId": params["CommandId"], "InstanceId": run.instance, "Comment": run.comment,
                "DocumentName": "AWS-RunShellScript", "DocumentVersion": "$DEFAULT", "PluginName": "aws:runShellScript",
                "ResponseCode": run.code, "Status": run.status, "StatusDetails": details(run.status),
                "ExecutionStartDateTime": stamp(run.started), "ExecutionEndDateTime": stamp(run.ended),
                "ExecutionElapsedTime": elapsed(run),
                "StandardOutputContent": run.stdout[:OUTPUT_LIMIT], "StandardOutputUrl": "",
                "StandardErrorContent": run.stderr[:OUTPUT_LIMIT], "StandardErrorUrl": "",
                "CloudWatchOutputConfig": {"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": False},
            })

    def invocations(self, params):
        command_id = params.get("CommandId")
        with self.lock:
            runs = self.runs.get(command_id)
        if runs is None:
            return None
        found = []
        for run in runs.values():
            if params.get("InstanceId") not in (None, run.instance):
                continue
            with run.lock:
                entry = {"CommandId": command_id, "InstanceId": run.instance, "Comment": run.comment,
                         "DocumentName": "AWS-RunShellScript", "RequestedDateTime": run.requested,
                         "Status": run.status, "StatusDetails": details(run.status)}
                if params.get("Details"):
                    entry["CommandPlugins"] = [{"Name": "aws:runShellScript", "Status": run.status,
                                                "StatusDetails": details(run.status), "ResponseCode": run.code,
                                                "Output": (run.stdout + run.stderr)[:LIST_OUTPUT_LIMIT]}]
            found.append(entry)
        return json_response({"CommandInvocations": found})

    def cancel(self, params):
        with self.lock:
            runs = self.runs.get(params.get("CommandId"))
        if runs is None:
            return None
        for run in runs.values():
            if not params.get("InstanceIds") or run.instance in params["InstanceIds"]:
                run.cancel()
        return json_response({})


def details(status):
    return {"TimedOut": "ExecutionTimedOut", "Undeliverable": "Undeliverable"}.get(status, status)


def stamp(when):
    return datetime.fromtimestamp(when, timezone.utc).isoformat(timespec="milliseconds") if when else ""


def elapsed(run):
    if not run.started:
        return ""
    seconds = (run.ended or time.time()) - run.started
    return f"PT{seconds:.3f}S"


def json_response(data):
    return Response(json.dumps(data), content_type="application/x-amz-json-1.1")
