#!/usr/bin/env bash
# The run command: installs what is missing, builds, and starts agentwatchd
# in the foreground with its embedded defaults (needs root). Extra arguments
# go to agentwatchd, e.g. scripts/run.sh --watch-exe '/usr/bin/python3*'.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build -j2 agentwatchd agentwatch
exec build/bin/agentwatchd "$@"
