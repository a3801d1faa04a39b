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

# The shim logs in as metastore_shim, a role with no grants of its own: every
# request authenticates with an API key.  The demo principal may write every
# namespace; its key is made once and kept in .run/demo.key (0600).
"${PSQL[@]}" -d "$DB_NAME" <<'SQL'
SET client_min_messages = warning;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'metastore_shim') THEN
    CREATE ROLE metastore_shim LOGIN;
  END IF;
END $$;
-- a runaway request answers 504 instead of holding a pooled connection
ALTER ROLE metastore_shim SET statement_timeout = '30s';
SELECT metastore."grant"('demo', '*', 'writer') \g /dev/null
SQL
KEYFILE=$RUN_DIR/demo.key
if [ ! -s "$KEYFILE" ] || ! "${PSQL[@]}" -d "$DB_NAME" -c "BEGIN" \
     -c "SELECT metastore.authenticate('$(cat "$KEYFILE")')" -c "ROLLBACK" >/dev/null 2>&1; then
  (umask 077; "${PSQL[@]}" -d "$DB_NAME" -tA \
     -c "SELECT api_key FROM metastore.create_api_key('demo', 'make run demo key')" > "$KEYFILE")
fi
KEY=$(cat "$KEYFILE")

# (Re)start the shim so it runs the binary just built.
SHIM_PID=$RUN_DIR/shim.pid
if [ -s "$SHIM_PID" ] && kill -0 "$(cat "$SHIM_PID")" 2>/dev/null; then
  kill -TERM "$(cat "$SHIM_PID")"
  for _ in $(seq 50); do kill -0 "$(cat "$SHIM_PID")" 2>/dev/null || break; sleep 0.2; done
fi
nohup "$SHIM_BIN" --port "$APP_PORT" \
  --database-url "host=$RUN_DIR port=$DB_PORT dbname=$DB_NAME user=metastore_shim" \
  >> "$RUN_DIR/shim.log" 2>&1 &
echo $! > "$SHIM_PID"
for _ in $(seq 50); do
  curl -fs "http://127.0.0.1:$APP_PORT/health/ready" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fs "http://127.0.0.1:$APP_PORT/health/ready" >/dev/null ||
  { echo "run: the HTTP shim did not become ready; see $RUN_DIR/shim.log" >&2; exit 1; }

cat <<MSG

metastore is running.
  database:  psql "host=$RUN_DIR port=$DB_PORT user=postgres dbname=$DB_NAME"
  try:       SELECT key, metadata, version FROM metastore.records;
  REST:      http://127.0.0.1:$APP_PORT  (demo API key in $KEYFILE)
  try:       curl -s -H "Authorization: ApiKey \$(cat $KEYFILE)" \\
               'http://127.0.0.1:$APP_PORT/records/app.database.pool_size?namespace=production'
             curl -s http://127.0.0.1:$APP_PORT/openapi.json
  logs:      $RUN_DIR/postgres.log, $RUN_DIR/shim.log
  stop:      make stop
MSG
