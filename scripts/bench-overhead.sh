#!/usr/bin/env bash
# Overhead of the kernel sensors on a syscall-heavy workload (5 syscalls per
# iteration: open/read/close, then pipe write/read). Three modes, interleaved
# round by round so machine noise hits them alike:
#   none       no agentwatchd running
#   unwatched  agentwatchd running, the workload not watched
#   watched    agentwatchd running, the workload watched (--watch-exe)
# Reports per-mode medians and the ratios against "none". Needs root and a
# build (build/bin, build/tests). A benchmark: it prints, it never fails on
# timing. Usage: sudo scripts/bench-overhead.sh [ROUNDS] [ITERATIONS]
# AGENTWATCHD_ARGS adds daemon flags (e.g. "--payload-max 0");
# AGENTWATCHD_CONFIG names a config file (default none: e.g. one with
# "record_rate: 0" measures every open recorded, past the record budget).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rounds="${1:-5}"
iters="${2:-200000}"
bin="$here/build/bin"
wl="$here/build/tests/aw-bench-syscalls"
tmp="$(mktemp -d /tmp/aw-bench-XXXXXX)"
trap 'kill $dpid 2>/dev/null || true; rm -rf "$tmp"' EXIT
dpid=""
echo "0123456789abcdef" > "$tmp/file"
sock="$tmp/aw.sock"

start_daemon() {
  "$bin/agentwatchd" --config "${AGENTWATCHD_CONFIG:-/dev/null}" --no-builtin-rules \
    --endpoint "unix://$sock" --state-dir "$tmp/state" --log-level warn \
    ${AGENTWATCHD_ARGS:-} "$@" 2>>"$tmp/daemon.log" &
  dpid=$!
  for _ in $(seq 1 300); do
    "$bin/agentwatch" --endpoint "unix://$sock" status >/dev/null 2>&1 && return
    sleep 0.1
  done
  echo "agentwatchd did not start" >&2; cat "$tmp/daemon.log" >&2; exit 1
}
stop_daemon() { kill -TERM "$dpid"; wait "$dpid" || true; dpid=""; }

run() { "$wl" "$tmp/file" "$iters" | tr ' ' '\n' > "$tmp/out"; \
  awk -F= '/open_read_close_ns/{o=$2} /pipe_ns/{p=$2} END{print o, p}' "$tmp/out"; }

declare -A res
for r in $(seq 1 "$rounds"); do
  for mode in none unwatched watched; do
    case $mode in
      none) out=$(run) ;;
      unwatched) start_daemon; out=$(run); stop_daemon ;;
      watched) start_daemon --watch-exe "$wl"; out=$(run)
        events=$("$bin/agentwatch" --endpoint "unix://$sock" status --json |
          python3 -c 'import json,sys; c={x["name"]:int(x.get("value",0)) for x in json.load(sys.stdin)["counters"]}; print(c.get("kernel_events_file",0), c.get("kernel_ringbuf_drops_file",0))')
        stop_daemon ;;
    esac
    res[$mode]+="$out"$'\n'
    echo "round $r $mode: open_loop_ns pipe_loop_ns = $out${events:+  (watched file events, drops: $events)}"
    events=""
  done
done

median() { sort -n | awk '{a[NR]=$1} END{print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'; }
printf '\n%-10s %16s %16s %10s %10s\n' mode open_loop_ms pipe_loop_ms open_x pipe_x
base_o=$(echo -n "${res[none]}" | awk '{print $1}' | median)
base_p=$(echo -n "${res[none]}" | awk '{print $2}' | median)
for mode in none unwatched watched; do
  o=$(echo -n "${res[$mode]}" | awk '{print $1}' | median)
  p=$(echo -n "${res[$mode]}" | awk '{print $2}' | median)
  awk -v m="$mode" -v o="$o" -v p="$p" -v bo="$base_o" -v bp="$base_p" \
    'BEGIN{printf "%-10s %16.1f %16.1f %9.3fx %9.3fx\n", m, o/1e6, p/1e6, o/bo, p/bp}'
done
echo "($rounds rounds, $iters iterations per loop, $((iters * 5)) syscalls per run)"
