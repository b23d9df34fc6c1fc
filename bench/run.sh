#!/usr/bin/env bash
# Issue 4 benchmark: whisk's reverse example against a hand-written hyper
# baseline (bench/baseline), on loopback. Run by hand, never by `cargo test`:
#
#   bench/run.sh [--rounds N=7] [--secs S=2] [--cold N=40] [--max N] [--out FILE]
#                [--pairs N=100] [--slice-ms MS=250]
#
# Builds, with the release profile and in target/bench (so the shared debug
# target dir is left alone):
#   * examples/reverse.rs and the baseline, as ordinary (dynamic glibc) binaries;
#   * both again as static binaries for the static-size row: for
#     x86_64-unknown-linux-musl (what docker/Dockerfile ships), after
#     `rustup target add`; where that target cannot be had (no network, say),
#     with `-C target-feature=+crt-static` on the host's glibc instead, and
#     the table says which;
#   * bench/actions (reverse-pool): the reverse action without `inline`, measured in
#     the keep-alive phase only (what a sync action costs on the blocking
#     pool under concurrency).
# Then runs bench/driver (`whisk-bench`), which starts each server in turn
# (whisk, baseline, whisk, baseline, ...), bounds every load loop in count and
# time, sends its sentinels to /dev/null, and prints a Markdown table; then
# measures both throughputs again with both servers up and the load
# alternating between them in short slices (paired, a second table: the
# steadier figure on a busy machine; bench/driver/src/paired.rs).
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
  -p whisk-bench-actions
# The static builds: musl, as shipped, or else static glibc.
musl=x86_64-unknown-linux-musl
if timeout 120 rustup target add "$musl" >/dev/null 2>&1; then
  static_target=$musl static_flags="" static_kind="musl, $musl"
else
  echo "== no $musl target (rustup target add failed): static glibc instead" >&2
  static_target=$host static_flags="-C target-feature=+crt-static" static_kind="crt-static glibc"
fi
CARGO_TARGET_DIR="$target" RUSTFLAGS="$static_flags" cargo build --quiet --release \
  --target "$static_target" --example reverse
CARGO_TARGET_DIR="$target" RUSTFLAGS="$static_flags" cargo build --quiet --release \
  --target "$static_target" --manifest-path bench/Cargo.toml -p whisk-bench-baseline

whisk="$target/release/examples/reverse"
baseline="$target/release/baseline"
binary_kind="dynamic glibc"
whisk_static="$target/$static_target/release/examples/reverse"
baseline_static="$target/$static_target/release/baseline"
if [[ "${BENCH_STATIC:-0}" == 1 ]]; then
  whisk="$whisk_static"
  baseline="$baseline_static"
  binary_kind="$static_kind"
fi

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(uname -sr)" >&2
exec "$target/release/whisk-bench" \
  --whisk "$whisk" --baseline "$baseline" \
  --whisk-static "$whisk_static" --baseline-static "$baseline_static" \
  --whisk-pool "$target/release/reverse-pool" \
  --binary-kind "$binary_kind" --static-kind "$static_kind" \
  "$@"
