# bench/virtualenv.sh: BENCH_CLUSTER=virtualenv for every bench script.
# Sourced right after ROOT, PG_MAJOR and ME are set: when asked, re-runs the
# script inside a throwaway cluster (pg_virtualenv -t, with a server secret)
# and exits with its status; in that inner run, stdout goes to the report.

# pg_virtualenv talks on stdout: the inner run's report goes through a file
if [ "${BENCH_CLUSTER:-}" = virtualenv ] && [ -z "${_BENCH_INSIDE:-}" ]; then
  command -v pg_virtualenv >/dev/null || { echo "$ME: pg_virtualenv not found (postgresql-common)" >&2; exit 1; }
  SECRET_DIR=$(mktemp -d)
  chmod 0711 "$SECRET_DIR"          # the server (another OS user when we are root) must reach the file
  head -c 32 /dev/urandom > "$SECRET_DIR/server.secret"
  chmod 0600 "$SECRET_DIR/server.secret"
  [ "$(id -u)" -eq 0 ] && chown postgres "$SECRET_DIR/server.secret"
  opts=(-o "metastore.server_secret_file=$SECRET_DIR/server.secret")
  for s in ${BENCH_SERVER_SETTINGS:-}; do opts+=(-o "$s"); done
  : > "$SECRET_DIR/report.md"
  rc=0
  _BENCH_INSIDE=1 _BENCH_REPORT=$SECRET_DIR/report.md \
    pg_virtualenv -t -v "$PG_MAJOR" "${opts[@]}" "$0" "$@" >&2 || rc=$?
  cat "$SECRET_DIR/report.md"
  rm -rf "$SECRET_DIR"
  exit "$rc"
fi
[ -n "${_BENCH_REPORT:-}" ] && exec >>"$_BENCH_REPORT"
