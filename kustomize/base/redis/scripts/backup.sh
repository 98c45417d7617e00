#!/bin/sh
# Backup job: asks a Sentinel for the current primary, copies a fresh RDB snapshot from it
# (`redis-cli --rdb`, Redis's own replication transfer) to the backup volume, and keeps only the
# newest BACKUP_KEEP snapshots. A partial file never counts: it is renamed only once complete.
set -eu
. "$(dirname "$0")/sentinels.sh"

: "${REDISCLI_AUTH:?}"
MASTER_NAME="${MASTER_NAME:-phoenix}"
SENTINELS="${SENTINEL_DISCOVERY_HOST:-redis-headless}"
BACKUP_DIR="${BACKUP_DIR:-/backup}"
BACKUP_KEEP="${BACKUP_KEEP:-8}"

answer=$(ask_sentinels)
primary="${answer% *}"
port="${answer#* }"
if [ -z "$primary" ]; then
  echo "backup: no Sentinel at $SENTINELS:$SENTINEL_PORT names a primary" >&2
  exit 1
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
partial="$BACKUP_DIR/.dump-$stamp.rdb.partial"
trap 'rm -f "$partial"' EXIT
redis-cli -h "$primary" -p "$port" --rdb "$partial" >/dev/null
mv "$partial" "$BACKUP_DIR/dump-$stamp.rdb"
echo "backup: $BACKUP_DIR/dump-$stamp.rdb ($(wc -c <"$BACKUP_DIR/dump-$stamp.rdb") bytes) from $primary:$port"

# Names sort by time; drop all but the newest BACKUP_KEEP.
ls -1 "$BACKUP_DIR" | grep -E '^dump-[0-9]{8}T[0-9]{6}Z\.rdb$' | sort -r | tail -n +"$((BACKUP_KEEP + 1))" |
  while read -r old; do
    rm -f -- "$BACKUP_DIR/$old"
    echo "backup: removed $old"
  done
