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

section "search, randomized against a reference (test/search)"
if ls test/search/*.t >/dev/null 2>&1; then
  prove --verbose test/search/*.t > "$OUT/search.log" 2>&1
  rc=$?
  grep -vE '^[[:space:]]*ok [0-9]+' "$OUT/search.log"
  count_tap "$OUT/search.log" "$rc"
fi

section "conformance: Unleash client specification (test/conformance)"
# Test-only npm clients, pinned by package-lock.json; installed once per checkout.
if (cd test/conformance && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1; }); then
  CONF_DB=metastore_conformance
  dropdb --if-exists "$CONF_DB" >/dev/null 2>&1
  createdb "$CONF_DB" && psql -X -q -d "$CONF_DB" -c 'CREATE EXTENSION metastore' >/dev/null
  METASTORE_CONFORMANCE_DB=$CONF_DB node test/conformance/unleash.mjs > "$OUT/unleash.log" 2>&1
  rc=$?
  grep -vE '^[[:space:]]*ok [0-9]+' "$OUT/unleash.log"
  count_tap "$OUT/unleash.log" "$rc"
else
  echo "not ok - npm ci in test/conformance failed"; failed=$((failed + 1))
fi

section "hot standby (test/standby)"
# a streaming replica of this cluster: flag evaluation there, and its cache following the primary
if ls test/standby/*.t >/dev/null 2>&1; then
  prove --verbose test/standby/*.t > "$OUT/standby.log" 2>&1
  rc=$?
  grep -vE '^[[:space:]]*ok [0-9]+' "$OUT/standby.log"
  count_tap "$OUT/standby.log" "$rc"
fi

section "HTTP shim (test/http)"
# The suite drives a real shim: the AddressSanitizer build, so that memory
# errors and leaks in the shim fail the run.  It logs in as a role with no
# grants of its own; tests create principals, grants and keys through psql.
HTTP_DB=metastore_http
dropdb --if-exists "$HTTP_DB" >/dev/null 2>&1
createdb "$HTTP_DB"
psql -X -q -v ON_ERROR_STOP=1 -d "$HTTP_DB" >/dev/null <<'SQL'
CREATE EXTENSION metastore;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'metastore_shim_test') THEN
    CREATE ROLE metastore_shim_test LOGIN PASSWORD 'shim-test';
  END IF;
END $$;
SQL
if make -s -C http-shim all asan > "$OUT/shim-build.log" 2>&1; then
  SHIM_PORT=$(perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1:0")->sockport')
  export METASTORE_URL=http://127.0.0.1:$SHIM_PORT
  export METASTORE_TEST_DB=$HTTP_DB
  export METASTORE_SHIM_BIN=$ROOT/http-shim/metastore-http-asan
  export METASTORE_SHIM_DATABASE_URL="host=${PGHOST:-localhost} port=${PGPORT:-5432} dbname=$HTTP_DB user=metastore_shim_test password=shim-test"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23
  "$METASTORE_SHIM_BIN" --port "$SHIM_PORT" --database-url "$METASTORE_SHIM_DATABASE_URL" \
    --pool-size 4 --pool-timeout-ms 2000 > "$OUT/shim.log" 2>&1 &
  SHIM=$!
  for _ in $(seq 100); do curl -fs "$METASTORE_URL/health" >/dev/null 2>&1 && break; sleep 0.1; done
  export METASTORE_SHIM_PID=$SHIM
  # zz_restart.t stops and starts the throwaway cluster (pg_virtualenv names it <version>/regress)
  export METASTORE_TEST_PG_STOP="pg_ctlcluster ${PGVERSION:-$PG_MAJOR} regress stop -m fast"
  export METASTORE_TEST_PG_START="pg_ctlcluster ${PGVERSION:-$PG_MAJOR} regress start"
  prove --verbose test/http/*.t > "$OUT/http.log" 2>&1
  rc=$?
  grep -vE '^[[:space:]]*ok [0-9]+' "$OUT/http.log"
  count_tap "$OUT/http.log" "$rc"
  # an OpenFeature client (server SDK + OFREP provider) through the same shim
  if [ -f test/conformance/openfeature.mjs ] && [ -d test/conformance/node_modules ]; then
    OFREP_KEY=$(psql -X -q -At -d "$HTTP_DB" -c "SELECT metastore.grant('ofrep-test', 'default', 'writer')" \
                     -c "SELECT api_key FROM metastore.create_api_key('ofrep-test')" | tail -1)
    METASTORE_OFREP_KEY=$OFREP_KEY node test/conformance/openfeature.mjs > "$OUT/openfeature.log" 2>&1
    rc=$?
    grep -vE '^[[:space:]]*ok [0-9]+' "$OUT/openfeature.log"
    count_tap "$OUT/openfeature.log" "$rc"
  fi
  # a real second connection LISTENing on metastore_events
  if [ -f test/conformance/events_listen.mjs ] && [ -d test/conformance/node_modules ]; then
    METASTORE_TEST_DB=$HTTP_DB node test/conformance/events_listen.mjs > "$OUT/events_listen.log" 2>&1
    rc=$?
    grep -vE '^[[:space:]]*ok [0-9]+' "$OUT/events_listen.log"
    count_tap "$OUT/events_listen.log" "$rc"
  fi
  # graceful shutdown: SIGTERM, exit 0, and no sanitizer report in the log
  kill -TERM "$SHIM" 2>/dev/null
  wait "$SHIM"; shim_rc=$?
  if [ "$shim_rc" -eq 0 ] && ! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$OUT/shim.log"; then
    echo "ok - the shim (ASan build) shut down cleanly with no sanitizer report"; passed=$((passed + 1))
  else
    echo "not ok - the shim exited $shim_rc or reported memory errors (see $OUT/shim.log)"
    grep -A20 -E 'Sanitizer|runtime error' "$OUT/shim.log" | head -60
    failed=$((failed + 1))
  fi
else
  cat "$OUT/shim-build.log"
  echo "not ok - the HTTP shim did not build"; failed=$((failed + 1))
fi

section "docs and repository checks (test/docs)"
prove --verbose test/docs/*.t > "$OUT/docs.log" 2>&1
rc=$?
grep -vE '^[[:space:]]*ok [0-9]+' "$OUT/docs.log"
count_tap "$OUT/docs.log" "$rc"

echo "$passed $failed" > "$OUT/totals"
printf '\n=== suites done: %d passed, %d failed (details in %s)\n' "$passed" "$failed" "$OUT"
[ "$failed" -eq 0 ]
