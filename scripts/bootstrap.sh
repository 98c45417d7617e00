#!/usr/bin/env bash
# Installs what phoenix-orch needs on Debian 12, idempotently: Debian packages, Node.js (npm brings
# Node 24 as a devDependency; the system Node only runs npm itself) and the npm dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(redis-server redis-sentinel haproxy prometheus prometheus-alertmanager prometheus-pushgateway prometheus-redis-exporter wrk jq curl openssl fonts-dejavu-core ca-certificates git)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts a system redis-server on 6379 when the package is installed; phoenix-orch runs its
# own Redis processes on other ports and never uses it.

stamp=node_modules/.phoenix-lock-sha
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -x node_modules/.bin/node ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi
echo "bootstrap: ready (node $(node_modules/.bin/node --version), $(redis-server --version | cut -d' ' -f1-3))"
