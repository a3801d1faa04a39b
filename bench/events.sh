#!/usr/bin/env bash
# bench/events.sh: put_record write throughput with change events on and off,
# same run.
#
# Every committed change to metastore.records appends a row to metastore.events
# and NOTIFYs channel metastore_events, from the DEFERRED constraint trigger
# records_events (sql/install/50_events.sql, src/events.c).  It runs at commit
# and takes an advisory transaction lock held to the end of the commit, so that
# event ids follow commit order across writers.  Three pgbench sides, each one
# autocommitted statement per transaction on a random key among BENCH_KEYS
# (all seeded first, so nearly every put is an update):
#   off     SELECT metastore.put_record('bench', 'k' || :id, jsonb_build_object('n', :n))
#           with ALTER TABLE metastore.records DISABLE TRIGGER records_events
#   on      the same statement with the trigger enabled (the product)
#   notify  events off, and the same statement plus a pg_notify on channel
#           metastore_events with a payload of the trigger's size, in the same
#           statement: what the NOTIFY alone costs (no events row, no advisory
#           lock).  Information only.
# Listeners: none during the bench (the queue is written all the same).
# For each client count (BENCH_CLIENTS, default "1 2": the target is about one
# writer; with 2, the commit-time locks serialize the commits), rounds
# alternate the sides, the order rotating each round.  Reported: median TPS of
# each side, the ratio on/off (target >= 0.85), notify/off and on/notify,
# events appended per second.  Checked: in every "on" run, the rows added to
# metastore.events equal the versions put_record added (and are compared with
# the transactions pgbench reports); "off" and "notify" runs add no event.
# The script exits 1 if an event is missing or a transaction failed.
#
# Connection: the libpq variables PGHOST / PGPORT / PGUSER (default: the
# `make run` cluster; the role must be a superuser, to disable the trigger),
# or BENCH_CLUSTER=virtualenv (a throwaway pg_virtualenv cluster;
# BENCH_SERVER_SETTINGS="shared_buffers=1GB ..." then sets postgresql.conf).
# The script DROPS and recreates BENCH_DATABASE (default metastore_bench_events;
# the name must contain "bench") and drops it at the end unless BENCH_KEEP=1
# (the trigger is enabled again before the script exits).
# Settings (environment): BENCH_KEYS=10000 BENCH_CLIENTS="1 2" BENCH_SECONDS=10
# BENCH_ROUNDS=5 BENCH_WARMUP=5 (seconds per side and client count before round
# 1, not counted) BENCH_NOTIFY=1 (0: skip the notify side) BENCH_RETENTION_HOURS
# (metastore.event_retention_hours for the bench database; default: the
# server's, unless pruning fails, see below) PGBENCH.  Session
# settings through PGOPTIONS, e.g. PGOPTIONS='-c synchronous_commit=off'.
# Results (markdown) go to stdout, progress to stderr.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_MAJOR=${PG_MAJOR:-15}
ME=events

# ---- optional throwaway cluster ------------------------------------------------

# shellcheck source=bench/virtualenv.sh
source "$ROOT/bench/virtualenv.sh"

export PGHOST=${PGHOST:-$ROOT/.run}
export PGPORT=${PGPORT:-5433}
export PGUSER=${PGUSER:-postgres}
unset PGDATABASE
DB=${BENCH_DATABASE:-metastore_bench_events}
KEYS=${BENCH_KEYS:-10000}
CLIENT_LIST=${BENCH_CLIENTS:-1 2}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-5}
WARMUP=${BENCH_WARMUP:-5}
NOTIFY=${BENCH_NOTIFY:-1}
KEEP=${BENCH_KEEP:-0}
NS=bench
TRIGGER=records_events

if [ -n "${PGBENCH:-}" ]; then :
elif [ -x "/usr/lib/postgresql/$PG_MAJOR/bin/pgbench" ]; then PGBENCH=/usr/lib/postgresql/$PG_MAJOR/bin/pgbench
else PGBENCH=$(command -v pgbench || true)
fi
if [ -z "$PGBENCH" ] || [ ! -x "$PGBENCH" ]; then echo "$ME: pgbench not found (set PGBENCH)" >&2; exit 1; fi

for v in KEYS SECONDS_PER_RUN ROUNDS WARMUP; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "$ME: $v must be a whole number" >&2; exit 1; }
done
if [ "$ROUNDS" -lt 1 ] || [ "$SECONDS_PER_RUN" -lt 1 ] || [ "$KEYS" -lt 1 ]; then
  echo "$ME: keys, rounds and seconds must be at least 1" >&2; exit 1
fi
CLIENTS=()
for c in $CLIENT_LIST; do
  [[ $c =~ ^[0-9]+$ ]] && [ "$c" -ge 1 ] || { echo "$ME: BENCH_CLIENTS must be client counts (e.g. \"1 2\")" >&2; exit 1; }
  [[ " ${CLIENTS[*]} " == *" $c "* ]] || CLIENTS+=("$c")
done
[ "${#CLIENTS[@]}" -ge 1 ] || { echo "$ME: BENCH_CLIENTS is empty" >&2; exit 1; }
case "$NOTIFY" in 0|1) ;; *) echo "$ME: BENCH_NOTIFY must be 0 or 1" >&2; exit 1 ;; esac
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
    sql -c "ALTER TABLE metastore.records ENABLE TRIGGER $TRIGGER" >/dev/null 2>&1 || true
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
if [ "$(sql -c "SELECT count(*) FROM pg_trigger WHERE tgname = '$TRIGGER'
                  AND tgrelid = 'metastore.records'::regclass")" != 1 ] ||
   [ -z "$(sql -c "SELECT to_regclass('metastore.events')")" ]; then
  echo "$ME: metastore.events or the trigger $TRIGGER is not installed in this build (installing? retry in a minute)" >&2; exit 1
fi

# Pruning: every 1000th event id, the committing transaction also deletes the
# events older than metastore.event_retention_hours (none are, in the bench).
# Probe that path once: move the id sequence so the next event is number 1000
# and commit one put.  If that commit fails, pruning is broken in this build:
# the bench then runs with pruning off (retention 0 for its database) and says
# so in the report, rather than measuring failed commits.
if [ -n "${BENCH_RETENTION_HOURS:-}" ]; then
  [[ $BENCH_RETENTION_HOURS =~ ^[0-9]+$ ]] || { echo "$ME: BENCH_RETENTION_HOURS must be a whole number" >&2; exit 1; }
  sql -c "ALTER DATABASE \"$DB\" SET metastore.event_retention_hours = $BENCH_RETENTION_HOURS" >/dev/null
fi
PRUNE_NOTE=""
# (LOAD first: the setting exists once the library is loaded in the session)
if [ "$(sql -c "LOAD 'metastore'" -c "SHOW metastore.event_retention_hours")" != 0 ]; then
  sql -c "SELECT setval(pg_get_serial_sequence('metastore.events', 'id'), 999)" >/dev/null
  if ! probe=$(sql -c "SELECT (metastore.put_record('probe', 'prune-probe', '{}')).version" 2>&1); then
    err=$(echo "$probe" | grep -m1 'ERROR' || echo "$probe" | head -1)
    log "WARNING: the commit that prunes events (event id 1000) failed: $err"
    log "WARNING: running with metastore.event_retention_hours = 0 (pruning off) in $DB"
    sql -c "ALTER DATABASE \"$DB\" SET metastore.event_retention_hours = 0" >/dev/null
    PRUNE_NOTE="**pruning is broken in this build**: the commit of the put whose event got id 1000 (where the trigger also prunes) failed with \`$err\`, so the bench ran with \`metastore.event_retention_hours = 0\` (no pruning) in its database."
  else
    PRUNE_NOTE="pruning on (every 1000th event also runs the prune DELETE; the probe commit at event id 1000 succeeded)."
  fi
else
  PRUNE_NOTE="pruning off (\`metastore.event_retention_hours = 0\`)."
fi

log "seeding $KEYS records through put_record"
"${PSQL[@]}" -d "$DB" -v keys="$KEYS" -v ns="$NS" >/dev/null <<'SQL'
SET client_min_messages = warning;
SELECT count(*) FROM generate_series(1, :keys) AS i,
       LATERAL metastore.put_record(:'ns', 'k' || i, jsonb_build_object('n', i)) AS r;
VACUUM ANALYZE metastore.records;
VACUUM ANALYZE metastore.history;
VACUUM ANALYZE metastore.events;
SQL
[ "$(sql -c "SELECT count(*) FROM metastore.records WHERE namespace = '$NS'")" = "$KEYS" ] ||
  { echo "$ME: seeding failed" >&2; exit 1; }
[ "$(sql -c "SELECT count(*) FROM metastore.events WHERE namespace = '$NS'")" = "$KEYS" ] ||
  { echo "$ME: seeding wrote $(sql -c "SELECT count(*) FROM metastore.events") events for $KEYS records" >&2; exit 1; }

# ---- pgbench scripts -----------------------------------------------------------
# A random key among KEYS: two clients rarely hit the same key, and when they
# do the second waits for the first's row lock (no expected_version, so no
# conflict error).  n is random, so a put is practically never "unchanged".

PICK='\set id random(1, :nkeys)
\set n random(1, 1000000000)'
PUT="metastore.put_record('$NS', 'k' || :id, jsonb_build_object('n', :n::int))"

printf '%s\nSELECT %s;\n' "$PICK" "$PUT" > "$TMP/off.sql"
cp "$TMP/off.sql" "$TMP/on.sql"
# the trigger's payload is {"id": <event id>, "action": "update", "resource_type": "record"}
cat > "$TMP/notify.sql" <<EOF
$PICK
SELECT $PUT,
  pg_notify('metastore_events', '{"id": ' || :n::int || ', "action": "update", "resource_type": "record"}');
EOF

SIDES=(off on)
[ "$NOTIFY" = 1 ] && SIDES+=(notify)
declare -A DESC=(
  [off]="put_record, trigger $TRIGGER disabled"
  [on]="put_record, trigger $TRIGGER enabled (events row + NOTIFY + advisory lock at commit)"
  [notify]="put_record + pg_notify(metastore_events, same-size payload), trigger disabled"
)
declare -A TPS LAT XACTS EVENTS CHANGES

TRIGGER_STATE=on
set_trigger() {   # on | off
  [ "$1" = "$TRIGGER_STATE" ] && return 0
  if [ "$1" = on ]; then sql -c "ALTER TABLE metastore.records ENABLE TRIGGER $TRIGGER" >/dev/null
  else sql -c "ALTER TABLE metastore.records DISABLE TRIGGER $TRIGGER" >/dev/null; fi
  TRIGGER_STATE=$1
}

# Run one side with $2 clients for $3 seconds; sets R_TPS, R_LAT (ms), R_XACTS,
# R_EVENTS (rows added to metastore.events), R_CHANGES (versions added).
run_side() {
  local side=$1 clients=$2 secs=$3 out="$TMP/out" ev0 v0
  if [ "$side" = on ]; then set_trigger on; else set_trigger off; fi
  sql -c "CHECKPOINT" >/dev/null 2>&1 || true   # every run starts right after a checkpoint
  ev0=$(sql -c "SELECT coalesce(max(id), 0) FROM metastore.events")
  v0=$(sql -c "SELECT sum(version) FROM metastore.records WHERE namespace = '$NS'")
  if ! "$PGBENCH" -n -M prepared -c "$clients" -j "$clients" -T "$secs" \
        -D nkeys="$KEYS" -f "$TMP/$side.sql" "$DB" >"$out" 2>&1; then
    cat "$out" >&2; echo "$ME: pgbench failed on side $side ($clients clients)" >&2; exit 1
  fi
  if grep -qi "abort" "$out" || ! grep -q "^number of failed transactions: 0 " "$out"; then
    cat "$out" >&2; echo "$ME: side $side ($clients clients) had failed or aborted transactions" >&2; exit 1
  fi
  R_TPS=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$out")
  R_LAT=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$out")
  R_XACTS=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out")
  if [ -z "$R_TPS" ] || [ -z "$R_LAT" ] || [ -z "$R_XACTS" ]; then
    cat "$out" >&2; echo "$ME: cannot parse pgbench output" >&2; exit 1
  fi
  R_EVENTS=$(sql -c "SELECT count(*) FROM metastore.events WHERE id > $ev0")
  R_CHANGES=$(( $(sql -c "SELECT sum(version) FROM metastore.records WHERE namespace = '$NS'") - v0 ))
}

# ---- the runs --------------------------------------------------------------------

STATUS=0
for c in "${CLIENTS[@]}"; do
  if [ "$WARMUP" -gt 0 ]; then
    for s in "${SIDES[@]}"; do log "$c client(s): warm-up side $s (${WARMUP}s, not counted)"; run_side "$s" "$c" "$WARMUP"; done
  fi
  for ((r = 0; r < ROUNDS; r++)); do
    for ((i = 0; i < ${#SIDES[@]}; i++)); do
      s=${SIDES[$(((i + r) % ${#SIDES[@]}))]}     # order rotates every round
      run_side "$s" "$c" "$SECONDS_PER_RUN"
      k="$c/$s"
      TPS[$k]="${TPS[$k]:-} $R_TPS"; LAT[$k]="${LAT[$k]:-} $R_LAT"
      XACTS[$k]=$(( ${XACTS[$k]:-0} + R_XACTS ))
      EVENTS[$k]=$(( ${EVENTS[$k]:-0} + R_EVENTS ))
      CHANGES[$k]=$(( ${CHANGES[$k]:-0} + R_CHANGES ))
      log "$c client(s), round $((r + 1))/$ROUNDS side $s: tps $R_TPS, latency $R_LAT ms, $R_XACTS transactions, $R_CHANGES versions, $R_EVENTS events"
      if [ "$s" = on ] && [ "$R_EVENTS" != "$R_CHANGES" ]; then
        log "side on wrote $R_EVENTS events for $R_CHANGES committed changes ($R_XACTS transactions): events are missing"
        STATUS=1
      elif [ "$s" != on ] && [ "$R_EVENTS" != 0 ]; then
        log "side $s (trigger disabled) wrote $R_EVENTS events"
        STATUS=1
      fi
      if [ "$R_CHANGES" != "$R_XACTS" ]; then
        log "note: side $s: $R_CHANGES versions for $R_XACTS transactions reported by pgbench"
      fi
    done
  done
done
set_trigger on
queue=$(sql -c "SELECT pg_notification_queue_usage()")

# ---- report ----------------------------------------------------------------------

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
server=$(sql -c "SELECT version()")
settings=$(sql -c "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name)
                   FROM pg_settings WHERE name IN ('synchronous_commit', 'fsync', 'shared_buffers', 'wal_level',
                                                   'full_page_writes', 'metastore.event_retention_hours')")
cmd="bench/events.sh"
for v in BENCH_KEYS BENCH_CLIENTS BENCH_SECONDS BENCH_ROUNDS BENCH_WARMUP BENCH_NOTIFY BENCH_RETENTION_HOURS BENCH_CLUSTER \
         BENCH_SERVER_SETTINGS PGOPTIONS; do
  [ -n "${!v:-}" ] && cmd="$v='${!v}' $cmd"
done

cat <<EOF

#### put_record with events on vs off ($(date -u '+%Y-%m-%d %H:%M UTC'))

- command: \`$cmd\` (pgbench -n -M prepared -c N -j N -T $SECONDS_PER_RUN for N in ${CLIENTS[*]}, $ROUNDS round(s), sides ${SIDES[*]} alternating, order rotating; ${WARMUP}s warm-up per side not counted)
- data: $KEYS keys in one namespace, all seeded, so the puts are updates; each transaction is one autocommitted \`SELECT $PUT\` on a random key
- machine: $(nproc) CPUs, $cpu, $ram RAM
- server: $server
- settings: $settings; PGOPTIONS='${PGOPTIONS:-}'
- metastore: git $rev; $build
- events: $PRUNE_NOTE
- LISTEN: no listener during the bench; \`pg_notification_queue_usage()\` after the runs: $queue

| clients | side | what one transaction does | median TPS | TPS per round | median latency (ms) |
|--------:|------|---------------------------|-----------:|---------------|--------------------:|
EOF
for c in "${CLIENTS[@]}"; do
  for s in "${SIDES[@]}"; do
    k="$c/$s"
    printf '| %s | %s | %s | %s | %s | %s |\n' "$c" "$s" "${DESC[$s]}" "$(fmt "$(echo "${TPS[$k]}" | median)")" \
      "$(for t in ${TPS[$k]}; do fmt "$t"; done | paste -sd ' ' | sed 's/ /, /g')" \
      "$(echo "${LAT[$k]}" | median)"
  done
done

cat <<EOF

| clients | on / off | target | $( [ "$NOTIFY" = 1 ] && echo "notify / off | on / notify | " )events appended per second (on) | events = committed changes (on rounds) |
|--------:|---------:|--------|$( [ "$NOTIFY" = 1 ] && echo "------:|------:|" )------:|--------|
EOF
for c in "${CLIENTS[@]}"; do
  off=$(echo "${TPS[$c/off]}" | median); on=$(echo "${TPS[$c/on]}" | median)
  r=$(ratio "$on" "$off")
  verdict=$(awk -v r="$r" 'BEGIN {print (r >= 0.85) ? "met" : "not met"}')
  extra=""
  if [ "$NOTIFY" = 1 ]; then
    nt=$(echo "${TPS[$c/notify]}" | median)
    extra="$(ratio "$nt" "$off") | $(ratio "$on" "$nt") | "
  fi
  eps=$(awk -v e="${EVENTS[$c/on]}" -v t="$((ROUNDS * SECONDS_PER_RUN))" 'BEGIN {printf "%.0f", e / t}')
  if [ "${EVENTS[$c/on]}" = "${CHANGES[$c/on]}" ]; then ok="yes: ${EVENTS[$c/on]} events, ${CHANGES[$c/on]} versions, ${XACTS[$c/on]} pgbench transactions"
  else ok="**NO: ${EVENTS[$c/on]} events for ${CHANGES[$c/on]} versions** (${XACTS[$c/on]} pgbench transactions)"; fi
  printf '| %s | **%s** | ≥ 0.85: %s | %s%s | %s |\n' "$c" "$r" "$verdict" "$extra" "$eps" "$ok"
done

offev=0; for c in "${CLIENTS[@]}"; do for s in "${SIDES[@]}"; do [ "$s" = on ] || offev=$((offev + ${EVENTS[$c/$s]})); done; done
cat <<EOF

Events appended per second = events written in the on rounds / their ${ROUNDS}×${SECONDS_PER_RUN} s. The sides with the trigger disabled wrote $offev events (must be 0).
EOF
[ "$NOTIFY" = 1 ] && cat <<'EOF'
notify / off is what the NOTIFY alone costs a write (PostgreSQL queues every notification at commit, listeners or not, under a cluster-wide lock held until the commit is flushed); on / notify is what the events row and the advisory lock add on top.
EOF

[ "$STATUS" = 0 ] || log "FAILED: events were missing (or written while the trigger was disabled); see above"
exit "$STATUS"
