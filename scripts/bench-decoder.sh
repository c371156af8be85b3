#!/usr/bin/env bash
# Decoder throughput on real MCP traffic: records a trace (root; see
# scripts/record-mcp-trace.sh) unless one is given, then runs
# aw-bench-decoder on it. Reports MB/s on one core and the ratio to memcpy
# of the same bytes, measured in the same run.
#   scripts/bench-decoder.sh [TRACE] [REPEAT]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
cmake -S . -B build -G Ninja >/dev/null
ninja -C build -j2 agentwatchd agentwatch aw-bench-decoder >/dev/null
trace="${1:-}"
if [ -z "$trace" ]; then
  trace="$(mktemp /tmp/aw-mcp-XXXXXX.awtrace)"
  scripts/record-mcp-trace.sh "$trace" "${2:-200}" >/dev/null 2>&1
fi
json="$(mktemp)"
taskset -c 0 build/tests/aw-bench-decoder --trace "$trace" \
  --benchmark_min_time=2 --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true --benchmark_format=json >"$json"
python3 - "$json" <<'PY'
import json, sys
r = {b["run_name"].split("/")[0]: b for b in json.load(open(sys.argv[1]))["benchmarks"]
     if b.get("aggregate_name") == "median"}
mem = r["memcpy"]["bytes_per_second"]
for name in ("decoder_and_tracker", "mcp_stage"):
    bps = r[name]["bytes_per_second"]
    print(f"{name:20s} {bps / 1e6:8.1f} MB/s  ({bps / mem:.4f} x memcpy, "
          f"memcpy {mem / 1e9:.1f} GB/s)")
# The whole replay (correlation, and then storage too) against the
# decode-only replay of the same trace (the MCP stage alone).
dec = r["mcp_stage"]["bytes_per_second"]
for name in ("pipeline", "pipeline_store", "pipeline_detect", "pipeline_store_detect"):
    bps = r[name]["bytes_per_second"]
    print(f"{name:22s} {bps / 1e6:8.1f} MB/s  ({bps / dec:.3f} x decode-only replay)")
# What detection adds to the replay's time (target: at most 0.3x more).
for base, det in (("pipeline", "pipeline_detect"), ("pipeline_store", "pipeline_store_detect")):
    t = r[base]["bytes_per_second"] / r[det]["bytes_per_second"]
    print(f"detection on {base:15s} {t:.3f}x the time")
PY
rm -f "$json"
