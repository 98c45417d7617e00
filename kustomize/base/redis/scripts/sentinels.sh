#!/bin/sh
# Sourced by the Redis pod scripts (configure.sh, prestop.sh, backup.sh): what the Sentinels say.
# Expects SENTINELS (a name resolving to every Sentinel, e.g. the headless Service) and MASTER_NAME;
# skips this pod's own Sentinel when POD_IP is set. Every call is bounded by CALL_TIMEOUT_S.
SENTINEL_PORT="${SENTINEL_PORT:-26379}"
CALL_TIMEOUT_S="${CALL_TIMEOUT_S:-2}"

# One bounded call to the Sentinel at $1. Sentinels have no password: never send the Redis one.
sentinel_cli() {
  host="$1"
  shift
  env -u REDISCLI_AUTH timeout "$CALL_TIMEOUT_S" redis-cli --raw -h "$host" -p "$SENTINEL_PORT" "$@" 2>&1
}

# The Sentinels' addresses, one a line.
sentinel_ips() {
  getent ahostsv4 "$SENTINELS" | awk '{ print $1 }' | sort -u | while read -r ip; do
    [ "$ip" = "${POD_IP:-}" ] || echo "$ip"
  done
}

# Prints "host port" of the primary as the first Sentinel that knows it says, or nothing.
ask_sentinels() {
  for ip in $(sentinel_ips); do
    answer=$(sentinel_cli "$ip" sentinel get-master-addr-by-name "$MASTER_NAME" | tr '\n' ' ') || true
    set -- $answer
    if [ $# -eq 2 ]; then
      echo "$1 $2"
      return 0
    fi
  done
}
