import request from 'supertest';
import { startRedis, type RedisServer } from '../../harness/redis-server.ts';
import { startTestAgent, type TestAgent } from '../../harness/test-agent.ts';
import { auth, startOrchestrator, task } from '../support/orchestrator.ts';

let redis: RedisServer;
let agent: TestAgent;
let a: Awaited<ReturnType<typeof startOrchestrator>>;
let b: Awaited<ReturnType<typeof startOrchestrator>>;

beforeAll(async () => {
  redis = await startRedis();
  agent = await startTestAgent({ redisUrl: redis.url });
  a = await startOrchestrator({ REDIS_URL: redis.url, AGENT_GIT_URL: agent.url, INSTANCE_ID: 'orch-a' });
  b = await startOrchestrator({ REDIS_URL: redis.url, AGENT_GIT_URL: agent.url, INSTANCE_ID: 'orch-b' });
});
afterAll(async () => {
  await Promise.all([a.stop(), b.stop()]);
  await agent.stop();
  await redis.close();
});

describe('cache', () => {
  test('MISS, then HIT for the same input with its keys reordered, on either instance', async () => {
    const first = await task(a.url, {
      agent: 'git',
      action: 'echo',
      input: { x: 1, nested: { b: 2, a: [1, 2] } },
    });
    expect(first.status).toBe(200);
    expect(first.headers['x-cache']).toBe('MISS');
    expect(first.headers['x-served-by']).toBe('orch-a');
    expect(first.body.output.echo).toEqual({ x: 1, nested: { b: 2, a: [1, 2] } });
    const calls = agent.calls('echo');

    const second = await task(b.url, {
      agent: 'git',
      action: 'echo',
      input: { nested: { a: [1, 2], b: 2 }, x: 1 },
    });
    expect(second.status).toBe(200);
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.headers['x-served-by']).toBe('orch-b');
    expect(second.body.output).toEqual(first.body.output);
    expect(agent.calls('echo')).toBe(calls);
  });

  test('array order is part of the input, so a reordered array is a different answer', async () => {
    await task(a.url, { agent: 'git', action: 'echo', input: { list: [1, 2] } });
    const other = await task(a.url, { agent: 'git', action: 'echo', input: { list: [2, 1] } });
    expect(other.headers['x-cache']).toBe('MISS');
  });

  test('bypass neither reads nor writes the cache', async () => {
    const input = { bypass: Date.now() };
    const bypassed = await task(a.url, { agent: 'git', action: 'echo', input, cache: 'bypass' });
    expect(bypassed.headers['x-cache']).toBe('BYPASS');
    const after = await task(a.url, { agent: 'git', action: 'echo', input });
    expect(after.headers['x-cache']).toBe('MISS'); // bypass stored nothing
    const calls = agent.calls('echo');
    const again = await task(a.url, { agent: 'git', action: 'echo', input, cache: 'bypass' });
    expect(again.headers['x-cache']).toBe('BYPASS');
    expect(agent.calls('echo')).toBe(calls + 1); // bypass read nothing
  });

  test('refresh recomputes and stores the new answer, reported as MISS', async () => {
    const input = { ref: 'main' };
    agent.control.version = 'r1';
    await task(a.url, { agent: 'git', action: 'versioned', input });
    const calls = agent.calls('versioned');
    const refreshed = await task(a.url, { agent: 'git', action: 'versioned', input, cache: 'refresh' });
    expect(refreshed.headers['x-cache']).toBe('MISS');
    expect(agent.calls('versioned')).toBe(calls + 1);
    const hit = await task(b.url, { agent: 'git', action: 'versioned', input });
    expect(hit.headers['x-cache']).toBe('HIT');
  });

  test('an action that is not cacheable is always computed and reported as BYPASS', async () => {
    const one = await task(a.url, { agent: 'git', action: 'count', input: {} });
    const two = await task(a.url, { agent: 'git', action: 'count', input: {} });
    expect(one.headers['x-cache']).toBe('BYPASS');
    expect(two.headers['x-cache']).toBe('BYPASS');
    expect(two.body.output.count).toBe(one.body.output.count + 1);
  });

  test('a moving version (resolve) keys the cache, so an answer is never stale', async () => {
    const input = { ref: 'feature' };
    agent.control.version = 'sha-1';
    const first = await task(a.url, { agent: 'git', action: 'versioned', input });
    expect(first.headers['x-cache']).toBe('MISS');
    expect((await task(b.url, { agent: 'git', action: 'versioned', input })).headers['x-cache']).toBe('HIT');
    agent.control.version = 'sha-2';
    const moved = await task(b.url, { agent: 'git', action: 'versioned', input });
    expect(moved.headers['x-cache']).toBe('MISS');
    expect(moved.body.output.version).toBe('sha-2');
  });
});

describe('correlation id', () => {
  test('is echoed and passed to the agent', async () => {
    const id = `corr-${Date.now()}`;
    const res = await task(
      a.url,
      { agent: 'git', action: 'echo', input: { corr: id } },
      { 'X-Correlation-ID': id },
    );
    expect(res.headers['x-correlation-id']).toBe(id);
    expect(agent.control.correlationIds).toContain(id);
  });

  test('an invalid one is replaced by a UUID', async () => {
    const res = await task(
      a.url,
      { agent: 'git', action: 'echo', input: {} },
      { 'X-Correlation-ID': 'has space' },
    );
    expect(res.headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('sessions', () => {
  test('a conversation continues across instances, each turn recorded once', async () => {
    const created = await request(a.url)
      .post('/v1/sessions')
      .set(auth)
      .send({ data: { user: 'ada' } });
    expect(created.status).toBe(201);
    expect(created.headers.etag).toBe('"1"');
    const id = created.body.id as string;

    const t1 = await task(a.url, { agent: 'git', action: 'echo', input: { say: 'hi' }, session_id: id });
    expect(t1.status).toBe(200);
    expect(t1.body.session).toEqual({ id, version: 2 });
    expect(t1.body.output.turns_seen).toBe(0);
    const t2 = await task(b.url, { agent: 'git', action: 'echo', input: { say: 'again' }, session_id: id });
    expect(t2.body.session).toEqual({ id, version: 3 });
    expect(t2.body.output.turns_seen).toBe(1); // instance b saw the turn instance a recorded

    const read = await request(b.url).get(`/v1/sessions/${id}`).set(auth);
    expect(read.status).toBe(200);
    expect(read.body.data).toEqual({ user: 'ada' });
    expect(read.body.turns.map((t: { input: unknown }) => t.input)).toEqual([
      { say: 'hi' },
      { say: 'again' },
    ]);
  });

  test('a stale session_version is a 409 and the agent is not called', async () => {
    const { body: session } = await request(a.url).post('/v1/sessions').set(auth).send({});
    await task(a.url, {
      agent: 'git',
      action: 'echo',
      input: { n: 1 },
      session_id: session.id,
      session_version: 1,
    });
    const calls = agent.calls('echo');
    const stale = await task(b.url, {
      agent: 'git',
      action: 'echo',
      input: { n: 2 },
      session_id: session.id,
      session_version: 1,
    });
    expect(stale.status).toBe(409);
    expect(stale.body.current_version).toBe(2);
    expect(agent.calls('echo')).toBe(calls);
  });

  test('two concurrent writers at the same version: exactly one wins, the other gets 409', async () => {
    const { body: session } = await request(a.url).post('/v1/sessions').set(auth).send({});
    agent.control.delayMs = 150; // both read version 1 before either writes
    try {
      const [x, y] = await Promise.all([
        task(a.url, {
          agent: 'git',
          action: 'echo',
          input: { w: 'a' },
          session_id: session.id,
          session_version: 1,
        }),
        task(b.url, {
          agent: 'git',
          action: 'echo',
          input: { w: 'b' },
          session_id: session.id,
          session_version: 1,
        }),
      ]);
      expect([x.status, y.status].sort()).toEqual([200, 409]);
    } finally {
      agent.control.delayMs = 0;
    }
    const read = await request(a.url).get(`/v1/sessions/${session.id}`).set(auth);
    expect(read.body.version).toBe(2);
    expect(read.body.turns).toHaveLength(1);
  });

  test('concurrent unpinned writers from both instances lose no turn', async () => {
    const { body: session } = await request(a.url).post('/v1/sessions').set(auth).send({});
    const writes = Array.from({ length: 10 }, (_, i) =>
      task(i % 2 ? a.url : b.url, {
        agent: 'git',
        action: 'echo',
        input: { i },
        session_id: session.id,
        cache: 'bypass',
      }),
    );
    const results = await Promise.all(writes);
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    const read = await request(a.url).get(`/v1/sessions/${session.id}`).set(auth);
    expect(read.body.version).toBe(11);
    expect(
      read.body.turns.map((t: { input: { i: number } }) => t.input.i).sort((p: number, q: number) => p - q),
    ).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test('PATCH merges data; If-Match on an old version is 412; DELETE removes the session', async () => {
    const { body: session } = await request(a.url)
      .post('/v1/sessions')
      .set(auth)
      .send({ data: { a: 1, b: 2 } });
    const patched = await request(b.url)
      .patch(`/v1/sessions/${session.id}`)
      .set(auth)
      .set('If-Match', '"1"')
      .send({ data: { b: null, c: 3 } });
    expect(patched.status).toBe(200);
    expect(patched.body.data).toEqual({ a: 1, c: 3 });
    expect(patched.headers.etag).toBe('"2"');
    const stale = await request(a.url)
      .patch(`/v1/sessions/${session.id}`)
      .set(auth)
      .set('If-Match', '"1"')
      .send({ data: { d: 4 } });
    expect(stale.status).toBe(412);
    expect((await request(a.url).delete(`/v1/sessions/${session.id}`).set(auth)).status).toBe(204);
    expect((await request(b.url).get(`/v1/sessions/${session.id}`).set(auth)).status).toBe(404);
    expect((await request(b.url).delete(`/v1/sessions/${session.id}`).set(auth)).status).toBe(404);
  });

  test('a task naming a missing session is a 404 and calls no agent', async () => {
    const calls = agent.calls('echo');
    const res = await task(a.url, {
      agent: 'git',
      action: 'echo',
      input: {},
      session_id: '00000000-0000-0000-0000-000000000000',
    });
    expect(res.status).toBe(404);
    expect(agent.calls('echo')).toBe(calls);
  });
});

describe('async tasks', () => {
  test('202 with a status URL; the result is fetched from the other instance', async () => {
    const accepted = await task(a.url, {
      agent: 'git',
      action: 'slow',
      input: { ms: 100, tag: 'async' },
      mode: 'async',
    });
    expect(accepted.status).toBe(202);
    expect(accepted.body.status).toBe('queued');
    expect(accepted.headers.location).toBe(accepted.body.status_url);
    let status;
    for (let i = 0; i < 100; i += 1) {
      status = await request(b.url).get(accepted.body.status_url).set(auth);
      if (status.body.status === 'succeeded') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(status!.status).toBe(200);
    expect(status!.body.status).toBe('succeeded');
    expect(status!.body.result.output).toEqual({ slept: 100, tag: 'async' });
    expect(status!.body.correlation_id).toBe(accepted.headers['x-correlation-id']);
  });

  test('a task the agent rejects ends as a stored error, not a retry loop', async () => {
    const accepted = await task(a.url, { agent: 'git', action: 'typed', input: { n: 99 }, mode: 'async' });
    let status;
    for (let i = 0; i < 100; i += 1) {
      status = await request(a.url).get(accepted.body.status_url).set(auth);
      if (status.body.status === 'failed') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(status!.body.status).toBe('failed');
    expect(status!.body.attempts).toBe(1);
    expect(status!.body.error.status).toBe(400);
  });

  test('an unknown task id is 404', async () => {
    const res = await request(a.url).get('/v1/tasks/00000000-0000-4000-8000-000000000000').set(auth);
    expect(res.status).toBe(404);
  });
});

describe('moving state', () => {
  test('an answer computed while its version moved is returned but not stored under the old version', async () => {
    const input = { ref: `race-${Date.now()}` };
    agent.control.version = 'before';
    agent.control.delayMs = 300;
    // supertest sends on then(): start the request now, not at the await below.
    const pending = task(a.url, { agent: 'git', action: 'versioned', input }).then((r) => r);
    await new Promise((r) => setTimeout(r, 100));
    agent.control.version = 'after'; // the branch moves while the agent works
    const raced = await pending;
    agent.control.delayMs = 0;
    expect(raced.status).toBe(200);
    expect(raced.headers['x-cache']).toBe('MISS');
    expect(raced.body.output.version).toBe('after');

    // Back at "before", the key of the first request: nothing was stored under it, so no stale answer.
    agent.control.version = 'before';
    const again = await task(b.url, { agent: 'git', action: 'versioned', input });
    expect(again.headers['x-cache']).toBe('MISS');
    expect(again.body.output.version).toBe('before');
    expect((await task(b.url, { agent: 'git', action: 'versioned', input })).headers['x-cache']).toBe('HIT');
    const metrics = await request(a.url).get('/metrics');
    expect(metrics.text).toMatch(/orchestrator_cache_stores_skipped_total\{reason="version_moved"\} 1/);
  });
});
