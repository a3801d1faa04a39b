#!/usr/bin/env bash
# bench/search.sh: metastore.search_records(namespace, query) against the SQL a
# PostgreSQL expert would write by hand for the same predicate, order and
# limit, returning the same page, on the same data in the same run.
#
# For each size N (BENCH_SIZES, default "10000 1000000") the script drops and
# recreates BENCH_DATABASE, loads N generated records into namespace "bench"
# (INSERT ... SELECT from generate_series straight into metastore.records, with
# the history trigger disabled for the load) and BENCH_OTHER records into each
# of two other namespaces, then VACUUM ANALYZE.  The fixed query set:
#   q1a  metadata.service.name eq a value held by ~10 records
#   q1b  metadata.service.name eq a value held by ~10% of the records
#   q2   tags array_contains one tag (~3% of the records)
#   q3   metadata has_key a key present in ~1% of the records
#   q4   key prefix (~1%) + metadata.replicas between 10 and 40 + a tag (~14%)
#   q5   q4 sorted by updated_at desc, BENCH_PAGES keyset pages (p1..p5), each
#        page fetched with the previous page's cursor and measured on its own
# Each side is one statement, sent by pgbench (by default in the simple protocol,
# so both are parsed and planned on every call):
#   search    SELECT metastore.search_records('bench', '<query>')
#   baseline  SELECT json_build_object('items', json_agg(<record as jsonb> ORDER BY ...))
#               FROM (SELECT * ... WHERE namespace = 'bench' AND deleted_at IS NULL
#                       AND <hand-written predicate> ORDER BY ... LIMIT 50) r
#             (keyset pages: AND (updated_at, key COLLATE "C") < (the last row's))
#             The items are the same jsonb objects search_records returns, the page
#             one JSON document; json_agg, because jsonb_agg costs about 0.5 ms more
#             for 50 records here (it re-parses every item), and an expert would
#             not pay that just to send text to the client.
# One pgbench run per query and round holds both scripts (-f search -f
# baseline, one client): pgbench picks one at random for every transaction, so
# the two sides are interleaved call by call and share whatever the machine is
# doing.  Per-transaction latencies come from pgbench --log; the report gives
# the median and p95 of each side over all rounds, and the ratios
# search/baseline of both.  Before timing, each query is run once on both
# sides and a WARNING is printed if the keys or their order differ.  For the
# largest N, the plans (metastore.explain_search(..., analyze_query => true), and
# EXPLAIN (ANALYZE, BUFFERS) of the baseline) are printed after the tables.
#
# Connection: the libpq variables PGHOST / PGPORT / PGUSER (default: the
# `make run` cluster, which sets metastore.server_secret_file: search cursors
# need it).  Or BENCH_CLUSTER=virtualenv: the script makes a server secret and
# runs itself inside pg_virtualenv (a throwaway cluster, removed afterwards);
# BENCH_SERVER_SETTINGS="shared_buffers=1GB ..." then sets postgresql.conf.
# The script DROPS and recreates BENCH_DATABASE (default
# metastore_bench_search; the name must contain "bench") and drops it at the
# end unless BENCH_KEEP=1.  Settings (environment): BENCH_SIZES="10000 1000000"
# BENCH_OTHER=3000 BENCH_SECONDS=6 (per query and round, both sides together)
# BENCH_ROUNDS=5 BENCH_WARMUP=2 (seconds per query before round 1, not counted)
# BENCH_LIMIT=50 BENCH_PAGES=5 BENCH_PROTOCOL=simple (pgbench -M: simple,
# extended or prepared) PGBENCH.  Session settings through PGOPTIONS.
# Results (markdown) go to stdout, progress and warnings to stderr.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_MAJOR=${PG_MAJOR:-15}
ME=search

# ---- optional throwaway cluster ------------------------------------------------

# shellcheck source=bench/virtualenv.sh
source "$ROOT/bench/virtualenv.sh"

export PGHOST=${PGHOST:-$ROOT/.run}
export PGPORT=${PGPORT:-5433}
export PGUSER=${PGUSER:-postgres}
unset PGDATABASE
DB=${BENCH_DATABASE:-metastore_bench_search}
SIZES=${BENCH_SIZES:-10000 1000000}
OTHER=${BENCH_OTHER:-3000}
SECS=${BENCH_SECONDS:-6}
ROUNDS=${BENCH_ROUNDS:-5}
WARMUP=${BENCH_WARMUP:-2}
LIMIT=${BENCH_LIMIT:-50}
PAGES=${BENCH_PAGES:-5}
PROTOCOL=${BENCH_PROTOCOL:-simple}
KEEP=${BENCH_KEEP:-0}
NS=bench

if [ -n "${PGBENCH:-}" ]; then :
elif [ -x "/usr/lib/postgresql/$PG_MAJOR/bin/pgbench" ]; then PGBENCH=/usr/lib/postgresql/$PG_MAJOR/bin/pgbench
else PGBENCH=$(command -v pgbench || true)
fi
if [ -z "$PGBENCH" ] || [ ! -x "$PGBENCH" ]; then echo "$ME: pgbench not found (set PGBENCH)" >&2; exit 1; fi

for v in OTHER SECS ROUNDS WARMUP LIMIT PAGES; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "$ME: $v must be a whole number" >&2; exit 1; }
done
for n in $SIZES; do
  [[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 100 ] || { echo "$ME: BENCH_SIZES must be whole numbers >= 100" >&2; exit 1; }
done
[ -n "${SIZES// /}" ] || { echo "$ME: BENCH_SIZES is empty" >&2; exit 1; }
if [ "$ROUNDS" -lt 1 ] || [ "$SECS" -lt 1 ] || [ "$PAGES" -lt 1 ] || [ "$LIMIT" -lt 1 ] || [ "$LIMIT" -gt 1000 ]; then
  echo "$ME: rounds, seconds and pages must be at least 1, limit 1 to 1000" >&2; exit 1
fi
case "$PROTOCOL" in
  simple|extended|prepared) ;;
  *) echo "$ME: BENCH_PROTOCOL must be simple, extended or prepared" >&2; exit 1 ;;
esac
case "$DB" in
  *bench*) ;;
  *) echo "$ME: refusing to drop database \"$DB\" (its name must contain \"bench\")" >&2; exit 1 ;;
esac

log() { echo "$ME: $*" >&2; }
PSQL=(psql -X -q -v ON_ERROR_STOP=1)
sql() { "${PSQL[@]}" -d "$DB" -tA "$@"; }
sq() { local s=$1; printf '%s' "${s//\'/\'\'}"; }       # body of a SQL string literal

TMP=$(mktemp -d)
cleanup() {
  rm -rf "$TMP"
  if [ "$KEEP" != 1 ]; then
    "${PSQL[@]}" -d postgres -c "SET client_min_messages = warning" \
      -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

# ---- the data --------------------------------------------------------------------
# Deterministic: every attribute of record i comes from hashint8extended(i + seed, k),
# so two runs load identical namespaces.  In namespace "bench" (N records):
#   key          svc/team-NN/<service name>-<i>       100 teams: a team's prefix is ~1%
#   service.name "gateway" for 10%, else svc-NNNNNN, one of N/10 names (~9 records each)
#   tags         env (prod 50%, staging 30%, dev 20%) + 0-3 of 27 more, weighted:
#                critical ~14%, pci ~3%, the other 25 ~5% each
#   metadata     service {name, tier 1-3, lang}, region (8), replicas 1-50, cost (decimal),
#                env, owner_team, labels [3 strings], image {repo, tag}; only in some records:
#                oncall (30%), sla (50%), deprecated (1%)
#   owner 80%, description 50%, version 1-10, created_at over 2 years, updated_at up to
#   300 days later.
GEN_SQL=$(cat <<'SQL'
CREATE FUNCTION pg_temp.h(i bigint, k bigint) RETURNS bigint
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT hashint8extended(i, k) & 9223372036854775807 $$;

CREATE FUNCTION pg_temp.bench_load(ns text, n bigint, seed bigint) RETURNS bigint
LANGUAGE sql AS $fn$
WITH vocab AS (
  -- the 27 tags besides env, each repeated by its weight (per 1000 draws)
  SELECT array_agg(t ORDER BY ord) AS arr
    FROM (SELECT t, ord FROM unnest(ARRAY[
            'critical','pci','web','api','batch','stream','ml','storage','cache','queue','db',
            'frontend','backend','internal','public','legacy','experimental','gpu','arm','spot',
            'gdpr','hipaa','sox','edge','cdn','search','billing'],
            ARRAY[100, 20, 40, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35,
                  35, 35, 35, 35, 35, 35, 35]) WITH ORDINALITY AS v(t, w, ord),
                 generate_series(1, w)) x
), base AS (
  SELECT g.i,
         'team-' || lpad((pg_temp.h(g.i + seed, 1) % 100)::text, 2, '0') AS team,
         CASE WHEN pg_temp.h(g.i + seed, 2) % 10 = 0 THEN 'gateway'
              ELSE 'svc-' || lpad((pg_temp.h(g.i + seed, 3) % greatest(n / 10, 1))::text, 6, '0') END AS name,
         (ARRAY['prod','prod','prod','prod','prod','staging','staging','staging','dev','dev'])
           [1 + pg_temp.h(g.i + seed, 8) % 10] AS env,
         timestamptz '2024-01-01 00:00:00+00'
           + make_interval(secs => (pg_temp.h(g.i + seed, 14) % (2 * 365 * 86400))::double precision) AS created_at,
         make_interval(secs => (pg_temp.h(g.i + seed, 15) % (300 * 86400))::double precision) AS age,
         pg_temp.h(g.i + seed, 9) % 4 AS nextra,
         g.i + seed AS s
    FROM generate_series(1, n) AS g(i)
), ins AS (
INSERT INTO metastore.records (namespace, key, metadata, tags, owner, content_type, description,
                               version, created_at, created_by, updated_at, updated_by)
SELECT ns,
       'svc/' || b.team || '/' || b.name || '-' || b.i,
       jsonb_build_object(
         'service', jsonb_build_object('name', b.name, 'tier', 1 + pg_temp.h(b.s, 4) % 3,
                                       'lang', (ARRAY['go','java','python','rust','node'])[1 + pg_temp.h(b.s, 16) % 5]),
         'region', (ARRAY['us-east-1','us-east-2','us-west-1','us-west-2','eu-west-1','eu-central-1',
                          'ap-south-1','ap-northeast-1'])[1 + pg_temp.h(b.s, 5) % 8],
         'replicas', 1 + pg_temp.h(b.s, 6) % 50,
         'cost', round((pg_temp.h(b.s, 7) % 100000) / 100.0, 2),
         'env', b.env,
         'owner_team', b.team,
         'labels', jsonb_build_array('app:' || b.name, 'env:' || b.env, 'team:' || b.team),
         'image', jsonb_build_object('repo', 'registry.example.com/' || b.team || '/' || b.name,
                                     'tag', 'v' || (1 + pg_temp.h(b.s, 17) % 20) || '.' || (pg_temp.h(b.s, 18) % 10)))
       || CASE WHEN pg_temp.h(b.s, 19) % 10 < 3
               THEN jsonb_build_object('oncall', jsonb_build_object('primary', 'user-' || pg_temp.h(b.s, 20) % 500,
                                                                    'rotation', 'weekly'))
               ELSE '{}' END
       || CASE WHEN pg_temp.h(b.s, 21) % 2 = 0
               THEN jsonb_build_object('sla', jsonb_build_object(
                      'availability', (ARRAY[99.9, 99.95, 99.99])[1 + pg_temp.h(b.s, 22) % 3],
                      'latency_ms', 50 + pg_temp.h(b.s, 23) % 451))
               ELSE '{}' END
       || CASE WHEN pg_temp.h(b.s, 24) % 100 = 0
               THEN jsonb_build_object('deprecated', jsonb_build_object(
                      'since', to_char(b.created_at + b.age, 'YYYY-MM-DD'), 'replacement', b.name || '-v2'))
               ELSE '{}' END,
       -- tags as put_record stores them: distinct, sorted by bytes
       ARRAY(SELECT DISTINCT t COLLATE "C" FROM unnest(ARRAY[b.env] || (ARRAY[
               v.arr[1 + pg_temp.h(b.s, 10) % 1000], v.arr[1 + pg_temp.h(b.s, 11) % 1000],
               v.arr[1 + pg_temp.h(b.s, 12) % 1000]])[1:b.nextra]) AS t ORDER BY 1),
       CASE WHEN pg_temp.h(b.s, 25) % 5 = 0 THEN NULL ELSE b.team END,
       'json',
       CASE WHEN pg_temp.h(b.s, 26) % 2 = 0 THEN 'Service ' || b.name || ' of ' || b.team END,
       1 + pg_temp.h(b.s, 13) % 10,
       b.created_at, 'loader', b.created_at + b.age, 'loader'
  FROM base b CROSS JOIN vocab v
RETURNING 1)
SELECT count(*) FROM ins
$fn$;
SQL
)

# ---- the queries -----------------------------------------------------------------
# For each: the search query document (without limit and cursor), the baseline's
# predicate and ORDER BY.  The baseline predicates are what docs/search.md says the
# filter compiles to, written the way one would by hand for these fields.

QIDS=(q1a q1b q2 q3 q4 q5)
declare -A QDESC QJSON QPRED QORDER
QDESC[q1a]='metadata.service.name eq "svc-000123" (~10 records)'
QJSON[q1a]='{"filter": {"field": "metadata.service.name", "op": "eq", "value": "svc-000123"}}'
QPRED[q1a]=$'metadata @> \'{"service": {"name": "svc-000123"}}\''
QDESC[q1b]='metadata.service.name eq "gateway" (~10%)'
QJSON[q1b]='{"filter": {"field": "metadata.service.name", "op": "eq", "value": "gateway"}}'
QPRED[q1b]=$'metadata @> \'{"service": {"name": "gateway"}}\''
QDESC[q2]='tags array_contains "pci" (~3%)'
QJSON[q2]='{"filter": {"field": "tags", "op": "array_contains", "value": "pci"}}'
QPRED[q2]=$'tags @> ARRAY[\'pci\']'
QDESC[q3]='metadata has_key "deprecated" (~1%)'
QJSON[q3]='{"filter": {"field": "metadata", "op": "has_key", "value": "deprecated"}}'
QPRED[q3]=$'metadata ? \'deprecated\''
Q4_FILTER='{"and": [{"field": "key", "op": "prefix", "value": "svc/team-42/"}, {"field": "metadata.replicas", "op": "between", "value": [10, 40]}, {"field": "tags", "op": "array_contains", "value": "critical"}]}'
Q4_PRED=$'key COLLATE "C" >= \'svc/team-42/\' AND key COLLATE "C" < \'svc/team-420\'\n     AND metadata -> \'replicas\' BETWEEN \'10\'::jsonb AND \'40\'::jsonb\n     AND tags @> ARRAY[\'critical\']'
QDESC[q4]='key prefix "svc/team-42/" (~1%) + metadata.replicas between [10, 40] + tags array_contains "critical"'
QJSON[q4]="{\"filter\": $Q4_FILTER}"
QPRED[q4]=$Q4_PRED
QDESC[q5]='q4 sorted by updated_at desc'
QJSON[q5]="{\"filter\": $Q4_FILTER, \"sort\": [{\"field\": \"updated_at\", \"dir\": \"desc\"}]}"
QPRED[q5]=$Q4_PRED
for q in q1a q1b q2 q3 q4; do QORDER[$q]='key COLLATE "C"'; done
QORDER[q5]='updated_at DESC, key COLLATE "C" DESC'

# The item of a page, as GET /records/{key} shows a record (metastore.http_record_json).
ITEM="jsonb_build_object('id', r.id, 'namespace', r.namespace, 'key', r.key, 'metadata', r.metadata,
         'tags', to_jsonb(r.tags), 'owner', r.owner, 'content_type', r.content_type,
         'description', r.description, 'version', r.version,
         'created_at', r.created_at, 'created_by', r.created_by,
         'updated_at', r.updated_at, 'updated_by', r.updated_by, 'deleted_at', r.deleted_at)"

# baseline_sql QID [keyset-condition]
baseline_sql() {
  local q=$1 keyset=${2:-}
  printf "SELECT json_build_object('items', coalesce(json_agg(%s ORDER BY %s), '[]'::json))\n" \
    "$ITEM" "$(echo "${QORDER[$q]}" | sed 's/\(updated_at\|key\)/r.\1/g')"
  printf "  FROM (SELECT * FROM metastore.records\n   WHERE namespace = '%s' AND deleted_at IS NULL\n     AND %s%s\n   ORDER BY %s\n   LIMIT %s) r;\n" \
    "$NS" "${QPRED[$q]}" "${keyset:+$'\n     AND '$keyset}" "${QORDER[$q]}" "$LIMIT"
}
# search_json QID [cursor]
search_json() {
  local j=${QJSON[$1]}
  j="${j%\}}, \"limit\": $LIMIT${2:+, \"cursor\": \"$2\"}}"
  printf '%s' "$j"
}
search_sql() { printf "SELECT metastore.search_records('%s', '%s');\n" "$NS" "$(sq "$(search_json "$@")")"; }

# keys of a page (one per line) from a search_records or baseline result
keys_of() { sql -c "SELECT e->>'key' FROM jsonb_array_elements(('$(sq "$1")'::jsonb)->'items') WITH ORDINALITY x(e, o) ORDER BY o"; }

# nearest-rank percentiles over one latency per line (µs) -> ms
pct() { sort -n "$1" | awk -v p="$2" '{v[NR] = $1} END {if (NR == 0) {print "nan"; exit} i = int(NR * p + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR; printf "%.3f\n", v[i] / 1000}'; }
median_of() { tr ' ' '\n' | grep . | sort -g |
  awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "nan"}'; }

# run_pair VARIANT SECONDS OUTTAG: one pgbench run of both scripts of a variant,
# appending the latencies (µs) to $TMP/lat/OUTTAG.{search,baseline}
run_pair() {
  local v=$1 secs=$2 tag=$3 out="$TMP/pgbench.out" lp="$TMP/plog"
  rm -f "$lp".*
  if ! "$PGBENCH" -n -M "$PROTOCOL" -c 1 -j 1 -T "$secs" --log --log-prefix="$lp" \
        -f "$TMP/sql/$v.search.sql" -f "$TMP/sql/$v.baseline.sql" "$DB" >"$out" 2>&1; then
    cat "$out" >&2; log "pgbench failed on $v"; exit 1
  fi
  if grep -qi "abort" "$out" || ! grep -q "^number of failed transactions: 0 " "$out"; then
    cat "$out" >&2; log "$v had failed or aborted transactions"; exit 1
  fi
  # log line: client_id transaction_no time(µs) script_no time_epoch time_us
  cat "$lp".* | awk -v s="$TMP/lat/$tag.search" -v b="$TMP/lat/$tag.baseline" \
    '$4 == 0 {print $3 >> s} $4 == 1 {print $3 >> b}'
}

# ---- the machine, once ---------------------------------------------------------------

source "$ROOT/bench/lib.sh"
cmd="bench/search.sh"
for v in BENCH_SIZES BENCH_OTHER BENCH_SECONDS BENCH_ROUNDS BENCH_WARMUP BENCH_LIMIT BENCH_PAGES BENCH_PROTOCOL \
         BENCH_CLUSTER BENCH_SERVER_SETTINGS PGOPTIONS; do
  [ -n "${!v:-}" ] && cmd="$v='${!v}' $cmd"
done
LARGEST=$(printf '%s\n' $SIZES | sort -n | tail -1)
REPORT=$TMP/report.md
PLANS=$TMP/plans.md
: > "$REPORT"; : > "$PLANS"
WARNINGS=()

# ---- one size ------------------------------------------------------------------------

for N in $SIZES; do
  log "N=$N: recreating database $DB on ${PGHOST}:${PGPORT} as $PGUSER"
  "${PSQL[@]}" -d postgres -c "SET client_min_messages = warning" \
    -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" -c "CREATE DATABASE \"$DB\""
  sql -c "SET client_min_messages = warning" -c "CREATE EXTENSION metastore" >/dev/null
  if [ "$(sql -c "SELECT count(*) FROM pg_proc WHERE oid = 'metastore.search_records'::regproc" 2>/dev/null)" != 1 ]; then
    log "metastore.search_records is not installed in this build"; exit 1
  fi
  EXPLAIN_ARGS=$(sql -c "SELECT pronargs FROM pg_proc WHERE proname = 'explain_search'
                          AND pronamespace = 'metastore'::regnamespace ORDER BY pronargs DESC LIMIT 1")

  log "N=$N: loading $N records into \"$NS\" and $OTHER into each of two other namespaces"
  t0=$(date +%s.%N)
  "${PSQL[@]}" -d "$DB" -v n="$N" -v other="$OTHER" -v ns="$NS" >/dev/null <<SQL
SET client_min_messages = warning;
SET maintenance_work_mem = '512MB';
$GEN_SQL
ALTER TABLE metastore.records DISABLE TRIGGER records_history;
SELECT pg_temp.bench_load(:'ns', :n, 0);
SELECT pg_temp.bench_load(:'ns' || '-other-1', :other, 1000000000);
SELECT pg_temp.bench_load(:'ns' || '-other-2', :other, 2000000000);
ALTER TABLE metastore.records ENABLE TRIGGER records_history;
VACUUM ANALYZE metastore.records;
SQL
  load_secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.0f", b - a}')
  sizes=$(sql -c "SELECT pg_size_pretty(pg_relation_size('metastore.records')) || ' heap, '
                    || pg_size_pretty(pg_indexes_size('metastore.records')) || ' indexes ('
                    || string_agg(c.relname || ' ' || pg_size_pretty(pg_relation_size(c.oid)), ', ' ORDER BY c.relname) || ')'
                    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                   WHERE i.indrelid = 'metastore.records'::regclass")
  log "N=$N: loaded in ${load_secs}s; $sizes"

  # -- the variants: q1a..q4 as one page each, q5 as pages p1..pPAGES
  rm -rf "$TMP/sql" "$TMP/lat"; mkdir -p "$TMP/sql" "$TMP/lat"
  VARIANTS=()
  declare -A VQ=() VDESC=() MATCHES=()
  for q in "${QIDS[@]}"; do
    MATCHES[$q]=$(sql -c "SELECT count(*) FROM metastore.records r
                           WHERE namespace = '$NS' AND deleted_at IS NULL AND ${QPRED[$q]}")
    if [ "$q" != q5 ]; then
      VARIANTS+=("$q"); VQ[$q]=$q; VDESC[$q]=${QDESC[$q]}
      search_sql "$q" > "$TMP/sql/$q.search.sql"
      baseline_sql "$q" > "$TMP/sql/$q.baseline.sql"
      continue
    fi
    cursor=""; keyset=""
    for ((p = 1; p <= PAGES; p++)); do
      v="q5p$p"
      VARIANTS+=("$v"); VQ[$v]=q5
      VDESC[$v]="${QDESC[q5]}, page $p"
      [ "$p" -gt 1 ] && VDESC[$v]="${VDESC[$v]} (cursor of page $((p - 1)))"
      search_sql q5 "$cursor" > "$TMP/sql/$v.search.sql"
      baseline_sql q5 "$keyset" > "$TMP/sql/$v.baseline.sql"
      # the next page's cursor and keyset come from this page (untimed)
      res=$(sql -f "$TMP/sql/$v.search.sql")
      cursor=$(sql -c "SELECT coalesce(('$(sq "$res")'::jsonb)->>'next_cursor', '')")
      base=$(sql -f "$TMP/sql/$v.baseline.sql")
      keyset=$(sql -c "SELECT format('(updated_at, key COLLATE \"C\") < (%L::timestamptz, %L)',
                                     i->>'updated_at', i->>'key')
                         FROM (SELECT (('$(sq "$base")'::jsonb)->'items')->-1 AS i) x WHERE i IS NOT NULL")
      if [ -z "$cursor" ] || [ -z "$keyset" ]; then
        [ "$p" -lt "$PAGES" ] && log "N=$N: q5 has no page $((p + 1)) (${MATCHES[q5]} matching records)"
        break
      fi
    done
  done

  # -- same keys, same order (untimed)
  declare -A SAME=()
  for v in "${VARIANTS[@]}"; do
    s_keys=$(keys_of "$(sql -f "$TMP/sql/$v.search.sql")")
    b_keys=$(keys_of "$(sql -f "$TMP/sql/$v.baseline.sql")")
    n_keys=$(printf '%s' "$b_keys" | grep -c . || true)
    if [ "$s_keys" = "$b_keys" ]; then
      SAME[$v]="same $n_keys keys"
    else
      SAME[$v]="**DIFFERENT**"
      w="WARNING: N=$N $v: search_records and the baseline return different keys or order ($(printf '%s' "$s_keys" | grep -c . || true) vs $n_keys keys)"
      WARNINGS+=("$w"); log "$w"
      diff <(printf '%s\n' "$s_keys") <(printf '%s\n' "$b_keys") | head -10 >&2 || true
    fi
  done

  # -- timing: both sides in one pgbench run per variant, interleaved per call
  if [ "$WARMUP" -gt 0 ]; then
    log "N=$N: warm-up, ${WARMUP}s per query"
    for v in "${VARIANTS[@]}"; do run_pair "$v" "$WARMUP" warmup; done
  fi
  declare -A RROUND=()
  for ((r = 1; r <= ROUNDS; r++)); do
    for v in "${VARIANTS[@]}"; do
      rm -f "$TMP/lat/round.search" "$TMP/lat/round.baseline"
      run_pair "$v" "$SECS" round
      cat "$TMP/lat/round.search" >> "$TMP/lat/$v.search"
      cat "$TMP/lat/round.baseline" >> "$TMP/lat/$v.baseline"
      ms=$(pct "$TMP/lat/round.search" 0.5); mb=$(pct "$TMP/lat/round.baseline" 0.5)
      RROUND[$v]="${RROUND[$v]:-} $(ratio "$ms" "$mb")"
      log "N=$N round $r/$ROUNDS $v: median search $ms ms, baseline $mb ms ($(wc -l < "$TMP/lat/round.search") + $(wc -l < "$TMP/lat/round.baseline") calls)"
    done
  done

  # -- report for this size
  settings=$(sql -c "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name)
                       FROM pg_settings WHERE name IN ('shared_buffers', 'work_mem', 'effective_cache_size',
                                                       'random_page_cost', 'jit', 'max_parallel_workers_per_gather')")
  {
    printf '\n#### search_records vs hand-written SQL, N = %s (%s)\n\n' "$N" "$(date -u '+%Y-%m-%d %H:%M UTC')"
    printf -- '- data: %s records in namespace "%s", %s in each of 2 other namespaces; loaded in %s s; %s\n' \
      "$N" "$NS" "$OTHER" "$load_secs" "$sizes"
    printf -- '- pgbench -n -M %s -c 1 -T %s, -f search -f baseline (picked at random per call), %s round(s) after %s s warm-up per query; limit %s\n' \
      "$PROTOCOL" "$SECS" "$ROUNDS" "$WARMUP" "$LIMIT"
    printf -- '- settings: %s; PGOPTIONS=%s\n\n' "$settings" "'${PGOPTIONS:-}'"
    echo '| query | matching | search median (ms) | search p95 | baseline median (ms) | baseline p95 | ratio median | ratio p95 | Δ median (ms) | ratio of medians per round | calls (search + baseline) | same page |'
    echo '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|'
    for v in "${VARIANTS[@]}"; do
      sm=$(pct "$TMP/lat/$v.search" 0.5); s95=$(pct "$TMP/lat/$v.search" 0.95)
      bm=$(pct "$TMP/lat/$v.baseline" 0.5); b95=$(pct "$TMP/lat/$v.baseline" 0.95)
      printf '| %s: %s | %s | %s | %s | %s | %s | **%s** | **%s** | %s | %s | %s + %s | %s |\n' \
        "$v" "${VDESC[$v]}" "${MATCHES[${VQ[$v]}]}" "$sm" "$s95" "$bm" "$b95" \
        "$(ratio "$sm" "$bm")" "$(ratio "$s95" "$b95")" "$(awk -v a="$sm" -v b="$bm" 'BEGIN {printf "%+.3f", a - b}')" \
        "$(echo "${RROUND[$v]}" | sed 's/^ //; s/ /, /g')" \
        "$(wc -l < "$TMP/lat/$v.search")" "$(wc -l < "$TMP/lat/$v.baseline")" "${SAME[$v]}"
    done
  } >> "$REPORT"

  # -- plans, for the largest size (after timing: warm caches)
  if [ "$N" = "$LARGEST" ]; then
    log "N=$N: plans"
    {
      printf '\n#### Plans at N = %s\n' "$N"
      for v in "${VARIANTS[@]}"; do
        printf '\n%s: %s\n\n' "$v" "${VDESC[$v]}"
        printf 'search: `%s`\n\n```\n' "$(search_json "${VQ[$v]}" | cut -c1-400)"
        if [ -n "$EXPLAIN_ARGS" ]; then
          j=$(sed -n "s/^SELECT metastore.search_records('$NS', '\(.*\)');\$/\1/p" "$TMP/sql/$v.search.sql")
          if [ "$EXPLAIN_ARGS" -ge 3 ]; then
            sql -c "SELECT * FROM metastore.explain_search('$NS', '$j', true)" 2>&1 || true
          else
            sql -c "SELECT * FROM metastore.explain_search('$NS', '$j')" 2>&1 || true
          fi
        else
          echo "(metastore.explain_search does not exist in this build)"
        fi
        printf '```\n\nbaseline:\n\n```\n'
        sed 's/;$//' "$TMP/sql/$v.baseline.sql" > "$TMP/explain.sql"
        sql -c "EXPLAIN (ANALYZE, BUFFERS) $(cat "$TMP/explain.sql")" 2>&1 || true
        printf '```\n'
      done
    } >> "$PLANS"
  fi
  unset VQ VDESC MATCHES SAME RROUND
done

# ---- report ------------------------------------------------------------------------------

server=$(sql -c "SELECT version()" 2>/dev/null || echo unknown)
cat <<EOF

### search_records vs hand-written SQL ($(date -u '+%Y-%m-%d %H:%M UTC'))

- command: \`$cmd\`
- machine: $(nproc) CPUs, $cpu, $ram RAM
- server: $server
- metastore: git $rev; $build
- each call is one statement, one client, pgbench -M $PROTOCOL$( [ "$PROTOCOL" = prepared ] && echo ' (the baseline, which has no parameters, is then planned once: its figures leave out parsing and planning, which search_records pays on every call)' || echo ' (both sides parsed and planned on every call; search_records keeps its statement prepared and plans it with each call'"'"'s values)'); latency per call from pgbench's per-transaction log, so it includes the round trip
- ratio = search / baseline (above 1: search is slower); targets (not asserted): p95 ≤ 10 ms at 1M records, ≤ 1.1× the hand-written SQL
EOF
cat "$REPORT"
for w in "${WARNINGS[@]}"; do printf '\n**%s**\n' "$w"; done
cat "$PLANS"
