#!/bin/sh
# preStop of the Redis container. When the Sentinels name this pod the primary, hand the role over
# before Redis stops, so that a rolling update or a node drain costs clients about a second instead of
# Sentinel's down-after plus a failover, and no write the replicas hold is left behind: ask a Sentinel
# in another pod for a failover (SENTINEL FAILOVER), wait until the Sentinels name another primary that
# answers as one, then make this Redis its replica at once (Sentinel itself would only after some 8 s),
# so writes that still reach this pod are refused and the clients follow the Sentinels.
#
# Bounded: it stops trying after PRESTOP_TIMEOUT_S (each call at most CALL_TIMEOUT_S), well inside the
# pod's termination grace period, and always exits 0 so the shutdown goes on; a hand-over that did not
# happen leaves the ordinary Sentinel failover after down-after.
set -u
. "$(dirname "$0")/sentinels.sh"

: "${POD_NAME:?}" "${POD_NAMESPACE:?}"
MASTER_NAME="${MASTER_NAME:-phoenix}"
REDIS_PORT="${REDIS_PORT:-6379}"
PRESTOP_TIMEOUT_S="${PRESTOP_TIMEOUT_S:-20}"
HEADLESS="${HEADLESS_SERVICE:-redis-headless}.${POD_NAMESPACE}.svc.${CLUSTER_DOMAIN:-cluster.local}"
SELF="${ANNOUNCE_HOST:-${POD_NAME}.${HEADLESS}}"
SENTINELS="${SENTINEL_DISCOVERY_HOST:-$HEADLESS}"
# In the pod the output goes to the container's log (PID 1's stdout), where kubectl logs shows it.
if [ -n "${PRESTOP_LOG:-}" ] && [ -w "$PRESTOP_LOG" ]; then exec >>"$PRESTOP_LOG" 2>&1; fi

say() { echo "prestop: $*"; }
redis() { timeout "$CALL_TIMEOUT_S" redis-cli --raw "$@" 2>&1; }

if [ -z "$(sentinel_ips)" ]; then
  say "no Sentinel in another pod (a single Redis); nothing to hand over to"
  exit 0
fi

started=$(date +%s)
deadline=$((started + PRESTOP_TIMEOUT_S))
asked=""
while [ "$(date +%s)" -lt "$deadline" ]; do
  primary=$(ask_sentinels)
  if [ -z "$primary" ]; then
    say "no Sentinel at $SENTINELS:$SENTINEL_PORT answers; trying again"
  elif [ "$primary" != "$SELF $REDIS_PORT" ]; then
    host="${primary% *}"
    port="${primary#* }"
    if [ -z "$asked" ] && [ "$(redis -p "$REDIS_PORT" role | head -n 1)" != master ]; then
      say "this pod is not the primary (the Sentinels name $host:$port); nothing to hand over"
      exit 0
    fi
    # The Sentinels name another primary while this Redis still is one: follow it once it answers.
    if redis -h "$host" -p "$port" role | head -n 1 | grep -qx master; then
      redis -p "$REDIS_PORT" replicaof "$host" "$port" >/dev/null
      say "handed the primary over to $host:$port in $(($(date +%s) - started)) s; this Redis is its replica now"
      exit 0
    fi
  elif [ -z "$asked" ]; then
    for ip in $(sentinel_ips); do
      answer=$(sentinel_cli "$ip" sentinel failover "$MASTER_NAME")
      case "$answer" in
        OK | *INPROG*)
          asked="$ip"
          say "the Sentinel at $ip is failing this primary over"
          break
          ;;
        *) say "the Sentinel at $ip refused the failover: $answer" ;;
      esac
    done
  fi
  sleep 1
done
say "no other primary within ${PRESTOP_TIMEOUT_S} s; Redis stops as the primary and the Sentinels fail over after down-after"
exit 0
