import { Redis } from 'ioredis';
import { startLlmSimulator, type LlmSimulator } from '../../load/llm-simulator/simulator.ts';
import { waitForLog } from '../support/process.ts';
import { startThroughOrchestrator, type ThroughOrchestrator } from '../support/through-orchestrator.ts';
import { chat, hello, providerKey, providersEnv } from './helpers.ts';

let sim: LlmSimulator;
let o: ThroughOrchestrator;

beforeAll(async () => {
  sim = await startLlmSimulator({ behaviour: { api_key: providerKey('main') } });
  o = await startThroughOrchestrator('llm', {
    LLM_REQUEST_DEADLINE_MS: '3000',
    ...providersEnv([
      { name: 'main', sim },
      // Same simulator, wrong key: the router's misconfiguration, for the "key never leaks" check.
      { name: 'badkey', sim, models: ['locked-model'], key: 'sk-wrong-key-fedcba9876543210' },
    ]),
  });
});
afterAll(async () => {
  await o?.stop();
  await sim?.stop();
});

test('a deterministic chat is answered by the provider (MISS), then from the cache (HIT)', async () => {
  const input = hello('what is phoenix-orch?', { temperature: 0 });
  const first = await o.task({ action: 'chat', input }, 'corr-llm-det-1');
  expect(first.status).toBe(200);
  expect(first.headers['x-cache']).toBe('MISS');
  expect(first.body.output.choices[0].message.content).toBe('echo: what is phoenix-orch?');
  expect(first.body.output.provider).toBe('main');
  const calls = sim.requests.length;

  const second = await o.task({ action: 'chat', input }, 'corr-llm-det-2');
  expect(second.status).toBe(200);
  expect(second.headers['x-cache']).toBe('HIT');
  expect(second.body.output).toEqual(first.body.output);
  expect(sim.requests.length).toBe(calls);
});

test('the correlation id reaches the router logs and the provider', async () => {
  const res = await o.task(
    { action: 'chat', input: hello('trace me', { temperature: 0.7 }) },
    'corr-llm-trace-1',
  );
  expect(res.status).toBe(200);
  expect(sim.requests.some((q) => q.correlation_id === 'corr-llm-trace-1')).toBe(true);
  expect(await o.loggedByBoth('corr-llm-trace-1')).toBe(true);
});

test('a sampled chat is never served from the cache: answered uncached, BYPASS', async () => {
  const input = hello('roll the dice', { temperature: 0.8 });
  const calls = sim.requests.length;
  const a = await o.task({ action: 'chat', input }, 'corr-llm-sampled-1');
  const b = await o.task({ action: 'chat', input }, 'corr-llm-sampled-2');
  expect([a.status, b.status]).toEqual([200, 200]);
  expect([a.headers['x-cache'], b.headers['x-cache']]).toEqual(['BYPASS', 'BYPASS']);
  expect(sim.requests.length).toBe(calls + 2);
});

test('invalid input is a 400 naming the field, through the orchestrator', async () => {
  const res = await o.task(
    {
      action: 'chat',
      input: { model: 'sim-model', messages: [{ role: 'user', content: 'x' }], stream: true },
    },
    'corr-bad',
  );
  expect(res.status).toBe(400);
  expect(JSON.stringify(res.body.errors)).toContain('input.stream');
});

test('provider keys never appear in problems or in the router logs', async () => {
  const res = await chat(o.agent.url, hello('locked', { model: 'locked-model' }), {
    'X-Correlation-ID': 'corr-llm-badkey',
  });
  expect(res.status).toBe(502);
  expect(res.body.attempts).toEqual([{ provider: 'badkey', status: 401, duration_ms: expect.any(Number) }]);
  const viaOrch = await o.task(
    { action: 'chat', input: hello('locked', { model: 'locked-model' }) },
    'corr-llm-badkey-2',
  );
  expect(viaOrch.status).toBeGreaterThanOrEqual(500);
  // Logs arrive in batches: wait for the attempt's line, then check every line written so far.
  await waitForLog(o.agent, (l) => l.correlation_id === 'corr-llm-badkey' && l.provider === 'badkey');
  await waitForLog(o.agent, (l) => l.correlation_id === 'corr-llm-badkey-2');
  for (const text of [res.text, JSON.stringify(viaOrch.body), ...o.agent.lines]) {
    expect(text).not.toContain(providerKey('main'));
    expect(text).not.toContain('sk-wrong-key-fedcba9876543210');
  }
  expect(o.agent.logs.some((l) => l.correlation_id === 'corr-llm-badkey' && l.provider === 'badkey')).toBe(
    true,
  );
});

test('the heartbeat in Redis reports each provider and its breaker state', async () => {
  const redisClient = new Redis(o.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redisClient.connect();
    const raw = await redisClient.get('po:agent:llm:llm-router-under-test');
    expect(JSON.parse(raw!).detail).toEqual({
      providers: { main: { breaker: 'closed', weight: 1 }, badkey: { breaker: 'closed', weight: 1 } },
    });
  } finally {
    redisClient.disconnect();
  }
});
