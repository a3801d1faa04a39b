#!/usr/bin/env bash
# make run: install what is missing, build, install, start a local cluster
# under .run/, create the extension and demo data, and say how to connect.
# Re-running it is harmless.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

scripts/deps.sh
make -s all >/dev/null
if [ "$(id -u)" -eq 0 ]; then make -s install >/dev/null; else sudo make -s install >/dev/null; fi

if [ "$(id -u)" -eq 0 ]; then
  install -d -o "$RUN_USER" -g "$RUN_USER" -m 0700 "$RUN_DIR"
else
  RUN_USER=$(id -un); install -d -m 0700 "$RUN_DIR"
fi

# the server secret keys API key hashes: outside the data directory, owner-only
SECRET=$RUN_DIR/server.secret
if [ ! -s "$SECRET" ]; then
  head -c 32 /dev/urandom > "$SECRET"
  chmod 0600 "$SECRET"
  [ "$(id -u)" -eq 0 ] && chown "$RUN_USER" "$SECRET"
fi

if [ ! -s "$PGDATA_DIR/PG_VERSION" ]; then
  echo "run: creating cluster in $PGDATA_DIR"
  as_run_user "$PG_BIN/initdb" -D "$PGDATA_DIR" -U postgres -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
fi
if ! as_run_user "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; then
  echo "run: starting PostgreSQL on port $DB_PORT"
  as_run_user "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$RUN_DIR/postgres.log" -w \
    -o "-p $DB_PORT -k $RUN_DIR -c listen_addresses=localhost -c metastore.server_secret_file=$SECRET" start >/dev/null
fi

PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h "$RUN_DIR" -p "$DB_PORT" -U postgres)
if ! "${PSQL[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'" | grep -q 1; then
  "${PSQL[@]}" -d postgres -c "CREATE DATABASE $DB_NAME"
fi
"${PSQL[@]}" -d "$DB_NAME" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS metastore;
ALTER EXTENSION metastore UPDATE;
SQL
"${PSQL[@]}" -d "$DB_NAME" -f scripts/demo.sql >/dev/null

cat <<MSG

metastore is running.
  database:  psql "host=$RUN_DIR port=$DB_PORT user=postgres dbname=$DB_NAME"
  try:       SELECT key, metadata, version FROM metastore.records;
             SELECT * FROM metastore.get_record('production', 'app.database.pool_size');
  logs:      $RUN_DIR/postgres.log
  stop:      make stop
MSG
