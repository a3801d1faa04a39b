#!/usr/bin/env bash
# bench/lifecycle.sh: metastore.transition throughput against a plain
# UPDATE ... SET state plus the same history INSERT, same run.
#
# A two-state machine with a cycle, so that pgbench can loop forever:
#   bench_toggle: states A, B; create -> A; A --flip--> B; B --flop--> A
#   (role writer; the bench runs as a superuser, who holds every role).
# Each pgbench client owns one entity, 'e' || :client_id, created first, so the
# clients never touch the same row.  Three sides, each one autocommitted
# statement per transaction that reads the entity's current state and takes
# the matching action:
#   transition  SELECT metastore.transition('bench_toggle', 'e' || :client_id,
#                 CASE (SELECT state FROM metastore.machine_entities ...)
#                 WHEN 'A' THEN 'flip' ELSE 'flop' END)
#               with the deferred trigger machine_entities_events ENABLED: it is
#               part of the product (one metastore.events row + NOTIFY + the
#               commit-order advisory lock at commit).  This is the measured side.
#   noevents    the same statement with machine_entities_events DISABLED: what
#               the engine costs without the events (information: the events'
#               share is noevents vs transition).
#   plain       the hand-written equivalent without the engine, on plain copies
#               of the two tables (public.bench_entities, public.bench_transitions:
#               CREATE TABLE ... (LIKE metastore.<table> INCLUDING ALL), so the same
#               columns, row width, identity and indexes; no RLS, no trigger):
#               one statement that reads the current state, UPDATEs state,
#               version, updated_at, updated_by WHERE state is still the one read,
#               and INSERTs the transition row with the same columns, returning
#               the same jsonb the engine returns.  No events.
# Rounds alternate the sides, the order rotating each round.  Reported: median
# TPS of each side, the ratio transition/plain (target >= 0.8), noevents/plain
# and transition/noevents.  Checked after every run: the rows added to
# metastore.machine_transitions (resp. bench_transitions) equal pgbench's
# transaction count, and so do the versions added to the entities; on the
# transition side, the events appended equal the transactions; the other sides
# append none.  The script exits 1 otherwise, or if a transaction failed.
#
# Connection: the libpq variables PGHOST / PGPORT / PGUSER (default: the
# `make run` cluster; the role must be a superuser, to disable the trigger),
# or BENCH_CLUSTER=virtualenv (a throwaway pg_virtualenv cluster;
# BENCH_SERVER_SETTINGS="shared_buffers=1GB ..." then sets postgresql.conf).
# The script DROPS and recreates BENCH_DATABASE (default
# metastore_bench_lifecycle; the name must contain "bench") and drops it at the
# end unless BENCH_KEEP=1 (the trigger is enabled again before the script exits).
# Settings (environment): BENCH_CLIENTS=2 BENCH_SECONDS=10 BENCH_ROUNDS=5
# BENCH_WARMUP=5 (seconds per side before round 1, not counted)
# BENCH_RETENTION_HOURS (metastore.event_retention_hours for the bench
# database; default: the server's, unless pruning fails) PGBENCH.  Session
# settings through PGOPTIONS, e.g. PGOPTIONS='-c synchronous_commit=off'.
# Results (markdown) go to stdout, progress to stderr.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_MAJOR=${PG_MAJOR:-15}
ME=lifecycle

# ---- optional throwaway cluster ------------------------------------------------

# shellcheck source=bench/virtualenv.sh
source "$ROOT/bench/virtualenv.sh"

export PGHOST=${PGHOST:-$ROOT/.run}
export PGPORT=${PGPORT:-5433}
export PGUSER=${PGUSER:-postgres}
unset PGDATABASE
DB=${BENCH_DATABASE:-metastore_bench_lifecycle}
CLIENTS=${BENCH_CLIENTS:-2}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-5}
WARMUP=${BENCH_WARMUP:-5}
KEEP=${BENCH_KEEP:-0}
MACHINE=bench_toggle
NS=bench
TRIGGER=machine_entities_events

if [ -n "${PGBENCH:-}" ]; then :
elif [ -x "/usr/lib/postgresql/$PG_MAJOR/bin/pgbench" ]; then PGBENCH=/usr/lib/postgresql/$PG_MAJOR/bin/pgbench
else PGBENCH=$(command -v pgbench || true)
fi
if [ -z "$PGBENCH" ] || [ ! -x "$PGBENCH" ]; then echo "$ME: pgbench not found (set PGBENCH)" >&2; exit 1; fi

for v in CLIENTS SECONDS_PER_RUN ROUNDS WARMUP; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "$ME: $v must be a whole number" >&2; exit 1; }
done
if [ "$CLIENTS" -lt 1 ] || [ "$ROUNDS" -lt 1 ] || [ "$SECONDS_PER_RUN" -lt 1 ]; then
  echo "$ME: clients, rounds and seconds must be at least 1" >&2; exit 1
fi
# the database is dropped: refuse anything that does not look like a bench database
case "$DB" in
  *bench*) ;;
  *) echo "$ME: refusing to drop database \"$DB\" (its name must contain \"bench\")" >&2; exit 1 ;;
esac

# shellcheck source=bench/common.sh
source "$ROOT/bench/common.sh"

TMP=$(mktemp -d)
CREATED=0
cleanup() {
  rm -rf "$TMP"
  [ "$CREATED" = 1 ] || return 0
  if [ "$KEEP" = 1 ]; then
    sql -c "ALTER TABLE metastore.machine_entities ENABLE TRIGGER $TRIGGER" >/dev/null 2>&1 || true
  else
    "${PSQL[@]}" -d postgres -c "SET client_min_messages = warning" \
      -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

# ---- database and data -------------------------------------------------------

if [ "$(psql -X -d postgres -tA -c "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")" != t ]; then
  echo "$ME: $PGUSER must be a superuser (the script disables the trigger $TRIGGER in $DB)" >&2; exit 1
fi

log "recreating database $DB on ${PGHOST}:${PGPORT} as $PGUSER"
"${PSQL[@]}" -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" \
                         -c "CREATE DATABASE \"$DB\""
CREATED=1
sql -c "SET client_min_messages = warning" -c "CREATE EXTENSION metastore" >/dev/null
if [ -z "$(sql -c "SELECT to_regprocedure('metastore.transition(text, text, text, text, jsonb)')")" ] ||
   [ "$(sql -c "SELECT count(*) FROM pg_trigger WHERE tgname = '$TRIGGER'
                  AND tgrelid = to_regclass('metastore.machine_entities')")" != 1 ]; then
  echo "$ME: metastore.transition or the trigger $TRIGGER is not installed in this build" >&2; exit 1
fi

if [ -n "${BENCH_RETENTION_HOURS:-}" ]; then
  [[ $BENCH_RETENTION_HOURS =~ ^[0-9]+$ ]] || { echo "$ME: BENCH_RETENTION_HOURS must be a whole number" >&2; exit 1; }
  sql -c "ALTER DATABASE \"$DB\" SET metastore.event_retention_hours = $BENCH_RETENTION_HOURS" >/dev/null
fi

log "creating machine $MACHINE, $CLIENTS entities and the plain tables"
"${PSQL[@]}" -d "$DB" -v clients="$CLIENTS" -v machine="$MACHINE" -v ns="$NS" >/dev/null <<'SQL'
SET client_min_messages = warning;
SELECT metastore.put_machine(:'machine', '{"states": ["A", "B"], "initial": "A", "transitions": [
  {"action": "create", "to": "A", "role": "writer"},
  {"from": "A", "action": "flip", "to": "B", "role": "writer"},
  {"from": "B", "action": "flop", "to": "A", "role": "writer"}]}', :'ns');
-- one entity per pgbench client (client_id 0 .. clients - 1), created through the engine
SELECT count(*) FROM generate_series(0, :clients - 1) AS i,
       LATERAL metastore.transition(:'machine', 'e' || i, 'create') AS r;
-- the baseline: same columns, defaults, checks, identity and indexes; no RLS,
-- no trigger; same starting rows (the entities and their create transitions)
CREATE TABLE bench_entities (LIKE metastore.machine_entities INCLUDING ALL);
CREATE TABLE bench_transitions (LIKE metastore.machine_transitions INCLUDING ALL);
INSERT INTO bench_entities OVERRIDING SYSTEM VALUE SELECT * FROM metastore.machine_entities;
INSERT INTO bench_transitions OVERRIDING SYSTEM VALUE SELECT * FROM metastore.machine_transitions;
SELECT setval(pg_get_serial_sequence('bench_entities', 'id'), (SELECT max(id) FROM bench_entities));
SELECT setval(pg_get_serial_sequence('bench_transitions', 'id'), (SELECT max(id) FROM bench_transitions));
VACUUM ANALYZE metastore.machine_entities;
VACUUM ANALYZE metastore.machine_transitions;
VACUUM ANALYZE metastore.events;
VACUUM ANALYZE bench_entities;
VACUUM ANALYZE bench_transitions;
SQL
[ "$(sql -c "SELECT count(*) FROM metastore.machine_entities WHERE machine = '$MACHINE'")" = "$CLIENTS" ] ||
  { echo "$ME: creating the entities failed" >&2; exit 1; }

# Pruning: every 1000th event id, the committing transaction also deletes the
# events older than metastore.event_retention_hours.  Probe that path once with
# a transition on a probe entity whose event gets id 1000; if that commit fails,
# run with pruning off in the bench database and say so in the report.
PRUNE_NOTE=""
if [ "$(sql -c "LOAD 'metastore'" -c "SHOW metastore.event_retention_hours")" != 0 ]; then
  sql -c "SELECT setval(pg_get_serial_sequence('metastore.events', 'id'), greatest(999, (SELECT max(id) FROM metastore.events)))" >/dev/null
  if ! probe=$(sql -c "SELECT metastore.transition('$MACHINE', 'prune-probe', 'create')" 2>&1); then
    err=$(echo "$probe" | grep -m1 'ERROR' || echo "$probe" | head -1)
    log "WARNING: the commit that prunes events failed: $err; running with metastore.event_retention_hours = 0 in $DB"
    sql -c "ALTER DATABASE \"$DB\" SET metastore.event_retention_hours = 0" >/dev/null
    PRUNE_NOTE="**pruning is broken in this build**: the commit whose event got id 1000 failed with \`$err\`, so the bench ran with \`metastore.event_retention_hours = 0\`."
  else
    PRUNE_NOTE="pruning on (every 1000th event also runs the prune DELETE; the probe commit at event id 1000 succeeded)."
  fi
else
  PRUNE_NOTE="pruning off (\`metastore.event_retention_hours = 0\`)."
fi

# ---- pgbench scripts -----------------------------------------------------------

cat > "$TMP/transition.sql" <<EOF
SELECT metastore.transition('$MACHINE', 'e' || :client_id,
  CASE (SELECT state FROM metastore.machine_entities WHERE machine = '$MACHINE' AND entity = 'e' || :client_id)
  WHEN 'A' THEN 'flip' ELSE 'flop' END);
EOF
cp "$TMP/transition.sql" "$TMP/noevents.sql"

# The same work by hand: read the state, update it (only if still the state
# read), record the transition with the same columns, return the same jsonb.
cat > "$TMP/plain.sql" <<EOF
WITH cur AS (
  SELECT state FROM bench_entities WHERE machine = '$MACHINE' AND entity = 'e' || :client_id),
u AS (
  UPDATE bench_entities e SET state = CASE cur.state WHEN 'A' THEN 'B' ELSE 'A' END,
         version = e.version + 1, updated_at = now(), updated_by = current_user
    FROM cur
   WHERE e.machine = '$MACHINE' AND e.entity = 'e' || :client_id AND e.state = cur.state
  RETURNING e.namespace, e.machine, e.entity, e.state, e.version, cur.state AS from_state),
t AS (
  INSERT INTO bench_transitions (namespace, machine, entity, action, from_state, to_state,
                                 actor, principal, payload, version, at)
  SELECT u.namespace, u.machine, u.entity, CASE u.from_state WHEN 'A' THEN 'flip' ELSE 'flop' END,
         u.from_state, u.state, current_user, current_user, '{}', u.version, now()
    FROM u
  RETURNING machine, entity, action, to_state, from_state, actor)
SELECT jsonb_build_object('machine', machine, 'entity', entity, 'action', action, 'state', to_state,
                          'previous_state', from_state, 'actor', actor)
  FROM t;
EOF

SIDES=(transition noevents plain)
declare -A DESC=(
  [transition]="metastore.transition (state read + engine), trigger $TRIGGER enabled (the product)"
  [noevents]="the same, trigger $TRIGGER disabled"
  [plain]="state read + UPDATE bench_entities SET state, version + INSERT bench_transitions (one statement)"
)
declare -A ENT_TABLE=([transition]=metastore.machine_entities [noevents]=metastore.machine_entities [plain]=bench_entities)
declare -A LOG_TABLE=([transition]=metastore.machine_transitions [noevents]=metastore.machine_transitions [plain]=bench_transitions)
declare -A TPS LAT XACTS LOGROWS EVENTS

TRIGGER_STATE=on
set_trigger() {   # on | off
  [ "$1" = "$TRIGGER_STATE" ] && return 0
  if [ "$1" = on ]; then sql -c "ALTER TABLE metastore.machine_entities ENABLE TRIGGER $TRIGGER" >/dev/null
  else sql -c "ALTER TABLE metastore.machine_entities DISABLE TRIGGER $TRIGGER" >/dev/null; fi
  TRIGGER_STATE=$1
}

counters() {   # transitions logged, versions summed, events: for side $1
  sql -c "SELECT (SELECT count(*) FROM ${LOG_TABLE[$1]} WHERE machine = '$MACHINE') || ' ' ||
                 (SELECT sum(version) FROM ${ENT_TABLE[$1]} WHERE machine = '$MACHINE') || ' ' ||
                 (SELECT count(*) FROM metastore.events)"
}

# Run one side for $2 seconds; sets R_TPS, R_LAT (ms), R_XACTS, R_LOG (transition
# rows added), R_VERS (versions added), R_EVENTS (events added).
run_side() {
  local side=$1 secs=$2 out="$TMP/out" l0 v0 e0 l1 v1 e1
  if [ "$side" = transition ]; then set_trigger on; else set_trigger off; fi
  sql -c "CHECKPOINT" >/dev/null 2>&1 || true   # every run starts right after a checkpoint
  read -r l0 v0 e0 <<<"$(counters "$side")"
  if ! "$PGBENCH" -n -M prepared -c "$CLIENTS" -j "$CLIENTS" -T "$secs" \
        -f "$TMP/$side.sql" "$DB" >"$out" 2>&1; then
    cat "$out" >&2; echo "$ME: pgbench failed on side $side" >&2; exit 1
  fi
  if grep -qi "abort" "$out" || ! grep -q "^number of failed transactions: 0 " "$out"; then
    cat "$out" >&2; echo "$ME: side $side had failed or aborted transactions" >&2; exit 1
  fi
  R_TPS=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$out")
  R_LAT=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$out")
  R_XACTS=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out")
  if [ -z "$R_TPS" ] || [ -z "$R_LAT" ] || [ -z "$R_XACTS" ]; then
    cat "$out" >&2; echo "$ME: cannot parse pgbench output" >&2; exit 1
  fi
  read -r l1 v1 e1 <<<"$(counters "$side")"
  R_LOG=$((l1 - l0)); R_VERS=$((v1 - v0)); R_EVENTS=$((e1 - e0))
}

STATUS=0
check_run() {   # side: transitions = versions = pgbench transactions; events as expected
  local side=$1 want_events=0
  [ "$side" = transition ] && want_events=$R_XACTS
  if [ "$R_LOG" != "$R_XACTS" ] || [ "$R_VERS" != "$R_XACTS" ]; then
    log "side $side: $R_LOG transitions recorded and $R_VERS versions added for $R_XACTS pgbench transactions"
    STATUS=1
  fi
  if [ "$R_EVENTS" != "$want_events" ]; then
    log "side $side: $R_EVENTS events appended, expected $want_events"
    STATUS=1
  fi
}

# ---- the runs --------------------------------------------------------------------

if [ "$WARMUP" -gt 0 ]; then
  for s in "${SIDES[@]}"; do
    log "warm-up side $s (${WARMUP}s, not counted)"; run_side "$s" "$WARMUP"; check_run "$s"
  done
fi
for ((r = 0; r < ROUNDS; r++)); do
  for ((i = 0; i < ${#SIDES[@]}; i++)); do
    s=${SIDES[$(((i + r) % ${#SIDES[@]}))]}     # order rotates every round
    run_side "$s" "$SECONDS_PER_RUN"
    check_run "$s"
    TPS[$s]="${TPS[$s]:-} $R_TPS"; LAT[$s]="${LAT[$s]:-} $R_LAT"
    XACTS[$s]=$(( ${XACTS[$s]:-0} + R_XACTS ))
    LOGROWS[$s]=$(( ${LOGROWS[$s]:-0} + R_LOG ))
    EVENTS[$s]=$(( ${EVENTS[$s]:-0} + R_EVENTS ))
    log "round $((r + 1))/$ROUNDS side $s: tps $R_TPS, latency $R_LAT ms, $R_XACTS transactions, $R_LOG transitions recorded, $R_EVENTS events"
  done
done
set_trigger on

# ---- report ----------------------------------------------------------------------

declare -A MED
for s in "${SIDES[@]}"; do MED[$s]=$(echo "${TPS[$s]}" | median); done

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
server=$(sql -c "SELECT version()")
settings=$(sql -c "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name)
                   FROM pg_settings WHERE name IN ('synchronous_commit', 'fsync', 'shared_buffers', 'wal_level',
                                                   'full_page_writes', 'metastore.event_retention_hours')")
cmd="bench/lifecycle.sh"
for v in BENCH_CLIENTS BENCH_SECONDS BENCH_ROUNDS BENCH_WARMUP BENCH_RETENTION_HOURS BENCH_CLUSTER \
         BENCH_SERVER_SETTINGS PGOPTIONS; do
  [ -n "${!v:-}" ] && cmd="$v='${!v}' $cmd"
done
r_tp=$(ratio "${MED[transition]}" "${MED[plain]}")
verdict=$(awk -v r="$r_tp" 'BEGIN {print (r >= 0.8) ? "met" : "not met"}')

cat <<EOF

#### transition vs plain UPDATE ... SET state + history INSERT ($(date -u '+%Y-%m-%d %H:%M UTC'))

- command: \`$cmd\` (pgbench -n -M prepared -c $CLIENTS -j $CLIENTS -T $SECONDS_PER_RUN, $ROUNDS round(s), sides alternating, order rotating; ${WARMUP}s warm-up per side not counted)
- data: machine \`$MACHINE\` (A --flip--> B --flop--> A), one entity per client (\`'e' || :client_id\`), so the clients never wait for each other's row; each transaction is one autocommitted statement that reads the entity's state and takes the matching action
- machine: $(nproc) CPUs, $cpu, $ram RAM
- server: $server
- settings: $settings; PGOPTIONS='${PGOPTIONS:-}'
- metastore: git $rev; $build
- events: the transition side keeps \`$TRIGGER\` enabled (part of the product); $PRUNE_NOTE

| side | what one transaction does | median TPS | TPS per round | median latency (ms) |
|------|---------------------------|-----------:|---------------|--------------------:|
EOF
for s in "${SIDES[@]}"; do
  printf '| %s | %s | %s | %s | %s |\n' "$s" "${DESC[$s]}" "$(fmt "${MED[$s]}")" \
    "$(for t in ${TPS[$s]}; do fmt "$t"; done | paste -sd ' ' | sed 's/ /, /g')" \
    "$(echo "${LAT[$s]}" | median)"
done
cat <<EOF

| ratio | value | target |
|-------|------:|--------|
| transition / plain | **$r_tp** | ≥ 0.8: $verdict |
| noevents / plain: the engine without the events | $(ratio "${MED[noevents]}" "${MED[plain]}") | (information) |
| transition / noevents: the events' share | $(ratio "${MED[transition]}" "${MED[noevents]}") | (information) |

Checked after every run: transitions recorded = versions added = pgbench transactions (transition: ${LOGROWS[transition]} rows for ${XACTS[transition]} transactions; noevents: ${LOGROWS[noevents]} for ${XACTS[noevents]}; plain: ${LOGROWS[plain]} for ${XACTS[plain]}); events appended: ${EVENTS[transition]} on the transition side (one per transaction), ${EVENTS[noevents]} and ${EVENTS[plain]} on the others (must be 0). $( [ "$STATUS" = 0 ] && echo "All checks passed." || echo "**A check FAILED: see the progress log.**")
EOF

[ "$STATUS" = 0 ] || log "FAILED: transitions recorded, versions or events did not match pgbench's transactions; see above"
exit "$STATUS"
