import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { AgentPool } from '../platform/pools.ts';
import { agentConfigSchema, createAgentService, defineAction } from '../services/kit/agent-service.ts';
import { loadConfig } from '../services/kit/config.ts';
import { Problem } from '../services/kit/problem.ts';

/**
 * A small agent for exercising the orchestrator (tests and benchmarks). It speaks the agent contract
 * through the real kit, counts its calls, and can be told to fail, slow down or move the version its
 * `versioned` action resolves to.
 */
export async function startTestAgent(
  opts: {
    pool?: AgentPool;
    redisUrl?: string;
    instance?: string;
    port?: number;
    env?: Record<string, string>;
  } = {},
) {
  const pool = opts.pool ?? 'git';
  const control = {
    calls: new Map<string, number>(),
    /** When set, every action answers this HTTP status. */
    failWith: 0,
    delayMs: 0,
    version: 'v1',
    correlationIds: [] as string[],
  };
  const count = (name: string, correlationId: string) => {
    control.calls.set(name, (control.calls.get(name) ?? 0) + 1);
    control.correlationIds.push(correlationId);
  };
  const behave = async (name: string, correlationId: string, signal: AbortSignal) => {
    count(name, correlationId);
    if (control.delayMs > 0) await sleep(control.delayMs, undefined, { signal }).catch(() => undefined);
    if (control.failWith)
      throw new Problem(control.failWith, 'test-failure', `told to fail with ${control.failWith}`);
  };

  const actions = [
    defineAction({
      name: 'echo',
      description: 'Returns its input.',
      input: z.record(z.string(), z.unknown()),
      cacheable: true,
      ttl_seconds: 60,
      run: async (input, ctx) => {
        await behave('echo', ctx.correlationId, ctx.signal);
        return { echo: input, turns_seen: ctx.session?.turns.length ?? 0 };
      },
    }),
    defineAction({
      name: 'slow',
      description: 'Waits input.ms milliseconds, then returns its input.',
      input: z.strictObject({ ms: z.number().int().min(0).max(60000), tag: z.string().optional() }),
      cacheable: true,
      ttl_seconds: 60,
      run: async (input, ctx) => {
        await behave('slow', ctx.correlationId, ctx.signal);
        await sleep(input.ms, undefined, { signal: ctx.signal }).catch(() => undefined);
        return { slept: input.ms, tag: input.tag ?? null };
      },
    }),
    defineAction({
      name: 'count',
      description: 'Not cacheable: returns how often it has run.',
      input: z.strictObject({}),
      cacheable: false,
      ttl_seconds: 0,
      run: async (_input, ctx) => {
        await behave('count', ctx.correlationId, ctx.signal);
        return { count: control.calls.get('count') };
      },
    }),
    defineAction({
      name: 'typed',
      description: 'Takes {n: integer 1..10}.',
      input: z.strictObject({ n: z.number().int().min(1).max(10) }),
      cacheable: true,
      ttl_seconds: 60,
      run: async (input, ctx) => {
        await behave('typed', ctx.correlationId, ctx.signal);
        return { doubled: input.n * 2 };
      },
    }),
    defineAction({
      name: 'versioned',
      description: 'Answers for the current version, which tests can move.',
      input: z.strictObject({ ref: z.string() }),
      cacheable: true,
      ttl_seconds: 600,
      resolve: async () => control.version,
      run: async (input, ctx) => {
        await behave('versioned', ctx.correlationId, ctx.signal);
        return { ref: input.ref, version: control.version };
      },
    }),
  ];

  const config = loadConfig(agentConfigSchema, {
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    INSTANCE_ID: opts.instance ?? `test-${pool}-agent-${process.pid}`,
    SHUTDOWN_DRAIN_DELAY_MS: '0',
    HEARTBEAT_INTERVAL_MS: '200',
    HEARTBEAT_TTL_MS: '1000',
    ...(opts.redisUrl ? { REDIS_URL: opts.redisUrl } : {}),
    ...opts.env,
  });
  const agent = createAgentService({
    pool,
    serviceName: `test-${pool}-agent`,
    config,
    build: () => ({ actions }),
  });
  const { port } = await agent.start(opts.port ?? 0, '127.0.0.1');
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    control,
    calls: (name: string) => control.calls.get(name) ?? 0,
    stop: () => agent.stop(),
    service: agent.service,
  };
}

export type TestAgent = Awaited<ReturnType<typeof startTestAgent>>;
