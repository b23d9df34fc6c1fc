#!/usr/bin/env bash
# Issue 4 benchmark: whisk's reverse example against a hand-written hyper
# baseline (bench/baseline), on loopback. Run by hand, never by `cargo test`:
#
#   bench/run.sh [--rounds N=7] [--secs S=2] [--cold N=10] [--max N] [--out FILE]
#
# Builds, with the release profile and in target/bench (so the shared debug
# target dir is left alone):
#   * examples/reverse.rs and the baseline, as ordinary (dynamic glibc) binaries;
#   * both again with `-C target-feature=+crt-static` (static glibc; the
#     toolchain has no musl target here) for the static-size row;
#   * bench/reverse-pool: the reverse action without `inline`, measured in
#     the keep-alive phase only (what a sync action costs on the blocking
#     pool under concurrency).
# Then runs bench/driver (`whisk-bench`), which starts each server in turn
# (whisk, baseline, whisk, baseline, ...), bounds every load loop in count and
# time, sends its sentinels to /dev/null, and prints a Markdown table.
# The arguments are passed to the driver. BENCH_STATIC=1 benchmarks the
# static binaries instead of the dynamic ones.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
target="${BENCH_TARGET_DIR:-$root/target/bench}"
host="$(rustc -vV | sed -n 's/^host: //p')"

echo "== building (release) in $target" >&2
CARGO_TARGET_DIR="$target" cargo build --quiet --release --example reverse
CARGO_TARGET_DIR="$target" cargo build --quiet --release \
  --manifest-path bench/Cargo.toml -p whisk-bench-baseline -p whisk-bench-driver \
  -p whisk-bench-reverse-pool
static_flags="-C target-feature=+crt-static"
CARGO_TARGET_DIR="$target" RUSTFLAGS="$static_flags" cargo build --quiet --release \
  --target "$host" --example reverse
CARGO_TARGET_DIR="$target" RUSTFLAGS="$static_flags" cargo build --quiet --release \
  --target "$host" --manifest-path bench/Cargo.toml -p whisk-bench-baseline

whisk="$target/release/examples/reverse"
baseline="$target/release/baseline"
whisk_static="$target/$host/release/examples/reverse"
baseline_static="$target/$host/release/baseline"
if [[ "${BENCH_STATIC:-0}" == 1 ]]; then
  whisk="$whisk_static"
  baseline="$baseline_static"
fi

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(uname -sr)" >&2
exec "$target/release/whisk-bench" \
  --whisk "$whisk" --baseline "$baseline" \
  --whisk-static "$whisk_static" --baseline-static "$baseline_static" \
  --whisk-pool "$target/release/reverse-pool" \
  "$@"
