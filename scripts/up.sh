#!/usr/bin/env bash
# Brings phoenix-orch up on this machine and shows it working. Until the local-stack issue lands this
# is a reduced topology: one Redis, one master orchestrator, one git agent (serving a bare clone of this
# repository), one Obsidian agent (serving a small sample vault) and one LLM router (in front of two
# instances of the provider simulator, load/llm-simulator, since no real provider is reachable here). Everything listens on 127.0.0.1
# from PHOENIX_PORT_BASE (default 17400); state and logs go to .stack/. Stop it: bash scripts/down.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh >/dev/null
bash scripts/down.sh >/dev/null 2>&1 || true

STATE=$PWD/.stack
mkdir -p "$STATE/logs" "$STATE/redis" "$STATE/repos"
BASE=${PHOENIX_PORT_BASE:-17400}
REDIS_PORT=$BASE
ORCH_PORT=$((BASE + 10))
GIT_PORT=$((BASE + 20))
OBSIDIAN_PORT=$((BASE + 30))
LLM_PORT=$((BASE + 40))
SIM_PORTS=($((BASE + 50)) $((BASE + 51)))
NODE=$PWD/node_modules/.bin/node
[ -f "$STATE/api-key" ] || head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$STATE/api-key"
API_KEY=$(cat "$STATE/api-key")

# Sample data: this repository for the git agent, a few linked notes for the Obsidian agent.
if [ -d "$STATE/repos/phoenix-orch" ]; then
  git -C "$STATE/repos/phoenix-orch" fetch -q "$PWD" '+refs/heads/*:refs/heads/*' 2>/dev/null || true
else
  git clone -q --bare "$PWD" "$STATE/repos/phoenix-orch"
fi
if [ ! -d "$STATE/vault" ]; then
  mkdir -p "$STATE/vault/runbooks" "$STATE/vault/daily"
  printf -- '---\ntags: [oncall]\n---\n# On-call\n\nStart with [[runbooks/Redis failover]] and the #dashboards.\n' >"$STATE/vault/On-call.md"
  printf -- '# Redis failover\n\nSentinel promotes a replica; see [[On-call]]. #redis\n' >"$STATE/vault/runbooks/Redis failover.md"
fi

wait_http() { # name url log
  for _ in $(seq 1 150); do
    curl -fs "$2" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "up: $1 did not become healthy at $2; its log is $3" >&2
  tail -n 20 "$3" >&2 || true
  exit 1
}
start() { # name entry port env...
  local name=$1 entry=$2 port=$3
  shift 3
  env PORT="$port" HOST=127.0.0.1 INSTANCE_ID="$name" REDIS_URL="redis://127.0.0.1:$REDIS_PORT" "$@" \
    nohup "$NODE" "$entry" >"$STATE/logs/$name.log" 2>&1 &
  echo $! >"$STATE/$name.pid"
  wait_http "$name" "http://127.0.0.1:$port/health" "$STATE/logs/$name.log"
}

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$STATE/redis" --save 900 1 --appendonly no \
  --daemonize yes --pidfile "$STATE/redis.pid" --logfile "$STATE/logs/redis.log"
for _ in $(seq 1 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

start git-agent-1 services/git-agent/main.ts "$GIT_PORT" GIT_REPOS_ROOT="$STATE/repos"
start obsidian-agent-1 services/obsidian-agent/main.ts "$OBSIDIAN_PORT" OBSIDIAN_VAULT_PATH="$STATE/vault"
for i in 0 1; do
  env PORT="${SIM_PORTS[$i]}" SIM_NAME="simulator-$((i + 1))" SIM_MODELS=sim-small SIM_API_KEY=demo-provider-key \
    SIM_LATENCY_DISTRIBUTION=uniform SIM_LATENCY_MIN_MS=20 SIM_LATENCY_MAX_MS=60 \
    nohup "$NODE" load/llm-simulator/main.ts >"$STATE/logs/llm-simulator-$((i + 1)).log" 2>&1 &
  echo $! >"$STATE/llm-simulator-$((i + 1)).pid"
  wait_http "llm-simulator-$((i + 1))" "http://127.0.0.1:${SIM_PORTS[$i]}/v1/models" "$STATE/logs/llm-simulator-$((i + 1)).log"
done
providers="[{\"name\":\"sim-a\",\"type\":\"openai\",\"base_url\":\"http://127.0.0.1:${SIM_PORTS[0]}/v1\",\"api_key_env\":\"SIM_KEY\",\"models\":[\"sim-small\"],\"weight\":3},"
providers+="{\"name\":\"sim-b\",\"type\":\"openai\",\"base_url\":\"http://127.0.0.1:${SIM_PORTS[1]}/v1\",\"api_key_env\":\"SIM_KEY\",\"models\":[\"sim-small\"],\"weight\":1}]"
start llm-router-1 services/llm-router/main.ts "$LLM_PORT" LLM_PROVIDERS="$providers" SIM_KEY=demo-provider-key
start orchestrator-1 services/orchestrator/main.ts "$ORCH_PORT" API_KEYS="$API_KEY" \
  AGENT_GIT_URL="http://127.0.0.1:$GIT_PORT" AGENT_OBSIDIAN_URL="http://127.0.0.1:$OBSIDIAN_PORT" \
  AGENT_LLM_URL="http://127.0.0.1:$LLM_PORT" \
  CPU_LIMIT=2 MEMORY_LIMIT=4294967296

URL=http://127.0.0.1:$ORCH_PORT
call() { # method path [body]
  curl -s -D "$STATE/last-headers" -X "$1" "$URL$2" -H "Authorization: Bearer $API_KEY" \
    -H 'Content-Type: application/json' -H "X-Correlation-ID: demo-$(date +%s%N | tail -c 7)" ${3:+-d "$3"}
}
header() { grep -i "^$1:" "$STATE/last-headers" | cut -d' ' -f2- | tr -d '\r'; }

echo
echo "== The git agent: the last commits of this repository, twice (MISS: computed by the agent; HIT: from the cache)"
log='{"agent":"git","action":"log","input":{"repo":"phoenix-orch","limit":3}}'
call POST /v1/tasks "$log" | jq -c '[.output.commits[] | {sha: .sha[0:10], subject}]'
echo "   X-Cache: $(header X-Cache), served by $(header X-Served-By)"
call POST /v1/tasks "$log" >/dev/null
echo "   again: X-Cache: $(header X-Cache)"

echo
echo "== The Obsidian agent: read a note, change it, read it again (the write moves its version: no stale answer)"
read='{"agent":"obsidian","action":"read","input":{"path":"On-call.md"}}'
note=$(call POST /v1/tasks "$read")
echo "$note" | jq -c '.output | {path, tags, links: [.links[]?.target], version: .version[0:12]}'
echo "   X-Cache: $(header X-Cache)"
version=$(echo "$note" | jq -r .output.version)
call POST /v1/tasks "{\"agent\":\"obsidian\",\"action\":\"append\",\"input\":{\"path\":\"On-call.md\",\"text\":\"\\n- $(date -u +%FT%TZ) demo ran\\n\"}}" | jq -c '.output | {path, version: .version[0:12]}'
call POST /v1/tasks "$read" | jq -c '.output | {version: .version[0:12]}'
echo "   X-Cache: $(header X-Cache)"
call POST /v1/tasks "{\"agent\":\"obsidian\",\"action\":\"write\",\"input\":{\"path\":\"On-call.md\",\"body\":\"overwrite\",\"expected_version\":\"$version\"}}" | jq -c '{status, type}'
echo "   (a write based on the old version is refused with 409 rather than losing the append)"

echo
echo "== The LLM router: a deterministic chat (temperature 0) is cached; the provider simulator answers"
chat='{"agent":"llm","action":"chat","input":{"model":"sim-small","temperature":0,"messages":[{"role":"user","content":"Summarise the on-call runbook"}]}}'
call POST /v1/tasks "$chat" | jq -c '.output | {model, answer: .choices[0].message.content, usage}'
echo "   X-Cache: $(header X-Cache)"
call POST /v1/tasks "$chat" >/dev/null
echo "   again: X-Cache: $(header X-Cache)"

echo
echo "== A session: turns recorded with optimistic concurrency"
sid=$(call POST /v1/sessions '{"data":{"user":"demo"}}' | jq -r .id)
call POST /v1/tasks "{\"agent\":\"obsidian\",\"action\":\"search\",\"input\":{\"query\":\"failover\"},\"session_id\":\"$sid\"}" | jq -c .session
call POST /v1/tasks "{\"agent\":\"obsidian\",\"action\":\"search\",\"input\":{\"query\":\"sentinel\"},\"session_id\":\"$sid\",\"session_version\":1}" | jq -c '{status, detail}'
echo "   (session_version 1 is stale: refused with 409 instead of overwriting version 2)"

echo
echo "== An async task: 202 at once, the result fetched from its status URL"
status_url=$(call POST /v1/tasks '{"agent":"git","action":"tree","input":{"repo":"phoenix-orch","path":"services"},"mode":"async"}' | jq -r .status_url)
sleep 1
call GET "$status_url" | jq -c '{status, attempts, entries: (.result.output.entries // [] | length)}'

echo
echo "== Bad input gets a problem document, never a 500"
call POST /v1/tasks '{"agent":"git","action":"read","input":{"repo":"phoenix-orch","path":"../../etc/passwd"}}' | jq -c '{status, type, errors}'

echo
echo "== Health and metrics"
curl -s "$URL/health" | jq -c '{status, redis: .checks.redis.ok, pools: (.checks.agent_pools.detail | map_values({healthy, breaker}))}'
curl -s "$URL/metrics" | grep -E '^orchestrator_(cache_lookups_total|agent_calls_total)' | head -8

cat <<INFO

phoenix-orch is running:
  orchestrator    $URL   (OpenAPI: $URL/openapi.json, metrics: $URL/metrics)
  API key         $API_KEY   (also in .stack/api-key)
  redis           redis://127.0.0.1:$REDIS_PORT
  git agent       http://127.0.0.1:$GIT_PORT   (repositories in .stack/repos)
  obsidian agent  http://127.0.0.1:$OBSIDIAN_PORT   (vault in .stack/vault)
  llm router      http://127.0.0.1:$LLM_PORT   (providers: simulators on ${SIM_PORTS[0]} and ${SIM_PORTS[1]})
  logs            .stack/logs/
Stop it with: bash scripts/down.sh
INFO
