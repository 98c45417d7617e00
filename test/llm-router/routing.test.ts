import { setTimeout as sleep } from 'node:timers/promises';
import { parseRetryAfter } from '../../services/llm-router/provider-client.ts';
import { startLlmSimulator, type LlmSimulator } from '../../load/llm-simulator/simulator.ts';
import { chat, hello, providerKey, startRouter, type RouterInstance } from './helpers.ts';

const sims: LlmSimulator[] = [];
const routers: RouterInstance[] = [];
const sim = async (behaviour: Parameters<typeof startLlmSimulator>[0] = {}) => {
  const s = await startLlmSimulator(behaviour);
  sims.push(s);
  return s;
};
const router = async (...args: Parameters<typeof startRouter>) => {
  const r = await startRouter(...args);
  routers.push(r);
  return r;
};
afterAll(async () => {
  await Promise.all(routers.map((r) => r.stop()));
  await Promise.all(sims.map((s) => s.stop()));
});

const metric = async (r: RouterInstance, line: string) => {
  const text = await (await fetch(`${r.url}/metrics`)).text();
  const found = text.split('\n').find((l) => l.startsWith(line));
  return found === undefined ? undefined : Number(found.split(' ').pop());
};

test('a failing first provider falls back to the next one', async () => {
  const a = await sim({ behaviour: { error_rate: 1, error_status: 500 } });
  const b = await sim();
  const r = await router([
    { name: 'a', sim: a, weight: 1e6 },
    { name: 'b', sim: b, weight: 0.001 },
  ]);
  const res = await chat(r.url, hello('fall back please'));
  expect(res.status).toBe(200);
  expect(res.body.output.provider).toBe('b');
  expect(res.body.output.choices[0].message.content).toBe('echo: fall back please');
  expect(a.requests).toHaveLength(1);
  expect(b.requests).toHaveLength(1);
  expect(await metric(r, 'agent_llm_fallbacks_total{from="a",to="b"')).toBe(1);
  expect(
    await metric(
      r,
      'agent_llm_provider_requests_total{provider="a",model="sim-model",outcome="server_error"',
    ),
  ).toBe(1);
});

test('a 429 is retried no earlier than its Retry-After says', async () => {
  const a = await sim({ behaviour: { script: [{ status: 429, retry_after: '1' }] } });
  const r = await router([{ name: 'a', sim: a }]);
  const res = await chat(r.url, hello());
  expect(res.status).toBe(200);
  expect(a.requests.map((q) => q.status)).toEqual([429, 200]);
  expect(a.requests[1]!.at - a.requests[0]!.at).toBeGreaterThanOrEqual(1000);
  expect(await metric(r, 'agent_llm_retries_total{provider="a",reason="rate_limited"')).toBe(1);
});

test('Retry-After is read as seconds or as an HTTP date', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  expect(parseRetryAfter('2', now)).toBe(2000);
  expect(parseRetryAfter('0.5', now)).toBe(500);
  expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:03 GMT', now)).toBe(3000);
  expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
  expect(parseRetryAfter('soon', now)).toBeUndefined();
  expect(parseRetryAfter(undefined, now)).toBeUndefined();
});

test('a non-retryable 4xx from a provider is returned at once, not retried, not failed over', async () => {
  const a = await sim({ behaviour: { script: [{ status: 422 }] } });
  const b = await sim();
  const r = await router([
    { name: 'a', sim: a, weight: 1e6 },
    { name: 'b', sim: b, weight: 0.001 },
  ]);
  const res = await chat(r.url, hello());
  expect(res.status).toBe(422);
  expect(res.body.type).toMatch(/provider-rejected-request$/);
  expect(res.body.attempts).toEqual([{ provider: 'a', status: 422, duration_ms: expect.any(Number) }]);
  expect(a.requests).toHaveLength(1);
  expect(b.requests).toHaveLength(0);
  // Not counted against the breaker: the provider is healthy.
  expect(r.router.health().a!.breaker).toBe('closed');
});

test('a provider refusing the router key is a 502 naming the provider, never the key', async () => {
  const a = await sim({ behaviour: { api_key: 'the-right-key-0123456789' } });
  const r = await router([{ name: 'a', sim: a }]);
  const res = await chat(r.url, hello());
  expect(res.status).toBe(502);
  expect(res.body.attempts).toEqual([{ provider: 'a', status: 401, duration_ms: expect.any(Number) }]);
  expect(res.text).not.toContain(providerKey('a'));
  expect(a.requests).toHaveLength(1);
  expect(a.requests[0]!.authorization).toBe(`Bearer ${providerKey('a')}`);
});

test('the provider key is sent as a Bearer token with the correlation id', async () => {
  const a = await sim();
  const r = await router([{ name: 'a', sim: a }]);
  const res = await chat(r.url, hello(), { 'X-Correlation-ID': 'corr-bearer-1' });
  expect(res.status).toBe(200);
  expect(res.text).not.toContain(providerKey('a'));
  expect(a.requests[0]).toMatchObject({
    authorization: `Bearer ${providerKey('a')}`,
    correlation_id: 'corr-bearer-1',
  });
});

test('the breaker opens after repeated failures, skips the provider, and half-opens after its reset timeout', async () => {
  const a = await sim({ behaviour: { error_rate: 1, error_status: 503 } });
  const b = await sim();
  const r = await router(
    [
      { name: 'a', sim: a, weight: 1e6 },
      { name: 'b', sim: b, weight: 0.001 },
    ],
    { LLM_BREAKER_VOLUME_THRESHOLD: '3', LLM_BREAKER_RESET_TIMEOUT_MS: '1000' },
  );
  for (let i = 0; i < 3; i += 1) expect((await chat(r.url, hello())).status).toBe(200);
  expect(a.requests).toHaveLength(3);
  expect(r.router.health().a!.breaker).toBe('open');
  expect(await metric(r, 'agent_llm_provider_breaker_state{provider="a",state="open"')).toBe(1);

  a.reset();
  for (let i = 0; i < 5; i += 1) {
    const res = await chat(r.url, hello());
    expect(res.status).toBe(200);
    expect(res.body.output.provider).toBe('b');
  }
  expect(a.requests).toHaveLength(0); // skipped without being called

  a.setBehaviour({ error_rate: 0 });
  await sleep(1100);
  expect(r.router.health().a!.breaker).toBe('half_open');
  const trial = await chat(r.url, hello());
  expect(trial.body.output.provider).toBe('a');
  expect(a.requests).toHaveLength(1);
  expect(r.router.health().a!.breaker).toBe('closed');
  expect(await metric(r, 'agent_llm_provider_breaker_state{provider="a",state="closed"')).toBe(1);
});

test('hanging providers: the answer comes within the request deadline, listing the timeouts', async () => {
  const a = await sim({ behaviour: { hang_rate: 1, max_hang_ms: 10000 } });
  const b = await sim({ behaviour: { hang_rate: 1, max_hang_ms: 10000 } });
  const r = await router(
    [
      { name: 'a', sim: a, timeout_ms: 5000 },
      { name: 'b', sim: b, timeout_ms: 5000 },
    ],
    { LLM_REQUEST_DEADLINE_MS: '700' },
  );
  const started = Date.now();
  const res = await chat(r.url, hello());
  const elapsed = Date.now() - started;
  expect(res.status).toBe(502);
  expect(res.body.attempts[0]).toMatchObject({ status: 'timeout' });
  expect(elapsed).toBeGreaterThanOrEqual(650);
  expect(elapsed).toBeLessThan(700 + 400);
});

test('a Retry-After beyond the deadline is not waited for', async () => {
  const a = await sim({ behaviour: { rate_limit_rate: 1, retry_after: '5' } });
  const r = await router([{ name: 'a', sim: a }], { LLM_REQUEST_DEADLINE_MS: '1000' });
  const started = Date.now();
  const res = await chat(r.url, hello());
  expect(res.status).toBe(503);
  expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
  expect(Date.now() - started).toBeLessThan(1000);
  expect(a.requests).toHaveLength(1);
});

test('retries are bounded by LLM_MAX_ATTEMPTS', async () => {
  const a = await sim({ behaviour: { error_rate: 1, error_status: 500 } });
  const r = await router([{ name: 'a', sim: a }], {
    LLM_MAX_ATTEMPTS: '3',
    LLM_BREAKER_VOLUME_THRESHOLD: '100',
  });
  const res = await chat(r.url, hello());
  expect(res.status).toBe(502);
  expect(res.body.attempts).toHaveLength(3);
  expect(a.requests).toHaveLength(3);
});

test('the first choice roughly follows the weights', async () => {
  const a = await sim();
  const b = await sim();
  const r = await router([
    { name: 'a', sim: a, weight: 3 },
    { name: 'b', sim: b, weight: 1 },
  ]);
  const n = 400;
  for (let i = 0; i < n; i += 20) {
    await Promise.all(Array.from({ length: 20 }, () => chat(r.url, hello())));
  }
  const share = a.requests.length / n;
  expect(a.requests.length + b.requests.length).toBe(n);
  expect(share).toBeGreaterThan(0.65);
  expect(share).toBeLessThan(0.85);
});
