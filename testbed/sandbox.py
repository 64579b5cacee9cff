"""Where an instance's commands really run. Each instance has a directory of its own under the
testbed's instances directory, laid out as an Amazon Linux 2023 box's: `opt/`, `etc/os-release`,
`root/` (its home), `tmp/`, `bin/`. A command runs as root of a user namespace with a mount
namespace of its own, in which the instance's `opt/` is /opt and its `etc/os-release` is
/etc/os-release; HOME and TMPDIR are its own; every other path is this machine's. Its environment
is only what an instance gives a Run Command script: its PATH (the instance's `bin/` first:
the AWS CLI, from the testbed's virtualenv, talking to the testbed; `rpm`, which installs the
packages the C1WS manager stand-in serves; `sleep`, on the testbed's time scale), its region and
its IMDS endpoint, from which the AWS CLI takes the instance role's credentials. No operator
credentials reach it.

It needs unprivileged user namespaces (`unshare`, util-linux); where the kernel refuses them the
command fails with unshare's own message."""

import os
import signal
import subprocess
import threading
import time

OS_RELEASE = """NAME="Amazon Linux"
VERSION="2023"
ID="amzn"
ID_LIKE="fedora"
VERSION_ID="2023"
PLATFORM_ID="platform:al2023"
PRETTY_NAME="Amazon Linux 2023 (kenv testbed)"
"""

RPM = """#!/bin/sh
# The testbed's rpm: installs the packages its C1WS manager stand-in serves (gzipped tar archives
# of files under /).
set -eu
case "${1:-}" in
  -i|-ihv|-ivh|-Uvh|-U) shift ;;
  *) echo "rpm (kenv testbed): only -i PACKAGE is supported" >&2; exit 1 ;;
esac
for package in "$@"; do
  echo "Preparing...  ################################# [100%]"
  tar -xzf "$package" -C /
  echo "Installing $(basename "$package")"
done
"""

SLEEP = """#!/bin/sh
# sleep, on the testbed's time scale ({scale} of the time asked for).
exec /bin/sleep "$(awk -v s="${{1:-0}}" 'BEGIN {{ printf "%.3f", s * {scale} }}')"
"""

# Run by `unshare`: the instance's own /opt and /etc/os-release, then the script, in its directory.
SETUP = """set -e
mount --bind "$1/opt" /opt
mount --bind "$1/etc/os-release" /etc/os-release
cd "$2"
exec /bin/sh _script.sh
"""


class Run:
    """One instance's invocation of a command: Pending, InProgress, then Success, Failed,
    TimedOut or Cancelled, with its exit code and output."""

    def __init__(self, instance, comment, timeout):
        self.instance = instance
        self.comment = comment
        self.timeout = timeout
        self.status = "Pending"
        self.code = -1
        self.stdout = ""
        self.stderr = ""
        self.requested = time.time()
        self.started = None
        self.ended = None
        self.process = None
        self.lock = threading.Lock()

    def cancel(self):
        with self.lock:
            if self.status in ("Pending", "InProgress"):
                self.status = "Cancelled"
                if self.process:
                    os.killpg(self.process.pid, signal.SIGKILL)


class Sandboxes:
    def __init__(self, root, endpoint, region, time_scale, aws_cli):
        self.root = root
        self.endpoint = endpoint
        self.region = region
        self.time_scale = time_scale
        self.aws_cli = aws_cli

    def home(self, instance):
        """The instance's directory, laid out on first use (around whatever is there already)."""
        base = os.path.join(self.root, instance)
        for d in ("opt", "etc", "root", "tmp", "bin"):
            os.makedirs(os.path.join(base, d), exist_ok=True)
        files = {"etc/os-release": OS_RELEASE, "bin/rpm": RPM, "bin/sleep": SLEEP.format(scale=self.time_scale)}
        for path, text in files.items():
            if not os.path.exists(os.path.join(base, path)):
                with open(os.path.join(base, path), "w") as f:
                    f.write(text)
                os.chmod(os.path.join(base, path), 0o755)
        if not os.path.lexists(os.path.join(base, "bin", "aws")):
            os.symlink(self.aws_cli, os.path.join(base, "bin", "aws"))
        return base

    def start(self, run, command_id, commands, imds_for):
        """Runs the commands on a thread of their own; `run` follows them. `imds_for` gives the
        instance's IMDS endpoint."""
        threading.Thread(target=self.execute, args=(run, command_id, commands, imds_for), daemon=True).start()

    def execute(self, run, command_id, commands, imds_for):
        imds_url = imds_for(run.instance)
        base = self.home(run.instance)
        work = os.path.join(base, "var/lib/amazon/ssm", run.instance, "document/orchestration", command_id,
                            "awsrunShellScript/0.awsrunShellScript")
        os.makedirs(work, exist_ok=True)
        with open(os.path.join(work, "_script.sh"), "w") as f:
            f.write("\n".join(commands) + "\n")
        env = {
            "PATH": f"{base}/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            "HOME": f"{base}/root",
            "TMPDIR": f"{base}/tmp",
            "LANG": "C.UTF-8",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds_url + "/",
            "AWS_CONFIG_FILE": f"{base}/root/.aws/config",
            "AWS_SHARED_CREDENTIALS_FILE": f"{base}/root/.aws/credentials",
        }
        with run.lock:
            if run.status != "Pending":
                return
            run.status, run.started = "InProgress", time.time()
            run.process = subprocess.Popen(
                ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", SETUP, "setup", base, work],
                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                start_new_session=True)
        try:
            out, err = run.process.communicate(timeout=run.timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(run.process.pid, signal.SIGKILL)
            out, err = run.process.communicate()
            timed_out = True
        with run.lock:
            run.stdout, run.stderr = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
            run.ended = time.time()
            if run.status == "Cancelled":
                return
            run.code = -1 if timed_out else run.process.returncode
            run.status = "TimedOut" if timed_out else "Success" if run.code == 0 else "Failed"
