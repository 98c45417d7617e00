import { randomUUID } from 'node:crypto';
import type { BreakerState } from '../../platform/metrics.ts';
import { AGENT_POOLS, type AgentPool } from '../../platform/pools.ts';
import type { ActionDescriptor } from '../kit/agent-contract.ts';
import { breakerSettings, breakerState, createBreaker, type Breaker } from '../kit/breaker.ts';
import { readPoolHealth } from '../kit/heartbeat.ts';
import type { RedisKeys } from '../../platform/redis-keys.ts';
import type { Logger } from '../kit/logger.ts';
import { Problem } from '../kit/problem.ts';
import { subscribeChannel, type Redis } from '../kit/redis.ts';
import { AgentClient, AgentFailure, AgentInputError } from './agent-client.ts';
import { checkedDescriptor } from './catalogue.ts';
import { poolUrl, type OrchestratorConfig } from './config.ts';
import type { OrchestratorMetrics } from './metrics.ts';

interface BreakerMessage {
  pool: AgentPool;
  state: 'open' | 'closed';
  by: string;
  until?: number;
}

export interface PoolView {
  configured: boolean;
  breaker: BreakerState;
  instances: number;
  healthy: number;
  /** Healthy instances exist and the breaker is not open. */
  up: boolean;
  actions: number | null;
  health_updated_at: number | null;
}

interface Pool {
  name: AgentPool;
  client: AgentClient | undefined;
  breaker: Breaker<unknown>;
  catalog: Map<string, ActionDescriptor> | undefined;
  catalogFetchedAt: number;
  instances: number;
  healthy: number;
  healthUpdatedAt: number | null;
  /** Set while applying another instance's breaker change, so it is not broadcast back. */
  applyingRemote: boolean;
}

const CATALOG_RETRY_MS = 1000;

/**
 * The three agent pools as this instance sees them: an HTTP client per pool, an opossum breaker per
 * pool whose opening and closing is shared through Redis, the pools' action catalogues, and the
 * pools' health read from the agents' heartbeats in Redis.
 */
export class AgentPools {
  private readonly pools = new Map<AgentPool, Pool>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly config: OrchestratorConfig;
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private readonly keys: RedisKeys;
  private readonly metrics: OrchestratorMetrics;
  private readonly log: Logger;

  constructor(deps: {
    config: OrchestratorConfig;
    redis: Redis;
    subscriber: Redis;
    keys: RedisKeys;
    metrics: OrchestratorMetrics;
    log: Logger;
  }) {
    this.config = deps.config;
    this.redis = deps.redis;
    this.subscriber = deps.subscriber;
    this.keys = deps.keys;
    this.metrics = deps.metrics;
    this.log = deps.log;
    for (const name of AGENT_POOLS) {
      const url = poolUrl(deps.config, name);
      const pool: Pool = {
        name,
        client: url ? new AgentClient(name, url, deps.config.AGENT_TIMEOUT_MS) : undefined,
        breaker: this.createBreaker(name),
        catalog: undefined,
        catalogFetchedAt: 0,
        instances: 0,
        healthy: 0,
        healthUpdatedAt: null,
        applyingRemote: false,
      };
      this.pools.set(name, pool);
      this.reportPoolUp(name);
    }
  }

  /** Subscribes to breaker changes, adopts breakers other instances hold open, starts the refresh loops. */
  async start(): Promise<void> {
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.keys.breakerChannel) this.applyRemote(message);
    });
    await subscribeChannel(this.subscriber, this.keys.breakerChannel);
    await this.adoptStoredBreakers();
    this.redis.on('ready', () => void this.adoptStoredBreakers());
    await Promise.all([this.refreshHealth(), ...[...this.pools.values()].map((p) => this.refreshCatalog(p))]);
    this.every(this.config.POOL_HEALTH_POLL_MS, () => this.refreshHealth());
    this.every(this.config.ACTIONS_REFRESH_MS, () =>
      Promise.all([...this.pools.values()].map((p) => this.refreshCatalog(p))),
    );
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    for (const pool of this.pools.values()) pool.breaker.shutdown();
  }

  /** The action's descriptor from the catalogue in hand, without waiting; undefined when it needs `describe`. */
  describeKnown(poolName: AgentPool, action: string): ActionDescriptor | undefined {
    return this.pools.get(poolName)?.catalog?.get(action);
  }

  /** The action's descriptor; `undefined` when the pool's catalogue is not known yet (pool unreachable). */
  async describe(
    poolName: AgentPool,
    action: string,
    correlationId: string,
  ): Promise<ActionDescriptor | undefined> {
    const pool = this.pool(poolName);
    if (!pool.catalog && Date.now() - pool.catalogFetchedAt > CATALOG_RETRY_MS) {
      await this.refreshCatalog(pool, correlationId);
    }
    if (!pool.catalog) return undefined;
    const descriptor = pool.catalog.get(action);
    if (!descriptor) {
      throw new Problem(400, 'unknown-action', `the ${poolName} agent has no action "${action}"`, {
        extensions: {
          errors: [{ field: 'action', message: `one of: ${[...pool.catalog.keys()].join(', ')}` }],
        },
      });
    }
    return descriptor;
  }

  run(
    poolName: AgentPool,
    action: string,
    input: unknown,
    session: { id: string; turns: unknown[] } | undefined,
    correlationId: string,
    version?: string,
  ) {
    return this.call(poolName, (client) =>
      client.run(
        action,
        { input, ...(session ? { session } : {}), ...(version !== undefined ? { version } : {}) },
        correlationId,
      ),
    );
  }

  resolve(poolName: AgentPool, action: string, input: unknown, correlationId: string): Promise<string> {
    return this.call(poolName, (client) => client.resolve(action, input, correlationId));
  }

  view(): Record<AgentPool, PoolView> {
    const out = {} as Record<AgentPool, PoolView>;
    for (const pool of this.pools.values()) {
      const breaker = breakerState(pool.breaker);
      out[pool.name] = {
        configured: pool.client !== undefined,
        breaker,
        instances: pool.instances,
        healthy: pool.healthy,
        up: pool.client !== undefined && pool.healthy > 0 && breaker !== 'open',
        actions: pool.catalog ? pool.catalog.size : null,
        health_updated_at: pool.healthUpdatedAt,
      };
    }
    return out;
  }

  private pool(name: AgentPool): Pool {
    return this.pools.get(name)!;
  }

  private async call<T>(poolName: AgentPool, fn: (client: AgentClient) => Promise<T>): Promise<T> {
    const pool = this.pool(poolName);
    const client = pool.client;
    if (!client) {
      throw new Problem(
        503,
        'agent-not-configured',
        `no address is configured for the ${poolName} agent pool`,
      );
    }
    const { agentCalls, agentCallDuration } = this.metrics;
    const start = process.hrtime.bigint();
    const observe = (outcome: string) => {
      agentCalls.inc({ pool: poolName, outcome });
      agentCallDuration.observe({ pool: poolName, outcome }, Number(process.hrtime.bigint() - start) / 1e9);
    };
    try {
      const result = (await pool.breaker.fire(() => fn(client))) as T;
      observe('success');
      return result;
    } catch (err) {
      if (err instanceof AgentInputError) {
        observe('client_error');
        throw err;
      }
      if (err instanceof AgentFailure) {
        observe(err.slug === 'agent-timeout' ? 'timeout' : 'error');
        throw err;
      }
      if ((err as { code?: string }).code === 'EOPENBREAKER') {
        observe('short_circuit');
        throw new Problem(
          503,
          'agent-circuit-open',
          `the ${poolName} agent pool is failing; its circuit breaker is open, so the call was not made`,
          {
            extensions: { pool: poolName },
            headers: { 'Retry-After': String(Math.ceil(this.config.BREAKER_RESET_TIMEOUT_MS / 1000)) },
          },
        );
      }
      observe('error');
      throw err;
    }
  }

  private createBreaker(name: AgentPool): Breaker<unknown> {
    return createBreaker({
      name,
      settings: breakerSettings(this.config, ''),
      isCallerError: (err) => err instanceof AgentInputError,
      gauge: this.metrics.breakerState,
      labels: { pool: name },
      onTransition: (state) => {
        if (state === 'half_open') this.reportPoolUp(name);
        else this.onLocalTransition(name, state);
      },
    });
  }

  private onLocalTransition(name: AgentPool, state: 'open' | 'closed'): void {
    const pool = this.pools.get(name);
    if (!pool) return; // transitions during construction
    this.reportPoolUp(name);
    const origin = pool.applyingRemote ? 'remote' : 'local';
    this.metrics.breakerTransitions.inc({ pool: name, state, origin });
    if (pool.applyingRemote) return;
    this.log.warn({ pool: name, state }, `circuit breaker ${state}`);
    void this.broadcast({
      pool: name,
      state,
      by: this.config.INSTANCE_ID,
      ...(state === 'open' ? { until: Date.now() + this.config.BREAKER_RESET_TIMEOUT_MS } : {}),
    });
  }

  /** Stores the state (read by instances starting later) and publishes it (seen by running ones at once). */
  private async broadcast(msg: BreakerMessage): Promise<void> {
    if (this.redis.status !== 'ready') return;
    const key = this.keys.breaker(msg.pool);
    try {
      const multi = this.redis.multi();
      if (msg.state === 'open')
        multi.set(key, JSON.stringify(msg), 'PX', this.config.BREAKER_RESET_TIMEOUT_MS);
      else multi.del(key);
      await multi.publish(this.keys.breakerChannel, JSON.stringify(msg)).exec();
    } catch (err) {
      this.metrics.redisErrors.inc({ operation: 'breaker_sync' });
      this.log.warn({ err: (err as Error).message, pool: msg.pool }, 'breaker state not shared');
    }
  }

  private applyRemote(message: string): void {
    let msg: BreakerMessage;
    try {
      msg = JSON.parse(message) as BreakerMessage;
    } catch {
      return;
    }
    const pool = this.pools.get(msg.pool);
    if (!pool || msg.by === this.config.INSTANCE_ID) return;
    pool.applyingRemote = true;
    try {
      if (msg.state === 'open' && !pool.breaker.opened) {
        this.log.warn({ pool: msg.pool, by: msg.by }, 'circuit breaker opened by another instance');
        pool.breaker.open();
      } else if (msg.state === 'closed' && !pool.breaker.closed) {
        pool.breaker.close();
      }
    } finally {
      pool.applyingRemote = false;
    }
  }

  private async adoptStoredBreakers(): Promise<void> {
    if (this.redis.status !== 'ready') return;
    try {
      const values = await this.redis.mget(...AGENT_POOLS.map((p) => this.keys.breaker(p)));
      values.forEach((value) => {
        if (value) this.applyRemote(value);
      });
    } catch (err) {
      this.metrics.redisErrors.inc({ operation: 'breaker_read' });
      this.log.warn({ err: (err as Error).message }, 'stored breaker states not read');
    }
  }

  private reportPoolUp(name: AgentPool): void {
    if (!this.pools.has(name)) return; // transitions during construction
    this.metrics.poolUp.set({ pool: name }, this.view()[name]?.up ? 1 : 0);
  }

  private async refreshCatalog(pool: Pool, correlationId = `catalog-${randomUUID()}`): Promise<void> {
    if (!pool.client) return;
    pool.catalogFetchedAt = Date.now();
    try {
      const actions = await pool.client.actions(correlationId);
      pool.catalog = new Map(
        actions.map(checkedDescriptor).flatMap((a) => (a ? [[a.name, a] as const] : [])),
      );
    } catch (err) {
      if (!pool.catalog)
        this.log.warn({ pool: pool.name, err: (err as Error).message }, 'action catalogue unavailable');
    }
  }

  /** Reads every pool's heartbeats: instances seen within HEARTBEAT_TTL_MS, and how many report ok. */
  private async refreshHealth(): Promise<void> {
    if (this.redis.status !== 'ready') return;
    try {
      for (const pool of this.pools.values()) {
        const { instances, healthy } = await readPoolHealth(
          this.redis,
          this.keys,
          pool.name,
          this.config.HEARTBEAT_TTL_MS,
        );
        pool.instances = instances;
        pool.healthy = healthy;
        pool.healthUpdatedAt = Date.now();
        this.metrics.poolInstances.set({ pool: pool.name }, instances);
        this.metrics.poolHealthyInstances.set({ pool: pool.name }, healthy);
        this.reportPoolUp(pool.name);
      }
    } catch (err) {
      this.metrics.redisErrors.inc({ operation: 'pool_health' });
      this.log.debug({ err: (err as Error).message }, 'pool health not refreshed');
    }
  }

  private every(ms: number, fn: () => Promise<unknown>): void {
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      void fn().finally(() => (running = false));
    }, ms);
    timer.unref();
    this.timers.push(timer);
  }
}
