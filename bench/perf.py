#!/usr/bin/env python3
"""bench/perf.sh's measurements (see there). Whole processes, timed from outside (spawned straight,
output to /dev/null), each pair of commands run in turn (A B A B ...) so that the ratio is taken
pair by pair while this machine's speed drifts; medians. Every tool's JSON is checked to be the same data first.

Usage: perf.py KENV PEERS_BIN WORKDIR "OUTPUT" (what benches/json_output.rs prints)
"""
import json, os, statistics, subprocess, sys, time

kenv, peers, work, output = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split()
starlark, jrsonnet = f"{peers}/starlark", f"{peers}/jrsonnet"
have = {p: os.access(p, os.X_OK) for p in (starlark, jrsonnet)}
program, star, literal, js = (f"{work}/{f}" for f in ("program.kenv", "program.star", "literal.kenv", "literal.json"))
# The Starlark twin prints compact JSON (json.encode); kenv prints the same, and, as a second line,
# its default indented JSON (913 KiB against 547 KiB for 1,000 records).
KENV_PROGRAM = [kenv, "eval", "--json", "--compact", "-e", "records", program]
KENV_PROGRAM_INDENTED = [kenv, "eval", "--json", "-e", "records", program]
KENV_LITERAL = [kenv, "eval", "--json", "-e", "records", literal]


def run(argv):
    """One run: stdout, stderr."""
    p = subprocess.run(argv, capture_output=True)
    if p.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed: {p.stderr.decode()[:500]}")
    return p.stdout, p.stderr


def timed(argv):
    """Wall and CPU (user + system) seconds of one run, its output thrown away: spawned without
    Python's pipes and pre-exec machinery, whose own milliseconds would be added to both sides of
    every ratio (the output was checked once above)."""
    devnull = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_WRONLY, 0) for fd in (1, 2)]
    started = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=devnull)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(argv)} failed")
    return wall, usage.ru_utime + usage.ru_stime


def peak_mib(argv):
    """Peak resident MiB, as GNU time reports it (a child of Python would count Python's pages)."""
    p = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)
    return int(p.stderr.decode().split()[-1]) / 1024


def paired(a, b, runs):
    """Median wall ms of A and of B, and the medians of A/B taken pair by pair: wall, and CPU
    (what the process itself spent, without the spawning around it)."""
    ta, tb, ratios, cpu_ratios = [], [], [], []
    for _ in range(runs + 1):
        wa, ca = timed(a)
        wb, cb = timed(b)
        ta.append(wa), tb.append(wb), ratios.append(wa / wb), cpu_ratios.append(ca / cb if cb else float("nan"))
    ta, tb, ratios, cpu_ratios = ta[1:], tb[1:], ratios[1:], cpu_ratios[1:]  # the first pair warms the page cache
    return statistics.median(ta) * 1e3, statistics.median(tb) * 1e3, statistics.median(ratios), statistics.median(cpu_ratios)


def against(label, peer, a, b, runs, goal, decimals=1):
    """Prints kenv's command A against the peer's B (or that the peer is missing)."""
    if not have[peer]:
        print(f"{label}: skipped ({os.path.basename(peer)} is not installed)")
        return
    ta, tb, r, cpu = paired(a, b, runs)
    print(f"{label}: kenv {ta:6.{decimals}f} ms, {os.path.basename(peer)} {tb:6.{decimals}f} ms: {r:.2f}x "
          f"(goal ≤ {goal}x: {verdict(r, goal)}; CPU {cpu:.2f}x)")


def verdict(value, goal, at_most=True):
    ok = value <= goal if at_most else value >= goal
    return "meets the goal" if ok else "MISSES the goal"


# The same data from every tool.
expected = json.load(open(js))
assert json.loads(run(KENV_PROGRAM)[0]) == expected, "kenv's program builds other data"
assert json.loads(run(KENV_PROGRAM_INDENTED)[0]) == expected, "kenv's indented JSON holds other data"
assert json.loads(run(KENV_LITERAL)[0]) == expected, "kenv's literal file holds other data"
if have[starlark]:
    assert json.loads(run([starlark, star])[1].decode().splitlines()[0]) == expected, "the Starlark twin differs"
if have[jrsonnet]:
    assert json.loads(run([jrsonnet, js])[0]) == expected, "jrsonnet reads other data"
size_kib = os.path.getsize(literal) / 1024
print(f"{len(expected)} records of about 40 values; the literal file is {size_kib:.0f} KiB (its JSON "
      f"{os.path.getsize(js) / 1024:.0f} KiB); the program is {os.path.getsize(program)} bytes")

against("general evaluation (compact JSON, as Starlark prints it)", starlark, KENV_PROGRAM, [starlark, star], 21, 0.5)
against("general evaluation (kenv's indented JSON)", starlark, KENV_PROGRAM_INDENTED, [starlark, star], 21, 0.5)

parses = []
for _ in range(9):
    timings = run([kenv, "eval", "--json", "--timings", "-e", "records", literal])[1].decode()
    parses.append(float(timings.split("parse ")[1].split(" ms")[0]))
parse_ms = statistics.median(parses)
speed = os.path.getsize(literal) / 1e6 / (parse_ms / 1e3)
print(f"literal file, parse inside kenv: {parse_ms:.1f} ms, {speed:.1f} MB/s (goal ≥ 40 MB/s: "
      f"{verdict(speed, 40, at_most=False)})")
against("literal file, whole process", jrsonnet, KENV_LITERAL, [jrsonnet, js], 15, 0.5)

# In-process, the same data: kenv's value as kenv writes it, and as serde_json::Value as serde_json does.
k_compact, s_compact, r_compact, k_indented, s_pretty, r_indented, r_layout = (float(x) for x in output[:7])
compact_kib, indented_kib = int(output[7]) >> 10, int(output[8]) >> 10
print(f"JSON output of the records, compact ({compact_kib} KiB): kenv {k_compact:.2f} ms, serde_json "
      f"{s_compact:.2f} ms: {r_compact:.2f}x (goal ≤ 1.0x: {verdict(r_compact, 1.0)})")
print(f"  indented ({indented_kib} KiB): kenv {k_indented:.2f} ms, serde_json pretty {s_pretty:.2f} ms: "
      f"{r_indented:.2f}x; kenv indented against serde_json compact: {r_layout:.2f}x")

against("cold start (eval -e 1)", jrsonnet, [kenv, "eval", "-e", "1"], [jrsonnet, "-e", "1"], 51, 1.0, decimals=2)
a, b, r, _ = paired(["/bin/true"], [kenv, "eval", "-e", "1"], 21)
print(f"  (/bin/true, the floor of any process here: {a:5.2f} ms)")

if os.access("/usr/bin/time", os.X_OK):
    for label, argv in [("general evaluation", KENV_PROGRAM), ("literal file", KENV_LITERAL), ("cold start", [kenv, "eval", "-e", "1"])]:
        print(f"peak memory, {label}: kenv {statistics.median(peak_mib(argv) for _ in range(5)):.1f} MiB")
else:
    print("peak memory: skipped (no GNU time at /usr/bin/time)")
