/**
 * The live alert drill: the local stack's Prometheus evaluates the drill rules (every `for` and range
 * window scaled down, thresholds unchanged); each of the seed's alerts is caused by a real fault, must
 * reach Alertmanager's webhook receiver as firing, and must be sent as resolved once the fault is gone.
 */
import { jest } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { layout, loadOptions } from '../../stack/layout.ts';
import { sentinelPrimary } from '../../stack/control.ts';
import {
  lbClient,
  stack,
  stackEnv,
  stackStatus,
  steadyLoad,
  waitFor,
  type StackStatus,
} from '../support/stack.ts';

jest.setTimeout(600000);

const env = stackEnv('alerts-drill');
const l = layout(loadOptions({ ...process.env, ...env }));
let status: StackStatus;

interface Notification {
  receivedAt: string;
  alerts: Array<{ status: string; labels: Record<string, string>; annotations: Record<string, string> }>;
}

async function notifications(): Promise<Notification[]> {
  const res = await fetch(status.alert_receiver);
  return ((await res.json()) as { notifications: Notification[] }).notifications;
}

/** Waits until the receiver got `alertname` in state `state` (with labels matching `match`) after `since`. */
async function waitNotified(
  alertname: string,
  state: 'firing' | 'resolved',
  since: number,
  match: Record<string, string> = {},
) {
  return waitFor(
    `${alertname} ${state} at the receiver`,
    async () => {
      for (const n of await notifications()) {
        if (Date.parse(n.receivedAt) < since) continue;
        const hit = n.alerts.find(
          (a) =>
            a.labels['alertname'] === alertname &&
            a.status === state &&
            Object.entries(match).every(([k, v]) => a.labels[k] === v),
        );
        if (hit) return hit;
      }
      return undefined;
    },
    150000,
  );
}

/** GETs straight at one process, to give it some work. */
function poke(port: number) {
  let running = true;
  const loop = (async () => {
    while (running) {
      await fetch(`http://127.0.0.1:${port}/metrics`)
        .then((r) => r.arrayBuffer())
        .catch(() => undefined);
      await sleep(20);
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

const port = (name: string) => status.processes.find((p) => p.name === name)!.port;

beforeAll(async () => {
  const r = await stack(env, 'up', '--drill');
  if (r.code !== 0) throw new Error(`stack up failed: ${r.stderr}`);
  status = await stackStatus(env);
});

afterAll(async () => {
  await stack(env, 'down');
});

test('the drill rules are loaded, not the normal ones', async () => {
  const res = await fetch(`${status.prometheus}/api/v1/rules?type=alert`);
  const body = (await res.json()) as {
    data: { groups: Array<{ file: string; rules: Array<{ name: string; duration: number }> }> };
  };
  expect(body.data.groups.every((g) => g.file.endsWith('phoenix-orch.drill.rules.yaml'))).toBe(true);
  const cpu = body.data.groups.flatMap((g) => g.rules).find((r) => r.name === 'OrchestratorHighCPU');
  expect(cpu?.duration).toBeLessThan(60);
});

test('resource alerts and replication lag: fire under real pressure, resolve after it', async () => {
  const since = Date.now();
  // Limits far below what the process uses make its real CPU and memory use cross 80 % of them.
  const tight = ['--set', 'CPU_LIMIT=0.002', '--set', 'MEMORY_LIMIT=40000000'];
  expect((await stack(env, 'restart', 'orchestrator-1', ...tight)).code).toBe(0);
  expect((await stack(env, 'restart', 'git-agent-1', ...tight)).code).toBe(0);
  const primary = await sentinelPrimary(l);
  const replica = status.processes.find((p) => p.role === 'redis' && p.port !== primary)!;
  const stops = [poke(port('orchestrator-1')), poke(port('git-agent-1'))];
  let healed: number;
  expect((await stack(env, 'pause', replica.name)).code).toBe(0);
  try {
    await Promise.all([
      waitNotified('OrchestratorHighCPU', 'firing', since, {
        instance: `127.0.0.1:${port('orchestrator-1')}`,
      }),
      waitNotified('OrchestratorHighMemory', 'firing', since, {
        instance: `127.0.0.1:${port('orchestrator-1')}`,
      }),
      waitNotified('AgentHighCPU', 'firing', since, { instance: `127.0.0.1:${port('git-agent-1')}` }),
      waitNotified('AgentHighMemory', 'firing', since, { instance: `127.0.0.1:${port('git-agent-1')}` }),
      waitNotified('RedisReplicationLagHigh', 'firing', since, { slave_port: String(replica.port) }),
    ]);
  } finally {
    healed = Date.now();
    await Promise.all(stops.map((s) => s()));
    await stack(env, 'resume', replica.name);
    await stack(env, 'restart', 'orchestrator-1');
    await stack(env, 'restart', 'git-agent-1');
  }
  await Promise.all([
    waitNotified('OrchestratorHighCPU', 'resolved', healed),
    waitNotified('OrchestratorHighMemory', 'resolved', healed),
    waitNotified('AgentHighCPU', 'resolved', healed),
    waitNotified('AgentHighMemory', 'resolved', healed),
    waitNotified('RedisReplicationLagHigh', 'resolved', healed),
  ]);
});

test('an agent pool stopped and cache-busting traffic: AgentHealthDegraded and OrchestratorCacheHitRatioLow', async () => {
  const client = lbClient(status);
  const since = Date.now();
  expect((await stack(env, 'kill', 'obsidian-agent-1')).code).toBe(0);
  expect((await stack(env, 'kill', 'obsidian-agent-2')).code).toBe(0);
  let healed: number;
  // Every chat is new: each is a cache miss.
  const busting = steadyLoad(
    client,
    (i) => ({
      method: 'POST',
      path: '/v1/tasks',
      body: {
        agent: 'llm',
        action: 'chat',
        input: {
          model: 'sim-small',
          temperature: 0,
          messages: [{ role: 'user', content: `unique ${i} ${since}` }],
        },
      },
      expect: 200,
    }),
    2,
  );
  try {
    await Promise.all([
      waitNotified('AgentHealthDegraded', 'firing', since, { pool: 'obsidian' }),
      waitNotified('OrchestratorCacheHitRatioLow', 'firing', since),
    ]);
  } finally {
    healed = Date.now();
    await busting.stop();
    await stack(env, 'restart', 'obsidian-agent-1');
    await stack(env, 'restart', 'obsidian-agent-2');
  }
  // The same task over and over: hits.
  const repeating = steadyLoad(
    client,
    () => ({
      method: 'POST',
      path: '/v1/tasks',
      body: { agent: 'git', action: 'log', input: { repo: 'phoenix-orch', limit: 1 } },
      expect: 200,
    }),
    2,
  );
  try {
    await Promise.all([
      waitNotified('AgentHealthDegraded', 'resolved', healed, { pool: 'obsidian' }),
      waitNotified('OrchestratorCacheHitRatioLow', 'resolved', healed),
    ]);
  } finally {
    await repeating.stop();
    client.close();
  }
});

test('server errors from the provider simulators: OrchestratorHighErrorRate fires and resolves', async () => {
  const client = lbClient(status);
  const simulators = status.processes.filter((p) => p.role === 'llm-simulator');
  const behave = (b: Record<string, unknown>) =>
    Promise.all(
      simulators.map((s) =>
        fetch(`http://127.0.0.1:${s.port}/admin/behaviour`, { method: 'POST', body: JSON.stringify(b) }),
      ),
    );
  const since = Date.now();
  await behave({ error_rate: 1, error_status: 500 });
  const chats = (label: string) =>
    steadyLoad(
      client,
      (i) => ({
        method: 'POST',
        path: '/v1/tasks',
        body: {
          agent: 'llm',
          action: 'chat',
          input: { model: 'sim-small', messages: [{ role: 'user', content: `${label} ${i}` }] },
        },
        expect: label === 'failing' ? 0 : 200,
      }),
      2,
    );
  const failing = chats('failing');
  let healed: number;
  try {
    await waitNotified('OrchestratorHighErrorRate', 'firing', since);
  } finally {
    healed = Date.now();
    await failing.stop();
    await behave({ error_rate: 0 });
  }
  // Breakers close after their reset timeout; traffic that succeeds brings the ratio down.
  await sleep(1000);
  const healthy = chats('healthy');
  try {
    await waitNotified('OrchestratorHighErrorRate', 'resolved', healed);
  } finally {
    await healthy.stop();
    client.close();
  }
});
