/**
 * Every dashboard query returns data from the local stack's Prometheus after a short mixed load run
 * (panels that by design show only faults are listed in dashboards/queries.ts with a reason).
 */
import { jest } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { allPanelQueries, faultOnlyReason } from '../../dashboards/queries.ts';
import {
  lbClient,
  stack,
  stackEnv,
  stackStatus,
  steadyLoad,
  waitFor,
  type StackStatus,
} from '../support/stack.ts';

jest.setTimeout(300000);

const env = stackEnv('dashboards-live');
let status: StackStatus;

beforeAll(async () => {
  const r = await stack(env, 'up');
  if (r.code !== 0) throw new Error(`stack up failed: ${r.stderr}`);
  status = await stackStatus(env);
});

afterAll(async () => {
  await stack(env, 'down');
});

const tasks = [
  { agent: 'git', action: 'log', input: { repo: 'phoenix-orch', limit: 2 } },
  { agent: 'git', action: 'tree', input: { repo: 'phoenix-orch', path: 'services' } },
  { agent: 'obsidian', action: 'search', input: { query: 'failover' } },
  { agent: 'obsidian', action: 'read', input: { path: 'On-call.md' } },
  {
    agent: 'llm',
    action: 'chat',
    input: { model: 'sim-small', temperature: 0, messages: [{ role: 'user', content: 'hello' }] },
  },
  {
    agent: 'llm',
    action: 'chat',
    input: { model: 'sim-large', messages: [{ role: 'user', content: 'vary' }] },
  },
  { agent: 'obsidian', action: 'append', input: { path: 'daily/2026-11-27.md', text: '\n- live check\n' } },
];

test('every panel query returns data after a short load run', async () => {
  const client = lbClient(status);
  const session = (await client.request('POST', '/v1/sessions', { body: { data: {} } })).json() as {
    id: string;
  };
  const load = steadyLoad(
    client,
    (i) => {
      switch (i % 9) {
        case 7:
          return { method: 'PATCH', path: `/v1/sessions/${session.id}`, body: { data: { i } }, expect: 200 };
        case 8:
          return { method: 'POST', path: '/v1/tasks', body: { ...tasks[0], mode: 'async' }, expect: 202 };
        default:
          return { method: 'POST', path: '/v1/tasks', body: tasks[i % 9]!, expect: 200 };
      }
    },
    4,
  );
  try {
    // Long enough for rate() over 1m to see several scrapes, and the recording rules to evaluate.
    await sleep(25000);
    const queries = allPanelQueries();
    expect(queries.length).toBeGreaterThan(100);
    const empty: string[] = [];
    await waitFor(
      'every panel query to return data',
      async () => {
        empty.length = 0;
        for (const q of queries) {
          if (faultOnlyReason(q)) continue;
          const res = await fetch(`${status.prometheus}/api/v1/query?query=${encodeURIComponent(q.expr)}`);
          const body = (await res.json()) as { status: string; error?: string; data?: { result: unknown[] } };
          if (body.status !== 'success')
            throw new Error(`${q.dashboard} "${q.title}" ${q.refId}: ${body.error}`);
          if ((body.data?.result.length ?? 0) === 0)
            empty.push(`${q.dashboard} / ${q.title} / ${q.refId}: ${q.expr}`);
        }
        return empty.length === 0;
      },
      60000,
    ).catch(() => undefined);
    expect(empty).toEqual([]);
  } finally {
    const result = await load.stop();
    client.close();
    expect(result.failed.slice(0, 5)).toEqual([]);
  }
});
