#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) in build-fuzz/ and
# runs each for a bounded time. Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]
# Corpora grow in build-fuzz/corpus/<target>, starting from the seeds in
# tests/fuzz-seeds/<target> (cut from recorded real MCP traffic, see
# tests/bench/trace_streams.cc); a crash leaves its input in
# build-fuzz/artifacts/<target>-crash-* and fails the script, printing the
# report and the input.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
secs="${1:-30}"
out="$here/build-fuzz"
targets=(dns_fuzz decode_fuzz config_fuzz trace_fuzz ndjson_fuzz jsonrpc_fuzz sse_fuzz http1_fuzz stream_decoder_fuzz mcp_json_fuzz detect_fuzz ops_fuzz redact_fuzz)
CC=clang CXX=clang++ cmake -S "$here" -B "$out" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAGENTWATCH_FUZZ=ON \
  -DAGENTWATCH_BUILD_TESTS=OFF >/dev/null
ninja -C "$out" -j2 "${targets[@]}"
for t in "${targets[@]}"; do
  mkdir -p "$out/corpus/$t"
  seeds=()
  [ -d "$here/tests/fuzz-seeds/$t" ] && seeds=("$here/tests/fuzz-seeds/$t")
  echo "fuzz: $t for ${secs}s"
  log="$out/$t.log"
  mkdir -p "$out/artifacts"
  rm -f "$out/artifacts/$t-"*
  rc=0
  (cd "$out" && "./fuzz/$t" -max_total_time="$secs" -max_len=20000 \
    -artifact_prefix="$out/artifacts/$t-" -print_final_stats=1 \
    "corpus/$t" "${seeds[@]}" >"$log" 2>&1) || rc=$?
  if [ "$rc" -ne 0 ]; then
    # The report (stack, the failing input's name and bytes) is what a
    # CI reader needs; the final stats alone say nothing.
    echo "fuzz: $t failed (exit $rc); its report:"
    grep -v -E '^#[0-9]+' "$log" | grep -v -E '^"' | tail -n 80
    for crash in "$out/artifacts/$t-"*; do
      [ -f "$crash" ] || continue
      echo "fuzz: input $(basename "$crash") as base64:"
      head -c 4096 "$crash" | base64 -w 0
      echo
    done
    exit "$rc"
  fi
  tail -n 4 "$log"
done
echo "fuzz: ${#targets[@]} targets ran ${secs}s each without a crash"
