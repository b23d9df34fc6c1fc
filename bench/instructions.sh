#!/usr/bin/env bash
# Issue 4, the deterministic companion of bench/run.sh: how many user-space
# instructions whisk's reverse example and the hand-written baseline execute
# per keep-alive `/run`, counted by valgrind's callgrind. Unlike times, the
# counts do not move with the load of a shared machine (kernel work, i.e.
# syscalls, is not counted: see `strace -c` for that). Run by hand:
#
#   bench/instructions.sh
#
# For each server and each mode it runs the server under callgrind twice,
# answering 200 and then 1200 `/run` requests (`whisk-bench client`), and
# prints (total(1200) - total(200)) / 1000: the instructions of one
# activation, without start-up and shutdown. The modes: one keep-alive
# connection with __OW_ALLOW_CONCURRENT true, then false; and the invoker's
# path: concurrency off, a new connection per activation. Takes about a
# minute once built.
# WHISK_BIN=PATH measures another build of the reverse action instead (an
# older commit's, say), against the same baseline; BASELINE_BIN=PATH another
# build of the baseline (the static musl ones that bench/run.sh builds:
# target/bench/x86_64-unknown-linux-musl/release/{examples/reverse,baseline}).
set -euo pipefail
# A failure inside $(...) (a server that could not start, say) must stop
# the script, not print a row computed from an empty count.
shopt -s inherit_errexit
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
target="${BENCH_TARGET_DIR:-$root/target/bench}"

if ! command -v valgrind >/dev/null; then
  echo "== installing valgrind" >&2
  apt-get update -qq && apt-get install -y -qq valgrind >/dev/null
fi
echo "== building (release) in $target" >&2
CARGO_TARGET_DIR="$target" cargo build --quiet --release --example reverse
CARGO_TARGET_DIR="$target" cargo build --quiet --release \
  --manifest-path bench/Cargo.toml -p whisk-bench-baseline -p whisk-bench-driver

driver="$target/release/whisk-bench"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# total BINARY CONCURRENT REQUESTS [new]: callgrind's instruction total for
# a run that starts the server, answers /init and REQUESTS /run (with `new`,
# each on a new connection), and stops.
total() {
  local binary=$1 concurrent=$2 requests=$3 connections=${4:-} port out="$work/callgrind.out"
  # A port nothing listens on (the client must not reach another server),
  # below the kernel's ephemeral range (32768 and up by default): a port in
  # it may be taken by a client's end of a connection, as many are in the
  # invoker mode, and the server's bind then fails.
  while :; do
    port=$((20000 + RANDOM % 12000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
  done
  rm -f "$out"
  WHISK_MODE=http WHISK_HOST=127.0.0.1 WHISK_PORT=$port __OW_ALLOW_CONCURRENT=$concurrent \
    valgrind --tool=callgrind --callgrind-out-file="$out" "$binary" \
    >/dev/null 2>"$work/valgrind.log" &
  local server=$!
  if ! "$driver" client "$port" "$requests" $connections; then
    kill -KILL "$server" 2>/dev/null || true
    fail "the client failed against $binary"
  fi
  # If it is gone, it answered nothing: whatever the client talked to, it
  # was not this.
  kill -TERM "$server" 2>/dev/null || fail "$binary exited before the client was done"
  wait "$server" || true
  local summary
  summary=$(sed -n 's/^summary: //p' "$out" 2>/dev/null)
  [[ -n "$summary" ]] || fail "no callgrind summary for $binary"
  echo "$summary"
}

# fail MESSAGE: says what went wrong, shows the server's valgrind log, stops.
fail() {
  echo "bench/instructions.sh: $1" >&2
  cat "$work/valgrind.log" >&2
  exit 1
}

per_request() {
  local small large
  small=$(total "$1" "$2" 200 ${3:-})
  large=$(total "$1" "$2" 1200 ${3:-})
  echo $(((large - small) / 1000))
}

echo "| mode | whisk (instructions per /run) | baseline | whisk/baseline |"
echo "|---|---:|---:|---:|"
for mode in "true" "false" "false new"; do
  read -r concurrent connections <<<"$mode"
  whisk=$(per_request "${WHISK_BIN:-$target/release/examples/reverse}" "$concurrent" $connections)
  baseline=$(per_request "${BASELINE_BIN:-$target/release/baseline}" "$concurrent" $connections)
  ratio=$(awk "BEGIN { printf \"%.2f\", $whisk / $baseline }")
  label="keep-alive, __OW_ALLOW_CONCURRENT=$concurrent"
  [[ -n "$connections" ]] && label="invoker: new connection per /run, __OW_ALLOW_CONCURRENT=false"
  echo "| $label | $whisk | $baseline | $ratio |"
done
