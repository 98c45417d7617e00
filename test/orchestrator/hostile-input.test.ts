import net from 'node:net';
import { gzipSync } from 'node:zlib';
import request, { type Response } from 'supertest';
import { startRedis, type RedisServer } from '../../harness/redis-server.ts';
import { startTestAgent, type TestAgent } from '../../harness/test-agent.ts';
import { API_KEY, auth, startOrchestrator } from '../support/orchestrator.ts';

/**
 * Hostile and malformed requests against one orchestrator: every one must be answered with the
 * right 4xx problem document (never a 500, a hang or a crash), and the instance must keep serving.
 */

let redis: RedisServer;
let agent: TestAgent;
let orch: Awaited<ReturnType<typeof startOrchestrator>>;
/** A real session, created in beforeAll, for the cases that need one. */
let sessionId = '';

beforeAll(async () => {
  redis = await startRedis();
  agent = await startTestAgent({ redisUrl: redis.url });
  orch = await startOrchestrator({ REDIS_URL: redis.url, AGENT_GIT_URL: agent.url });
  const created = await request(orch.url)
    .post('/v1/sessions')
    .set(auth)
    .send({ data: { seed: true } });
  expect(created.status).toBe(201);
  sessionId = created.body.id;
});
afterAll(async () => {
  await orch?.stop();
  await agent?.stop();
  await redis?.close();
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PROBLEM_TYPE = 'urn:phoenix-orch:problem:';
const ONE_MIB = 1048576;
const SOME_TASK_ID = '0b7f3c1e-1d2a-4c3b-9e8f-7a6b5c4d3e2f';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete' | 'options';

interface Case {
  name: string;
  method?: Method;
  /** Default `/v1/tasks`; `:session` is replaced by the id of a real session. */
  path?: string;
  /** Merged over the defaults (a valid API key; JSON content type when there is a body); null removes one. */
  headers?: Record<string, string | null>;
  /** A JSON value, serialized as is; a function gets the real session id. */
  json?: unknown;
  /** Bytes sent verbatim. */
  raw?: string | Buffer;
  status: number;
  /** The expected problem type, without `urn:phoenix-orch:problem:`. */
  type: string;
  /** Further assertions on the response. */
  check?: (res: Response) => void;
}

/** A valid task body with `changes` applied (an `undefined` value removes a field). */
const taskBody = (changes: Record<string, unknown> = {}) => {
  const body: Record<string, unknown> = { agent: 'git', action: 'echo', input: { hello: 'world' } };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete body[k];
    else body[k] = v;
  }
  return body;
};
const withSession = (changes: Record<string, unknown>) => (session: string) =>
  taskBody({ session_id: session, ...changes });

const deep = (levels: number, open: string, close: string, leaf = '1') =>
  open.repeat(levels) + leaf + close.repeat(levels);

const fieldNamed = (field: string) => (res: Response) => {
  const fields = (res.body.errors as Array<{ field: string; message: string }>).map((e) => e.field);
  expect(fields).toContain(field);
  for (const e of res.body.errors) expect(typeof e.message).toBe('string');
};
const allows = (allow: string) => (res: Response) => {
  expect(res.headers.allow).toBe(allow);
};
const challenges = (res: Response) => {
  expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="phoenix-orch"$/);
};
const detailMatches = (re: RegExp) => (res: Response) => {
  expect(res.body.detail).toMatch(re);
};

const cases: Case[] = [
  // Malformed JSON.
  { name: 'truncated JSON', raw: '{"agent":"git",', status: 400, type: 'validation-error' },
  { name: 'trailing comma', raw: '{"agent":"git",}', status: 400, type: 'validation-error' },
  { name: 'single-quoted JSON', raw: "{'agent':'git'}", status: 400, type: 'validation-error' },
  { name: 'bare word value', raw: '{"agent": git}', status: 400, type: 'validation-error' },
  { name: 'JSON with a comment', raw: '{"agent":"git" /* hi */}', status: 400, type: 'validation-error' },
  { name: 'two JSON documents', raw: '{"a":1}{"b":2}', status: 400, type: 'validation-error' },
  { name: 'NaN', raw: 'NaN', status: 400, type: 'validation-error' },
  {
    name: 'malformed JSON that mentions "prototype"',
    raw: '{"prototype": x}',
    status: 400,
    type: 'validation-error',
    check: detailMatches(/not valid JSON/),
  },
  {
    name: 'bytes that are not UTF-8',
    raw: Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0xc3]),
    status: 400,
    type: 'validation-error',
  },
  {
    name: 'empty body',
    raw: '',
    status: 400,
    type: 'validation-error',
    check: detailMatches(/empty/),
  },
  { name: 'whitespace-only body', raw: ' \n\t ', status: 400, type: 'validation-error' },

  // JSON that is not an object.
  { name: 'an array', json: [], status: 400, type: 'validation-error', check: fieldNamed('(body)') },
  { name: 'an array holding a task', json: [taskBody()], status: 400, type: 'validation-error' },
  { name: 'a string', json: 'run echo', status: 400, type: 'validation-error' },
  { name: 'a number', json: 42, status: 400, type: 'validation-error' },
  { name: 'null', json: null, status: 400, type: 'validation-error', check: fieldNamed('(body)') },
  { name: 'true', json: true, status: 400, type: 'validation-error' },

  // Wrong types and values for each field.
  {
    name: 'agent: number',
    json: taskBody({ agent: 1 }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('agent'),
  },
  {
    name: 'agent: null',
    json: taskBody({ agent: null }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('agent'),
  },
  {
    name: 'agent: unknown pool',
    json: taskBody({ agent: 'nope' }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('agent'),
  },
  {
    name: 'agent: wrong case',
    json: taskBody({ agent: 'GIT' }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('agent'),
  },
  {
    name: 'agent: missing',
    json: taskBody({ agent: undefined }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('agent'),
  },
  {
    name: 'action: number',
    json: taskBody({ action: 7 }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('action'),
  },
  {
    name: 'action: empty',
    json: taskBody({ action: '' }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('action'),
  },
  {
    name: 'action: missing',
    json: taskBody({ action: undefined }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('action'),
  },
  {
    name: 'action: ../x',
    json: taskBody({ action: '../x' }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('action'),
  },
  {
    name: 'action: a/b',
    json: taskBody({ action: 'a/b' }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('action'),
  },
  {
    name: 'action: uppercase',
    json: taskBody({ action: 'ECHO' }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('action'),
  },
  {
    name: 'action: 65 characters',
    json: taskBody({ action: 'a'.repeat(65) }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('action'),
  },
  {
    name: 'action: query string',
    json: taskBody({ action: 'echo?x=1' }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('action'),
  },
  {
    name: 'action: encoded slash',
    json: taskBody({ action: 'echo%2f..' }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('action'),
  },
  {
    name: 'input: string',
    json: taskBody({ input: 'x' }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('input'),
  },
  {
    name: 'input: array',
    json: taskBody({ input: [1] }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('input'),
  },
  {
    name: 'input: null',
    json: taskBody({ input: null }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('input'),
  },
  {
    name: 'input: missing',
    json: taskBody({ input: undefined }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('input'),
  },
  {
    name: 'session_id: number',
    json: taskBody({ session_id: 1 }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('session_id'),
  },
  {
    name: 'session_id: empty',
    json: taskBody({ session_id: '' }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('session_id'),
  },
  {
    name: 'session_id: spaces',
    json: taskBody({ session_id: 'a b' }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('session_id'),
  },
  {
    name: 'session_id: ../',
    json: taskBody({ session_id: '../etc/passwd' }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('session_id'),
  },
  {
    name: 'session_id: Redis glob',
    json: taskBody({ session_id: '*' }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('session_id'),
  },
  {
    name: 'session_id: 65 characters',
    json: taskBody({ session_id: 'a'.repeat(65) }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('session_id'),
  },
  {
    name: 'session_id: unknown session',
    json: taskBody({ session_id: 'no-such-session' }),
    status: 404,
    type: 'not-found',
  },
  {
    name: 'session_version: string',
    json: withSession({ session_version: '1' }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('session_version'),
  },
  {
    name: 'session_version: zero',
    json: withSession({ session_version: 0 }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('session_version'),
  },
  {
    name: 'session_version: fraction',
    json: withSession({ session_version: 1.5 }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('session_version'),
  },
  {
    name: 'session_version: without session_id',
    json: taskBody({ session_version: 1 }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('session_version'),
  },
  {
    name: 'mode: unknown',
    json: taskBody({ mode: 'later' }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('mode'),
  },
  {
    name: 'mode: number',
    json: taskBody({ mode: 1 }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('mode'),
  },
  {
    name: 'cache: unknown',
    json: taskBody({ cache: 'maybe' }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('cache'),
  },
  {
    name: 'cache: boolean',
    json: taskBody({ cache: true }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('cache'),
  },
  {
    name: 'unknown top-level field',
    json: taskBody({ priority: 'high' }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('priority'),
  },
  {
    name: 'unknown field differing by case',
    json: taskBody({ Agent: 'git' }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('Agent'),
  },

  // The agent's own validation.
  {
    name: 'unknown action on a known agent',
    json: taskBody({ action: 'nope' }),
    status: 400,
    type: 'unknown-action',
    check: (res) => {
      fieldNamed('action')(res);
      expect(res.body.errors[0].message).toContain('echo');
    },
  },
  {
    name: 'typed: n as string',
    json: taskBody({ action: 'typed', input: { n: '5' } }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('input.n'),
  },
  {
    name: 'typed: n above range',
    json: taskBody({ action: 'typed', input: { n: 11 } }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('input.n'),
  },
  {
    name: 'typed: n below range',
    json: taskBody({ action: 'typed', input: { n: 0 } }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('input.n'),
  },
  {
    name: 'typed: n missing',
    json: taskBody({ action: 'typed', input: {} }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('input.n'),
  },
  {
    name: 'typed: extra input key',
    json: taskBody({ action: 'typed', input: { n: 1, m: 2 } }),
    status: 400,
    type: 'validation-error',
    check: fieldNamed('input.m'),
  },

  // Size.
  {
    name: 'body over BODY_LIMIT_BYTES',
    json: taskBody({ input: { pad: 'x'.repeat(ONE_MIB) } }),
    status: 413,
    type: 'payload-too-large',
  },
  {
    name: 'session body over BODY_LIMIT_BYTES',
    path: '/v1/sessions',
    json: { data: { pad: 'x'.repeat(ONE_MIB + 1) } },
    status: 413,
    type: 'payload-too-large',
  },
  {
    name: 'gzip body that inflates past BODY_LIMIT_BYTES',
    headers: { 'Content-Encoding': 'gzip' },
    raw: gzipSync(JSON.stringify(taskBody({ input: { pad: ' '.repeat(4 * ONE_MIB) } }))),
    status: 413,
    type: 'payload-too-large',
  },

  // Media type and encoding.
  {
    name: 'text/plain',
    headers: { 'Content-Type': 'text/plain' },
    json: taskBody(),
    status: 415,
    type: 'unsupported-media-type',
  },
  {
    name: 'form-urlencoded',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    raw: 'agent=git&action=echo',
    status: 415,
    type: 'unsupported-media-type',
  },
  {
    name: 'multipart',
    headers: { 'Content-Type': 'multipart/form-data; boundary=x' },
    raw: '--x\r\nContent-Disposition: form-data; name="agent"\r\n\r\ngit\r\n--x--\r\n',
    status: 415,
    type: 'unsupported-media-type',
  },
  {
    name: 'no Content-Type',
    headers: { 'Content-Type': null },
    json: taskBody(),
    status: 415,
    type: 'unsupported-media-type',
  },
  {
    name: 'application/jsonx',
    headers: { 'Content-Type': 'application/jsonx' },
    json: taskBody(),
    status: 415,
    type: 'unsupported-media-type',
  },
  {
    name: 'charset latin1',
    headers: { 'Content-Type': 'application/json; charset=latin1' },
    json: taskBody(),
    status: 415,
    type: 'unsupported-media-type',
  },
  {
    name: 'charset utf-16 (quoted)',
    headers: { 'Content-Type': 'application/json; charset="UTF-16"' },
    json: taskBody(),
    status: 415,
    type: 'unsupported-media-type',
  },
  {
    name: 'unknown Content-Encoding',
    headers: { 'Content-Encoding': 'x-rot13' },
    json: taskBody(),
    status: 415,
    type: 'unsupported-media-type',
  },

  // Prototype pollution.
  {
    name: '__proto__ at top level',
    raw: '{"__proto__":{"admin":true},"agent":"git","action":"echo","input":{}}',
    status: 400,
    type: 'validation-error',
    check: detailMatches(/forbidden key/),
  },
  {
    name: '__proto__ nested in input',
    raw: '{"agent":"git","action":"echo","input":{"a":{"__proto__":{"admin":true}}}}',
    status: 400,
    type: 'validation-error',
    check: detailMatches(/forbidden key/),
  },
  {
    name: '__proto__ spelled with unicode escapes',
    raw: '{"agent":"git","action":"echo","input":{"\\u005f_proto\\u005f_":{"admin":true}}}',
    status: 400,
    type: 'validation-error',
    check: detailMatches(/forbidden key/),
  },
  {
    name: 'constructor.prototype at top level',
    raw: '{"constructor":{"prototype":{"admin":true}},"agent":"git","action":"echo","input":{}}',
    status: 400,
    type: 'validation-error',
    check: detailMatches(/forbidden key/),
  },
  {
    name: 'constructor.prototype nested in input',
    raw: '{"agent":"git","action":"echo","input":{"constructor":{"prototype":{"admin":true}}}}',
    status: 400,
    type: 'validation-error',
    check: detailMatches(/forbidden key/),
  },
  {
    name: '__proto__ in session data',
    path: '/v1/sessions',
    raw: '{"data":{"__proto__":{"admin":true}}}',
    status: 400,
    type: 'validation-error',
    check: detailMatches(/forbidden key/),
  },

  // Nesting.
  {
    name: '10,000 nested arrays in input',
    raw: `{"agent":"git","action":"echo","input":{"x":${deep(10000, '[', ']')}}}`,
    status: 400,
    type: 'validation-error',
    check: detailMatches(/nested deeper/),
  },
  {
    name: '10,000 nested objects in input',
    raw: `{"agent":"git","action":"echo","input":${deep(10000, '{"a":', '}')}}`,
    status: 400,
    type: 'validation-error',
    check: detailMatches(/nested deeper/),
  },
  {
    name: '10,000 nested objects with constructor keys',
    raw: `{"agent":"git","action":"echo","input":${deep(10000, '{"constructor":', '}')}}`,
    status: 400,
    type: 'validation-error',
  },
  {
    name: '500,000 nested arrays (just under the body limit)',
    raw: deep(500000, '[', ']'),
    status: 400,
    type: 'validation-error',
  },

  // Authorization.
  {
    name: 'no Authorization',
    headers: { Authorization: null },
    json: taskBody(),
    status: 401,
    type: 'unauthorized',
    check: challenges,
  },
  {
    name: 'wrong API key',
    headers: { Authorization: 'Bearer not-the-right-key-0123456789' },
    json: taskBody(),
    status: 401,
    type: 'unauthorized',
    check: challenges,
  },
  {
    name: 'the right key with a character added',
    headers: { Authorization: `Bearer ${API_KEY}x` },
    json: taskBody(),
    status: 401,
    type: 'unauthorized',
    check: challenges,
  },
  {
    name: 'Basic credentials',
    headers: { Authorization: `Basic ${Buffer.from(`user:${API_KEY}`).toString('base64')}` },
    json: taskBody(),
    status: 401,
    type: 'unauthorized',
    check: challenges,
  },
  {
    name: 'Bearer with no key',
    headers: { Authorization: 'Bearer' },
    json: taskBody(),
    status: 401,
    type: 'unauthorized',
    check: challenges,
  },
  {
    name: 'Bearer and a space only',
    headers: { Authorization: 'Bearer ' },
    json: taskBody(),
    status: 401,
    type: 'unauthorized',
    check: challenges,
  },
  {
    name: 'the key without a scheme',
    headers: { Authorization: API_KEY },
    json: taskBody(),
    status: 401,
    type: 'unauthorized',
    check: challenges,
  },
  {
    name: 'the key followed by junk',
    headers: { Authorization: `Bearer ${API_KEY} ${API_KEY}` },
    json: taskBody(),
    status: 401,
    type: 'unauthorized',
    check: challenges,
  },
  {
    name: 'a 10,000-character key',
    headers: { Authorization: `Bearer ${'k'.repeat(10000)}` },
    json: taskBody(),
    status: 401,
    type: 'unauthorized',
    check: challenges,
  },
  {
    name: 'no Authorization on a GET',
    method: 'get',
    path: `/v1/tasks/${SOME_TASK_ID}`,
    headers: { Authorization: null },
    status: 401,
    type: 'unauthorized',
    check: challenges,
  },
  {
    name: 'wrong key on a session read',
    method: 'get',
    path: '/v1/sessions/:session',
    headers: { Authorization: 'Bearer wrong-key-wrong-key-wrong-key' },
    status: 401,
    type: 'unauthorized',
    check: challenges,
  },
  {
    name: 'no Authorization before a malformed body is read',
    headers: { Authorization: null },
    raw: '{"agent":',
    status: 401,
    type: 'unauthorized',
    check: challenges,
  },

  // Session ids.
  {
    name: 'session id with a space',
    method: 'get',
    path: '/v1/sessions/a%20b',
    status: 404,
    type: 'not-found',
  },
  {
    name: 'session id ../',
    method: 'get',
    path: '/v1/sessions/..%2F..%2Fetc',
    status: 404,
    type: 'not-found',
  },
  { name: 'session id with NUL', method: 'get', path: '/v1/sessions/a%00b', status: 404, type: 'not-found' },
  { name: 'session id Redis glob', method: 'delete', path: '/v1/sessions/*', status: 404, type: 'not-found' },
  {
    name: 'session id of 65 characters',
    method: 'get',
    path: `/v1/sessions/${'a'.repeat(65)}`,
    status: 404,
    type: 'not-found',
  },
  {
    name: 'session id with a quote on PATCH',
    method: 'patch',
    path: '/v1/sessions/a%22b',
    json: { data: { x: 1 } },
    status: 404,
    type: 'not-found',
  },
  {
    name: 'session id with broken percent-encoding',
    method: 'get',
    path: '/v1/sessions/%E0%A4%A',
    status: 400,
    type: 'bad-request',
  },

  // Task ids.
  { name: 'task id not a UUID', method: 'get', path: '/v1/tasks/not-a-uuid', status: 404, type: 'not-found' },
  {
    name: 'task id UUID with a suffix',
    method: 'get',
    path: `/v1/tasks/${SOME_TASK_ID}-x`,
    status: 404,
    type: 'not-found',
  },
  {
    name: 'task id ../',
    method: 'get',
    path: '/v1/tasks/..%2F..%2Fsessions',
    status: 404,
    type: 'not-found',
  },
  { name: 'task id Redis glob', method: 'get', path: '/v1/tasks/*', status: 404, type: 'not-found' },
  {
    name: 'task id well-formed but unknown',
    method: 'get',
    path: `/v1/tasks/${SOME_TASK_ID}`,
    status: 404,
    type: 'not-found',
  },
  { name: 'task id lone percent sign', method: 'get', path: '/v1/tasks/%', status: 400, type: 'bad-request' },

  // If-Match.
  ...['W/"1"', '"abc"', '1.5', '-1', '"9999999999999999"', '"1", "2"'].map((value): Case => ({
    name: `PATCH with If-Match ${value}`,
    method: 'patch',
    path: '/v1/sessions/:session',
    headers: { 'If-Match': value },
    json: { data: { x: 1 } },
    status: 400,
    type: 'validation-error',
    check: detailMatches(/If-Match/),
  })),
  {
    name: 'PATCH without data',
    method: 'patch',
    path: '/v1/sessions/:session',
    json: { x: 1 },
    status: 400,
    type: 'validation-error',
    check: fieldNamed('data'),
  },

  // Unknown routes.
  { name: 'unknown top-level route', method: 'get', path: '/nope', status: 404, type: 'not-found' },
  { name: 'unknown /v1 route', method: 'get', path: '/v1/nope', status: 404, type: 'not-found' },
  {
    name: 'unknown API version',
    method: 'post',
    path: '/v2/tasks',
    json: taskBody(),
    status: 404,
    type: 'not-found',
  },
  {
    name: 'extra segment after a task id',
    method: 'get',
    path: `/v1/tasks/${SOME_TASK_ID}/result`,
    status: 404,
    type: 'not-found',
  },
  {
    name: 'extra segment after a session id',
    method: 'post',
    path: '/v1/sessions/:session/turns',
    json: {},
    status: 404,
    type: 'not-found',
  },
  { name: 'double slash', method: 'get', path: '//health', status: 404, type: 'not-found' },

  // Wrong methods.
  { name: 'GET /v1/tasks', method: 'get', status: 405, type: 'method-not-allowed', check: allows('POST') },
  {
    name: 'PUT /v1/tasks',
    method: 'put',
    json: taskBody(),
    status: 405,
    type: 'method-not-allowed',
    check: allows('POST'),
  },
  {
    name: 'DELETE /v1/tasks',
    method: 'delete',
    status: 405,
    type: 'method-not-allowed',
    check: allows('POST'),
  },
  {
    name: 'POST /v1/tasks/{id}',
    method: 'post',
    path: `/v1/tasks/${SOME_TASK_ID}`,
    json: taskBody(),
    status: 405,
    type: 'method-not-allowed',
    check: allows('GET, HEAD'),
  },
  {
    name: 'GET /v1/sessions',
    method: 'get',
    path: '/v1/sessions',
    status: 405,
    type: 'method-not-allowed',
    check: allows('POST'),
  },
  {
    name: 'PUT /v1/sessions/{id}',
    method: 'put',
    path: '/v1/sessions/:session',
    json: { data: {} },
    status: 405,
    type: 'method-not-allowed',
    check: allows('GET, HEAD, PATCH, DELETE'),
  },
  {
    name: 'DELETE /health',
    method: 'delete',
    path: '/health',
    status: 405,
    type: 'method-not-allowed',
    check: allows('GET, HEAD'),
  },
  {
    name: 'POST /metrics',
    method: 'post',
    path: '/metrics',
    json: {},
    status: 405,
    type: 'method-not-allowed',
    check: allows('GET, HEAD'),
  },
  {
    name: 'PUT /openapi.json',
    method: 'put',
    path: '/openapi.json',
    json: {},
    status: 405,
    type: 'method-not-allowed',
    check: allows('GET, HEAD'),
  },
];

const BODY_METHODS = new Set<Method>(['post', 'put', 'patch']);

function send(c: Case) {
  const method = c.method ?? 'post';
  const path = (c.path ?? '/v1/tasks').replace(':session', sessionId);
  const headers: Record<string, string | null> = {
    ...auth,
    ...(BODY_METHODS.has(method) ? { 'Content-Type': 'application/json' } : {}),
    ...c.headers,
  };
  let req = request(orch.url)[method](path);
  for (const [name, value] of Object.entries(headers)) if (value !== null) req = req.set(name, value);
  const json = typeof c.json === 'function' ? (c.json as (s: string) => unknown)(sessionId) : c.json;
  const payload = c.raw ?? (json !== undefined ? JSON.stringify(json) : undefined);
  if (payload === undefined) return req;
  // Send the bytes as they are: no serializer, and no Content-Type unless the case sets one.
  return req
    .serialize((body: unknown) => body as string)
    .send(Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8'));
}

/** An answer from Express: a problem document carrying the request's correlation id. */
function expectProblem(res: Response, status: number, type: string) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json(;|$)/);
  const body = res.body as Record<string, unknown>;
  expect(body.type).toBe(PROBLEM_TYPE + type);
  expect(body.status).toBe(status);
  expect(typeof body.title).toBe('string');
  expect((body.title as string).length).toBeGreaterThan(0);
  expect(typeof body.detail).toBe('string');
  expect((body.detail as string).length).toBeGreaterThan(0);
  const correlationId = res.headers['x-correlation-id'];
  expect(correlationId).toMatch(UUID);
  expect(body.correlation_id).toBe(correlationId);
}

test('the table holds enough hostile requests', () => {
  expect(cases.length).toBeGreaterThanOrEqual(45);
  expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
});

describe('hostile requests get a 4xx problem document', () => {
  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const res = await send(c);
    expectProblem(res, c.status, c.type);
    c.check?.(res);
  });
});

describe('X-Correlation-ID', () => {
  const normalTask = (correlationId: string) =>
    request(orch.url)
      .post('/v1/tasks')
      .set(auth)
      .set('X-Correlation-ID', correlationId)
      .send(taskBody({ input: { correlation: correlationId }, cache: 'bypass' }));

  test.each([
    ['65 characters', 'c'.repeat(65)],
    ['spaces', 'has some spaces'],
    ['unicode (raw UTF-8 bytes)', Buffer.from('ünïcødé-日本', 'utf8').toString('latin1')],
    ['latin-1', 'caf\u00e9'],
    ['markup', '<script>alert(1)</script>'],
    ['header-ish', 'a;b=c, d'],
    ['a Redis glob', 'po:*'],
  ])(
    'a hostile value (%s) is replaced by a fresh UUID, and the request still succeeds',
    async (_n, hostile) => {
      const res = await normalTask(hostile);
      expect(res.status).toBe(200);
      const echoed = res.headers['x-correlation-id'];
      expect(echoed).toMatch(UUID);
      expect(echoed).not.toBe(hostile);
      // The agent saw the replacement, never the hostile value.
      expect(agent.control.correlationIds.at(-1)).toBe(echoed);
      expect(agent.control.correlationIds).not.toContain(hostile);
    },
  );

  test.each([
    ['a typical id', 'abc-123._x'],
    ['64 characters (the maximum)', `${'Z'.repeat(63)}9`],
  ])('a valid value (%s) is echoed unchanged and passed to the agent', async (_n, valid) => {
    const res = await normalTask(valid);
    expect(res.status).toBe(200);
    expect(res.headers['x-correlation-id']).toBe(valid);
    expect(agent.control.correlationIds.at(-1)).toBe(valid);
  });

  test('a valid value is also the correlation_id of a problem document', async () => {
    const res = await request(orch.url).get('/v1/nope').set(auth).set('X-Correlation-ID', 'trace.42');
    expect(res.status).toBe(404);
    expect(res.headers['x-correlation-id']).toBe('trace.42');
    expect(res.body.correlation_id).toBe('trace.42');
  });
});

describe('HTTP semantics the API key and If-Match checks must follow (RFC 9110)', () => {
  test('the authentication scheme is case-insensitive (RFC 9110 11.1)', async () => {
    const res = await request(orch.url)
      .post('/v1/tasks')
      .set('Authorization', `bearer ${API_KEY}`)
      .send(taskBody({ input: { scheme: 'lowercase' } }));
    expect(res.status).toBe(200);
  });

  test('If-Match: * matches any current version (RFC 9110 13.1.1)', async () => {
    const res = await request(orch.url)
      .patch(`/v1/sessions/${sessionId}`)
      .set(auth)
      .set('If-Match', '*')
      .send({ data: { star: true } });
    expect(res.status).toBe(200);
    expect(res.body.data.star).toBe(true);
  });
});

/** Writes `bytes` to the orchestrator's port on 127.0.0.1 and reads until the server closes. */
function rawExchange(bytes: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(orch.port, '127.0.0.1', () => socket.write(bytes));
    const done = () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(`no complete answer within 5 s; got ${JSON.stringify(Buffer.concat(chunks).toString())}`),
      );
    }, 5000);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.once('end', done);
    // The server may reset once it has answered (it never read the rest); keep what arrived.
    socket.once('error', done);
  });
}

const rawCases: Array<[string, string, number, string]> = [
  [
    'CR injection in a header value',
    'GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\rInjected: 1\r\n\r\n',
    400,
    'malformed-request',
  ],
  [
    'bare LF injection in a header value',
    'GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\nInjected: 1\r\n\r\n',
    400,
    'malformed-request',
  ],
  [
    'NUL in a header value',
    'GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n',
    400,
    'malformed-request',
  ],
  [
    'a header line without a colon',
    'GET /health HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n',
    400,
    'malformed-request',
  ],
  [
    'a 100 KB header',
    `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100 * 1024)}\r\n\r\n`,
    431,
    'headers-too-large',
  ],
  ['a request line that is not HTTP', 'THIS IS NOT HTTP\r\n\r\n', 400, 'malformed-request'],
  ['an unknown method', 'BREW /health HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'malformed-request'],
  ['HTTP/9.9', 'GET /health HTTP/9.9\r\nHost: x\r\n\r\n', 400, 'malformed-request'],
  ['a space in the request target', 'GET /he alth HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'malformed-request'],
  [
    'Content-Length with Transfer-Encoding (smuggling)',
    'POST /v1/tasks HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    400,
    'malformed-request',
  ],
  [
    'two different Content-Lengths',
    'POST /v1/tasks HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}',
    400,
    'malformed-request',
  ],
  [
    'a chunk size that is not hex',
    `POST /v1/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${API_KEY}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
    400,
    'malformed-request',
  ],
  ['HTTP/1.1 without Host', 'GET /health HTTP/1.1\r\n\r\n', 400, 'malformed-request'],
];

describe('requests Node rejects before Express sees them', () => {
  const table = rawCases.map(([name, bytes, status, type]) => ({ name, bytes, status, type }));
  test.each(table)('$name → $status problem+json', async ({ bytes, status, type }) => {
    const reply = await rawExchange(Buffer.from(bytes, 'latin1'));
    const split = reply.indexOf('\r\n\r\n');
    expect(split).toBeGreaterThan(0);
    const [statusLine, ...headerLines] = reply.slice(0, split).split('\r\n');
    expect(statusLine).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    const headers = new Map(
      headerLines.map((line) => {
        const i = line.indexOf(':');
        return [line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim()] as const;
      }),
    );
    expect(headers.get('content-type')).toMatch(/^application\/problem\+json(;|$)/);
    const body = JSON.parse(reply.slice(split + 4)) as Record<string, unknown>;
    expect(body).toMatchObject({ type: PROBLEM_TYPE + type, status });
    expect(typeof body.title).toBe('string');
    expect(typeof body.detail).toBe('string');
  });
});

describe('after all of it', () => {
  test('the instance still answers a normal task request 200', async () => {
    const res = await request(orch.url)
      .post('/v1/tasks')
      .set(auth)
      .send(taskBody({ input: { after: 'the storm' } }));
    expect(res.status).toBe(200);
    expect(res.headers['x-cache']).toBe('MISS');
    expect(res.body).toEqual({
      agent: 'git',
      action: 'echo',
      output: { echo: { after: 'the storm' }, turns_seen: 0 },
    });
    const health = await request(orch.url).get('/health');
    expect(health.status).toBe(200);
    expect(health.body.ready).toBe(true);
  });

  test('no hostile request was answered with a 5xx', async () => {
    const metrics = await request(orch.url).get('/metrics');
    expect(metrics.status).toBe(200);
    const lines = metrics.text.split('\n').filter((l) => l.startsWith('orchestrator_http_requests_total{'));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter((l) => /status="5\d\d"/.test(l))).toEqual([]);
  });
});
