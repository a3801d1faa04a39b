# Shared settings for scripts/*.sh (sourced, not run).
PG_MAJOR=${PG_MAJOR:-15}
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUN_DIR=${METASTORE_RUN_DIR:-$ROOT/.run}
PGDATA_DIR=$RUN_DIR/pgdata
DB_PORT=${METASTORE_DB_PORT:-5433}
DB_NAME=${METASTORE_DB_NAME:-metastore}
APP_PORT=${APP_PORT:-8002}
SHIM_BIN=$ROOT/http-shim/metastore-http
# the local cluster runs as this OS user (initdb refuses root)
RUN_USER=${METASTORE_RUN_USER:-postgres}

# Run a command as RUN_USER when we are root, as ourselves otherwise.
as_run_user() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u "$RUN_USER" -- "$@"; else "$@"; fi
}
