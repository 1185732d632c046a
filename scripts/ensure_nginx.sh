#!/usr/bin/env bash
# nginx for the topology tests (tests/e2e/test_rolling.py starts its own nginx processes
# from deploy/nginx/chat.conf), from Debian's packages (nginx 1.22 on Debian 12). Nothing
# here configures or relies on the system's nginx service.
set -euo pipefail
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "nginx is missing and this user cannot install it: run 'apt-get install nginx' as root." >&2
  exit 1
fi
echo "Installing nginx from Debian's packages..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends nginx >/dev/null
/usr/sbin/nginx -v
