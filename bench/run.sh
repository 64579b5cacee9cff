#!/usr/bin/env bash
# Benchmarks kenv in release mode and prints the numbers against the goals:
#   - `kenv eval --json` of a 1,000-environment team config, whole process: goal < 25 ms
#     (a template function over 1,000 members, as a team writes it; and, to stress the parser,
#     the same environments written out one by one)
#   - a trivial program (`kenv eval -e 1`), whole process: goal < 3 ms
# Usage: bench/run.sh [ENVIRONMENTS]   (default 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000}"
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/kenv"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 bench/gen_team_template.py "$n" > "$work/template.kenv"
python3 bench/gen_team.py "$n" > "$work/literal.kenv"
for config in template literal; do
  echo "$config config: $n environments, $(wc -c < "$work/$config.kenv") bytes; inside the process (median of 9):"
  for _ in $(seq 9); do "$bin" eval --json --timings "$work/$config.kenv" 2>&1 >/dev/null; done | sort -t' ' -k4 -n | sed -n 5p
done
python3 - "$bin" "$work" <<'PY'
import statistics, subprocess, sys, time
bin, work = sys.argv[1], sys.argv[2]
def median_ms(args, runs):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([bin] + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)
for config in ["template", "literal"]:
    ms = median_ms(["eval", "--json", f"{work}/{config}.kenv"], 15)
    print(f"whole process, kenv eval --json ({config}): {ms:7.2f} ms  ({ms / 25:.2f}x the 25 ms goal)")
tiny = median_ms(["eval", "-e", "1"], 50)
print(f"whole process, kenv eval -e 1:             {tiny:7.2f} ms  ({tiny / 3:.2f}x the 3 ms goal)")
PY
