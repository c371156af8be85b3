#!/usr/bin/env bash
# Records a trace of real MCP traffic: agentwatchd --record while an SDK
# client (tests/e2e/mcp_client.mjs) drives server-filesystem and
# server-memory over stdio and server-everything over Streamable HTTP and
# legacy SSE, REPEAT times each. Needs root and a build (scripts/test.sh).
#   scripts/record-mcp-trace.sh OUT.awtrace [REPEAT]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$(realpath -m "${1:?usage: record-mcp-trace.sh OUT.awtrace [REPEAT]}")"
repeat="${2:-200}"
bin="$here/build/bin"
tmp="$(mktemp -d /tmp/aw-record-XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
mods="$here/tests/node_modules/@modelcontextprotocol"
client="$here/tests/e2e/mcp_client.mjs"

mkdir -p "$tmp/files"
head -c 12000 /usr/share/common-licenses/GPL-3 > "$tmp/files/doc.txt" 2>/dev/null ||
  seq 1 3000 > "$tmp/files/doc.txt"
"$bin/agentwatchd" --no-builtin-rules --endpoint "unix://$tmp/aw.sock" \
  --state-dir "$tmp/state" --record "$out" --log-level warn &
pids+=($!)
for _ in $(seq 1 100); do
  "$bin/agentwatch" --endpoint "unix://$tmp/aw.sock" status >/dev/null 2>&1 && break
  sleep 0.1
done

run() { (cd "$here/tests" && REPEAT="$repeat" node "$client" "$@" >/dev/null); }
CALLS="[{\"tool\":\"read_text_file\",\"arguments\":{\"path\":\"$tmp/files/doc.txt\"}},{\"tool\":\"list_directory\",\"arguments\":{\"path\":\"$tmp/files\"}}]" \
  run stdio node "$mods/server-filesystem/dist/index.js" "$tmp/files"
CALLS='[{"tool":"create_entities","arguments":{"entities":[{"name":"n","entityType":"t","observations":["o"]}]}},{"tool":"search_nodes","arguments":{"query":"n"}}]' \
  MEMORY_FILE_PATH="$tmp/mem.json" run stdio node "$mods/server-memory/dist/index.js"
for mode in streamableHttp sse; do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  (cd "$here/tests" && PORT=$port exec node "$mods/server-everything/dist/index.js" "$mode" >/dev/null 2>&1) &
  pids+=($!)
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
  url="http://127.0.0.1:$port/mcp"; [ "$mode" = sse ] && url="http://127.0.0.1:$port/sse"
  t=http; [ "$mode" = sse ] && t=sse
  CALLS='[{"tool":"echo","arguments":{"message":"benchmark traffic"}},{"tool":"get-structured-content","arguments":{"location":"New York"}}]' \
    run "$t" "$url"
done
sleep 1
kill -TERM "${pids[0]}"
wait "${pids[0]}" || true
echo "recorded $out ($(stat -c %s "$out") bytes)"
