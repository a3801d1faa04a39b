#!/usr/bin/env bash
# bench/records_put.sh: metastore.put_record(..., expected_version => v) against
# a plain conditional UPDATE ... WHERE version = v on the same data, same run.
#
# Three pgbench sides, each "read a random key's version with \gset, then write
# a new small metadata document conditional on that version":
#   A  SELECT version FROM metastore.put_record(..., expected_version => :v)
#      (an AFTER ROW trigger also writes a jsonb snapshot into metastore.history)
#   B  UPDATE plain_records SET metadata = ..., version = version + 1, ...
#        WHERE namespace = ... AND key = ... AND version = :v   (no history)
#   C  the same UPDATE plus, in the same statement/transaction, an INSERT of
#      to_jsonb(row) into plain_history (history written by hand, no trigger)
# Rounds alternate the sides (order rotates each round); the report gives the
# median TPS of each side and the ratios A/B and A/C as a markdown table.
#
# Connection: the libpq variables PGHOST / PGPORT / PGUSER (default: the
# `make run` cluster).  The script DROPS and recreates its own database,
# BENCH_DATABASE (default metastore_bench); PGDATABASE is not used for it.
# Settings (environment): BENCH_KEYS=10000 BENCH_SECONDS=15 BENCH_ROUNDS=5
# BENCH_CLIENTS=2 BENCH_WARMUP=5 (seconds per side before round 1, not counted).
# Server settings for the benchmark sessions go through PGOPTIONS, e.g.
#   PGOPTIONS='-c synchronous_commit=off' bench/records_put.sh
# Results go to stdout, progress to stderr.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_MAJOR=${PG_MAJOR:-15}

export PGHOST=${PGHOST:-$ROOT/.run}
export PGPORT=${PGPORT:-5433}
export PGUSER=${PGUSER:-postgres}
unset PGDATABASE
DB=${BENCH_DATABASE:-metastore_bench}
KEYS=${BENCH_KEYS:-10000}
SECONDS_PER_RUN=${BENCH_SECONDS:-15}
ROUNDS=${BENCH_ROUNDS:-5}
CLIENTS=${BENCH_CLIENTS:-2}
WARMUP=${BENCH_WARMUP:-5}
NS=bench

if [ -n "${PGBENCH:-}" ]; then :
elif [ -x "/usr/lib/postgresql/$PG_MAJOR/bin/pgbench" ]; then PGBENCH=/usr/lib/postgresql/$PG_MAJOR/bin/pgbench
else PGBENCH=$(command -v pgbench || true)
fi
if [ -z "$PGBENCH" ] || [ ! -x "$PGBENCH" ]; then echo "records_put: pgbench not found (set PGBENCH)" >&2; exit 1; fi

for v in KEYS SECONDS_PER_RUN ROUNDS CLIENTS WARMUP; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "records_put: $v must be a whole number" >&2; exit 1; }
done
if [ "$CLIENTS" -lt 1 ] || [ "$ROUNDS" -lt 1 ] || [ "$SECONDS_PER_RUN" -lt 1 ]; then
  echo "records_put: clients, rounds and seconds must be at least 1" >&2; exit 1
fi
[ "$KEYS" -ge "$CLIENTS" ] || { echo "records_put: BENCH_KEYS must be at least BENCH_CLIENTS" >&2; exit 1; }
# the database is dropped: refuse anything that does not look like a bench database
case "$DB" in
  *bench*) ;;
  *) echo "records_put: refusing to drop database \"$DB\" (its name must contain \"bench\")" >&2; exit 1 ;;
esac

log() { echo "records_put: $*" >&2; }
PSQL=(psql -X -q -v ON_ERROR_STOP=1)
sql() { "${PSQL[@]}" -d "$DB" -tA "$@"; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# ---- database and data -------------------------------------------------------

log "recreating database $DB on ${PGHOST}:${PGPORT} as $PGUSER"
"${PSQL[@]}" -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" \
                         -c "CREATE DATABASE \"$DB\""

log "seeding $KEYS records through put_record and the same rows into plain_records"
"${PSQL[@]}" -d "$DB" -v keys="$KEYS" -v ns="$NS" >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION metastore;

-- Seed through the API: version 1 of every key, one history row each.  Tags,
-- owner, description stay at put_record's defaults, so a put that changes only
-- metadata and the plain UPDATE below leave identical rows behind.
SELECT count(*) AS seeded
  FROM generate_series(1, :keys) AS i,
       LATERAL metastore.put_record(namespace => :'ns', key => 'key-' || i,
                                    metadata => jsonb_build_object('n', i, 'at', now())) AS r;

-- The baseline: same columns, defaults, checks, identity and indexes
-- (LIKE ... INCLUDING ALL), no trigger.  Same data, same starting history.
CREATE TABLE plain_records (LIKE metastore.records INCLUDING ALL);
CREATE TABLE plain_history (LIKE metastore.history INCLUDING ALL);
INSERT INTO plain_records OVERRIDING SYSTEM VALUE SELECT * FROM metastore.records;
INSERT INTO plain_history OVERRIDING SYSTEM VALUE SELECT * FROM metastore.history;
SELECT setval(pg_get_serial_sequence('plain_records', 'id'), (SELECT max(id) FROM plain_records));
SELECT setval(pg_get_serial_sequence('plain_history', 'id'), (SELECT max(id) FROM plain_history));
VACUUM ANALYZE metastore.records;
VACUUM ANALYZE metastore.history;
VACUUM ANALYZE plain_records;
VACUUM ANALYZE plain_history;
SQL
[ "$(sql -c "SELECT count(*) FROM metastore.records WHERE namespace = '$NS'")" = "$KEYS" ] ||
  { echo "records_put: seeding failed" >&2; exit 1; }

# ---- pgbench scripts -----------------------------------------------------------
# Each client owns a disjoint slice of the keys (:client_id), so the version it
# reads is still current when it writes: every transaction is a successful
# write on every side (put_record would raise MS409 on a stale version and
# pgbench would abort the client; the UPDATE would silently match no row).

PICK='\set slice :nkeys / :clients
\set k 1 + :client_id * :slice + random(0, :slice - 1)
\set n random(1, 1000000000)'
DOC="jsonb_build_object('n', :n::int, 'at', now())"

cat > "$TMP/A.sql" <<EOF
$PICK
SELECT version AS v FROM metastore.records WHERE namespace = '$NS' AND key = 'key-' || :k::int \gset
SELECT version FROM metastore.put_record(namespace => '$NS', key => 'key-' || :k::int,
  metadata => $DOC, expected_version => :v::int);
EOF

cat > "$TMP/B.sql" <<EOF
$PICK
SELECT version AS v FROM plain_records WHERE namespace = '$NS' AND key = 'key-' || :k::int \gset
UPDATE plain_records SET metadata = $DOC, version = version + 1,
       updated_at = now(), updated_by = current_user
 WHERE namespace = '$NS' AND key = 'key-' || :k::int AND version = :v::int
RETURNING version;
EOF

cat > "$TMP/C.sql" <<EOF
$PICK
SELECT version AS v FROM plain_records WHERE namespace = '$NS' AND key = 'key-' || :k::int \gset
WITH u AS (
  UPDATE plain_records SET metadata = $DOC, version = version + 1,
         updated_at = now(), updated_by = current_user
   WHERE namespace = '$NS' AND key = 'key-' || :k::int AND version = :v::int
  RETURNING *)
INSERT INTO plain_history (aggregate, entity_id, namespace, entity_key, version, operation,
                           changed_by, changed_at, snapshot)
SELECT 'record', u.id, u.namespace, u.key, u.version, 'update', u.updated_by, u.updated_at, to_jsonb(u)
  FROM u
RETURNING version;
EOF

declare -A DESC=(
  [A]="put_record(..., expected_version => v) + history trigger"
  [B]="plain UPDATE ... WHERE version = v (no history)"
  [C]="plain UPDATE ... WHERE version = v + INSERT history (to_jsonb)"
)
declare -A HIST_TABLE=([A]=metastore.history [B]="" [C]=plain_history)
declare -A TPS LAT HISTROWS

# Run one side for $2 seconds; sets R_TPS, R_LAT (ms), R_XACTS, R_HIST (history rows written).
run_side() {
  local side=$1 secs=$2 out="$TMP/out" before=0 after=0
  sql -c "CHECKPOINT" >/dev/null 2>&1 || true   # every run starts right after a checkpoint
  if [ -n "${HIST_TABLE[$side]}" ]; then
    before=$(sql -c "SELECT coalesce(max(id), 0) FROM ${HIST_TABLE[$side]}")
  fi
  if ! "$PGBENCH" -n -M prepared -c "$CLIENTS" -j "$CLIENTS" -T "$secs" \
        -D nkeys="$KEYS" -D clients="$CLIENTS" -f "$TMP/$side.sql" "$DB" >"$out" 2>&1; then
    cat "$out" >&2; echo "records_put: pgbench failed on side $side" >&2; exit 1
  fi
  if grep -qi "abort" "$out" || ! grep -q "^number of failed transactions: 0 " "$out"; then
    cat "$out" >&2; echo "records_put: side $side had failed or aborted transactions" >&2; exit 1
  fi
  if [ -n "${HIST_TABLE[$side]}" ]; then
    after=$(sql -c "SELECT coalesce(max(id), 0) FROM ${HIST_TABLE[$side]}")
  fi
  R_TPS=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$out")
  R_LAT=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$out")
  R_XACTS=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out")
  R_HIST=$((after - before))
  if [ -z "$R_TPS" ] || [ -z "$R_LAT" ] || [ -z "$R_XACTS" ]; then
    cat "$out" >&2; echo "records_put: cannot parse pgbench output" >&2; exit 1
  fi
}

median() { tr ' ' '\n' | grep . | sort -g |
  awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

SIDES=(A B C)
if [ "$WARMUP" -gt 0 ]; then
  for s in "${SIDES[@]}"; do log "warm-up side $s (${WARMUP}s, not counted)"; run_side "$s" "$WARMUP"; done
fi

for ((r = 0; r < ROUNDS; r++)); do
  for ((i = 0; i < ${#SIDES[@]}; i++)); do
    s=${SIDES[$(((i + r) % ${#SIDES[@]}))]}     # order rotates: ABC, BCA, CAB, ...
    run_side "$s" "$SECONDS_PER_RUN"
    TPS[$s]="${TPS[$s]:-} $R_TPS"; LAT[$s]="${LAT[$s]:-} $R_LAT"
    if [ -n "${HIST_TABLE[$s]}" ] && [ "$R_HIST" != "$R_XACTS" ]; then
      echo "records_put: side $s wrote $R_HIST history rows for $R_XACTS transactions" >&2; exit 1
    fi
    HISTROWS[$s]=$(( ${HISTROWS[$s]:-0} + R_HIST ))
    log "round $((r + 1))/$ROUNDS side $s: tps $R_TPS, latency $R_LAT ms, $R_XACTS transactions, $R_HIST history rows"
  done
done

# ---- report ----------------------------------------------------------------------

declare -A MED
for s in "${SIDES[@]}"; do MED[$s]=$(echo "${TPS[$s]}" | median); done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
fmt() { awk -v x="$1" 'BEGIN {printf "%.0f\n", x}'; }

source "$ROOT/bench/lib.sh"
server=$(sql -c "SELECT version()")
settings=$(sql -c "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name)
                   FROM pg_settings WHERE name IN ('synchronous_commit', 'fsync', 'shared_buffers', 'wal_level', 'full_page_writes')")
cmd="bench/records_put.sh"
for v in BENCH_KEYS BENCH_SECONDS BENCH_ROUNDS BENCH_CLIENTS BENCH_WARMUP PGOPTIONS; do
  [ -n "${!v:-}" ] && cmd="$v='${!v}' $cmd"
done

cat <<EOF

#### put_record vs conditional UPDATE ($(date -u '+%Y-%m-%d %H:%M UTC'))

- command: \`$cmd\` (pgbench -n -M prepared -c $CLIENTS -j $CLIENTS -T $SECONDS_PER_RUN, $ROUNDS round(s), sides alternating, order rotating)
- data: $KEYS keys in one namespace; each client writes its own slice of keys, so every write succeeds
- machine: $(nproc) CPUs, $cpu, $ram RAM
- server: $server
- settings: $settings; PGOPTIONS='${PGOPTIONS:-}'
- metastore: git $rev; $build
- transaction = read the key's version (\`\\gset\`) + one conditional write, both autocommitted

| side | what one transaction writes | median TPS | TPS per round | median latency (ms) |
|------|-----------------------------|-----------:|---------------|--------------------:|
EOF
for s in "${SIDES[@]}"; do
  printf '| %s | %s | %s | %s | %s |\n' "$s" "${DESC[$s]}" "$(fmt "${MED[$s]}")" \
    "$(for t in ${TPS[$s]}; do fmt "$t"; done | paste -sd ' ' | sed 's/ /, /g')" \
    "$(echo "${LAT[$s]}" | median)"
done
cat <<EOF

| ratio | value | target |
|-------|------:|--------|
| A / B: put_record (writes history) vs plain UPDATE (writes none) | $(ratio "${MED[A]}" "${MED[B]}") | ≥ 0.75 |
| A / C: put_record vs plain UPDATE + hand-written history insert | $(ratio "${MED[A]}" "${MED[C]}") | (cost of the function itself) |
| C / B: what writing history costs a plain UPDATE | $(ratio "${MED[C]}" "${MED[B]}") | (information) |

Side A writes one metastore.history row per transaction (checked: ${HISTROWS[A]} rows over all rounds), side C one plain_history row (${HISTROWS[C]}), side B none.
EOF
