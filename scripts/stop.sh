#!/usr/bin/env bash
# make stop: stop what make run started (data under .run/ is kept).
set -euo pipefail
source "$(dirname "$0")/env.sh"
if [ -s "$PGDATA_DIR/PG_VERSION" ] && as_run_user "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; then
  as_run_user "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null
  echo "stop: PostgreSQL stopped"
else
  echo "stop: nothing running"
fi
