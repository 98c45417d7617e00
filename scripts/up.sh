#!/usr/bin/env bash
# Brings phoenix-orch up on this machine and shows it working. Until the local stack lands this is
# the minimal topology: one Redis, one master orchestrator, and the test agent standing in for the
# git agent pool. Everything listens on 127.0.0.1 from PHOENIX_PORT_BASE (default 17400); state and
# logs go to .stack/. Stop it with: bash scripts/down.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh >/dev/null
bash scripts/down.sh >/dev/null 2>&1 || true

STATE=$PWD/.stack
mkdir -p "$STATE/logs" "$STATE/redis"
BASE=${PHOENIX_PORT_BASE:-17400}
REDIS_PORT=$BASE
ORCH_PORT=$((BASE + 10))
AGENT_PORT=$((BASE + 20))
NODE=$PWD/node_modules/.bin/node
[ -f "$STATE/api-key" ] || head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$STATE/api-key"
API_KEY=$(cat "$STATE/api-key")

wait_http() { # name url log
  for _ in $(seq 1 100); do
    curl -fs "$2" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "up: $1 did not become healthy at $2; its log is $3" >&2
  tail -n 20 "$3" >&2 || true
  exit 1
}

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$STATE/redis" --save 900 1 --appendonly no \
  --daemonize yes --pidfile "$STATE/redis.pid" --logfile "$STATE/logs/redis.log"
for _ in $(seq 1 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

PORT=$AGENT_PORT REDIS_URL=redis://127.0.0.1:$REDIS_PORT POOL=git INSTANCE_ID=git-agent-1 \
  nohup "$NODE" test/support/test-agent-main.ts >"$STATE/logs/git-agent-1.log" 2>&1 &
echo $! >"$STATE/git-agent-1.pid"
wait_http git-agent-1 "http://127.0.0.1:$AGENT_PORT/health" "$STATE/logs/git-agent-1.log"

PORT=$ORCH_PORT HOST=127.0.0.1 API_KEYS=$API_KEY REDIS_URL=redis://127.0.0.1:$REDIS_PORT \
  AGENT_GIT_URL=http://127.0.0.1:$AGENT_PORT INSTANCE_ID=orchestrator-1 CPU_LIMIT=2 MEMORY_LIMIT=4294967296 \
  nohup "$NODE" services/orchestrator/main.ts >"$STATE/logs/orchestrator-1.log" 2>&1 &
echo $! >"$STATE/orchestrator-1.pid"
wait_http orchestrator-1 "http://127.0.0.1:$ORCH_PORT/health" "$STATE/logs/orchestrator-1.log"

URL=http://127.0.0.1:$ORCH_PORT
call() { # method path [body]
  curl -s -D "$STATE/last-headers" -X "$1" "$URL$2" -H "Authorization: Bearer $API_KEY" \
    -H 'Content-Type: application/json' -H "X-Correlation-ID: demo-$(date +%s%N | tail -c 7)" ${3:+-d "$3"}
}
header() { grep -i "^$1:" "$STATE/last-headers" | cut -d' ' -f2- | tr -d '\r'; }

echo
echo "== A task, twice: the first is computed by the agent (MISS), the second comes from the cache (HIT)"
input="{\"agent\":\"git\",\"action\":\"echo\",\"input\":{\"question\":\"what changed\",\"at\":\"$(date +%F)\"}}"
call POST /v1/tasks "$input" | jq -c .
echo "   X-Cache: $(header X-Cache), served by $(header X-Served-By)"
call POST /v1/tasks "$input" | jq -c .output
echo "   X-Cache: $(header X-Cache)"

echo
echo "== A session: turns recorded with optimistic concurrency"
sid=$(call POST /v1/sessions '{"data":{"user":"demo"}}' | jq -r .id)
call POST /v1/tasks "{\"agent\":\"git\",\"action\":\"echo\",\"input\":{\"say\":\"hello\"},\"session_id\":\"$sid\"}" | jq -c .session
call POST /v1/tasks "{\"agent\":\"git\",\"action\":\"echo\",\"input\":{\"say\":\"again\"},\"session_id\":\"$sid\",\"session_version\":2}" | jq -c .session
call POST /v1/tasks "{\"agent\":\"git\",\"action\":\"echo\",\"input\":{\"say\":\"stale\"},\"session_id\":\"$sid\",\"session_version\":2}" | jq -c '{status, detail}'
echo "   (the stale session_version 2 is refused with 409 rather than overwriting version 3)"
call GET "/v1/sessions/$sid" | jq -c '{id, version, turns: [.turns[].input]}'

echo
echo "== An async task: 202 at once, the result fetched from its status URL"
status_url=$(call POST /v1/tasks '{"agent":"git","action":"slow","input":{"ms":300},"mode":"async"}' | jq -r .status_url)
sleep 0.8
call GET "$status_url" | jq -c '{status, attempts, result}'

echo
echo "== Bad input gets a problem document, never a 500"
call POST /v1/tasks '{"agent":"nope","action":"echo","input":{}}' | jq -c '{status, type, errors}'

echo
echo "== Health and metrics"
curl -s "$URL/health" | jq -c '{status, redis: .checks.redis.ok, git_pool: .checks.agent_pools.detail.git}'
curl -s "$URL/metrics" | grep -E '^orchestrator_(cache_lookups_total|agent_calls_total|http_requests_total\{route="/v1/tasks")' | head -8

cat <<INFO

phoenix-orch is running:
  orchestrator  $URL   (OpenAPI: $URL/openapi.json, metrics: $URL/metrics)
  API key       $API_KEY   (also in .stack/api-key)
  redis         redis://127.0.0.1:$REDIS_PORT
  git pool      http://127.0.0.1:$AGENT_PORT   (the test agent, standing in until the agent pools land)
  logs          .stack/logs/
Stop it with: bash scripts/down.sh
INFO
