"""Session Manager sessions and EC2 Instance Connect keys, which moto lacks, with IAM enforced
before they get here (authz.py: StartSession is checked on the instance, with its tags as
`ssm:resourceTag/…`, and on the session document; SendSSHPublicKey on the instance, with
`aws:ResourceTag/…` and `ec2:osuser`).

- **StartSession** to an instance whose agent is Online (else AWS's TargetNotConnected) returns a
  session id that begins with the caller's name, as AWS's do, a token and a stream URL.
  **TerminateSession** / **ResumeSession** act on a session by id.
- **SendSSHPublicKey** records the key for the instance and OS user; as on AWS it is valid for
  60 s (times --time-scale), after which the box's sshd refuses it.
- **The byte stream** is a stand-in: a TCP server that, given the session's token, says which
  session it is and which pushed keys the box would accept now, then echoes what it is sent.
  `GET /_testbed/sessions` lists sessions and keys (with whether each key is still valid).
"""

import json
import re
import secrets
import socketserver
import threading
import time

from werkzeug.wrappers import Response

import faults
from agent import json_response as ok

KEY_SECONDS = 60
KEY_PATTERN = re.compile(r"^(ssh-rsa|ssh-ed25519|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+( .*)?$")


class Sessions:
    def __init__(self, agent, authz, time_scale):
        self.agent = agent
        self.authz = authz
        self.key_seconds = KEY_SECONDS * time_scale
        self.lock = threading.Lock()
        self.sessions = {}  # id -> {target, document, parameters, token, owner, status}
        self.keys = []  # {instance, user, key, pushed}
        self.stream = serve(self)

    def check(self, environ):
        if environ.get("PATH_INFO") == "/_testbed/sessions":
            with self.lock:
                keys = [dict(k, valid=self.valid(k)) for k in self.keys]
                return Response(json.dumps({"sessions": self.sessions, "keys": keys}), content_type="application/json")
        service, action, _, _ = faults.identify(environ)
        handler = {
            ("ssm", "StartSession"): self.start,
            ("ssm", "TerminateSession"): self.terminate,
            ("ssm", "ResumeSession"): self.resume,
            ("ec2-instance-connect", "SendSSHPublicKey"): self.push_key,
        }.get((service, action))
        return handler(faults.json_body(environ), self.authz.caller_name(environ)) if handler else None

    def valid(self, key):
        return time.time() - key["pushed"] < self.key_seconds

    def start(self, params, caller):
        target = params.get("Target", "")
        instance = self.agent.instance(target)
        if instance is None or self.agent.ping_status(instance) != "Online":
            return error("TargetNotConnected", f"{target} is not connected.")
        session = f"{caller}-{secrets.token_hex(8)}"
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.sessions[session] = {"target": target, "document": params.get("DocumentName") or "SSM-SessionManagerRunShell",
                                      "parameters": params.get("Parameters") or {}, "token": token, "owner": caller,
                                      "status": "Connected"}
        url = f"tcp://127.0.0.1:{self.stream.server_address[1]}/{session}"
        return ok({"SessionId": session, "TokenValue": token, "StreamUrl": url})

    def terminate(self, params, _caller):
        with self.lock:
            found = self.sessions.get(params.get("SessionId", ""))
            if found:
                found["status"] = "Terminated"
        return ok({"SessionId": params.get("SessionId", "")})

    def resume(self, params, _caller):
        with self.lock:
            found = self.sessions.get(params.get("SessionId", ""))
            if not found or found["status"] == "Terminated":
                return error("DoesNotExistException", f"Session {params.get('SessionId')} does not exist.")
            found["token"] = secrets.token_urlsafe(24)
        url = f"tcp://127.0.0.1:{self.stream.server_address[1]}/{params['SessionId']}"
        return ok({"SessionId": params["SessionId"], "TokenValue": found["token"], "StreamUrl": url})

    def push_key(self, params, _caller):
        instance, user, key = (params.get(k, "") for k in ("InstanceId", "InstanceOSUser", "SSHPublicKey"))
        if self.agent.instance(instance) is None:
            return error("EC2InstanceNotFoundException", f"Instance ID {instance} not found.")
        if not KEY_PATTERN.match(key.strip()):
            return error("InvalidArgsException", "The SSH public key is not in a supported format.")
        with self.lock:
            self.keys.append({"instance": instance, "user": user, "key": key.strip(), "pushed": time.time()})
        return ok({"RequestId": secrets.token_hex(16), "Success": True})

    def greeting(self, session_id, token):
        """What the stand-in stream says first, or None for a wrong token."""
        with self.lock:
            s = self.sessions.get(session_id)
            if not s or s["token"] != token or s["status"] != "Connected":
                return None
            valid = [k for k in self.keys if k["instance"] == s["target"] and self.valid(k)]
        users = sorted({k["user"] for k in valid})
        port = ",".join(s["parameters"].get("portNumber", [])) or "-"
        return (f"kenv-testbed session {session_id} on {s['target']} ({s['document']}, port {port}); "
                f"keys valid now: {len(valid)}{' for ' + ', '.join(users) if users else ''}\n")


def serve(sessions):
    class Stream(socketserver.StreamRequestHandler):
        def handle(self):
            first = self.rfile.readline().decode().strip().split()  # "SESSION-ID TOKEN"
            said = sessions.greeting(*first) if len(first) == 2 else None
            if said is None:
                self.wfile.write(b"refused: unknown session or token\n")
                return
            self.wfile.write(said.encode())
            self.wfile.flush()
            for line in self.rfile:
                self.wfile.write(line)
                self.wfile.flush()

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Stream)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def error(code, message):
    return faults.error_response("ssm", {"code": code, "message": message, "status": 400}, True)
