#!/usr/bin/env bash
# bench/flags.sh: flag evaluation in SQL and over HTTP, each beside its
# baselines in the same run.
#
# SQL.  One flag, "checkout": enabled, one flexibleRollout strategy (30%,
# stickiness userId, groupId checkout) with two constraints (country IN
# NL/BE/DE, plan STR_STARTS_WITH "pro").  A table of BENCH_USERS (1,000,000)
# distinct users (a uuid each, a country, a plan; deterministic): the
# constraints hold for about 39% of them and the rollout lets 30% of those
# through.  Every side is one statement counting users over a sequential scan:
#   bare        SELECT count(*) FROM users u
#   bare+ctx    ... WHERE jsonb_build_object('userId', .., 'country', .., 'plan', ..) IS NOT NULL
#               (the same context as the evaluators get, no evaluation)
#   sql         ... WHERE country IN (..) AND starts_with(plan, 'pro')
#                     AND metastore.bucket('checkout:' || user_id) <= 30
#               (the rule written inline by hand: no flag system at all)
#   plpgsql     ... WHERE bench_eval('checkout', <context>): a PL/pgSQL evaluator as
#               one would write it by hand (reads the flag's definition from
#               metastore.flags, loops over strategies and constraints, CASE over
#               the operator, rollout through metastore.bucket)
#   is_enabled  ... WHERE metastore.is_enabled('checkout', <context>)
#   evaluate    ... WHERE (metastore.evaluate('checkout', <context>) ->> 'enabled')::boolean
# All with max_parallel_workers_per_gather = 0: the flag functions are PARALLEL
# RESTRICTED, so only the baselines could use workers otherwise.  Each side runs
# once untimed (warm-up and check: sql, plpgsql, is_enabled and evaluate must
# count the same users, else the script exits 1), then BENCH_ROUNDS times,
# every side once per round in an order that rotates, timed by psql's \timing.
# Reported: median ms per side, evaluations/s, µs/row, the rate ratios against
# the PL/pgSQL evaluator and the per-row cost over bare+ctx and over bare.
# Targets (issue, not asserted): is_enabled >= 8x the PL/pgSQL evaluator;
# evaluation adds <= 0.5 µs per row over the bare query.
#
# HTTP.  A shim (http-shim/metastore-http, started by the script on a free port
# against the bench database, as a login role with no grants; every request
# authenticates with an API key that may read namespace "bench") and wrk:
#   O  POST /ofrep/v1/evaluate/flags/checkout  {"context": {"targetingKey", "country", "plan"}}
#      (BENCH_HTTP_CONTEXTS users' contexts, cycled)
#   H  GET /health/ready  (one bare database round trip, as in bench/http_get.sh)
# alternating, after a warm-up.  Target (issue): O >= 0.6 of H's requests/s.  If
# the route does not exist yet the report says "route missing (404)" and the
# HTTP part is skipped.  Before timing, OFREP's value is checked against
# is_enabled for 200 users.
#
# Connection: PGHOST / PGPORT / PGUSER (default: the `make run` cluster).  Or
# BENCH_CLUSTER=virtualenv: a throwaway pg_virtualenv cluster with a fresh
# server secret (API keys need one); BENCH_SERVER_SETTINGS="shared_buffers=1GB ..."
# then sets its postgresql.conf.  The script DROPS and recreates BENCH_DATABASE
# (default metastore_bench_flags; the name must contain "bench") and drops it at
# the end unless BENCH_KEEP=1.
# Settings (environment): BENCH_USERS=1000000 BENCH_ROUNDS=5 BENCH_HTTP=1 (0: SQL
# only) BENCH_SECONDS=10 (per wrk run) BENCH_HTTP_ROUNDS (= BENCH_ROUNDS)
# BENCH_HTTP_WARMUP=5 (seconds per side) BENCH_CONNECTIONS=16 BENCH_THREADS=2
# BENCH_HTTP_CONTEXTS=10000 BENCH_HTTP_PORT (default: a free one from 18100)
# BENCH_SHIM (default http-shim/metastore-http; build it with make -C http-shim)
# BENCH_SHIM_ARGS (extra shim options, e.g. "--pool-size 4").  Session settings
# through PGOPTIONS (e.g. -c jit=off).
# Results (markdown) go to stdout, progress to stderr.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_MAJOR=${PG_MAJOR:-15}
ME=flags

# ---- optional throwaway cluster ------------------------------------------------

# shellcheck source=bench/virtualenv.sh
source "$ROOT/bench/virtualenv.sh"

export PGHOST=${PGHOST:-$ROOT/.run}
export PGPORT=${PGPORT:-5433}
export PGUSER=${PGUSER:-postgres}
unset PGDATABASE
DB=${BENCH_DATABASE:-metastore_bench_flags}
USERS=${BENCH_USERS:-1000000}
ROUNDS=${BENCH_ROUNDS:-5}
KEEP=${BENCH_KEEP:-0}
HTTP=${BENCH_HTTP:-1}
SECS=${BENCH_SECONDS:-10}
HROUNDS=${BENCH_HTTP_ROUNDS:-$ROUNDS}
HWARMUP=${BENCH_HTTP_WARMUP:-5}
CONNS=${BENCH_CONNECTIONS:-16}
THREADS=${BENCH_THREADS:-2}
CONTEXTS=${BENCH_HTTP_CONTEXTS:-10000}
HPORT=${BENCH_HTTP_PORT:-}
SHIM=${BENCH_SHIM:-$ROOT/http-shim/metastore-http}
SHIM_ARGS=${BENCH_SHIM_ARGS:-}
FLAG=checkout
NS=bench
SHIM_ROLE=bench_flags_shim

for v in USERS ROUNDS SECS HROUNDS HWARMUP CONNS THREADS CONTEXTS; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "$ME: $v must be a whole number" >&2; exit 1; }
done
if [ "$USERS" -lt 1000 ] || [ "$ROUNDS" -lt 1 ] || [ "$SECS" -lt 1 ] || [ "$HROUNDS" -lt 1 ] ||
   [ "$CONNS" -lt 1 ] || [ "$THREADS" -lt 1 ] || [ "$CONTEXTS" -lt 1 ]; then
  echo "$ME: users must be at least 1000; rounds, seconds, connections, threads and contexts at least 1" >&2; exit 1
fi
[ -z "$HPORT" ] || [[ $HPORT =~ ^[0-9]+$ ]] || { echo "$ME: BENCH_HTTP_PORT must be a port number" >&2; exit 1; }
case "$DB" in
  *bench*) ;;
  *) echo "$ME: refusing to drop database \"$DB\" (its name must contain \"bench\")" >&2; exit 1 ;;
esac

log() { echo "$ME: $*" >&2; }
PSQL=(psql -X -q -v ON_ERROR_STOP=1)
sql() { "${PSQL[@]}" -d "$DB" -tA "$@"; }
median_of() { tr ' ' '\n' | grep . | sort -g |
  awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "nan"}'; }

TMP=$(mktemp -d)
SHIM_PID=""
cleanup() {
  if [ -n "$SHIM_PID" ] && kill -0 "$SHIM_PID" 2>/dev/null; then
    kill -TERM "$SHIM_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SHIM_PID" 2>/dev/null || break; sleep 0.2; done
  fi
  rm -rf "$TMP"
  if [ "$KEEP" != 1 ]; then
    "${PSQL[@]}" -d postgres -c "SET client_min_messages = warning" \
      -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" -c "DROP ROLE IF EXISTS $SHIM_ROLE" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

# ---- the database ------------------------------------------------------------------

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
cmd="bench/flags.sh"
for v in BENCH_USERS BENCH_ROUNDS BENCH_HTTP BENCH_SECONDS BENCH_HTTP_ROUNDS BENCH_HTTP_WARMUP BENCH_CONNECTIONS \
         BENCH_THREADS BENCH_HTTP_CONTEXTS BENCH_SHIM_ARGS BENCH_CLUSTER BENCH_SERVER_SETTINGS PGOPTIONS; do
  [ -n "${!v:-}" ] && cmd="$v='${!v}' $cmd"
done

log "recreating database $DB on ${PGHOST}:${PGPORT} as $PGUSER"
"${PSQL[@]}" -d postgres -c "SET client_min_messages = warning" \
  -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" -c "CREATE DATABASE \"$DB\""
sql -c "SET client_min_messages = warning" -c "CREATE EXTENSION metastore" >/dev/null
if [ "$(sql -c "SELECT count(*) FROM pg_proc WHERE proname IN ('is_enabled', 'evaluate', 'bucket', 'put_flag')
                   AND pronamespace = 'metastore'::regnamespace")" -lt 4 ]; then
  log "metastore.is_enabled / evaluate / bucket / put_flag are not installed in this build"; exit 1
fi

FLAG_DEF='{"enabled": true,
  "strategies": [{"name": "flexibleRollout",
                  "parameters": {"rollout": "30", "stickiness": "userId", "groupId": "checkout"},
                  "constraints": [{"contextName": "country", "operator": "IN", "values": ["NL", "BE", "DE"]},
                                  {"contextName": "plan", "operator": "STR_STARTS_WITH", "values": ["pro"]}]}]}'

log "loading $USERS users"
t0=$(date +%s.%N)
"${PSQL[@]}" -d "$DB" -v n="$USERS" -v flag="$FLAG" -v def="$FLAG_DEF" -v ns="$NS" >/dev/null <<'SQL'
SET client_min_messages = warning;
SELECT metastore.put_flag(:'flag', :'def'::jsonb, namespace => :'ns');

-- Deterministic users: a uuid each (md5 of the number); country: NL 25%, DE 25%,
-- BE 15%, FR 10%, US 15%, GB 5%, unknown 5%; plan: pro 40%, pro-annual 20%,
-- free 25%, team 10%, enterprise 5%.  Both constraints hold for ~39%.
CREATE TABLE users (
  id      bigint PRIMARY KEY,
  user_id text   NOT NULL UNIQUE,
  country text,
  plan    text   NOT NULL
);
INSERT INTO users
SELECT i,
       md5('user-' || i)::uuid::text,
       (ARRAY['NL','NL','NL','NL','NL','DE','DE','DE','DE','DE','BE','BE','BE',
              'FR','FR','US','US','US','GB',NULL])[1 + (hashint8extended(i, 1) & 2147483647) % 20],
       (ARRAY['pro','pro','pro','pro','pro','pro','pro','pro','pro-annual','pro-annual','pro-annual','pro-annual',
              'free','free','free','free','free','team','team','enterprise'])[1 + (hashint8extended(i, 2) & 2147483647) % 20]
  FROM generate_series(1, :n) AS g(i);

-- The evaluator one would write by hand in PL/pgSQL: read the flag, then walk
-- strategies and constraints (Unleash semantics for the operators below).
CREATE FUNCTION bench_eval(flag text, context jsonb) RETURNS boolean
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
  def  jsonb;
  s    jsonb;
  k    jsonb;
  p    jsonb;
  v    text;
  vals jsonb;
  ok   boolean;
  hit  boolean;
  ci   boolean;
  stick text;
  pct  numeric;
BEGIN
  SELECT f.definition INTO def FROM metastore.flags f WHERE f.name = flag AND f.deleted_at IS NULL;
  IF def IS NULL OR NOT coalesce((def ->> 'enabled')::boolean, false) THEN
    RETURN false;
  END IF;
  IF coalesce(jsonb_array_length(def -> 'strategies'), 0) = 0 THEN
    RETURN true;
  END IF;
  FOR s IN SELECT jsonb_array_elements(def -> 'strategies') LOOP
    CONTINUE WHEN coalesce((s ->> 'disabled')::boolean, false);
    ok := true;
    FOR k IN SELECT jsonb_array_elements(coalesce(s -> 'constraints', '[]')) LOOP
      v := nullif(coalesce(context ->> (k ->> 'contextName'),
                           context -> 'properties' ->> (k ->> 'contextName')), '');
      vals := coalesce(k -> 'values', '[]');
      ci := coalesce((k ->> 'caseInsensitive')::boolean, false);
      IF ci THEN v := lower(v); END IF;
      hit := CASE k ->> 'operator'
        WHEN 'IN' THEN v IS NOT NULL AND vals ? v
        WHEN 'NOT_IN' THEN v IS NULL OR NOT vals ? v
        WHEN 'STR_STARTS_WITH' THEN v IS NOT NULL AND EXISTS (
          SELECT 1 FROM jsonb_array_elements_text(vals) x
           WHERE starts_with(v, CASE WHEN ci THEN lower(x) ELSE x END))
        WHEN 'STR_ENDS_WITH' THEN v IS NOT NULL AND EXISTS (
          SELECT 1 FROM jsonb_array_elements_text(vals) x
           WHERE right(v, length(x)) = CASE WHEN ci THEN lower(x) ELSE x END)
        WHEN 'STR_CONTAINS' THEN v IS NOT NULL AND EXISTS (
          SELECT 1 FROM jsonb_array_elements_text(vals) x
           WHERE strpos(v, CASE WHEN ci THEN lower(x) ELSE x END) > 0)
        WHEN 'NUM_EQ' THEN v ~ '^-?[0-9.]+$' AND v::numeric = (k ->> 'value')::numeric
        WHEN 'NUM_GT' THEN v ~ '^-?[0-9.]+$' AND v::numeric > (k ->> 'value')::numeric
        WHEN 'NUM_GTE' THEN v ~ '^-?[0-9.]+$' AND v::numeric >= (k ->> 'value')::numeric
        WHEN 'NUM_LT' THEN v ~ '^-?[0-9.]+$' AND v::numeric < (k ->> 'value')::numeric
        WHEN 'NUM_LTE' THEN v ~ '^-?[0-9.]+$' AND v::numeric <= (k ->> 'value')::numeric
        ELSE false
      END;
      IF coalesce((k ->> 'inverted')::boolean, false) THEN hit := NOT hit; END IF;
      IF NOT hit THEN ok := false; EXIT; END IF;
    END LOOP;
    CONTINUE WHEN NOT ok;
    p := coalesce(s -> 'parameters', '{}');
    CASE s ->> 'name'
      WHEN 'default' THEN
        RETURN true;
      WHEN 'userWithId' THEN
        v := nullif(context ->> 'userId', '');
        IF v IS NOT NULL AND v = ANY (string_to_array(replace(p ->> 'userIds', ' ', ''), ',')) THEN
          RETURN true;
        END IF;
      WHEN 'flexibleRollout' THEN
        stick := coalesce(p ->> 'stickiness', 'default');
        v := nullif(CASE WHEN stick IN ('default', 'userId') THEN coalesce(context ->> 'userId', context -> 'properties' ->> 'userId')
                         ELSE coalesce(context ->> stick, context -> 'properties' ->> stick) END, '');
        pct := (p ->> 'rollout')::numeric;
        IF v IS NOT NULL AND pct > 0
           AND metastore.bucket(coalesce(p ->> 'groupId', flag) || ':' || v) <= pct THEN
          RETURN true;
        END IF;
      ELSE
        NULL;
    END CASE;
  END LOOP;
  RETURN false;
END
$fn$;
VACUUM ANALYZE users;
SQL
load_secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.0f", b - a}')
sizes=$(sql -c "SELECT pg_size_pretty(pg_relation_size('users')) || ' heap, '
                       || pg_size_pretty(pg_indexes_size('users')) || ' indexes'")
mix=$(sql -c "SELECT round(100.0 * count(*) FILTER (WHERE country IN ('NL','BE','DE')) / count(*), 1) || '% pass the country constraint, '
                  || round(100.0 * count(*) FILTER (WHERE starts_with(plan, 'pro')) / count(*), 1) || '% the plan constraint, '
                  || round(100.0 * count(*) FILTER (WHERE country IN ('NL','BE','DE') AND starts_with(plan, 'pro')) / count(*), 1)
                  || '% both' FROM users")
log "loaded in ${load_secs}s ($sizes); $mix"

# ---- the SQL sides -----------------------------------------------------------------

CTX="jsonb_build_object('userId', u.user_id, 'country', u.country, 'plan', u.plan)"
SIDES=(bare bare_ctx sql plpgsql is_enabled evaluate)
declare -A Q DESC
Q[bare]="SELECT count(*) FROM users u"
DESC[bare]="bare: \`SELECT count(*) FROM users u\`"
Q[bare_ctx]="SELECT count(*) FROM users u WHERE $CTX IS NOT NULL"
DESC[bare_ctx]="bare + context: \`WHERE jsonb_build_object('userId', .., 'country', .., 'plan', ..) IS NOT NULL\`"
Q[sql]="SELECT count(*) FROM users u WHERE u.country IN ('NL', 'BE', 'DE') AND starts_with(u.plan, 'pro') AND metastore.bucket('checkout:' || u.user_id) <= 30"
DESC[sql]="hand-written predicate, no flag system: \`country IN (..) AND starts_with(plan, 'pro') AND metastore.bucket('checkout:' \|\| user_id) <= 30\`"
Q[plpgsql]="SELECT count(*) FROM users u WHERE bench_eval('$FLAG', $CTX)"
DESC[plpgsql]="PL/pgSQL evaluator: \`WHERE bench_eval('$FLAG', <context>)\`"
Q[is_enabled]="SELECT count(*) FROM users u WHERE metastore.is_enabled('$FLAG', $CTX)"
DESC[is_enabled]="\`WHERE metastore.is_enabled('$FLAG', <context>)\`"
Q[evaluate]="SELECT count(*) FROM users u WHERE (metastore.evaluate('$FLAG', $CTX) ->> 'enabled')::boolean"
DESC[evaluate]="\`WHERE (metastore.evaluate('$FLAG', <context>) ->> 'enabled')::boolean\`"
EVALUATORS=(sql plpgsql is_enabled evaluate)

# run_sides OUT SIDE...: one session, each side once; OUT gets "side count ms" lines
run_sides() {
  local out=$1; shift
  {
    echo "SET max_parallel_workers_per_gather = 0;"
    echo '\timing on'
    for s in "$@"; do
      echo "\\echo @@ $s"
      echo "${Q[$s]};"
    done
  } > "$TMP/round.sql"
  sql -f "$TMP/round.sql" > "$TMP/round.out"
  awk '/^@@ / {s = $2; c = ""; next}
       /^Time: / {print s, c, $2; next}
       /^[0-9]+$/ {c = $1}' "$TMP/round.out" > "$out"
  [ "$(wc -l < "$out")" -eq "$#" ] || { cat "$TMP/round.out" >&2; log "could not read the timings"; exit 1; }
}

log "warm-up and check: every side once, untimed"
run_sides "$TMP/check" "${SIDES[@]}"
declare -A COUNT
while read -r s c _; do COUNT[$s]=$c; done < "$TMP/check"
SAME=1
for s in "${EVALUATORS[@]}"; do
  [ "${COUNT[$s]}" = "${COUNT[is_enabled]}" ] || SAME=0
done
log "counts: $(for s in "${SIDES[@]}"; do printf '%s=%s ' "$s" "${COUNT[$s]}"; done)"
if [ "$SAME" != 1 ]; then
  log "the evaluators disagree: the comparison would be worthless"
  printf '\n**%s: the evaluators count different users:** %s\n' "$ME" \
    "$(for s in "${EVALUATORS[@]}"; do printf '%s %s; ' "$s" "${COUNT[$s]}"; done)"
  exit 1
fi

declare -A MS
for ((r = 0; r < ROUNDS; r++)); do
  order=()
  for ((i = 0; i < ${#SIDES[@]}; i++)); do order+=("${SIDES[$(( (i + r) % ${#SIDES[@]} ))]}"); done
  run_sides "$TMP/r" "${order[@]}"
  line=""
  while read -r s c ms; do
    if [ "$c" != "${COUNT[$s]}" ]; then log "round $((r + 1)): $s counted $c, before ${COUNT[$s]}"; exit 1; fi
    MS[$s]="${MS[$s]:-} $ms"; line="$line $s=${ms}ms"
  done < "$TMP/r"
  log "round $((r + 1))/$ROUNDS:$line"
done

declare -A MED
for s in "${SIDES[@]}"; do MED[$s]=$(echo "${MS[$s]}" | median_of); done
settings=$(sql -c "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name)
                     FROM pg_settings WHERE name IN ('shared_buffers', 'work_mem', 'jit', 'max_parallel_workers_per_gather')")
server=$(sql -c "SELECT version()" 2>/dev/null || echo unknown)
# per-round ratio of rates X / plpgsql = plpgsql ms / X ms
per_round_ratio() {
  paste <(echo "${MS[plpgsql]}" | tr ' ' '\n' | grep .) <(echo "${MS[$1]}" | tr ' ' '\n' | grep .) |
    awk '{printf "%s%.1f", (NR > 1 ? ", " : ""), $1 / $2}'
}
us_row() { awk -v a="$1" -v n="$USERS" 'BEGIN {printf "%.3f", a * 1000 / n}'; }
us_over() { awk -v a="$1" -v b="$2" -v n="$USERS" 'BEGIN {printf "%+.3f", (a - b) * 1000 / n}'; }

{
  cat <<EOF

### Flag evaluation: is_enabled / evaluate vs a PL/pgSQL evaluator and the bare query ($(date -u '+%Y-%m-%d %H:%M UTC'))

- command: \`$cmd\`
- machine: $(nproc) CPUs, $cpu, $ram RAM
- server: $server
- metastore: git $rev; $build
- server settings: $settings; PGOPTIONS='${PGOPTIONS:-}'. The script sets \`max_parallel_workers_per_gather = 0\` in every session: the flag functions are PARALLEL RESTRICTED, so with workers only the baselines would run in parallel
- data: $USERS distinct users (uuid, country, plan), $sizes, loaded in $load_secs s; $mix; flag \`$FLAG\`: one flexibleRollout strategy (30%, stickiness userId, groupId checkout) with constraints country IN [NL, BE, DE] and plan STR_STARTS_WITH [pro]
- each side is one \`SELECT count(*)\` over a sequential scan of all $USERS users, timed by psql \\timing (so including the round trip); one untimed run of each, then $ROUNDS round(s), each side once per round in rotating order; medians

| side | users counted | median ms | evaluations/s | µs/row | over bare+context (µs/row) | over bare (µs/row) | per round (ms) |
|---|---:|---:|---:|---:|---:|---:|---|
EOF
  for s in "${SIDES[@]}"; do
    m=${MED[$s]}
    printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "${DESC[$s]}" "${COUNT[$s]}" "$m" \
      "$(awk -v m="$m" -v n="$USERS" 'BEGIN {printf "%.0f", n / (m / 1000)}')" "$(us_row "$m")" \
      "$(us_over "$m" "${MED[bare_ctx]}")" "$(us_over "$m" "${MED[bare]}")" "$(echo "${MS[$s]}" | sed 's/^ //; s/ /, /g')"
  done
  cat <<EOF

- is_enabled vs the PL/pgSQL evaluator (rate): **$(ratio "${MED[plpgsql]}" "${MED[is_enabled]}")×** (per round: $(per_round_ratio is_enabled)); target ≥ 8×
- evaluate vs the PL/pgSQL evaluator (rate): **$(ratio "${MED[plpgsql]}" "${MED[evaluate]}")×** (per round: $(per_round_ratio evaluate))
- is_enabled adds **$(us_over "${MED[is_enabled]}" "${MED[bare_ctx]}") µs/row** over the bare query with the same context ($(us_over "${MED[is_enabled]}" "${MED[bare]}") over the truly bare count); target ≤ 0.5 µs
- evaluate adds $(us_over "${MED[evaluate]}" "${MED[bare_ctx]}") µs/row over the bare query with context ($(us_over "${MED[evaluate]}" "${MED[bare]}") over the truly bare count)
- the hand-written predicate (no flag lookup, no context object) adds $(us_over "${MED[sql]}" "${MED[bare]}") µs/row over the truly bare count
EOF
} > "$TMP/sql_report.md"

# ---- HTTP: OFREP vs /health/ready ------------------------------------------------------

http_note=""
http_rc=0
http_part() {
  if [ "$HTTP" = 0 ]; then http_note="skipped (BENCH_HTTP=0)"; return; fi
  command -v wrk >/dev/null || { http_note="skipped: wrk is missing (apt-get install wrk)"; return; }
  command -v curl >/dev/null || { http_note="skipped: curl is missing"; return; }
  [ -x "$SHIM" ] || { http_note="skipped: no shim at $SHIM (make -C http-shim)"; return; }

  local pw key url port
  pw=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
  key=$("${PSQL[@]}" -d "$DB" -tA -v role="$SHIM_ROLE" -v pw="$pw" -v ns="$NS" 2>"$TMP/key.err" <<'SQL'
SET client_min_messages = warning;
SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') AS missing \gset
\if :missing
CREATE ROLE :"role" LOGIN;
\endif
ALTER ROLE :"role" PASSWORD :'pw';
SELECT metastore."grant"('bench-flags', :'ns', 'reader') \g /dev/null
SELECT api_key FROM metastore.create_api_key('bench-flags', 'flags benchmark', now() + interval '2 hours');
SQL
  ) || true
  [[ $key =~ ^ms_ ]] || { http_note="skipped: could not create an API key ($(head -c 300 "$TMP/key.err" | tr '\n' ' '))"; http_rc=1; return; }

  if [ -n "$HPORT" ]; then port=$HPORT
  else
    for port in $(seq 18100 18199); do
      (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
    done
  fi
  url="http://127.0.0.1:$port"
  log "starting the shim on port $port"
  # shellcheck disable=SC2086
  "$SHIM" --port "$port" --database-url "host=$PGHOST port=$PGPORT dbname=$DB user=$SHIM_ROLE password=$pw" \
    $SHIM_ARGS > "$TMP/shim.log" 2>&1 &
  SHIM_PID=$!
  for _ in $(seq 100); do
    curl -fs "$url/health/ready" >/dev/null 2>&1 && break
    kill -0 "$SHIM_PID" 2>/dev/null || break
    sleep 0.1
  done
  if ! curl -fs "$url/health/ready" >/dev/null 2>&1; then
    http_note="failed: the shim did not become ready ($(tail -3 "$TMP/shim.log" | tr '\n' ' '))"; http_rc=1; return
  fi

  # the contexts: every (USERS / CONTEXTS)-th user, as OFREP bodies; and the
  # expected answer of the first 200 from is_enabled
  sql -c "SELECT json_build_object('context', json_build_object('targetingKey', user_id, 'country', country, 'plan', plan))
            FROM users WHERE id % greatest($USERS / $CONTEXTS, 1) = 0 ORDER BY id LIMIT $CONTEXTS" > "$TMP/bodies"
  sql -c "SELECT json_build_object('context', json_build_object('targetingKey', user_id, 'country', country, 'plan', plan)),
                 metastore.is_enabled('$FLAG', jsonb_build_object('userId', user_id, 'country', country, 'plan', plan))
            FROM users WHERE id % greatest($USERS / $CONTEXTS, 1) = 0 ORDER BY id LIMIT 200" -F $'\t' > "$TMP/expected"
  local path="/ofrep/v1/evaluate/flags/$FLAG" code body
  post() {   # body -> prints the status; response body in $TMP/resp
    curl -s -o "$TMP/resp" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
      -H "Authorization: ApiKey $key" --data-binary "$1" "$url$path"
  }
  code=$(post "$(head -1 "$TMP/bodies")")
  body=$(head -c 400 "$TMP/resp")
  if [ "$code" = 404 ] && ! grep -q '"errorCode"' "$TMP/resp"; then
    http_note="**route missing (404)**: POST $path answered $code $body"; return
  fi
  if [ "$code" != 200 ]; then
    http_note="failed: POST $path answered $code $body"; http_rc=1; return
  fi
  # same answers as is_enabled
  local n=0 bad=0 want got
  while IFS=$'\t' read -r b want; do
    code=$(post "$b")
    got=$(sed -n 's/.*"value"[[:space:]]*:[[:space:]]*\(true\|false\).*/\1/p' "$TMP/resp")
    n=$((n + 1))
    if [ "$code" != 200 ] || [ "${got:0:1}" != "$want" ]; then
      bad=$((bad + 1))
      [ "$bad" -le 3 ] && log "OFREP disagrees with is_enabled ($want): $b -> $code $(head -c 300 "$TMP/resp")"
    fi
  done < "$TMP/expected"
  if [ "$bad" -gt 0 ]; then
    http_note="failed: OFREP's value differs from is_enabled for $bad of $n users (sample answer: $body)"; http_rc=1; return
  fi
  OFREP_SAMPLE=$body
  log "OFREP agrees with is_enabled for $n users; e.g. $body"

  cat > "$TMP/ofrep.lua" <<EOF
local reqs = {}
local i = 0
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end
function init(args)
  local headers = {["Content-Type"] = "application/json", ["Authorization"] = "ApiKey $key"}
  for line in io.lines("$TMP/bodies") do
    reqs[#reqs + 1] = wrk.format("POST", "$path", headers, line)
  end
  i = (tid * 7919) % #reqs
end
function request()
  i = i % #reqs + 1
  return reqs[i]
end
EOF
  run_http() {   # O | H -> requests/s; any non-2xx answer fails the run
    local out="$TMP/wrk.out"
    if [ "$1" = O ]; then
      wrk -t"$THREADS" -c"$CONNS" -d"$2s" -s "$TMP/ofrep.lua" "$url" > "$out" 2>&1
    else
      wrk -t"$THREADS" -c"$CONNS" -d"$2s" "$url/health/ready" > "$out" 2>&1
    fi
    if grep -q "Non-2xx" "$out"; then cat "$out" >&2; log "side $1 had non-2xx answers"; return 1; fi
    # socket errors (a timeout on a busy machine) are counted and reported, not fatal
    if grep -q "Socket errors" "$out"; then
      sed -n 's/^ *Socket errors: *//p' "$out" | tee -a "$TMP/sockerr.$1" | sed "s/^/$ME: side $1 socket errors: /" >&2
    fi
    sed -n 's/^Requests\/sec: *\([0-9.]*\)/\1/p' "$out"
  }
  log "HTTP warm-up, ${HWARMUP}s per side"
  if [ "$HWARMUP" -gt 0 ]; then
    run_http O "$HWARMUP" >/dev/null || { http_note="failed: see stderr"; http_rc=1; return; }
    run_http H "$HWARMUP" >/dev/null || { http_note="failed: see stderr"; http_rc=1; return; }
  fi
  declare -gA RPS=()
  local v s
  for ((r = 0; r < HROUNDS; r++)); do
    for s in $([ $((r % 2)) -eq 0 ] && echo "O H" || echo "H O"); do
      v=$(run_http "$s" "$SECS") || { http_note="failed: see stderr"; http_rc=1; return; }
      RPS[$s]="${RPS[$s]:-} $v"; log "HTTP round $((r + 1))/$HROUNDS $s: $v req/s"
    done
  done
  http_note=ok
}
OFREP_SAMPLE=""
http_part

# ---- report ----------------------------------------------------------------------------

cat "$TMP/sql_report.md"
if [ "$http_note" = ok ]; then
  mO=$(echo "${RPS[O]}" | median_of); mH=$(echo "${RPS[H]}" | median_of)
  sockerrs() { if [ -s "$TMP/sockerr.$1" ]; then paste -sd';' "$TMP/sockerr.$1" | sed 's/;/; /g'; else echo none; fi; }
  cat <<EOF

#### HTTP: OFREP evaluation vs /health/ready ($CONNS connections, $THREADS threads, ${SECS}s × $HROUNDS rounds after ${HWARMUP}s warm-up per side, medians)

Shim: \`$(basename "$SHIM")\` ${SHIM_ARGS:-(default options: 8 pooled connections)}, against the bench database, as a login role with no grants; wrk, the shim and PostgreSQL share the machine.

| side | request | median req/s | per round |
|---|---|---:|---|
| O | POST /ofrep/v1/evaluate/flags/$FLAG with an API key, {"context": {targetingKey, country, plan}} of $CONTEXTS users, cycled | $mO | $(echo "${RPS[O]}" | sed 's/^ //; s/ /, /g') |
| H | GET /health/ready (one bare database round trip) | $mH | $(echo "${RPS[H]}" | sed 's/^ //; s/ /, /g') |

- ratio O/H: **$(ratio "$mO" "$mH")** (target ≥ 0.6); OFREP's value matched is_enabled for 200 users before timing; a sample answer: \`$OFREP_SAMPLE\`
- wrk socket errors (warm-up included; counted, not fatal): O: $(sockerrs O); H: $(sockerrs H)
EOF
else
  printf '\n#### HTTP: OFREP evaluation vs /health/ready\n\n%s\n' "$http_note"
fi

# plans, after timing (warm caches); the PL/pgSQL side is left out (it takes long and its plan is the same)
printf '\n#### Plans (EXPLAIN (ANALYZE, VERBOSE, BUFFERS), same session settings)\n'
for s in bare_ctx is_enabled evaluate; do
  printf '\n%s:\n\n```\n' "$s"
  sql -c "SET max_parallel_workers_per_gather = 0" -c "EXPLAIN (ANALYZE, VERBOSE, BUFFERS) ${Q[$s]}" 2>&1 || true
  printf '```\n'
done
exit "$http_rc"
