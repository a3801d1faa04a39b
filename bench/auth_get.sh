#!/usr/bin/env bash
# bench/auth_get.sh: the cost of authenticating a request.  Same run, same data:
#   A  bare get_record by a direct SQL client (a login role with a reader grant)
#   B  BEGIN; authenticate(api_key); get_record; COMMIT  -- what the HTTP shim
#      does per request, sent as one pipeline (one network round trip, like A)
#   S  get_record by a superuser (no grant lookup at all), for reference
# plus an in-database loop (no network) timing get_record alone against
# authenticate + get_record per call.  Target (issue): B costs under 2x A.
#
# Connection: PGHOST / PGPORT / PGUSER (default: the `make run` cluster, whose
# metastore.server_secret_file make run configures).  The script DROPS and
# recreates BENCH_DATABASE (default metastore_bench_auth).
# Settings: BENCH_KEYS=10000 BENCH_SECONDS=10 BENCH_ROUNDS=5 BENCH_CLIENTS=2
#           BENCH_LOOP=20000 (calls per in-database timing run)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_MAJOR=${PG_MAJOR:-15}
export PGHOST=${PGHOST:-$ROOT/.run}
export PGPORT=${PGPORT:-5433}
export PGUSER=${PGUSER:-postgres}
unset PGDATABASE
DB=${BENCH_DATABASE:-metastore_bench_auth}
KEYS=${BENCH_KEYS:-10000}
SECS=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-5}
CLIENTS=${BENCH_CLIENTS:-2}
LOOP=${BENCH_LOOP:-20000}
PGBENCH=${PGBENCH:-/usr/lib/postgresql/$PG_MAJOR/bin/pgbench}
[ -x "$PGBENCH" ] || { echo "auth_get: pgbench not found (set PGBENCH)" >&2; exit 1; }
case "$DB" in *bench*) ;; *) echo "auth_get: refusing to drop \"$DB\"" >&2; exit 1 ;; esac

log() { echo "auth_get: $*" >&2; }
PSQL=(psql -X -q -v ON_ERROR_STOP=1)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

log "recreating $DB and seeding $KEYS records"
"${PSQL[@]}" -d postgres -c "SET client_min_messages = warning" \
  -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" -c "CREATE DATABASE \"$DB\""
KEY=$("${PSQL[@]}" -d "$DB" -tA -v keys="$KEYS" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION metastore;
SELECT count(*) FROM generate_series(1, :keys) i,
  LATERAL metastore.put_record('bench', 'key-' || i, jsonb_build_object('n', i)) r \g /dev/null
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bench_direct') THEN CREATE ROLE bench_direct LOGIN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bench_shim') THEN CREATE ROLE bench_shim LOGIN; END IF;
END $$;
SELECT metastore."grant"('bench_direct', 'bench', 'reader') \g /dev/null
SELECT metastore."grant"('bench-svc', 'bench', 'reader') \g /dev/null
VACUUM ANALYZE metastore.records;
SELECT api_key FROM metastore.create_api_key('bench-svc', 'auth benchmark');
SQL
)
[[ $KEY =~ ^ms_ ]] || { echo "auth_get: could not create an API key" >&2; exit 1; }

PICK='\set k random(1, '"$KEYS"')'
printf '%s\nSELECT version FROM metastore.get_record('"'bench'"', '"'key-'"' || :k::int);\n' "$PICK" > "$TMP/A.sql"
cp "$TMP/A.sql" "$TMP/S.sql"
{
  echo "$PICK"
  echo '\startpipeline'
  echo 'BEGIN;'
  echo "SELECT metastore.authenticate('$KEY');"
  echo "SELECT version FROM metastore.get_record('bench', 'key-' || :k::int);"
  echo 'COMMIT;'
  echo '\endpipeline'
} > "$TMP/B.sql"
declare -A USER_OF=([A]=bench_direct [B]=bench_shim [S]=postgres)
declare -A TPS US

run_side() {
  local s=$1 out="$TMP/out"
  "$PGBENCH" -n -M extended -c "$CLIENTS" -j "$CLIENTS" -T "$SECS" -U "${USER_OF[$s]}" \
    -f "$TMP/$s.sql" "$DB" >"$out" 2>&1 || { cat "$out" >&2; exit 1; }
  grep -q "^number of failed transactions: 0 " "$out" || { cat "$out" >&2; exit 1; }
  R_TPS=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$out")
}
median() { tr ' ' '\n' | grep . | sort -g |
  awk '{v[NR]=$1} END {if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }

SIDES=(A B S)
for s in "${SIDES[@]}"; do run_side "$s"; done   # warm-up, not counted
for ((r = 0; r < ROUNDS; r++)); do
  for ((i = 0; i < 3; i++)); do
    s=${SIDES[$(((i + r) % 3))]}
    run_side "$s"; TPS[$s]="${TPS[$s]:-} $R_TPS"
    log "round $((r + 1)) side $s: $R_TPS tps"
  done
done

# in-database: microseconds per call, no network, as the shim role
inloop() {   # $1 = plain | auth
  "${PSQL[@]}" -d "$DB" -U bench_shim -tA -v key="$KEY" -v n="$LOOP" -v mode="$1" <<'SQL'
SELECT set_config('bench.key', :'key', false), set_config('bench.n', :'n', false),
       set_config('bench.mode', :'mode', false) \g /dev/null
BEGIN;
-- the shim role holds no grants: authenticate once so both modes read as bench-svc
SELECT metastore.authenticate(current_setting('bench.key')) \g /dev/null
DO $$
DECLARE
  n int := current_setting('bench.n')::int;
  k text := current_setting('bench.key');
  auth boolean := current_setting('bench.mode') = 'auth';
  t0 timestamptz := clock_timestamp();
  v int;
BEGIN
  FOR i IN 1..n LOOP
    IF auth THEN PERFORM metastore.authenticate(k); END IF;
    SELECT version INTO v FROM metastore.get_record('bench', 'key-' || (1 + i % 10000));
  END LOOP;
  PERFORM set_config('bench.us', (extract(epoch FROM clock_timestamp() - t0) * 1e6 / n)::numeric(10,3)::text, false);
END $$;
SELECT current_setting('bench.us');
COMMIT;
SQL
}
for ((r = 0; r < ROUNDS; r++)); do
  for m in plain auth; do US[$m]="${US[$m]:-} $(inloop $m | tail -1)"; done
done

mA=$(echo "${TPS[A]}" | median); mB=$(echo "${TPS[B]}" | median); mS=$(echo "${TPS[S]}" | median)
uP=$(echo "${US[plain]}" | median); uA=$(echo "${US[auth]}" | median)
printf '\n### authenticate() + get_record vs get_record (%s, %s records, %s clients, %ss x %s rounds, medians)\n\n' \
  "$(date -u +%Y-%m-%d)" "$KEYS" "$CLIENTS" "$SECS" "$ROUNDS"
echo '| side | what | median TPS |'
echo '|---|---|---|'
echo "| A | get_record, direct client with a reader grant | $mA |"
echo "| B | BEGIN; authenticate(key); get_record; COMMIT (one pipeline) | $mB |"
echo "| S | get_record as superuser (no grant lookup) | $mS |"
echo
echo "Cost ratio B over A (time per request): **$(awk -v a="$mA" -v b="$mB" 'BEGIN {printf "%.2f", a / b}')x** (target: under 2x)."
echo
echo "In-database, per call (no network, $LOOP calls, median of $ROUNDS runs): get_record $uP us;"
echo "authenticate + get_record $uA us; ratio **$(awk -v p="$uP" -v a="$uA" 'BEGIN {printf "%.2f", a / p}')x**."
