#!/usr/bin/env bash
# Screenshots of a report's index.html in headless Chromium, to look at what a reader sees
# (issue 21: plots and tables checked by eye, not only by their bytes).
#   scripts/screenshot.sh REPORT_DIR [OUT.png] [WIDTH]
#     one full-page PNG of REPORT_DIR/index.html (default OUT: REPORT_DIR/screenshot.png,
#     WIDTH 1280 CSS pixels; the height is the page's)
#   scripts/screenshot.sh --demo [OUT_DIR]
#     builds a demo study (tests/make_study_db: the paper's numbers, 3 seeds, dev curves, the
#     students' controls, the plateau schedule with one budget-limited cell), checks
#     experiments/paper.claims on it, writes its report and screenshots it (default OUT_DIR:
#     a new temporary folder; its path is printed)
# Needs Debian's chromium (scripts/install-deps.sh --screenshot) and a built tree (build/).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
browser=$(command -v chromium || command -v chromium-browser || true)
[[ -n "$browser" ]] || { echo "screenshot: no chromium (scripts/install-deps.sh --screenshot)" >&2; exit 2; }

shoot() { # shoot DIR OUT WIDTH
  local dir out width height tmp
  dir=$(cd "$1" && pwd) out=$2 width=$3
  [[ -f "$dir/index.html" ]] || { echo "screenshot: $dir/index.html missing" >&2; exit 2; }
  tmp=$(mktemp -d)
  # the page's height: a headless window does not grow to its content, so a wrapper page
  # (same file:// origin, allowed by the flag) reads the report's height into its title
  printf '%s' "<iframe id=f src='file://$dir/index.html' width=$width height=1000></iframe><script>onload=()=>{document.title='H'+document.getElementById('f').contentDocument.documentElement.scrollHeight}</script>" >"$tmp/measure.html"
  height=$("$browser" --headless=new --no-sandbox --disable-gpu --allow-file-access-from-files \
             --user-data-dir="$tmp/profile" --virtual-time-budget=3000 --dump-dom \
             "file://$tmp/measure.html" 2>/dev/null | sed -n 's:.*<title>H\([0-9]*\)</title>.*:\1:p' | head -n1 || true)
  [[ "$height" =~ ^[0-9]+$ ]] && ((height > 0)) || height=8000
  ((height > 30000)) && height=30000
  "$browser" --headless=new --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$tmp/profile" \
    --window-size="$width,$height" --screenshot="$out" "file://$dir/index.html" >/dev/null 2>&1
  rm -rf "$tmp"
  [[ -s "$out" ]] || { echo "screenshot: chromium wrote nothing" >&2; exit 1; }
  echo "$out (${width}x${height})"
}

if [[ "${1:-}" == "--demo" ]]; then
  out=${2:-$(mktemp -d)}
  mkdir -p "$out"
  rm -f "$out/demo.db"
  "$root/build/tests/make_study_db" "$out/demo.db" --study demo --seeds 3 --dev 1 --controls 1 \
    --plateau 1
  "$root/build/rethink" check "$root/experiments/paper.claims" --db "$out/demo.db" --study demo \
    >/dev/null || true  # verdicts for the report's claims table, whatever they are
  "$root/build/rethink" report --db "$out/demo.db" --out "$out/report" >/dev/null
  shoot "$out/report" "$out/report.png" 1280
  exit 0
fi
[[ $# -ge 1 ]] || { sed -n 2,13p "$0" >&2; exit 2; }
shoot "$1" "${2:-$1/screenshot.png}" "${3:-1280}"
