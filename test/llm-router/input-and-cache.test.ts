import { matchesCondition, type CacheCondition } from '../../services/kit/versions.ts';
import { startLlmSimulator, type LlmSimulator } from '../../load/llm-simulator/simulator.ts';
import { chat, hello, post, startRouter, type RouterInstance } from './helpers.ts';

let sim: LlmSimulator;
let r: RouterInstance;
beforeAll(async () => {
  sim = await startLlmSimulator();
  r = await startRouter([{ name: 'a', sim }]);
});
afterAll(async () => {
  await r.stop();
  await sim.stop();
});

const user = [{ role: 'user', content: 'hi' }];

/** [what, input, the field the problem must name] */
const hostile: Array<[string, unknown, string]> = [
  ['model missing', { messages: user }, 'input.model'],
  ['model a number', { model: 42, messages: user }, 'input.model'],
  ['model not served', { model: 'gpt-unknown', messages: user }, 'input.model'],
  ['messages missing', { model: 'sim-model' }, 'input.messages'],
  ['messages empty', { model: 'sim-model', messages: [] }, 'input.messages'],
  ['messages a string', { model: 'sim-model', messages: 'hi' }, 'input.messages'],
  ['message null', { model: 'sim-model', messages: [null] }, 'input.messages.0'],
  ['bad role', { model: 'sim-model', messages: [{ role: 'root', content: 'hi' }] }, 'input.messages.0.role'],
  [
    'content a number',
    { model: 'sim-model', messages: [{ role: 'user', content: 7 }] },
    'input.messages.0.content',
  ],
  [
    'content an object',
    { model: 'sim-model', messages: [{ role: 'user', content: { a: 1 } }] },
    'input.messages.0.content',
  ],
  [
    'huge content',
    { model: 'sim-model', messages: [{ role: 'user', content: 'x'.repeat(100_001) }] },
    'input.messages.0.content',
  ],
  [
    'too many messages',
    { model: 'sim-model', messages: Array.from({ length: 257 }, () => user[0]) },
    'input.messages',
  ],
  [
    'too much in all',
    {
      model: 'sim-model',
      messages: Array.from({ length: 5 }, () => ({ role: 'user', content: 'y'.repeat(90_000) })),
    },
    'input.messages',
  ],
  [
    'unknown message field',
    { model: 'sim-model', messages: [{ role: 'user', content: 'hi', extra: 1 }] },
    'input.messages.0.extra',
  ],
  [
    'bad name',
    { model: 'sim-model', messages: [{ role: 'user', content: 'hi', name: 'a b' }] },
    'input.messages.0.name',
  ],
  [
    'unknown top-level field',
    { model: 'sim-model', messages: user, logit_bias: { 1: 2 } },
    'input.logit_bias',
  ],
  ['stream true', { model: 'sim-model', messages: user, stream: true }, 'input.stream'],
  ['negative temperature', { model: 'sim-model', messages: user, temperature: -0.1 }, 'input.temperature'],
  ['temperature too high', { model: 'sim-model', messages: user, temperature: 2.5 }, 'input.temperature'],
  [
    'temperature null (NaN in JSON)',
    { model: 'sim-model', messages: user, temperature: null },
    'input.temperature',
  ],
  ['temperature a string', { model: 'sim-model', messages: user, temperature: '0' }, 'input.temperature'],
  ['top_p above 1', { model: 'sim-model', messages: user, top_p: 1.5 }, 'input.top_p'],
  ['max_tokens fractional', { model: 'sim-model', messages: user, max_tokens: 1.5 }, 'input.max_tokens'],
  ['max_tokens zero', { model: 'sim-model', messages: user, max_tokens: 0 }, 'input.max_tokens'],
  [
    'stop with five entries',
    { model: 'sim-model', messages: user, stop: ['a', 'b', 'c', 'd', 'e'] },
    'input.stop',
  ],
  ['seed unsafe integer', { model: 'sim-model', messages: user, seed: 2 ** 60 }, 'input.seed'],
  ['n above 1', { model: 'sim-model', messages: user, n: 2 }, 'input.n'],
  ['cache a string', { model: 'sim-model', messages: user, cache: 'yes' }, 'input.cache'],
  ['stop an empty string', { model: 'sim-model', messages: user, stop: '' }, 'input.stop'],
  ['prototype key', { model: 'sim-model', messages: user, prototype: 1 }, 'input.prototype'],
  [
    'presence_penalty out of range',
    { model: 'sim-model', messages: user, presence_penalty: 3 },
    'input.presence_penalty',
  ],
];

test.each(hostile)('%s -> 400 naming the field', async (_what, input, field) => {
  const res = await chat(r.url, input as Record<string, unknown>);
  expect(res.status).toBe(400);
  expect(res.body.type).toMatch(/validation-error$/);
  expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
});

test.each([
  ['input an array', '{"input":["x"]}'],
  ['__proto__ key', '{"input":{"model":"sim-model","messages":[],"__proto__":{"admin":true}}}'],
  ['constructor.prototype key', '{"input":{"model":"sim-model","constructor":{"prototype":{"x":1}}}}'],
  ['not JSON', '{"input":'],
])('%s -> 400 problem', async (_what, raw) => {
  const res = await post(r.url, '/v1/actions/chat', raw);
  expect(res.status).toBe(400);
  expect(res.body.type).toMatch(/^urn:phoenix-orch:problem:/);
});

test('no hostile input reached the provider', () => {
  expect(sim.requests).toHaveLength(0);
});

test('the allowlisted fields pass, and `cache` is not sent to the provider', async () => {
  const res = await chat(
    r.url,
    hello('all fields', {
      temperature: 0,
      top_p: 1,
      max_tokens: 16,
      stop: ['\n'],
      seed: 7,
      presence_penalty: 0,
      frequency_penalty: 0,
      n: 1,
      user: 'u1',
      stream: false,
      cache: true,
    }),
  );
  expect(res.status).toBe(200);
  expect(res.body.output.usage).toEqual({ prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
});

describe('cacheability (the rule the catalogue declares)', () => {
  const declared = async () => {
    const res = await fetch(`${r.url}/v1/actions`);
    const { actions } = (await res.json()) as { actions: Array<Record<string, unknown>> };
    return actions;
  };
  const cacheable = async (input: Record<string, unknown>) => {
    const chat = (await declared()).find((a) => a.name === 'chat')!;
    return matchesCondition(chat.cacheable_when as CacheCondition, input);
  };

  test('temperature 0 is cacheable; a sampled or default-temperature chat is not', async () => {
    expect(await cacheable(hello('same', { temperature: 0 }))).toBe(true);
    expect(await cacheable(hello('same', { temperature: 0.7 }))).toBe(false);
    expect(await cacheable(hello('x'))).toBe(false);
  });

  test('`cache` overrides the temperature rule both ways', async () => {
    expect(await cacheable(hello('a', { temperature: 0.9, cache: true }))).toBe(true);
    expect(await cacheable(hello('a', { temperature: 0, cache: false }))).toBe(false);
  });

  test('the catalogue declares chat cacheable by that rule, with no resolve step to call', async () => {
    const actions = await declared();
    const chat = actions.find((a) => a.name === 'chat')!;
    expect(chat).toMatchObject({ cacheable: true, ttl_seconds: 3600, stale_if_error_seconds: 3600 });
    expect(chat.resolve).toBeUndefined();
    expect(actions.map((a) => a.name).sort()).toEqual(['chat', 'models']);
    const resolve = await post(r.url, '/v1/actions/chat/resolve', { input: hello('x', { temperature: 0 }) });
    expect(resolve.status).toBe(404);
  });
});

test('models lists each model with its providers', async () => {
  const res = await post(r.url, '/v1/actions/models', { input: {} });
  expect(res.status).toBe(200);
  expect(res.body.output.data).toEqual([{ id: 'sim-model', object: 'model', providers: ['a'] }]);
});
