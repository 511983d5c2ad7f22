#!/usr/bin/env bash
# The README's main command: install dependencies, build, and run the main job.
# For now the main job is the training benchmark of the reference model; the default study
# (experiments/quick.ini, ending in a report) replaces it once sweeps and reports exist.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[[ -d build ]] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null
for t in 1 2; do ./build/rethink bench train --threads "$t"; done
