#!/usr/bin/env bash
# The README's main command: install dependencies, build, and run the default study
# (experiments/quick.ini: every arm and the students' controls, augmentation S1 and S4, 20 %
# and 100 % of the labels; about 8 minutes on 2 cores), recorded in results.db, then its
# report in reports/quick/.
# Re-running it does nothing new: finished trials are never trained again.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[[ -d build ]] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null
./build/rethink sweep experiments/quick.ini --db results.db
if ./build/rethink help | grep -q "^  report"; then
  ./build/rethink report --db results.db --study quick --out reports/quick
fi
