#!/usr/bin/env bash
# Builds the reverse example, starts it as OpenWhisk would start the container
# (HTTP on a port), and invokes it for real: POST /init, then POST /run.
# Needs only bash and cargo (HTTP is spoken through bash's /dev/tcp).
#
#   bash scripts/demo.sh [PAYLOAD]    # PORT=8080 to use a fixed port
#
# Without PORT the action picks a free port itself (WHISK_PORT=0) and says
# which in WHISK_PORT_FILE, so another server on 8080 can never answer in
# its place. If the action cannot start, its own error is shown.
set -euo pipefail
cd "$(dirname "$0")/.."

port="${PORT:-0}"
payload="${1:-hello, whisk}"

echo "> cargo build --release --example reverse (the first build takes a few minutes)" >&2
cargo build --release --example reverse
target_dir=$(cargo metadata --no-deps --format-version 1 |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
binary="$target_dir/release/examples/reverse"

work=$(mktemp -d)
logs="$work/logs"
port_file="$work/port"
WHISK_MODE=http WHISK_HOST=127.0.0.1 WHISK_PORT="$port" WHISK_PORT_FILE="$port_file" \
  "$binary" >"$logs" 2>&1 &
server=$!
cleanup() {
  if kill -0 "$server" 2>/dev/null; then
    kill "$server" 2>/dev/null || true
  fi
  wait "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The action writes the bound port once it listens; if it exits first, its
# logs say why (e.g. "Address already in use" for a taken PORT).
for _ in $(seq 200); do
  [ -s "$port_file" ] && break
  if ! kill -0 "$server" 2>/dev/null; then
    status=0
    wait "$server" || status=$?
    echo "the action exited at start-up (status $status); its output:" >&2
    cat "$logs" >&2
    exit 1
  fi
  sleep 0.05
done
[ -s "$port_file" ] || { echo "the action did not start listening within 10 s; its output:" >&2; cat "$logs" >&2; exit 1; }
port=$(cat "$port_file")
echo "> the action listens on 127.0.0.1:$port (pid $server)"

# POST <path> <json>: prints the status line and the body.
post() {
  local path=$1 body=$2
  exec 3<>"/dev/tcp/127.0.0.1/$port"
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
status=0
wait "$server" || status=$?
[ "$status" -eq 0 ] || echo "the action exited with status $status" >&2
echo "> the action's logs (stdout and stderr): one sentinel per stream per activation"
cat "$logs"
