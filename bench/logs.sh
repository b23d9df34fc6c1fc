#!/usr/bin/env bash
# Log order under load, run by hand, never by `cargo test`: drives
# `bench/actions/src/print.rs` (one `println!` per activation) with
# concurrency on, from 64 keep-alive connections at once, and checks that
# stdout holds each activation's line and then its sentinel, every time,
# and stderr one sentinel per activation. Exits 1 on any difference.
#
#   bench/logs.sh [REQUESTS_PER_CLIENT=2500]   # 8 curl clients, 8 connections each
#   WHISK_BIN=PATH bench/logs.sh               # another build of print.rs
set -euo pipefail
shopt -s inherit_errexit
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
target="${BENCH_TARGET_DIR:-$root/target/bench}"
per_client="${1:-2500}"
clients=8
sentinel=XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX

command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl >/dev/null; }
echo "== building (release) in $target" >&2
CARGO_TARGET_DIR="$target" cargo build --quiet --release \
  --manifest-path bench/Cargo.toml -p whisk-bench-actions

work="$(mktemp -d)"
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
port=$((20000 + RANDOM % 12000))
WHISK_MODE=http WHISK_HOST=127.0.0.1 WHISK_PORT="$port" WHISK_PORT_FILE="$work/port" \
  __OW_ALLOW_CONCURRENT=true "${WHISK_BIN:-$target/release/reverse-print}" >"$work/out" 2>"$work/err" &
pid=$!
for _ in $(seq 500); do [[ -s "$work/port" ]] && break; sleep 0.01; done
[[ -s "$work/port" ]] || { echo "the server did not start: $(cat "$work/err")" >&2; exit 1; }
curl -sf -X POST -d '{"value":{}}' "http://127.0.0.1:$port/init" >/dev/null

urls="$(for _ in $(seq "$per_client"); do echo "http://127.0.0.1:$port/run"; done)"
for c in $(seq "$clients"); do
  # shellcheck disable=SC2086 # one argument per URL
  curl -sf -Z --parallel-max 8 -H 'Content-Type: application/json' \
    --no-progress-meter -d "{\"value\":{\"payload\":\"client $c, héllo\"}}" $urls >"$work/answers.$c" &
done
for job in $(jobs -p); do [[ "$job" == "$pid" ]] || wait "$job"; done
kill -TERM "$pid"
wait "$pid"
unset pid

expected=$((clients * per_client))
answers=$(cat "$work"/answers.* | grep -o '"reversed":"[^"]*"' | wc -l)
misplaced=$(awk -v s="$sentinel" \
  'NR % 2 == 1 && !/^reversing [0-9]+ bytes$/ { n++ } NR % 2 == 0 && $0 != s { n++ } END { print n + 0 }' \
  "$work/out")
out_lines=$(wc -l <"$work/out")
err_sentinels=$(grep -cx "$sentinel" "$work/err" || true)
err_other=$(grep -cvx "$sentinel" "$work/err" || true)
echo "activations: $expected sent, $answers answered"
echo "stdout: $out_lines lines, $misplaced out of place"
echo "stderr: $err_sentinels sentinels, $err_other other lines"
[[ $answers == "$expected" && $out_lines == $((2 * expected)) && $misplaced == 0 \
  && $err_sentinels == "$expected" && $err_other == 0 ]] || { echo "FAILED" >&2; exit 1; }
echo "ok"
