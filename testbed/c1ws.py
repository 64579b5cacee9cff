"""A Cloud One Workload Security manager stand-in, on 127.0.0.1. It serves what the Linux
deployment script downloads (`GET /software/agent/<platform>/<arch>/<package>?tenantID=…`): a
package (a gzipped tar of files under /, which the testbed instances' `rpm` installs) carrying
`/opt/ds_agent/dsa_control`. That dsa_control talks back to this manager: `-r` resets the agent,
`-a dsm://HOST:PORT/ tenantID:… token:… policyid:…` records an activation, `-m
"RecommendationScan:true"` records a recommendation scan, each with the instance id the agent
reads from its IMDS (v2). `GET /_testbed/c1ws` answers {"downloads", "activations", "scans"}.
A download without a tenant, or an activation without a tenant or token, is refused."""

import io
import json
import tarfile
import threading
import time
from urllib.parse import parse_qs, urlparse

import httpd

DSA_CONTROL = r"""#!/bin/sh
# dsa_control of the kenv testbed's C1WS manager stand-in.
set -eu
STATE=/opt/ds_agent/manager
imds() {
  base="${AWS_EC2_METADATA_SERVICE_ENDPOINT:-http://169.254.169.254/}"
  token=$(curl -sf -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" "${base}latest/api/token")
  curl -sf -H "X-aws-ec2-metadata-token: $token" "${base}latest/meta-data/$1"
}
post() {
  curl -sf -X POST -H "Content-Type: application/json" --data "$2" "$(cat "$STATE")/agent/$1" >/dev/null ||
    { echo "dsa_control: the manager refused $1" >&2; exit 1; }
}
case "${1:-}" in
  -r) rm -f "$STATE"; echo "Agent reset." ;;
  -a)
    hostport=$(printf '%s' "$2" | sed -e 's|^dsm://||' -e 's|/$||')
    echo "http://$hostport" > "$STATE"
    tenant=""; token=""; policy=""
    shift 2
    for kv in "$@"; do
      case "$kv" in
        tenantID:*) tenant="${kv#tenantID:}" ;;
        token:*) token="${kv#token:}" ;;
        policyid:*) policy="${kv#policyid:}" ;;
      esac
    done
    post activate "{\"instance\": \"$(imds instance-id)\", \"tenant\": \"$tenant\", \"token\": \"$token\", \"policy\": \"$policy\"}"
    echo "Activation will be re-attempted 30 time(s) in case of failure"
    echo "HTTP Status: 200 - OK" ;;
  -m)
    [ -f "$STATE" ] || { echo "dsa_control: the agent is not activated" >&2; exit 1; }
    post message "{\"instance\": \"$(imds instance-id)\", \"message\": \"$2\"}"
    echo "HTTP Status: 200 - OK" ;;
  *) echo "usage: dsa_control -r | -a URL tenantID:… token:… policyid:… | -m MESSAGE" >&2; exit 2 ;;
esac
"""


def package():
    """The agent package: a gzipped tar of opt/ds_agent/dsa_control."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        data = DSA_CONTROL.encode()
        info = tarfile.TarInfo("opt/ds_agent/dsa_control")
        info.size, info.mode, info.mtime = len(data), 0o755, int(time.time())
        tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


class Manager:
    def __init__(self):
        self.lock = threading.Lock()
        self.records = {"downloads": [], "activations": [], "scans": []}
        self.package = package()

    def record(self, kind, entry):
        with self.lock:
            self.records[kind].append(entry)


def handler_for(manager):
    class Handler(httpd.Handler):
        def reply(self, code, data, ctype="application/json"):
            super().reply(code, data, ctype)

        def do_GET(self):
            url = urlparse(self.path)
            if url.path == "/_testbed/c1ws":
                with manager.lock:
                    return self.reply(200, json.dumps(manager.records))
            parts = url.path.strip("/").split("/")
            if len(parts) == 5 and parts[:2] == ["software", "agent"]:
                tenant = parse_qs(url.query).get("tenantID", [""])[0]
                if not tenant:
                    return self.reply(403, '{"message": "a tenant ID is required"}')
                manager.record("downloads", {"platform": parts[2], "arch": parts[3], "package": parts[4], "tenant": tenant})
                return self.reply(200, manager.package, "application/octet-stream")
            self.reply(404, '{"message": "Not Found"}')

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                entry = json.loads(body or b"{}")
            except ValueError:
                return self.reply(400, '{"message": "not JSON"}')
            if self.path == "/agent/activate":
                if not entry.get("tenant") or not entry.get("token"):
                    return self.reply(401, '{"message": "tenant ID and token are required"}')
                manager.record("activations", entry)
                return self.reply(200, "{}")
            if self.path == "/agent/message":
                if entry.get("message") == "RecommendationScan:true":
                    manager.record("scans", {"instance": entry.get("instance")})
                return self.reply(200, "{}")
            self.reply(404, '{"message": "Not Found"}')

    return Handler


def serve(manager, port=0):
    return httpd.serve(handler_for(manager), port)
