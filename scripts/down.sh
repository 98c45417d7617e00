#!/usr/bin/env bash
# Stops what scripts/up.sh started: SIGTERM, then SIGKILL after a bounded wait. Idempotent.
set -uo pipefail
cd "$(dirname "$0")/.."
STATE=.stack
[ -d "$STATE" ] || exit 0
for pidfile in "$STATE"/*.pid; do
  [ -e "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    echo "stopped $(basename "$pidfile" .pid)"
  fi
  rm -f "$pidfile"
done
