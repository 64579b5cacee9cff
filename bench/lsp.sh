#!/usr/bin/env bash
# Benchmarks `kenv lsp` in release mode against its goals: a change's diagnostics within 10 ms on
# the example and 50 ms on a 1,000-environment file; resident memory after 1,000 edits within
# 1.5x of after the first. (bench/lsp.py says how.)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
exec python3 bench/lsp.py "${CARGO_TARGET_DIR:-target}/release/kenv"
