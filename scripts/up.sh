#!/usr/bin/env bash
# Brings the whole phoenix-orch topology up on this machine and shows it working: installs what is
# missing, starts the local stack (npm run stack -- up: HAProxy with TLS in front of three master
# orchestrators, two instances of each agent pool, Redis with two replicas and three Sentinels,
# exporters, Prometheus, Alertmanager, Pushgateway; all on 127.0.0.1 from PHOENIX_PORT_BASE, default
# 17400), then runs a short demonstration through the load balancer. The stack keeps running; stop it
# with: bash scripts/down.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh >/dev/null
export PATH="$PWD/node_modules/.bin:$PATH"
node stack/cli.ts up
node stack/demo.ts
