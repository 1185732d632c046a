#!/usr/bin/env bash
# PostgreSQL for the tests, from Debian's packages. The tests start their own throwaway
# server (initdb + postgres on a free loopback port, in a temporary folder); nothing here
# starts or configures the system's cluster.
set -euo pipefail
found() {
  command -v initdb >/dev/null 2>&1 && command -v postgres >/dev/null 2>&1 && return 0
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}
if found; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "PostgreSQL is missing and this user cannot install it: run 'apt-get install postgresql' as root." >&2
  exit 1
fi
echo "Installing PostgreSQL from Debian's packages..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends postgresql >/dev/null
# The package may start the system's cluster; the tests never use it.
found && ls /usr/lib/postgresql/*/bin/initdb
