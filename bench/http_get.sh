#!/usr/bin/env bash
# bench/http_get.sh: the shim's records route against its bare database
# round trip, same shim, same run.  wrk at 16 connections against
#   R  GET /records/{random key}  (authenticate + get_record + JSON, via http_dispatch)
#   H  GET /health/ready          (one trivial query on a pooled connection)
# Target (issue): R >= 0.6 of H's requests/s.
#
# Uses the `make run` stack (cluster + shim on APP_PORT, default 8002) and its
# database; seeds BENCH_KEYS records in namespace "bench" and a reader key.
# Settings: BENCH_KEYS=10000 BENCH_SECONDS=10 BENCH_ROUNDS=5 BENCH_CONNECTIONS=16 BENCH_THREADS=2
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PGHOST=${PGHOST:-$ROOT/.run} PGPORT=${PGPORT:-5433} PGUSER=${PGUSER:-postgres}
DB=${METASTORE_DB_NAME:-metastore}
URL=${BENCH_URL:-http://127.0.0.1:${APP_PORT:-8002}}
KEYS=${BENCH_KEYS:-10000}
SECS=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-5}
CONNS=${BENCH_CONNECTIONS:-16}
THREADS=${BENCH_THREADS:-2}
command -v wrk >/dev/null || { echo "http_get: wrk is missing (apt-get install wrk)" >&2; exit 1; }
curl -fs "$URL/health/ready" >/dev/null || { echo "http_get: no ready shim at $URL (make run)" >&2; exit 1; }
log() { echo "http_get: $*" >&2; }
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT

log "seeding $KEYS records in namespace bench"
KEY=$(psql -X -q -tA -v ON_ERROR_STOP=1 -d "$DB" -v keys="$KEYS" <<'SQL'
SELECT count(*) FROM generate_series(1, :keys) i,
  LATERAL metastore.put_record('bench', 'key-' || i, jsonb_build_object('n', i, 'tags', jsonb_build_array('a', 'b'))) r \g /dev/null
SELECT metastore."grant"('bench-http', 'bench', 'reader') \g /dev/null
SELECT api_key FROM metastore.create_api_key('bench-http', 'http benchmark', now() + interval '1 hour');
SQL
)
cat > "$TMP/records.lua" <<EOF
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/records/key-" .. math.random(1, $KEYS) .. "?namespace=bench")
end
EOF

run() {   # $1 = R | H ; prints requests/s, fails on any non-2xx
  local out="$TMP/out"
  if [ "$1" = R ]; then
    wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" -H "Authorization: ApiKey $KEY" -s "$TMP/records.lua" "$URL" > "$out"
  else
    wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" "$URL/health/ready" > "$out"
  fi
  if grep -q "Non-2xx" "$out"; then cat "$out" >&2; echo "http_get: side $1 had non-2xx answers" >&2; exit 1; fi
  sed -n 's/^Requests\/sec: *\([0-9.]*\)/\1/p' "$out"
}
median() { tr ' ' '\n' | grep . | sort -g |
  awk '{v[NR]=$1} END {if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }

run R >/dev/null; run H >/dev/null     # warm-up
declare -A RPS
for ((r = 0; r < ROUNDS; r++)); do
  for s in $([ $((r % 2)) -eq 0 ] && echo "R H" || echo "H R"); do
    v=$(run "$s"); RPS[$s]="${RPS[$s]:-} $v"; log "round $((r + 1)) $s: $v req/s"
  done
done
mR=$(echo "${RPS[R]}" | median); mH=$(echo "${RPS[H]}" | median)
printf '\n### HTTP: GET /records/{key} vs /health/ready (%s, %s connections, %s threads, %ss x %s rounds, medians)\n\n' \
  "$(date -u +%Y-%m-%d)" "$CONNS" "$THREADS" "$SECS" "$ROUNDS"
echo '| side | request | median req/s | per round |'
echo '|---|---|---:|---|'
echo "| R | GET /records/{random of $KEYS keys} with an API key | $mR | ${RPS[R]} |"
echo "| H | GET /health/ready (one bare database round trip) | $mH | ${RPS[H]} |"
echo
echo "Ratio R/H: **$(awk -v r="$mR" -v h="$mH" 'BEGIN {printf "%.2f", r / h}')** (target: at least 0.6)."
