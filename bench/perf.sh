#!/usr/bin/env bash
# Performance beyond declarations, side by side with other tools, in one run (bench/perf.py says
# what is measured and prints each ratio against its goal):
#   general evaluation against starlark-rust, a large literal file against jrsonnet (and its parse
#   speed), JSON output against serde_json's compact writer, cold start against jrsonnet, and
#   kenv's peak memory.
# The peers are installed once with `cargo install --root` into $KENV_BENCH_PEERS (default
# ~/.cache/kenv-bench/peers); when one cannot be installed its ratios are skipped, saying so.
# Usage: bench/perf.sh [RECORDS]   (default 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000}"
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/kenv"
peers="${KENV_BENCH_PEERS:-$HOME/.cache/kenv-bench/peers}"
mkdir -p "$peers"
install_peer() { # CRATE BINARY [VERSION]
  [[ -x $peers/bin/$2 ]] && return 0
  echo "installing $1 into $peers (once; minutes) ..."
  if ! cargo install --quiet --locked --root "$peers" "$1" ${3:+--version "$3"} > "$peers/$1.log" 2>&1; then
    echo "could not install $1 (see $peers/$1.log): its ratios are skipped"
  fi
}
install_peer starlark_bin starlark
install_peer jrsonnet jrsonnet 0.5.0-pre98
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 bench/gen_records.py program "$n" > "$work/program.kenv"
python3 bench/gen_records.py starlark "$n" > "$work/program.star"
python3 bench/gen_records.py kenv "$n" > "$work/literal.kenv"
python3 bench/gen_records.py json "$n" > "$work/literal.json"
output="$(cargo bench --quiet --bench json_output -- "$work/literal.kenv")"
exec python3 bench/perf.py "$bin" "$peers/bin" "$work" "$output"
