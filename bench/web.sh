#!/usr/bin/env bash
# The reverse action as a raw web action, written as an axum app served by
# `whisk::web::service` (bench/actions/src/web_axum.rs) and with the
# `whisk::web` types (web_types.rs), paired on loopback under keep-alive load
# (bench/driver/src/web.rs). Run by hand, never by `cargo test`:
#
#   bench/web.sh [PAIRS=100] [SLICE_MS=250]
#
# Builds with the release profile in target/bench (BENCH_TARGET_DIR), prints
# the load average, then a Markdown table of the axum/types ratios and the
# two stripped binary sizes.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
target="${BENCH_TARGET_DIR:-$root/target/bench}"
echo "== building (release) in $target" >&2
CARGO_TARGET_DIR="$target" cargo build --quiet --release \
  --manifest-path bench/Cargo.toml -p whisk-bench-driver -p whisk-bench-actions
echo "== $(nproc) cores, load: $(uptime)" >&2
"$target/release/whisk-bench" web \
  "$target/release/web-reverse-axum" "$target/release/web-reverse-types" "$@"
echo
echo "| stripped binary | bytes |"
echo "|---|---:|"
for bin in web-reverse-axum web-reverse-types; do
  echo "| $bin | $(stat -c %s "$target/release/$bin") |"
done
echo "== load after: $(uptime)" >&2
