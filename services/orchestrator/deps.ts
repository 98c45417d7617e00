import type { RedisKeys } from '../../platform/redis-keys.ts';
import type { Logger } from '../kit/logger.ts';
import type { Redis } from '../kit/redis.ts';
import type { OrchestratorConfig } from './config.ts';
import type { OrchestratorMetrics } from './metrics.ts';

/** What the orchestrator's Redis-backed parts are built from (one instance's connections and settings). */
export interface RedisDeps {
  redis: Redis;
  /** The pub/sub connection, shared by everything that subscribes. */
  subscriber: Redis;
  keys: RedisKeys;
  config: OrchestratorConfig;
  metrics: OrchestratorMetrics;
  log: Logger;
}
