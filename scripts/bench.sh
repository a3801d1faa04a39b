#!/usr/bin/env bash
# make bench: run every benchmark under bench/ against the `make run` cluster
# (starting it if needed).  Results go to stdout; copy the tables into
# docs/benchmarks.md together with the command and the machine.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
scripts/run.sh >/dev/null
command -v wrk >/dev/null || { [ "$(id -u)" -eq 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
export PGHOST=${PGHOST:-$RUN_DIR} PGPORT=${PGPORT:-$DB_PORT} PGUSER=${PGUSER:-postgres}
for b in bench/*.sh; do
  echo "=== $b"
  "$b"
done
