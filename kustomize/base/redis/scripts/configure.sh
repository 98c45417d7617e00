#!/bin/sh
# Init step of every Redis pod: fills the pod-specific tokens of the Redis and Sentinel configuration
# that stack/render.ts rendered (@ANNOUNCE_HOST@, @REPLICAOF@, @REDIS_PASSWORD@) and writes the result
# to a writable folder, because Redis and Sentinel rewrite their files at run time.
#
# The primary is whichever instance the Sentinels name now. When none answers (a fresh start), pod 0
# starts as the primary and the others replicate it. If the Sentinels still name this very pod (it
# restarted before they noticed), wait for their failover rather than come back as a primary with an
# older snapshot that the replicas would then copy.
set -eu
. "$(dirname "$0")/sentinels.sh"

: "${POD_NAME:?}" "${POD_NAMESPACE:?}" "${REDIS_PASSWORD:?}"
MASTER_NAME="${MASTER_NAME:-phoenix}"
REDIS_PORT="${REDIS_PORT:-6379}"
TEMPLATE_DIR="${TEMPLATE_DIR:-/etc/redis-template}"
RUN_DIR="${RUN_DIR:-/etc/redis-run}"
HEADLESS="${HEADLESS_SERVICE:-redis-headless}.${POD_NAMESPACE}.svc.${CLUSTER_DOMAIN:-cluster.local}"
SELF="${ANNOUNCE_HOST:-${POD_NAME}.${HEADLESS}}"
SENTINELS="${SENTINEL_DISCOVERY_HOST:-$HEADLESS}"
ORDINAL="${POD_NAME##*-}"
FIRST="${POD_NAME%-*}-0.${HEADLESS}"
WAIT_FOR_FAILOVER_S="${WAIT_FOR_FAILOVER_S:-20}"

case "$REDIS_PASSWORD" in
  *[!A-Za-z0-9._-]*)
    echo "configure: REDIS_PASSWORD may only contain A-Z a-z 0-9 . _ -" >&2
    exit 1
    ;;
esac

primary=$(ask_sentinels)
waited=0
while [ "$primary" = "$SELF $REDIS_PORT" ] && [ "$waited" -lt "$WAIT_FOR_FAILOVER_S" ]; do
  echo "configure: the Sentinels still name this pod the primary; waiting for their failover"
  sleep 2
  waited=$((waited + 2))
  primary=$(ask_sentinels)
done

if [ -n "$primary" ]; then
  echo "configure: the Sentinels name ${primary% *}:${primary#* } the primary"
elif [ "$ORDINAL" = 0 ]; then
  primary="$SELF $REDIS_PORT"
  echo "configure: no Sentinel knows a primary; pod 0 starts as the primary"
else
  primary="$FIRST $REDIS_PORT"
  echo "configure: no Sentinel knows a primary; replicating pod 0"
fi
primary_host="${primary% *}"
primary_port="${primary#* }"

if [ "$primary" = "$SELF $REDIS_PORT" ]; then
  replicaof="# the primary at start: no replicaof"
else
  replicaof="replicaof $primary_host $primary_port"
fi

mkdir -p "$RUN_DIR"
sed -e "s|@ANNOUNCE_HOST@|$SELF|g" \
  -e "s|@REPLICAOF@|$replicaof|g" \
  -e "s|@REDIS_PASSWORD@|$REDIS_PASSWORD|g" \
  "$TEMPLATE_DIR/redis.conf" >"$RUN_DIR/redis.conf"
sed -e "s|@ANNOUNCE_HOST@|$SELF|g" \
  -e "s|@REDIS_PASSWORD@|$REDIS_PASSWORD|g" \
  -e "s|^sentinel monitor $MASTER_NAME [^ ]* [0-9]* \([0-9]*\)\$|sentinel monitor $MASTER_NAME $primary_host $primary_port \1|" \
  "$TEMPLATE_DIR/sentinel.conf" >"$RUN_DIR/sentinel.conf"
chmod 600 "$RUN_DIR/redis.conf" "$RUN_DIR/sentinel.conf"
echo "configure: $SELF, $replicaof"
