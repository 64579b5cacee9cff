#!/usr/bin/env bash
# Benchmarks `kenv apply` of the example (a role, Cloud9 environments over SSM with their rules,
# the C1WS install step really run on each) on the local testbed at its time scale: 1 environment
# against 20, as a ratio (goal: at most 1.5x), and a second apply's mutating calls (goal: 0).
# The time is the testbed's AWS waits, not kenv's CPU, so the debug build is used.
# Usage: bench/apply.sh [N]   (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
kenv="${KENV_BIN:-}"
if [ -z "$kenv" ]; then
  cargo build --quiet
  kenv="${CARGO_TARGET_DIR:-target}/debug/kenv"
fi
"$(testbed/kenv-testbed python)" bench/apply.py "$kenv" "${1:-20}"
