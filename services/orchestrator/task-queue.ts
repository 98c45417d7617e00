import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { AGENT_POOLS, type AgentPool } from '../../platform/pools.ts';
import { withCorrelationId } from '../kit/context.ts';
import type { RedisKeys } from '../../platform/redis-keys.ts';
import type { Logger } from '../kit/logger.ts';
import { Problem, notFound, unavailable } from '../kit/problem.ts';
import type { Redis } from '../kit/redis.ts';
import { AgentInputError } from './agent-client.ts';
import type { TaskRequest } from './api-schemas.ts';
import { asyncResultJson } from './answer-json.ts';
import { poolUrl, type OrchestratorConfig } from './config.ts';
import type { OrchestratorMetrics } from './metrics.ts';
import type { TaskRunner } from './task-runner.ts';

export type TaskStatus = 'queued' | 'running' | 'succeeded' | 'failed';

export interface TaskRecord {
  id: string;
  status: TaskStatus;
  agent: string;
  action: string;
  created_at: string;
  started_at?: string;
  finished_at?: string;
  attempts: number;
  correlation_id: string;
  result?: { output: unknown; cache: string; session?: unknown };
  error?: unknown;
}

/**
 * Claims a task for an attempt. Returns 'done' (already finished: only acknowledge), 'exhausted'
 * (attempts used up: stored as failed here) or 'run'.
 */
const START = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'gone' end
if status == 'succeeded' or status == 'failed' then return 'done' end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if attempts > tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'status', 'failed', 'finished_at', ARGV[2], 'error', ARGV[4])
  return 'exhausted'
end
redis.call('HSET', KEYS[1], 'status', 'running', 'started_at', ARGV[2], 'worker', ARGV[3])
return 'run'
`;

/** Stores the outcome unless another attempt already finished the task. */
const FINISH = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status or status == 'succeeded' or status == 'failed' then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'finished_at', ARGV[2], ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
`;

/**
 * Async tasks: one Redis stream per agent pool, consumed by a consumer group of all orchestrator
 * instances. Every accepted task ends as a stored result or a stored error: a task whose consumer died
 * is claimed by another instance after TASK_CLAIM_IDLE_MS, and attempts are bounded by TASK_MAX_ATTEMPTS.
 */
export class TaskQueue {
  private running = false;
  /** Aborted by stop(), so no loop sits out a sleep before noticing. */
  private readonly stopping = new AbortController();
  private readonly active = new Set<Promise<void>>();
  /** Stream entries this instance is working on, whose claim it keeps renewing. */
  private readonly held = new Map<string, string>();
  private loops: Promise<void>[] = [];
  private readonly redis: Redis;
  private readonly writer: Redis;
  private readonly blocking: Redis;
  private readonly keys: RedisKeys;
  private readonly config: OrchestratorConfig;
  private readonly metrics: OrchestratorMetrics;
  private readonly log: Logger;
  private readonly runner: TaskRunner;
  private readonly pools: AgentPool[];

  constructor(deps: {
    redis: Redis;
    /** Connection that never resends: XADD must not enqueue a task twice. */
    writer: Redis;
    blocking: Redis;
    keys: RedisKeys;
    config: OrchestratorConfig;
    metrics: OrchestratorMetrics;
    log: Logger;
    runner: TaskRunner;
  }) {
    this.redis = deps.redis;
    this.writer = deps.writer;
    this.blocking = deps.blocking;
    this.keys = deps.keys;
    this.config = deps.config;
    this.metrics = deps.metrics;
    this.log = deps.log;
    this.runner = deps.runner;
    this.pools = AGENT_POOLS.filter((p) => poolUrl(deps.config, p) !== undefined);
  }

  async submit(task: TaskRequest, correlationId: string): Promise<TaskRecord> {
    if (this.redis.status !== 'ready' || this.writer.status !== 'ready') {
      this.metrics.asyncTasks.inc({ pool: task.agent, event: 'rejected' });
      throw unavailable(
        'queue-unavailable',
        'async tasks cannot be accepted while Redis is unreachable; use mode "sync" or retry',
        2,
      );
    }
    const stream = this.keys.taskStream(task.agent);
    const record: TaskRecord = {
      id: randomUUID(),
      status: 'queued',
      agent: task.agent,
      action: task.action,
      created_at: new Date().toISOString(),
      attempts: 0,
      correlation_id: correlationId,
    };
    const key = this.keys.task(record.id);
    try {
      const length = await this.redis.xlen(stream);
      if (length >= this.config.TASK_QUEUE_MAX_LENGTH) {
        this.metrics.asyncTasks.inc({ pool: task.agent, event: 'rejected' });
        throw unavailable('queue-full', `the ${task.agent} queue holds ${length} tasks; retry later`, 5);
      }
      await this.redis
        .multi()
        .hset(key, {
          status: 'queued',
          agent: task.agent,
          action: task.action,
          created_at: record.created_at,
          attempts: '0',
          correlation_id: correlationId,
          request: JSON.stringify(task),
        })
        .expire(key, this.config.TASK_RESULT_TTL_SECONDS)
        .exec();
      await this.writer.xadd(stream, '*', 'task', record.id, 'correlation_id', correlationId);
    } catch (err) {
      if (err instanceof Problem) throw err;
      this.metrics.redisErrors.inc({ operation: 'task_submit' });
      await this.redis.del(key).catch(() => undefined);
      this.metrics.asyncTasks.inc({ pool: task.agent, event: 'rejected' });
      throw unavailable('queue-unavailable', 'the task could not be queued; retry', 1);
    }
    this.metrics.asyncTasks.inc({ pool: task.agent, event: 'accepted' });
    return record;
  }

  async get(id: string): Promise<TaskRecord> {
    if (!/^[0-9a-f-]{36}$/.test(id)) throw notFound('no such task');
    if (this.redis.status !== 'ready')
      throw unavailable('queue-unavailable', 'task state is unavailable while Redis is unreachable', 2);
    let raw: Record<string, string>;
    try {
      raw = await this.redis.hgetall(this.keys.task(id));
    } catch {
      this.metrics.redisErrors.inc({ operation: 'task_get' });
      throw unavailable('queue-unavailable', 'task state could not be read; retry', 1);
    }
    if (!raw.status) throw notFound('no such task (it may have expired)');
    return {
      id,
      status: raw.status as TaskStatus,
      agent: raw.agent ?? '',
      action: raw.action ?? '',
      created_at: raw.created_at ?? '',
      ...(raw.started_at ? { started_at: raw.started_at } : {}),
      ...(raw.finished_at ? { finished_at: raw.finished_at } : {}),
      attempts: Number(raw.attempts ?? 0),
      correlation_id: raw.correlation_id ?? '',
      ...(raw.result ? { result: JSON.parse(raw.result) } : {}),
      ...(raw.error ? { error: JSON.parse(raw.error) } : {}),
    };
  }

  /** Starts this instance's consumers. They stop when `stop()` is called. */
  start(): void {
    if (this.pools.length === 0) return;
    this.running = true;
    this.loops = [this.readLoop(), this.claimLoop()];
  }

  /** Stops taking tasks and waits (bounded by the caller) for the ones running here. Unfinished ones are claimed by others. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopping.abort();
    this.blocking.disconnect();
    await Promise.allSettled([...this.loops, ...this.active]);
  }

  private pause(ms: number): Promise<void> {
    return sleep(ms, undefined, { signal: this.stopping.signal }).catch(() => undefined);
  }

  private get free(): number {
    return this.config.TASK_WORKER_CONCURRENCY - this.active.size;
  }

  private async ensureGroups(): Promise<boolean> {
    try {
      for (const pool of this.pools) {
        await this.redis
          .xgroup('CREATE', this.keys.taskStream(pool), this.keys.taskGroup, '0', 'MKSTREAM')
          .catch((err: Error) => {
            if (!err.message.includes('BUSYGROUP')) throw err;
          });
      }
      return true;
    } catch {
      return false;
    }
  }

  private async readLoop(): Promise<void> {
    let groupsReady = false;
    while (this.running) {
      if (this.free <= 0) {
        await Promise.race([...this.active, this.pause(1000)]);
        continue;
      }
      if (!groupsReady) groupsReady = await this.ensureGroups();
      if (!groupsReady || this.blocking.status !== 'ready') {
        if (this.blocking.status === 'wait') void this.blocking.connect().catch(() => undefined);
        await this.pause(250);
        continue;
      }
      try {
        const streams = this.pools.map((p) => this.keys.taskStream(p));
        const reply = (await this.blocking.xreadgroup(
          'GROUP',
          this.keys.taskGroup,
          this.config.INSTANCE_ID,
          'COUNT',
          this.free,
          'BLOCK',
          1000,
          'STREAMS',
          ...streams,
          ...streams.map(() => '>'),
        )) as Array<[string, Array<[string, string[]]>]> | null;
        for (const [stream, entries] of reply ?? []) {
          for (const [entryId, fields] of entries) this.spawn(stream, entryId, fields, false);
        }
      } catch (err) {
        if (!this.running) break;
        if ((err as Error).message.includes('NOGROUP')) groupsReady = false;
        this.metrics.redisErrors.inc({ operation: 'task_read' });
        await this.pause(250);
      }
    }
  }

  /**
   * Renews this instance's claim on the tasks it is running (so a long task is not taken from a live
   * consumer), then takes over tasks whose consumer has not renewed them for TASK_CLAIM_IDLE_MS: it died.
   */
  private async claimLoop(): Promise<void> {
    const interval = Math.max(100, Math.min(5000, Math.floor(this.config.TASK_CLAIM_IDLE_MS / 3)));
    while (this.running) {
      await this.pause(interval);
      if (!this.running || this.redis.status !== 'ready') continue;
      await this.renewClaims();
      if (this.free <= 0) continue;
      for (const pool of this.pools) {
        const stream = this.keys.taskStream(pool);
        try {
          const [, entries] = (await this.redis.xautoclaim(
            stream,
            this.keys.taskGroup,
            this.config.INSTANCE_ID,
            this.config.TASK_CLAIM_IDLE_MS,
            '0-0',
            'COUNT',
            Math.max(1, this.free),
          )) as [string, Array<[string, string[]] | null>];
          for (const entry of entries) {
            if (entry) this.spawn(stream, entry[0], entry[1], true);
          }
        } catch {
          this.metrics.redisErrors.inc({ operation: 'task_claim' });
        }
      }
    }
  }

  private async renewClaims(): Promise<void> {
    const byStream = new Map<string, string[]>();
    for (const [entryId, stream] of this.held)
      byStream.set(stream, [...(byStream.get(stream) ?? []), entryId]);
    for (const [stream, ids] of byStream) {
      await this.redis
        .xclaim(stream, this.keys.taskGroup, this.config.INSTANCE_ID, 0, ...ids, 'JUSTID')
        .catch(() => this.metrics.redisErrors.inc({ operation: 'task_renew' }));
    }
  }

  private spawn(stream: string, entryId: string, fields: string[], reclaimed: boolean): void {
    if (this.held.has(entryId)) return; // already running here
    this.held.set(entryId, stream);
    const job = this.process(stream, entryId, fields, reclaimed).finally(() => {
      this.active.delete(job);
      this.held.delete(entryId);
    });
    this.active.add(job);
  }

  private async process(
    stream: string,
    entryId: string,
    fields: string[],
    reclaimed: boolean,
  ): Promise<void> {
    const field = (name: string) => fields[fields.indexOf(name) + 1];
    const id = field('task') ?? '';
    const correlationId = field('correlation_id') ?? id;
    const pool = stream.slice(stream.lastIndexOf(':') + 1);
    const key = this.keys.task(id);
    await withCorrelationId(correlationId, async () => {
      try {
        if (reclaimed) {
          this.metrics.asyncTasks.inc({ pool, event: 'reclaimed' });
          this.log.warn({ task_id: id }, 'claimed a task another consumer left unfinished');
        }
        const now = new Date().toISOString();
        const exhausted = JSON.stringify(
          new Problem(
            500,
            'task-attempts-exhausted',
            `the task failed ${this.config.TASK_MAX_ATTEMPTS} times`,
          ).body(correlationId),
        );
        const verdict = (await this.redis.eval(
          START,
          1,
          key,
          this.config.TASK_MAX_ATTEMPTS,
          now,
          this.config.INSTANCE_ID,
          exhausted,
        )) as string;
        if (verdict === 'exhausted') this.metrics.asyncTasks.inc({ pool, event: 'failed' });
        if (verdict !== 'run') return this.acknowledge(stream, entryId);

        const request = JSON.parse((await this.redis.hget(key, 'request')) ?? '{}') as TaskRequest;
        try {
          const outcome = await this.runner.execute(request, correlationId);
          await this.finish(key, 'succeeded', 'result', asyncResultJson(outcome));
          this.metrics.asyncTasks.inc({ pool, event: 'succeeded' });
          await this.acknowledge(stream, entryId);
        } catch (err) {
          const problem =
            err instanceof Problem ? err : new Problem(500, 'internal-error', 'the task failed unexpectedly');
          // Input errors and conflicts will not improve on a retry; agent failures may.
          const final = err instanceof AgentInputError || (problem.status >= 400 && problem.status < 500);
          const attempts = Number(await this.redis.hget(key, 'attempts'));
          if (final || attempts >= this.config.TASK_MAX_ATTEMPTS) {
            await this.finish(key, 'failed', 'error', JSON.stringify(problem.body(correlationId)));
            this.metrics.asyncTasks.inc({ pool, event: 'failed' });
            await this.acknowledge(stream, entryId);
          } else {
            // Left pending: claimed again after TASK_CLAIM_IDLE_MS, which spaces the retries.
            await this.redis.hset(
              key,
              'status',
              'queued',
              'last_error',
              JSON.stringify(problem.body(correlationId)),
            );
            this.log.warn(
              { task_id: id, attempts, err: problem.message },
              'async task attempt failed; will retry',
            );
          }
        }
      } catch (err) {
        this.metrics.redisErrors.inc({ operation: 'task_process' });
        this.log.warn(
          { task_id: id, err: (err as Error).message },
          'async task bookkeeping failed; it will be claimed again',
        );
      }
    });
  }

  private async finish(key: string, status: TaskStatus, field: string, value: string): Promise<void> {
    await this.redis.eval(
      FINISH,
      1,
      key,
      status,
      new Date().toISOString(),
      field,
      value,
      this.config.TASK_RESULT_TTL_SECONDS,
    );
  }

  private async acknowledge(stream: string, entryId: string): Promise<void> {
    await this.redis.multi().xack(stream, this.keys.taskGroup, entryId).xdel(stream, entryId).exec();
  }

  /** Sets the queue gauges from the streams (called before each scrape). */
  async reportQueues(): Promise<void> {
    if (this.redis.status !== 'ready') return;
    for (const pool of this.pools) {
      const stream = this.keys.taskStream(pool);
      try {
        const [[, length], [, first]] = (await this.redis
          .multi()
          .xlen(stream)
          .xrange(stream, '-', '+', 'COUNT', 1)
          .exec()) as [[null, number], [null, Array<[string, string[]]>]];
        this.metrics.queueLength.set({ pool }, length);
        const oldest = first[0] ? Number(first[0][0].split('-')[0]) : Date.now();
        this.metrics.queueOldestAge.set({ pool }, Math.max(0, (Date.now() - oldest) / 1000));
      } catch {
        this.metrics.redisErrors.inc({ operation: 'queue_metrics' });
      }
    }
  }
}
