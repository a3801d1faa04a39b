#!/usr/bin/env bash
# make test: install what is missing, build from scratch, install, and run
# every suite against a throwaway cluster (pg_virtualenv).  The last line
# printed is the total: "N passed, N failed".  Exits non-zero on any failure.
set -uo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

scripts/deps.sh || { echo "0 passed, 1 failed"; exit 1; }
make -s clean >/dev/null 2>&1
if ! make -s all >build.log 2>&1; then
  cat build.log; rm -f build.log; echo "0 passed, 1 failed"; exit 1
fi
rm -f build.log
SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO make -s install >/dev/null || { echo "0 passed, 1 failed"; exit 1; }

mkdir -p build/test
rm -f build/test/totals
# a fresh server secret for API key hashing, readable only by the cluster's OS user
SECRET=$ROOT/build/test/server.secret
head -c 32 /dev/urandom > "$SECRET"
chmod 0600 "$SECRET"
[ "$(id -u)" -eq 0 ] && chown postgres "$SECRET"
# pg_virtualenv makes the cluster, runs the suites against it, and drops it
pg_virtualenv -t -v "$PG_MAJOR" -o "metastore.server_secret_file=$SECRET" scripts/run-suites.sh
rc=$?
if [ -s build/test/totals ]; then
  read -r passed failed < build/test/totals
else
  passed=0; failed=1
fi
[ "$rc" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$rc" -eq 0 ]
