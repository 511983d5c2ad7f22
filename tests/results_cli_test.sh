#!/usr/bin/env bash
# Issue 20 §5: what ls, show and export show a reader. On a study database (make_study_db)
# where two trials differ only in train.lr and one stat is pycocotools' -1:
#   1. ls, show and export show train.lr (the parameters that vary) — the trials no longer
#      look identical; keys every trial shares are not shown;
#   2. an undefined stat is "-", "undefined", an empty CSV field or JSON null, never -1;
#   3. export's stat columns are fractions named as the views name them (AP_s .. AR_l), unique
#      without case beside `arm`; export --json holds the same rows as --csv.
# usage: results_cli_test.sh RETHINK MAKE_STUDY_DB
set -u
rethink=$1 make_db=$2
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
cd "$d" || exit 1
fail() { echo "FAIL: $*" >&2; exit 1; }
"$make_db" s.db --seeds 2 >/dev/null || fail "make_study_db"
sqlite3 s.db "insert or replace into params select id, 'train.lr', CASE id WHEN 1 THEN '0.01' ELSE '0.1' END from trials;
              insert or replace into params select id, 'train.momentum', '0.9' from trials;
              update results set APl = -1 where trial_id = 1" || fail "sqlite3"

# 1.
"$rethink" ls --db s.db >ls.txt || fail "ls"
head -n1 ls.txt | grep -q " train.lr" || { cat ls.txt; fail "ls: no train.lr column"; }
! head -n1 ls.txt | grep -q "train.momentum" || fail "ls: a key every trial shares is a column"
awk 'NR == 2 { exit !($NF == "0.01") } NR == 3 { exit !($NF == "0.1") }' ls.txt ||
  { head -3 ls.txt; fail "ls: trial 1's train.lr"; }
"$rethink" show 1 --db s.db >show.txt || fail "show"
grep -q "^varies in the study: .*train.lr = 0.01" show.txt || { cat show.txt; fail "show: train.lr"; }
# 2.
grep -q "area= large | maxDets=100 \] = undefined" show.txt || { cat show.txt; fail "show: APl -1"; }
! grep -q -- "-1\.000" show.txt || fail "show prints -1"
"$rethink" export --csv --db s.db >x.csv || fail "export --csv"
"$rethink" export --json --db s.db >x.json || fail "export --json"
python3 - x.csv x.json <<'PY' || fail "export"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
objs = json.load(open(sys.argv[2]))
head = list(rows[0].keys())
names = [h.lower() for h in head]
assert len(set(names)) == len(names), "CSV columns repeat without case: %s" % head
stats = ["AP", "AP50", "AP75", "AP_s", "AP_m", "AP_l", "AR1", "AR10", "AR100", "AR_s", "AR_m", "AR_l"]
assert all(s in head for s in stats), head
assert "train.lr" in head and "train.momentum" not in head, head
assert rows[0]["train.lr"] == "0.01" and rows[1]["train.lr"] == "0.1", rows[0]
assert rows[0]["AP_l"] == "", rows[0]["AP_l"]                 # pycocotools' -1: empty
for r in rows:
    for s in stats:
        assert r[s] == "" or 0 <= float(r[s]) <= 1, (s, r[s])  # fractions, never -1
assert len(objs) == len(rows)
assert objs[0]["AP_l"] is None and objs[0]["train.lr"] == 0.01, objs[0]
for r, o in zip(rows, objs):
    assert set(o.keys()) == set(head), (sorted(o.keys()), head)
    assert str(o["id"]) == r["id"] and o["config_hash"] == r["config_hash"]
    for s in stats:
        assert (o[s] is None) == (r[s] == "") and (o[s] is None or o[s] == float(r[s])), s
PY
"$rethink" export --db s.db >/dev/null 2>&1; [ $? -eq 2 ] || fail "export without a format is a usage error"
echo "results cli: varying params shown by ls, show, export; undefined stats empty; export --json = --csv"
