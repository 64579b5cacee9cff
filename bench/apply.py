"""Apply of the example's environments for 1 and for N members, each on a testbed of its own at its
default time scale: prints both times and their ratio (goal: at most 1.5), and checks that a second
apply makes no mutating call. It also prints the CPU the instances' commands used: on AWS each
instance has its own, here they share this machine's cores. Usage: apply.py KENV_BINARY [N]"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def testbed():
    process = subprocess.Popen([sys.executable, os.path.join(ROOT, "testbed", "testbed.py"), "--watch-stdin"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return process, json.loads(process.stdout.readline())


def children_cpu(pid):
    """CPU seconds of a process's finished children (the testbed's: the instances' commands)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def apply(kenv, members):
    process, info = testbed()
    work = tempfile.mkdtemp(prefix="kenv-bench-apply-")
    try:
        shutil.copy(os.path.join(ROOT, "examples", "kobanzaki", "team.kenv"), work)
        names = ", ".join(f'"dev{i:02}"' for i in range(members))
        with open(os.path.join(work, "stack.kenv"), "w") as f:
            f.write(f'import "./team.kenv" as team\nteam.dev_role\nfor user in [{names}] {{\n  team.dev_env(user)\n}}\n')
        env = {"PATH": os.environ["PATH"], "HOME": work, "AWS_ENDPOINT_URL": info["endpoint"], "AWS_REGION": info["region"],
               "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "KOBANZAKI_SUBNET": info["subnet_id"], "KOBANZAKI_C1WS_MANAGER": info["c1ws"],
               "KOBANZAKI_GHE_GROUP": info["ghe_sg"]}

        def run():
            started = time.perf_counter()
            out = subprocess.run([kenv, "apply", "--yes", "--stats", "stack.kenv"], cwd=work, env=env,
                                 capture_output=True, text=True)
            if out.returncode != 0:
                sys.exit(f"apply of {members} environment(s) failed:\n{out.stderr}")
            return time.perf_counter() - started, out.stderr

        seconds, _ = run()
        instances_cpu = children_cpu(process.pid)
        _, again = run()
        mutating = int(re.search(r"total: \d+ read, (\d+) mutating", again).group(1))
        return seconds, mutating, instances_cpu
    finally:
        process.stdin.close()
        process.wait()
        shutil.rmtree(work, ignore_errors=True)


def main():
    kenv, many = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 20
    one, one_again, one_cpu = apply(kenv, 1)
    n, n_again, n_cpu = apply(kenv, many)
    cores = os.cpu_count()
    print(f"apply, 1 environment:   {one:6.2f} s  (a second apply: {one_again} mutating calls; "
          f"the instance's commands used {one_cpu:.1f} CPU s)")
    print(f"apply, {many} environments: {n:6.2f} s  (a second apply: {n_again} mutating calls; "
          f"the instances' commands used {n_cpu:.1f} CPU s, at least {n_cpu / cores:.1f} s on this machine's {cores} cores)")
    print(f"ratio {many} : 1 = {n / one:.2f}x (goal: at most 1.5x)")
    if one_again or n_again:
        sys.exit("a second apply made mutating calls")


if __name__ == "__main__":
    main()
