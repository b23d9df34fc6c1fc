#!/usr/bin/env bash
# Soak test (issue 5), run by hand, never by `cargo test`: drives concurrent
# /run traffic at the reverse example on loopback for a bounded time and
# prints requests, errors (must be 0) and RSS over time (flat after warm-up).
#
#   bench/soak.sh [SECONDS=120] [sequential]
#
# `sequential`: concurrency off (OpenWhisk's default) and one invoker-like
# client, a new connection and new activation ids per request: what a warm
# container sees, and where the `__OW_*` variables are exported.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
target="${BENCH_TARGET_DIR:-$root/target/bench}"
secs="${1:-120}"
sequential=false
[[ "${2:-}" == sequential ]] && sequential=true

echo "== building (release) in $target" >&2
CARGO_TARGET_DIR="$target" cargo build --quiet --release --example reverse
CARGO_TARGET_DIR="$target" cargo build --quiet --release \
  --manifest-path bench/Cargo.toml -p whisk-bench-driver
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" >&2
exec "$target/release/whisk-bench" --whisk "$target/release/examples/reverse" --soak "$secs" --soak-sequential "$sequential"
