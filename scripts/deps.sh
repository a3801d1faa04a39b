#!/usr/bin/env bash
# Install the Debian packages metastore needs, only those that are missing.
set -euo pipefail
PG_MAJOR=${PG_MAJOR:-15}
pkgs=(
  "postgresql-$PG_MAJOR" "postgresql-server-dev-$PG_MAJOR" "postgresql-$PG_MAJOR-pgtap"
  postgresql-common libtap-parser-sourcehandler-pgtap-perl
  libsodium-dev libmicrohttpd-dev libpq-dev make gcc curl
)
# test-only clients (test/conformance) run on Node.js; a machine that has it keeps its own
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
