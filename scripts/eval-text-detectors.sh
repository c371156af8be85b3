#!/usr/bin/env bash
# Recall and false positives of the text detectors (tool poisoning,
# shadowing, injected content) on the labelled sets in tests/eval/text:
# the held-back test half (what the README reports), or the tuning half
# with --split tune. Extra arguments go to aw-eval-text (--show lists every
# miss and false positive; --rules-dir tries local rule files).
#   scripts/eval-text-detectors.sh [--split test|tune|all] [--show] ...
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
cmake -S . -B build -G Ninja >/dev/null
ninja -C build -j2 aw-eval-text >/dev/null
exec build/tests/aw-eval-text --dir tests/eval/text "$@"
