import request from 'supertest';
import { parseMetrics, sample } from '../support/metrics.ts';
import { auth } from '../support/orchestrator.ts';
import { spawnOrchestrator, spawnService, type ServiceProcess } from '../support/process.ts';
import { startRedis, type RedisServer } from '../../harness/redis-server.ts';

/**
 * The in-process tiers are bounded by bytes: many large distinct inputs and answers (each ~800 KB)
 * pass through an orchestrator whose heap is capped well below what keeping them would take. Unbounded
 * tiers (the key memo once held 4096 inputs) would run it out of memory; bounded ones stay within
 * their settings.
 */
const ANSWERS_BYTES = 16 * 1048576;
const MEMO_BYTES = 4 * 1048576;
const HEAP_LIMIT_MB = 64;
const REQUESTS = 48;
const SIZE = 800_000;

let redis: RedisServer;
let agent: ServiceProcess;
let orch: ServiceProcess;

beforeAll(async () => {
  redis = await startRedis();
  agent = await spawnService(
    'harness/test-agent-main.ts',
    { REDIS_URL: redis.url, POOL: 'git', INSTANCE_ID: 'echo-agent' },
    'agent listening',
  );
  orch = await spawnOrchestrator({
    SHUTDOWN_DRAIN_DELAY_MS: '0',
    REDIS_URL: redis.url,
    AGENT_GIT_URL: agent.url,
    BODY_LIMIT_BYTES: String(2 * 1048576),
    CACHE_LOCAL_MAX_BYTES: String(ANSWERS_BYTES),
    CACHE_KEY_MEMO_MAX_BYTES: String(MEMO_BYTES),
    NODE_OPTIONS: `--max-old-space-size=${HEAP_LIMIT_MB}`,
  });
});
afterAll(async () => {
  for (const p of [orch, agent]) p?.kill();
  await Promise.all([orch?.exited, agent?.exited]);
  await redis?.close();
});

test(`${REQUESTS} distinct ~800 KB tasks, each a MISS then a HIT, within a ${HEAP_LIMIT_MB} MB heap`, async () => {
  for (let i = 0; i < REQUESTS; i += 1) {
    // Distinct text per task, partly beyond Latin-1 so the heap holds it at two bytes per character.
    const input = { n: i, text: `${i}:${'é€'.repeat(SIZE / 16)}${'x'.repeat(SIZE / 2)}` };
    for (const expected of ['MISS', 'HIT']) {
      const res = await request(orch.url)
        .post('/v1/tasks')
        .set(auth)
        .send({ agent: 'git', action: 'echo', input })
        .timeout(10000);
      expect([res.status, res.headers['x-cache']]).toEqual([200, expected]);
      expect(res.body.output.echo.n).toBe(i);
    }
  }
  expect(orch.child.exitCode).toBeNull();
  const metrics = parseMetrics((await request(orch.url).get('/metrics')).text);
  const answers = sample(metrics, 'orchestrator_cache_memory_bytes', { tier: 'answers' })!;
  const memo = sample(metrics, 'orchestrator_cache_memory_bytes', { tier: 'key_memo' })!;
  expect(answers).toBeGreaterThan(0);
  expect(answers).toBeLessThanOrEqual(ANSWERS_BYTES);
  expect(memo).toBeLessThanOrEqual(MEMO_BYTES);
  // What the process holds after it: far below the inputs that passed through (~250 MB of text).
  expect(sample(metrics, 'orchestrator_nodejs_heap_size_used_bytes')).toBeLessThan(HEAP_LIMIT_MB * 1048576);
}, 180000);
