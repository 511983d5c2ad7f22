#!/usr/bin/env bash
# Databases that are not what they should be, from the command line (issue 25):
#   1. an SQLite file of another program: ls, show, export, report, check, merge (into it and
#      from it) and sweep each refuse it, saying so, and leave every byte of it as it was (no
#      rethink tables, no switch to WAL);
#   2. a corrupt database (an index page overwritten): ls, report and check say it is corrupt,
#      never "no finished trials yet";
#   3. a WAL database on a read-only mount: ls, export, report and check read it (skipped
#      where this process cannot mount);
#   4. export --csv quotes fields as RFC 4180 says: a study named a,"b and an aug with a line
#      break keep every row at the header's column count.
# Usage: db_test.sh RETHINK MAKE_STUDY_DB EXPERIMENTS_DIR
set -u
rethink=$1 make_db=$2 exp=$3
d=$(mktemp -d)
mnt=
cleanup() { [ -n "$mnt" ] && umount "$mnt" 2>/dev/null; rm -rf "$d"; }
trap cleanup EXIT
cd "$d" || exit 1
fail() { echo "FAIL: $*"; exit 1; }
q() { sqlite3 "$1" "$2"; }
digest() { sha256sum "$1" | cut -c1-64; ls "$1"-wal "$1"-shm 2>/dev/null; }
"$make_db" good.db >/dev/null || fail "make_study_db"

# 1.
q foreign.db "create table notes (t text); insert into notes values ('keep me')"
before=$(digest foreign.db)
for c in "ls --db foreign.db" "show 1 --db foreign.db" "export --csv --db foreign.db" \
         "report --db foreign.db --out r1" "check $exp/paper.claims --db foreign.db" \
         "merge good.db --db foreign.db" "merge foreign.db --db m.db" \
         "sweep $exp/tiny.ini --dry-run --db foreign.db"; do
  out=$("$rethink" $c 2>&1) && fail "rethink $c succeeded on a foreign database"
  echo "$out" | grep -q "foreign.db" && echo "$out" | grep -Eq "another program|not a rethink results database" ||
    fail "rethink $c: the error does not say what the file is: $out"
  [ "$(digest foreign.db)" = "$before" ] || fail "rethink $c changed the foreign database"
done
[ "$(q foreign.db "pragma journal_mode")" = delete ] || fail "journal mode changed"

# 2.
cp good.db bad.db
page=$(q bad.db "select rootpage from sqlite_master where name = 'trials_study_status'")
size=$(q bad.db "pragma page_size")
head -c "$size" /dev/urandom | dd of=bad.db bs="$size" seek=$((page - 1)) conv=notrunc 2>/dev/null
for c in "ls --db bad.db" "export --csv --db bad.db" "report --db bad.db --out r2" \
         "check $exp/paper.claims --db bad.db"; do
  out=$("$rethink" $c 2>&1) && fail "rethink $c succeeded on a corrupt database"
  echo "$out" | grep -q "corrupt" || fail "rethink $c: the error does not say corrupt: $out"
done

# 3.
mkdir -p src ro
cp good.db src/
if mount --bind src ro 2>/dev/null && mount -o remount,ro,bind ro 2>/dev/null; then
  mnt=$d/ro
  touch ro/x 2>/dev/null && fail "the mount is writable"
  [ "$(q good.db "pragma journal_mode")" = wal ] || fail "make_study_db's file is not WAL"
  "$rethink" ls --db ro/good.db >ls.txt 2>&1 || { cat ls.txt; fail "ls on a read-only mount"; }
  [ "$(wc -l <ls.txt)" -eq "$(( $(q good.db "select count(*) from trials") + 1 ))" ] || fail "ls rows"
  "$rethink" export --csv --db ro/good.db >e.csv 2>&1 || { cat e.csv; fail "export on a read-only mount"; }
  "$rethink" report --db ro/good.db --out r3 >r3.txt 2>&1 || { cat r3.txt; fail "report on a read-only mount"; }
  "$rethink" check "$exp/paper.claims" --db ro/good.db >c3.txt 2>&1
  rc=$?
  [ $rc -eq 0 ] || [ $rc -eq 3 ] || { cat c3.txt; fail "check on a read-only mount: rc $rc"; }
  grep -q "HOLDS" c3.txt && grep -q "verdicts are not recorded" c3.txt || { cat c3.txt; fail "check on a read-only mount"; }
  umount ro && mnt=
  ro_done=1
else
  echo "note: cannot mount here; the read-only mount case is skipped"
  ro_done=0
fi

# 4.
cp good.db csv.db
q csv.db "update studies set name = 'a,\"b'; update trials set aug = 'S1' || char(10) || 'x' where id = 1"
"$rethink" export --csv --db csv.db >x.csv || fail "export"
python3 - x.csv <<'PY' || fail "export --csv is not RFC 4180"
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert len({len(r) for r in rows}) == 1, {len(r) for r in rows}
assert rows[1][1] == 'a,"b' and rows[1][4] == "S1\nx", rows[1]
PY
echo "db: a foreign file refused and untouched by 8 commands; a corrupt one named corrupt by 4; read-only mount $([ $ro_done = 1 ] && echo read || echo skipped); CSV quoted"
