"""Injected AWS errors, for testing how clients handle them: `POST /_testbed/faults` with
{"action": "DescribeInstances", "code": "UnauthorizedOperation", "message": "...", "status": 403,
"count": 1} makes the next `count` calls of that action (every call, when count is -1) fail with
that error in the protocol's own shape; `DELETE /_testbed/faults` clears them all. `GET
/_testbed/calls` lists the actions served so far (the clients', not the testbed's own), so tests
can read what a client sent.

Chaos, as a busy account sees it: `POST /_testbed/chaos` with {"rate": 0.3, "seed": 7,
"after": 0.5} makes that share of the operator's calls fail at random with what AWS answers under
load: throttling (RequestLimitExceeded, HTTP 503, from EC2; ThrottlingException from the JSON
services; Throttling from IAM and STS) or an internal error (HTTP 500). `after` is the share of
the internal errors that come after the request was carried out, as when AWS made the change and
the answer was lost: a client that retries a creation then meets what it made. Only requests
signed with the operator's keys (what kenv runs with) are hit, not the instances' own.
`GET /_testbed/chaos` counts what was injected; `DELETE /_testbed/chaos` stops it.

Distance, as a client far from its region sees it: `POST /_testbed/latency {"ms": 100}` holds each
of the operator's calls that long before it is served (0 stops it), so that what a client does
one call after another, and what it overlaps, show as they would against AWS."""

import io
import json
import random
import re
import time
import threading
import uuid
from urllib.parse import parse_qs

from werkzeug.wrappers import Request, Response


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.pending = {}  # action -> {code, message, status, count}
        self.calls = []  # (service, action), in order
        self.chaos = None  # {rate, after, random}
        self.latency = 0.0  # seconds before each operator call is served
        self.injected = {}  # "code" or "code after" -> count

    def chaos_admin(self, environ):
        method = environ.get("REQUEST_METHOD")
        with self.lock:
            if method == "POST":
                wanted = json.loads(Request(environ).get_data() or b"{}")
                self.chaos = {"rate": float(wanted.get("rate", 0.3)), "after": float(wanted.get("after", 0.5)),
                              "random": random.Random(wanted.get("seed", 0))}
                self.injected = {}
            elif method == "DELETE":
                self.chaos = None
            return Response(json.dumps(self.injected), content_type="application/json")

    def chaotic(self, environ, app):
        """Holds an operator's call for the latency set; then a random failure for it while chaos
        is on, else None; `app` serves the requests whose failure comes after they were carried out."""
        service, action, json_protocol, _ = identify(environ)
        signed = re.search(r"Credential=([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
        if self.latency and action and signed and signed.group(1) == "testing":
            time.sleep(self.latency)
        with self.lock:
            chaos = self.chaos
            if not chaos or not action or not signed or signed.group(1) != "testing":
                return None
            dice = chaos["random"]
            if dice.random() >= chaos["rate"]:
                return None
            throttled, after = dice.random() < 0.5, dice.random() < chaos["after"]
            if throttled:
                code, status = (("RequestLimitExceeded", 503) if service == "ec2" else
                                ("ThrottlingException", 400) if json_protocol else ("Throttling", 400))
                after = False
            else:
                code, status = ("InternalFailure" if json_protocol else "InternalError"), 500
            key = f"{code} after" if after else code
            self.injected[key] = self.injected.get(key, 0) + 1
        fault = {"code": code, "message": f"injected by the testbed's chaos: {code}", "status": status}
        if after:
            b"".join(app(environ, lambda *_: None))
        return error_response(service, fault, json_protocol)

    def admin(self, environ):
        """Answers /_testbed/faults and /_testbed/calls; None for any other path."""
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD")
        if path == "/_testbed/calls":
            with self.lock:
                return Response(json.dumps([{"service": s, "action": a} for s, a in self.calls]), content_type="application/json")
        if path == "/_testbed/chaos":
            return self.chaos_admin(environ)
        if path == "/_testbed/latency":
            self.latency = float(json.loads(Request(environ).get_data() or b"{}").get("ms", 0)) / 1000
            return Response("{}", content_type="application/json")
        if path != "/_testbed/faults":
            return None
        with self.lock:
            if method == "DELETE":
                self.pending.clear()
                return Response("{}", content_type="application/json")
            fault = json.loads(Request(environ).get_data() or b"{}")
            if not isinstance(fault.get("action"), str) or not isinstance(fault.get("code"), str):
                return Response('{"error": "action and code are required"}', status=400, content_type="application/json")
            fault.setdefault("message", f"injected by the testbed: {fault['code']}")
            fault.setdefault("status", 400)
            fault.setdefault("count", 1)
            self.pending[fault["action"]] = fault
            return Response("{}", content_type="application/json")

    def check(self, environ):
        """Records the call; returns an error response when a fault is pending for its action. The
        testbed's own calls (Cloud9 making an environment's instance and group) are AWS's inside
        work: neither recorded nor failed."""
        if "Credential=testbed/" in environ.get("HTTP_AUTHORIZATION", ""):
            return None
        service, action, json_protocol, _ = identify(environ)
        with self.lock:
            if action:
                self.calls.append((service, action))
            fault = self.pending.get(action)
            if fault is None:
                return None
            if fault["count"] > 0:
                fault["count"] -= 1
                if fault["count"] == 0:
                    del self.pending[action]
        return error_response(service, fault, json_protocol)


def identify(environ):
    """(service, action, uses the JSON protocol, the query form) of an AWS request. Reading a
    query-protocol body puts it back so that the app behind sees it untouched."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    scope = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", auth)
    service = scope.group(1) if scope else ""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return service, target.rsplit(".", 1)[-1], True, {}
    body = read_body(environ)
    form = parse_qs(body.decode("utf-8", "replace")) if body else parse_qs(environ.get("QUERY_STRING", ""))
    return service, (form.get("Action") or [""])[0], False, form


def read_body(environ):
    """The request's body, put back for whatever reads it next."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def json_body(environ):
    """A JSON-protocol request's parameters ({} when the body is not JSON)."""
    try:
        found = json.loads(read_body(environ) or b"{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def error_response(service, fault, json_protocol):
    request_id = str(uuid.uuid4())
    if json_protocol:
        body = json.dumps({"__type": fault["code"], "message": fault["message"]})
        return Response(body, status=fault["status"], content_type="application/x-amz-json-1.1",
                        headers={"x-amzn-ErrorType": fault["code"], "x-amzn-RequestId": request_id})
    if service == "ec2":
        body = (f"<Response><Errors><Error><Code>{fault['code']}</Code><Message>{fault['message']}</Message>"
                f"</Error></Errors><RequestID>{request_id}</RequestID></Response>")
    else:
        kind = "Receiver" if fault["status"] >= 500 else "Sender"
        body = (f"<ErrorResponse><Error><Type>{kind}</Type><Code>{fault['code']}</Code><Message>{fault['message']}"
                f"</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>")
    return Response(body, status=fault["status"], content_type="text/xml")
