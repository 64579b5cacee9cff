#!/usr/bin/env python3
"""The workloads of bench/perf.sh, all for the same data: N plain records of about 40 values
each, built through functions, string interpolation, comprehensions and conditionals.

  gen_records.py program N   the kenv program that builds them (`kenv eval --json -e records`)
  gen_records.py starlark N  its Starlark twin (prints the same JSON)
  gen_records.py kenv N      the data written out as kenv: every value a literal
  gen_records.py json N      the data as JSON (what jrsonnet reads) and what both must print
"""
import json, sys

what, n = sys.argv[1], int(sys.argv[2])

KENV = '''fn port(i) = if i % 3 == 0 { 443 } else { 8000 + i % 100 }

fn rule(i, j) = {
  proto: if j % 2 == 0 { "tcp" } else { "udp" },
  port: port(i + j),
  cidr: "10.${i % 256}.${j}.0/24",
  note: "rule ${j} of user${i}",
}

fn record(i) = {
  id: i,
  name: "user${i}",
  email: "user${i}@example.com",
  team: "team-${i % 10}",
  size: if i % 5 == 0 { "t3.large" } else { "t3.medium" },
  active: i % 7 != 0,
  tags: { owner: "user${i}", project: "p${i % 4}", cost: "cc-${i % 13}" },
  rules: [rule(i, j) for j in range(4)],
  ports: [port(i + k) for k in range(5) if k != 2],
  groups: ["sg-${i}-${g}" for g in ["web", "db", "cache"]],
}

let records = [record(i) for i in range(N)]
'''

STARLARK = '''def port(i):
    return 443 if i % 3 == 0 else 8000 + i % 100

def rule(i, j):
    return {
        "proto": "tcp" if j % 2 == 0 else "udp",
        "port": port(i + j),
        "cidr": "10.%d.%d.0/24" % (i % 256, j),
        "note": "rule %d of user%d" % (j, i),
    }

def record(i):
    return {
        "id": i,
        "name": "user%d" % i,
        "email": "user%d@example.com" % i,
        "team": "team-%d" % (i % 10),
        "size": "t3.large" if i % 5 == 0 else "t3.medium",
        "active": i % 7 != 0,
        "tags": {"owner": "user%d" % i, "project": "p%d" % (i % 4), "cost": "cc-%d" % (i % 13)},
        "rules": [rule(i, j) for j in range(4)],
        "ports": [port(i + k) for k in range(5) if k != 2],
        "groups": ["sg-%d-%s" % (i, g) for g in ["web", "db", "cache"]],
    }

print(json.encode([record(i) for i in range(N)]))
'''


def port(i):
    return 443 if i % 3 == 0 else 8000 + i % 100


def record(i):
    rule = lambda j: {"proto": "tcp" if j % 2 == 0 else "udp", "port": port(i + j),
                      "cidr": f"10.{i % 256}.{j}.0/24", "note": f"rule {j} of user{i}"}
    return {
        "id": i, "name": f"user{i}", "email": f"user{i}@example.com", "team": f"team-{i % 10}",
        "size": "t3.large" if i % 5 == 0 else "t3.medium", "active": i % 7 != 0,
        "tags": {"owner": f"user{i}", "project": f"p{i % 4}", "cost": f"cc-{i % 13}"},
        "rules": [rule(j) for j in range(4)],
        "ports": [port(i + k) for k in range(5) if k != 2],
        "groups": [f"sg-{i}-{g}" for g in ["web", "db", "cache"]],
    }


def kenv_literal(v, indent=""):
    """The value written out as kenv, one field per line, as a generated config would be."""
    inner = indent + "  "
    if isinstance(v, dict):
        fields = [f"{inner}{k}: {kenv_literal(x, inner)}," for k, x in v.items()]
        return "{\n" + "\n".join(fields) + f"\n{indent}}}"
    if isinstance(v, list):
        if all(not isinstance(x, (dict, list)) for x in v):
            return "[" + ", ".join(kenv_literal(x, inner) for x in v) + "]"
        return "[\n" + "\n".join(f"{inner}{kenv_literal(x, inner)}," for x in v) + f"\n{indent}]"
    return json.dumps(v)  # strings, ints, true/false: the same in kenv


data = [record(i) for i in range(n)]
if what == "program":
    print(KENV.replace("range(N)", f"range({n})"), end="")
elif what == "starlark":
    print(STARLARK.replace("range(N)", f"range({n})"), end="")
elif what == "kenv":
    print(f"let records = {kenv_literal(data)}")
elif what == "json":
    print(json.dumps(data, indent=2))
else:
    sys.exit(f"unknown workload {what}")
