#!/usr/bin/env bash
# The test command: installs what is missing, builds, runs the fuzz targets
# for a bounded time and then every CTest tier (unit, replay, deploy, bpf, e2e).
# bpf and e2e need root; with AGENTWATCH_REQUIRE_BPF=1 (as in CI) a skip
# there is a failure. AGENTWATCH_FUZZ_SECONDS sets the time per fuzz target.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
ninja -C build -j2
scripts/fuzz.sh "${AGENTWATCH_FUZZ_SECONDS:-20}"
cd build
# Every tier: unit, replay, deploy (manifests, install), bpf (root, real
# kernel), e2e (root, daemon + CLI).
ctest -j2 --output-on-failure
