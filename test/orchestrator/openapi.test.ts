import { setTimeout as sleep } from 'node:timers/promises';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import request, { type Response } from 'supertest';
import { startRedis, type RedisServer } from '../../harness/redis-server.ts';
import { startTestAgent, type TestAgent } from '../../harness/test-agent.ts';
import { auth, startOrchestrator } from '../support/orchestrator.ts';

/**
 * Keeps GET /openapi.json true: it is valid OpenAPI 3.1, it documents exactly the operations the
 * orchestrator serves, and real responses match the documented status codes, headers and schemas.
 */

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
type HttpMethod = (typeof HTTP_METHODS)[number];
/** Methods the probes send (supertest cannot send TRACE). */
const PROBE_METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options'] as const;
type ProbeMethod = (typeof PROBE_METHODS)[number];

interface MediaTypeObject {
  schema?: unknown;
}
interface ResponseObject {
  description: string;
  headers?: Record<string, { schema?: unknown; required?: boolean }>;
  content?: Record<string, MediaTypeObject>;
}
interface Operation {
  operationId: string;
  security?: unknown[];
  requestBody?: { required?: boolean; content: Record<string, MediaTypeObject> };
  responses: Record<string, ResponseObject>;
}
interface OpenApiDocument {
  openapi: string;
  security?: unknown[];
  paths: Record<string, Partial<Record<HttpMethod, Operation>>>;
  components: { schemas: Record<string, unknown> };
}

/** The document is added to Ajv under this id, so `#/components/schemas/...` references resolve in it. */
const DOC_ID = 'https://phoenix-orch.test/openapi.json';
const INSTANCE_ID = 'openapi-orch';

let redis: RedisServer;
let agent: TestAgent;
let orch: Awaited<ReturnType<typeof startOrchestrator>>;
let doc: OpenApiDocument;
let ajv: Ajv2020;

beforeAll(async () => {
  redis = await startRedis();
  agent = await startTestAgent({ redisUrl: redis.url });
  orch = await startOrchestrator({ REDIS_URL: redis.url, AGENT_GIT_URL: agent.url, INSTANCE_ID });
  const res = await request(orch.url).get('/openapi.json');
  expect(res.status).toBe(200);
  doc = JSON.parse(res.text) as OpenApiDocument;
  ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ ...doc, $id: DOC_ID });
});
afterAll(async () => {
  await orch?.stop();
  await agent?.stop();
  await redis?.close();
});

/** `$ref` to the JSON value at `parts` inside the document (RFC 6901 pointer in a URI fragment). */
const pointer = (...parts: string[]) =>
  `${DOC_ID}#/${parts.map((p) => encodeURIComponent(p.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/')}`;

const compiled = new Map<string, ValidateFunction>();
/** Errors of `value` against the schema at `ref`, as readable strings (empty when valid). */
function schemaErrors(ref: string, value: unknown): string[] {
  let validate = compiled.get(ref);
  if (!validate) {
    validate = ajv.compile({ $ref: ref });
    compiled.set(ref, validate);
  }
  if (validate(value)) return [];
  return (validate.errors ?? []).map(
    (e) => `${e.instancePath || '(root)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
  );
}

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, item]) =>
    HTTP_METHODS.filter((m) => item[m] !== undefined).map((method) => ({ path, method, op: item[method]! })),
  );

/**
 * Checks a real response against the document: its status is documented for the operation, every
 * documented header is present and matches its schema, and the body has a documented media type
 * and matches its schema. Returns the mismatches.
 */
function mismatches(template: string, method: HttpMethod, res: Response): string[] {
  const where = `${method.toUpperCase()} ${template} → ${res.status}`;
  const op = doc.paths[template]?.[method];
  if (!op) return [`${where}: the operation is not documented`];
  const status = String(res.status);
  const response = op.responses[status];
  if (!response) {
    return [`${where}: status not documented (documented: ${Object.keys(op.responses).join(', ')})`];
  }
  const found: string[] = [];
  for (const [name, header] of Object.entries(response.headers ?? {})) {
    const value = res.headers[name.toLowerCase()] as string | undefined;
    if (value === undefined) {
      if (header.required === false) continue; // documented as present only sometimes
      found.push(`${where}: documented header ${name} is missing`);
      continue;
    }
    if (header.schema) {
      const parts = ['paths', template, method, 'responses', status, 'headers', name, 'schema'];
      for (const e of schemaErrors(pointer(...parts), value)) found.push(`${where}: header ${name}: ${e}`);
    }
  }
  const contentType = res.headers['content-type'] as string | undefined;
  const hasBody = method !== 'head' && res.text !== undefined && res.text.length > 0;
  if (!response.content) {
    if (hasBody) found.push(`${where}: answered a ${contentType} body, but no content is documented`);
    return found;
  }
  if (!contentType || !hasBody) return [...found, `${where}: documented content, but the body is empty`];
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  const media = response.content[mediaType];
  if (!media) {
    const documented = Object.keys(response.content).join(', ');
    return [...found, `${where}: media type ${mediaType} is not documented (documented: ${documented})`];
  }
  if (media.schema) {
    const body: unknown = /[/+]json$/.test(mediaType) ? JSON.parse(res.text) : res.text;
    const parts = ['paths', template, method, 'responses', status, 'content', mediaType, 'schema'];
    for (const e of schemaErrors(pointer(...parts), body)) found.push(`${where}: body ${e}`);
  }
  return found;
}

const api = () => request(orch.url);
const newSession = async (data: Record<string, unknown> = {}) => {
  const res = await api().post('/v1/sessions').set(auth).send({ data });
  expect(res.status).toBe(201);
  return res.body as { id: string; version: number };
};
/** Submits an async echo task and waits until it has succeeded. */
const finishedAsyncTask = async () => {
  const res = await api()
    .post('/v1/tasks')
    .set(auth)
    .send({ agent: 'git', action: 'echo', input: { probe: Math.random() }, mode: 'async' });
  expect(res.status).toBe(202);
  const id = res.body.id as string;
  for (let i = 0; i < 100; i += 1) {
    const status = await api().get(`/v1/tasks/${id}`).set(auth);
    if (status.body.status === 'succeeded') return id;
    await sleep(50);
  }
  throw new Error(`async task ${id} did not finish`);
};

describe('the document', () => {
  test('is valid OpenAPI 3.1', async () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    const validator = new Validator();
    const result = await validator.validate(doc as unknown as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  test('every response schema compiles and every $ref resolves', () => {
    const problems: string[] = [];
    for (const { path, method, op } of operations()) {
      for (const [status, response] of Object.entries(op.responses)) {
        for (const mediaType of Object.keys(response.content ?? {})) {
          const ref = pointer('paths', path, method, 'responses', status, 'content', mediaType, 'schema');
          try {
            schemaErrors(ref, null);
          } catch (err) {
            problems.push(`${method} ${path} ${status} ${mediaType}: ${(err as Error).message}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
    expect(compiled.size).toBeGreaterThanOrEqual(10);
  });
});

describe('documented operations and served routes are the same set', () => {
  test('the routes registered in the app are exactly the documented operations', () => {
    type Layer = { route?: { path: string; methods: Record<string, boolean> } };
    const stack = (orch.app as unknown as { router: { stack: Layer[] } }).router.stack;
    const served = stack.flatMap((layer) =>
      layer.route
        ? Object.keys(layer.route.methods)
            .filter((m) => layer.route!.methods[m])
            .map((m) => `${m.toUpperCase()} ${layer.route!.path.replace(/:([A-Za-z_]+)/g, '{$1}')}`)
        : [],
    );
    const documented = operations().map(({ path, method }) => `${method.toUpperCase()} ${path}`);
    expect(served.length).toBeGreaterThan(0);
    expect([...new Set(served)].sort()).toEqual([...new Set(documented)].sort());
  });

  test('every documented operation is served: probed with its method it answers neither 404 nor 405', async () => {
    const taskId = await finishedAsyncTask();
    const bodies: Record<string, unknown> = {
      'post /v1/tasks': { agent: 'git', action: 'echo', input: { probe: 'served' } },
      'post /v1/sessions': { data: { probe: true } },
      'patch /v1/sessions/{id}': { data: { probe: true } },
    };
    const problems: string[] = [];
    let probed = 0;
    for (const { path, method } of operations()) {
      // Fresh ids per probe, so a DELETE never removes what another probe reads.
      const id = path.startsWith('/v1/sessions/') ? (await newSession()).id : taskId;
      const url = path.replace('{id}', id);
      let req = api()[method as ProbeMethod](url).set(auth);
      const body = bodies[`${method} ${path}`];
      if (body !== undefined) req = req.send(body as object);
      const res = await req;
      probed += 1;
      if (res.status === 404 || res.status === 405 || res.status >= 500) {
        problems.push(`${method.toUpperCase()} ${url} answered ${res.status}: ${res.text.slice(0, 200)}`);
      }
    }
    expect(problems).toEqual([]);
    expect(probed).toBe(operations().length);
  });

  test('every undocumented method on a documented path answers 405 with an Allow header of the documented methods', async () => {
    const problems: string[] = [];
    const sessionId = (await newSession()).id;
    for (const [path, item] of Object.entries(doc.paths)) {
      const documented = HTTP_METHODS.filter((m) => item[m] !== undefined);
      // HEAD is part of GET (RFC 9110 9.3.2), so it is neither listed nor refused where GET is.
      const expectedAllow = new Set(documented.map((m) => m.toUpperCase()));
      if (item.get) expectedAllow.add('HEAD');
      const url = path.replace('{id}', sessionId);
      for (const method of PROBE_METHODS) {
        if (expectedAllow.has(method.toUpperCase())) continue;
        const res = await api()[method](url).set(auth);
        const allow = new Set((res.headers.allow ?? '').split(',').map((m: string) => m.trim()));
        allow.delete('');
        if (res.status !== 405) {
          problems.push(`${method.toUpperCase()} ${path} answered ${res.status}, not 405`);
        } else if ([...allow].sort().join(',') !== [...expectedAllow].sort().join(',')) {
          problems.push(
            `${method.toUpperCase()} ${path}: Allow "${res.headers.allow}" is not the documented set`,
          );
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test.each([
    ['GET', '/v1/sessions'],
    ['GET', '/v1/actions'],
    ['GET', '/v1/agents'],
    ['GET', '/v1/pools'],
    ['DELETE', '/v1/tasks/0b7f3c1e-1d2a-4c3b-9e8f-7a6b5c4d3e2f/cancel'],
    ['GET', '/health/startup'],
    ['GET', '/openapi.yaml'],
    ['GET', '/docs'],
  ])('%s %s is not served unless documented', async (method, path) => {
    const documented = doc.paths[path]?.[method.toLowerCase() as HttpMethod] !== undefined;
    const res = await api()[method.toLowerCase() as ProbeMethod](path).set(auth);
    if (documented) expect([404, 405]).not.toContain(res.status);
    else expect([404, 405]).toContain(res.status);
  });

  test('operations without security answer without an API key; the others answer 401 without one', async () => {
    const problems: string[] = [];
    const sessionId = (await newSession()).id;
    for (const { path, method, op } of operations()) {
      const security = op.security ?? doc.security ?? [];
      const url = path.replace('{id}', sessionId);
      const res = await api()[method as ProbeMethod](url);
      if (security.length > 0 && res.status !== 401) {
        problems.push(`${method.toUpperCase()} ${path} needs an API key but answered ${res.status}`);
      }
      if (security.length === 0 && res.status === 401) {
        problems.push(`${method.toUpperCase()} ${path} is documented as public but answered 401`);
      }
      if (res.status === 401) {
        problems.push(...mismatches(path, method, res));
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('real responses match the documented responses', () => {
  const expectDocumented = (template: string, method: HttpMethod, res: Response, status: number) => {
    expect({ status: res.status, body: res.status === status ? '(as expected)' : res.text }).toEqual({
      status,
      body: '(as expected)',
    });
    expect(mismatches(template, method, res)).toEqual([]);
  };

  test('POST /v1/tasks 200 (MISS, then HIT) with X-Cache, X-Correlation-ID and X-Served-By', async () => {
    const body = { agent: 'git', action: 'echo', input: { openapi: 'miss-then-hit' } };
    const miss = await api().post('/v1/tasks').set(auth).set('X-Correlation-ID', 'openapi-1').send(body);
    expectDocumented('/v1/tasks', 'post', miss, 200);
    expect(miss.headers['x-cache']).toBe('MISS');
    expect(miss.headers['x-correlation-id']).toBe('openapi-1');
    expect(miss.headers['x-served-by']).toBe(INSTANCE_ID);
    const documentedHeaders = Object.keys(doc.paths['/v1/tasks']!.post!.responses['200']!.headers ?? {});
    expect(documentedHeaders).toEqual(expect.arrayContaining(['X-Cache', 'X-Correlation-ID', 'X-Served-By']));

    const hit = await api().post('/v1/tasks').set(auth).send(body);
    expectDocumented('/v1/tasks', 'post', hit, 200);
    expect(hit.headers['x-cache']).toBe('HIT');
  });

  test('POST /v1/tasks 200 with cache bypass', async () => {
    const res = await api()
      .post('/v1/tasks')
      .set(auth)
      .send({ agent: 'git', action: 'count', input: {}, cache: 'bypass' });
    expectDocumented('/v1/tasks', 'post', res, 200);
    expect(res.headers['x-cache']).toBe('BYPASS');
  });

  test('POST /v1/tasks async 202, then GET /v1/tasks/{id} 200 until it has succeeded', async () => {
    const accepted = await api()
      .post('/v1/tasks')
      .set(auth)
      .send({ agent: 'git', action: 'slow', input: { ms: 100, tag: 'openapi' }, mode: 'async' });
    expectDocumented('/v1/tasks', 'post', accepted, 202);
    expect(accepted.headers.location).toBe(accepted.body.status_url);
    const seen = new Set<string>();
    let last: Response | undefined;
    for (let i = 0; i < 100; i += 1) {
      last = await api().get(accepted.body.status_url).set(auth);
      expectDocumented('/v1/tasks/{id}', 'get', last, 200);
      seen.add(last.body.status);
      if (last.body.status === 'succeeded' || last.body.status === 'failed') break;
      await sleep(50);
    }
    expect(last?.body.status).toBe('succeeded');
    expect(last?.body.result.output).toEqual({ slept: 100, tag: 'openapi' });
  });

  test('GET /v1/tasks/{id} 200 for an async task the agent rejected (stored as failed)', async () => {
    const accepted = await api()
      .post('/v1/tasks')
      .set(auth)
      .send({ agent: 'git', action: 'typed', input: { n: 99 }, mode: 'async' });
    expectDocumented('/v1/tasks', 'post', accepted, 202);
    let last: Response | undefined;
    for (let i = 0; i < 100; i += 1) {
      last = await api().get(accepted.body.status_url).set(auth);
      if (last.body.status === 'failed' || last.body.status === 'succeeded') break;
      await sleep(50);
    }
    expect(last?.body.status).toBe('failed');
    expectDocumented('/v1/tasks/{id}', 'get', last!, 200);
  });

  test('sessions: create 201, get 200, task in the session 200, patch 200, delete 204, then 404', async () => {
    const created = await api()
      .post('/v1/sessions')
      .set(auth)
      .send({ data: { user: 'u1' } });
    expectDocumented('/v1/sessions', 'post', created, 201);
    expect(created.headers.etag).toBe('"1"');
    const id = created.body.id as string;

    const read = await api().get(`/v1/sessions/${id}`).set(auth);
    expectDocumented('/v1/sessions/{id}', 'get', read, 200);

    const inSession = await api()
      .post('/v1/tasks')
      .set(auth)
      .send({ agent: 'git', action: 'echo', input: { turn: 1 }, session_id: id, session_version: 1 });
    expectDocumented('/v1/tasks', 'post', inSession, 200);
    expect(inSession.body.session).toEqual({ id, version: 2 });

    const withTurn = await api().get(`/v1/sessions/${id}`).set(auth);
    expectDocumented('/v1/sessions/{id}', 'get', withTurn, 200);
    expect(withTurn.body.turns).toHaveLength(1);

    const patched = await api()
      .patch(`/v1/sessions/${id}`)
      .set(auth)
      .set('If-Match', '"2"')
      .send({ data: { user: null, theme: 'dark' } });
    expectDocumented('/v1/sessions/{id}', 'patch', patched, 200);
    expect(patched.body.data).toEqual({ theme: 'dark' });

    const deleted = await api().delete(`/v1/sessions/${id}`).set(auth);
    expectDocumented('/v1/sessions/{id}', 'delete', deleted, 204);

    const gone = await api().get(`/v1/sessions/${id}`).set(auth);
    expectDocumented('/v1/sessions/{id}', 'get', gone, 404);
  });

  test('POST /v1/tasks 409 for a stale session_version', async () => {
    const session = await newSession();
    const bump = await api()
      .patch(`/v1/sessions/${session.id}`)
      .set(auth)
      .send({ data: { bumped: true } });
    expect(bump.status).toBe(200);
    const res = await api()
      .post('/v1/tasks')
      .set(auth)
      .send({ agent: 'git', action: 'echo', input: {}, session_id: session.id, session_version: 1 });
    expectDocumented('/v1/tasks', 'post', res, 409);
  });

  test('PATCH /v1/sessions/{id} 412 for a stale If-Match', async () => {
    const session = await newSession();
    const res = await api()
      .patch(`/v1/sessions/${session.id}`)
      .set(auth)
      .set('If-Match', '"7"')
      .send({ data: { x: 1 } });
    expectDocumented('/v1/sessions/{id}', 'patch', res, 412);
  });

  test.each([
    ['an invalid body', { agent: 'git', action: 'echo', input: 'x', extra: 1 }],
    ['an unknown action', { agent: 'git', action: 'nope', input: {} }],
    ['input the agent rejects', { agent: 'git', action: 'typed', input: { n: 'five' } }],
  ])('POST /v1/tasks 400 for %s', async (_name, body) => {
    const res = await api().post('/v1/tasks').set(auth).send(body);
    expectDocumented('/v1/tasks', 'post', res, 400);
  });

  test('POST /v1/tasks 401, 404 (unknown session), 413 and 415', async () => {
    const unauthorized = await api().post('/v1/tasks').send({ agent: 'git', action: 'echo', input: {} });
    expectDocumented('/v1/tasks', 'post', unauthorized, 401);

    const noSession = await api()
      .post('/v1/tasks')
      .set(auth)
      .send({ agent: 'git', action: 'echo', input: {}, session_id: 'no-such-session' });
    expectDocumented('/v1/tasks', 'post', noSession, 404);

    const tooLarge = await api()
      .post('/v1/tasks')
      .set(auth)
      .send({ agent: 'git', action: 'echo', input: { pad: 'x'.repeat(1048576) } });
    expectDocumented('/v1/tasks', 'post', tooLarge, 413);

    const notJson = await api()
      .post('/v1/tasks')
      .set(auth)
      .set('Content-Type', 'text/plain')
      .send('agent=git');
    expectDocumented('/v1/tasks', 'post', notJson, 415);
  });

  test('GET /v1/tasks/{id} 404 and GET /v1/sessions/{id} 401', async () => {
    const missing = await api().get('/v1/tasks/0b7f3c1e-1d2a-4c3b-9e8f-7a6b5c4d3e2f').set(auth);
    expectDocumented('/v1/tasks/{id}', 'get', missing, 404);
    const unauthorized = await api().get('/v1/sessions/anything');
    expectDocumented('/v1/sessions/{id}', 'get', unauthorized, 401);
  });

  test('GET /health and /health/ready 200', async () => {
    for (const path of ['/health', '/health/ready']) {
      const res = await api().get(path);
      expectDocumented(path, 'get', res, 200);
      expect(res.body.ready).toBe(true);
    }
  });

  test('GET /health/live, /metrics and /openapi.json 200', async () => {
    const found: string[] = [];
    for (const path of ['/health/live', '/metrics', '/openapi.json']) {
      const res = await api().get(path);
      expect(res.status).toBe(200);
      found.push(...mismatches(path, 'get', res));
      if (path === '/metrics') expect(res.text).toContain('orchestrator_http_requests_total');
    }
    expect(found).toEqual([]);
  });
});

describe('request bodies: the server accepts what the document accepts', () => {
  /** A body is accepted when the server does not answer 400 (or 415) for it. */
  const accepted = (status: number) => status !== 400 && status !== 415;

  test('task bodies', async () => {
    const session = await newSession();
    const samples: Array<Record<string, unknown>> = [
      { agent: 'git', action: 'echo', input: {} },
      { agent: 'git', action: 'echo', input: { a: [1, { b: null }] }, mode: 'sync', cache: 'refresh' },
      { agent: 'git', action: 'echo', input: {}, session_id: session.id },
      { agent: 'git', action: 'echo', input: {}, session_version: 1 },
      { agent: 'git', action: 'echo', input: {}, extra: true },
      { agent: 'git', action: 'Echo', input: {} },
      { agent: 'nope', action: 'echo', input: {} },
      { agent: 'git', action: 'echo', input: [] },
      { agent: 'git', action: 'echo', input: {}, session_version: 0, session_id: session.id },
      { agent: 'git', action: 'echo', input: {}, mode: 'later' },
    ];
    const ref = pointer('paths', '/v1/tasks', 'post', 'requestBody', 'content', 'application/json', 'schema');
    const disagreements: string[] = [];
    for (const body of samples) {
      const docAccepts = schemaErrors(ref, body).length === 0;
      const res = await api().post('/v1/tasks').set(auth).send(body);
      if (docAccepts !== accepted(res.status)) {
        disagreements.push(
          `${JSON.stringify(body)}: the document ${docAccepts ? 'accepts' : 'rejects'} it, the server answered ${res.status}`,
        );
      }
    }
    expect(disagreements).toEqual([]);
  });

  test('session bodies, including the optional body of POST /v1/sessions', async () => {
    const session = await newSession();
    const disagreements: string[] = [];
    const check = async (path: string, method: 'post' | 'patch', url: string, body: unknown) => {
      const op = doc.paths[path]![method]!;
      const ref = pointer('paths', path, method, 'requestBody', 'content', 'application/json', 'schema');
      const docAccepts =
        body === undefined ? op.requestBody?.required !== true : schemaErrors(ref, body).length === 0;
      let req = api()[method](url).set(auth);
      if (body !== undefined) req = req.send(body as object);
      const res = await req;
      if (docAccepts !== accepted(res.status)) {
        disagreements.push(
          `${method.toUpperCase()} ${path} ${body === undefined ? 'without a body' : JSON.stringify(body)}: ` +
            `the document ${docAccepts ? 'accepts' : 'rejects'} it, the server answered ${res.status}`,
        );
      }
    };
    await check('/v1/sessions', 'post', '/v1/sessions', { data: { a: 1 } });
    await check('/v1/sessions', 'post', '/v1/sessions', {});
    await check('/v1/sessions', 'post', '/v1/sessions', { data: [] });
    await check('/v1/sessions', 'post', '/v1/sessions', { data: {}, other: 1 });
    await check('/v1/sessions', 'post', '/v1/sessions', undefined);
    await check('/v1/sessions/{id}', 'patch', `/v1/sessions/${session.id}`, { data: { a: 1 } });
    await check('/v1/sessions/{id}', 'patch', `/v1/sessions/${session.id}`, {});
    await check('/v1/sessions/{id}', 'patch', `/v1/sessions/${session.id}`, { data: 'x' });
    expect(disagreements).toEqual([]);
  });
});
