#!/usr/bin/env bash
# Benchmarks kenv in release mode and prints the numbers against the goals:
#   - `kenv eval --json` of a 1,000-environment team config, whole process: goal < 25 ms
#   - a trivial program (`kenv eval -e 1`), whole process: goal < 3 ms
# Usage: bench/run.sh [ENVIRONMENTS]   (default 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000}"
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/kenv"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 bench/gen_team.py "$n" > "$work/team.kenv"
echo "team config: $n environments, $(wc -c < "$work/team.kenv") bytes"
echo "inside the process (median of 10):"
for _ in $(seq 10); do "$bin" eval --json --timings "$work/team.kenv" 2>&1 >/dev/null; done | sort -t' ' -k4 -n | sed -n 5p
python3 - "$bin" "$work/team.kenv" <<'PY'
import statistics, subprocess, sys, time
bin, team = sys.argv[1], sys.argv[2]
def median_ms(args, runs):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([bin] + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)
big = median_ms(["eval", "--json", team], 20)
tiny = median_ms(["eval", "-e", "1"], 50)
print(f"whole process, kenv eval --json team: {big:7.2f} ms  (goal 25 ms: {big / 25:.2f}x of budget)")
print(f"whole process, kenv eval -e 1:        {tiny:7.2f} ms  (goal  3 ms: {tiny / 3:.2f}x of budget)")
PY
