#!/usr/bin/env bash
# Builds the reverse example, starts it as OpenWhisk would start the container
# (HTTP on a port), and invokes it for real: POST /init, then POST /run.
# Needs only bash and cargo (HTTP is spoken through bash's /dev/tcp).
set -euo pipefail
cd "$(dirname "$0")/.."

port="${PORT:-8080}"
payload="${1:-hello, whisk}"

cargo build --quiet --release --example reverse
binary=target/release/examples/reverse

logs=$(mktemp)
WHISK_MODE=http WHISK_HOST=127.0.0.1 WHISK_PORT="$port" "$binary" >"$logs" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -f "$logs"' EXIT

# POST <path> <json>: prints the status line and the body.
post() {
  local path=$1 body=$2 tries=0
  until exec 3<>"/dev/tcp/127.0.0.1/$port"; do
    tries=$((tries + 1))
    [ "$tries" -lt 100 ] || { echo "the action did not start" >&2; exit 1; }
    sleep 0.05
  done 2>/dev/null
  printf 'POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
    "$path" "$(printf %s "$body" | wc -c)" "$body" >&3
  local response
  response=$(cat <&3)
  exec 3<&-
  printf '%s\n' "$response" | head -n 1 | tr -d '\r'
  printf '%s\n' "${response##*$'\r\n\r\n'}"
}

echo "> POST /init"
post /init '{"value":{"name":"reverse","main":"main","binary":false,"code":null}}'
body=$(printf '{"value":{"payload":"%s"},"activation_id":"0123456789abcdef0123456789abcdef","deadline":"%s"}' \
  "$payload" "$(( $(date +%s) * 1000 + 60000 ))")
echo "> POST /run $body"
post /run "$body"

kill -TERM "$server"
wait "$server" || true
echo "> the action's logs (stdout and stderr): one sentinel per stream per activation"
cat "$logs"
