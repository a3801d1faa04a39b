#!/usr/bin/env bash
# Run every test suite against the cluster named by PGHOST/PGPORT/PGUSER
# (pg_virtualenv sets them).  Writes "passed failed" to build/test/totals.
set -uo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
OUT=build/test
PGXS_DIR=$(dirname "$("$PG_BIN/pg_config" --pgxs)")/../..
passed=0; failed=0

# add the ok / not ok lines of a TAP log to the totals; a runner that failed
# without any "not ok" (bad plan, crash) still counts as one failure
count_tap() {
  local log=$1 rc=$2 ok nok
  ok=$(grep -cE '^[[:space:]]*ok [0-9]+' "$log")
  nok=$(grep -cE '^[[:space:]]*not ok [0-9]+' "$log")
  [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ] && nok=1
  passed=$((passed + ok)); failed=$((failed + nok))
}

# count pg_regress / pg_isolation_regress results, one per test
count_regress() {
  local log=$1 rc=$2 ok nok
  ok=$(grep -cE '\.\.\. ok' "$log")
  nok=$(grep -cE '\.\.\. FAILED|\.\.\. failed' "$log")
  [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ] && nok=1
  passed=$((passed + ok)); failed=$((failed + nok))
}

section() { printf '\n=== %s\n' "$1"; }

section "pg_regress (sql/, expected/)"
tests=$(ls sql/*.sql 2>/dev/null | sed 's|sql/||; s|\.sql$||' | sort)
if [ -n "$tests" ]; then
  "$PGXS_DIR/src/test/regress/pg_regress" --inputdir=. --outputdir="$OUT/regress" \
    --bindir="$PG_BIN" --load-extension=metastore --dbname=metastore_regress \
    $tests 2>&1 | tee "$OUT/regress.log"
  count_regress "$OUT/regress.log" "${PIPESTATUS[0]}"
  [ -f "$OUT/regress/regression.diffs" ] && head -200 "$OUT/regress/regression.diffs"
fi

section "isolation (test/isolation/specs)"
specs=$(ls test/isolation/specs/*.spec 2>/dev/null | sed 's|.*/||; s|\.spec$||' | sort)
if [ -n "$specs" ]; then
  "$PGXS_DIR/src/test/isolation/pg_isolation_regress" --inputdir=test/isolation \
    --outputdir="$OUT/isolation" --bindir="$PG_BIN" --load-extension=metastore \
    --dbname=metastore_isolation $specs 2>&1 | tee "$OUT/isolation.log"
  count_regress "$OUT/isolation.log" "${PIPESTATUS[0]}"
  [ -f "$OUT/isolation/regression.diffs" ] && head -200 "$OUT/isolation/regression.diffs"
fi

section "pgTAP (test/pgtap)"
dropdb --if-exists metastore_tap >/dev/null 2>&1
createdb metastore_tap
pg_prove --verbose --dbname metastore_tap test/pgtap/*.sql > "$OUT/pgtap.log" 2>&1
rc=$?
grep -vE '^[[:space:]]*ok [0-9]+' "$OUT/pgtap.log"
count_tap "$OUT/pgtap.log" "$rc"

section "docs and repository checks (test/docs)"
prove --verbose test/docs/*.t > "$OUT/docs.log" 2>&1
rc=$?
grep -vE '^[[:space:]]*ok [0-9]+' "$OUT/docs.log"
count_tap "$OUT/docs.log" "$rc"

echo "$passed $failed" > "$OUT/totals"
printf '\n=== suites done: %d passed, %d failed (details in %s)\n' "$passed" "$failed" "$OUT"
[ "$failed" -eq 0 ]
