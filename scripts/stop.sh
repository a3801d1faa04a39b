#!/usr/bin/env bash
# make stop: stop what make run started (data under .run/ is kept).
set -euo pipefail
source "$(dirname "$0")/env.sh"
SHIM_PID=$RUN_DIR/shim.pid
if [ -s "$SHIM_PID" ] && kill -0 "$(cat "$SHIM_PID")" 2>/dev/null; then
  kill -TERM "$(cat "$SHIM_PID")"
  for _ in $(seq 75); do kill -0 "$(cat "$SHIM_PID")" 2>/dev/null || break; sleep 0.2; done
  rm -f "$SHIM_PID"
  echo "stop: HTTP shim stopped"
fi
if [ -s "$PGDATA_DIR/PG_VERSION" ] && as_run_user "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; then
  as_run_user "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null
  echo "stop: PostgreSQL stopped"
else
  echo "stop: nothing running"
fi
