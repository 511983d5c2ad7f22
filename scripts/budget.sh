#!/usr/bin/env bash
# Budget as a finding (issue 19): the paper study's cell-level ΔAP under the first,
# fixed-budget protocol (reports/paper-issue9/deltas.csv) beside the same comparison under the
# fair protocol (reports/paper/deltas.csv), as a markdown table on stdout. Both files are
# `rethink report`'s deltas.csv (AP as a fraction; shown here ×100, in AP points). A reading
# is said only where an interval exists: "+" its 95 % interval is above 0, "−" below, "0?" it
# holds 0; a cell where the two protocols' intervals point opposite ways is marked FLIPS.
#
#   scripts/budget.sh [OLD_DELTAS NEW_DELTAS]   (default: the two published runs)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
old=${1:-$root/reports/paper-issue9/deltas.csv}
new=${2:-$root/reports/paper/deltas.csv}
for f in "$old" "$new"; do
  [[ -r $f ]] || { echo "budget.sh: cannot read $f" >&2; exit 2; }
  head -1 "$f" | grep -q '^study,arm,variant,aug,fraction,vs_arm,vs_variant,stat,n,mean,std,ci_low,ci_high$' ||
    { echo "budget.sh: $f: not a deltas.csv of rethink report (header differs)" >&2; exit 2; }
done
awk -F, -v OLD="$old" -v NEW="$new" '
function cell(n, m, lo, hi) { # "+1.23 [+0.40, +2.10] n=4", or the estimate alone
  if (n == "") return "not run"
  if (lo == "" || hi == "") return sprintf("%+.2f (n=%d, no interval)", 100 * m, n)
  return sprintf("%+.2f [%+.2f, %+.2f] n=%d", 100 * m, 100 * lo, 100 * hi, n)
}
function reading(n, lo, hi) {
  if (n == "" || lo == "" || hi == "") return ""
  return lo > 0 ? "+" : hi < 0 ? "−" : "0?"
}
FNR == 1 { next }
$8 != "AP" || $3 != "" || $7 != "" { next }
{
  k = $2 " − " $6 SUBSEP $4 SUBSEP $5
  if (FILENAME == OLD) { on[k] = $9; om[k] = $10; ol[k] = $12; oh[k] = $13; keys[k] = 1 }
  else { nn[k] = $9; nm[k] = $10; nl[k] = $12; nh[k] = $13; if (k in keys) both++ }
}
END {
  print "| comparison | policy | labels | fixed budgets (issue 9), ΔAP pts [95 % CI] | converged (issue 19) | reading (fixed → converged) |"
  print "|---|---|---|---|---|---|"
  # the comparisons both protocols ran, in the order of the old report
  nk = 0
  for (k in keys) if (k in nm) order[++nk] = k
  for (i = 2; i <= nk; i++) { # insertion sort: comparison, policy, fraction
    v = order[i]
    for (j = i - 1; j >= 1 && order[j] > v; j--) order[j + 1] = order[j]
    order[j + 1] = v
  }
  for (i = 1; i <= nk; i++) {
    k = order[i]
    split(k, p, SUBSEP)
    a = reading(on[k], ol[k], oh[k]); b = reading(nn[k], nl[k], nh[k])
    r = a == "" ? "" : b == "" ? a " → (no interval yet)" : a " → " b
    if ((a == "+" && b == "−") || (a == "−" && b == "+")) r = r " **FLIPS**"
    printf "| %s | %s | %d %% | %s | %s | %s |\n", p[1], p[2], 100 * p[3] + 0.5,
           cell(on[k], om[k], ol[k], oh[k]), cell(nn[k], nm[k], nl[k], nh[k]), r
  }
  if (nk == 0) print "| (no comparison in both files) | | | | | |"
}' "$old" "$new"
