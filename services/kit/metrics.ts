import client, { Registry } from 'prom-client';
import type { BaseConfig } from './config.ts';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The metrics every service exports, named `<prefix>*`: process metrics, HTTP requests, connections,
 * build info, and the resource limits that "above 80% of the limit" alerts divide by.
 */
export function createBaseMetrics(prefix: string, config: BaseConfig, labels: Record<string, string> = {}) {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  client.collectDefaultMetrics({ register: registry, prefix });

  const httpRequests = new client.Counter({
    name: `${prefix}http_requests_total`,
    help: 'HTTP requests answered, by route template, method and status code.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  const httpDuration = new client.Histogram({
    name: `${prefix}http_request_duration_seconds`,
    help: 'HTTP request latency from first byte read to response finished.',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const openConnections = new client.Gauge({
    name: `${prefix}open_connections`,
    help: 'Client TCP connections currently open.',
    registers: [registry],
  });
  const refusedConnections = new client.Counter({
    name: `${prefix}connections_refused_total`,
    help: 'Connections refused because MAX_CONNECTIONS were already open.',
    registers: [registry],
  });
  new client.Gauge({
    name: `${prefix}max_connections`,
    help: 'The configured concurrent connection cap.',
    registers: [registry],
  }).set(config.MAX_CONNECTIONS);
  const cpuLimit = new client.Gauge({
    name: `${prefix}cpu_limit_cores`,
    help: 'CPU limit of this instance in cores (absent when unlimited).',
    registers: [registry],
  });
  if (config.CPU_LIMIT !== undefined) cpuLimit.set(config.CPU_LIMIT);
  const memoryLimit = new client.Gauge({
    name: `${prefix}memory_limit_bytes`,
    help: 'Memory limit of this instance in bytes (absent when unlimited).',
    registers: [registry],
  });
  if (config.MEMORY_LIMIT !== undefined) memoryLimit.set(config.MEMORY_LIMIT);
  const up = new client.Gauge({
    name: `${prefix}ready`,
    help: '1 while the instance accepts traffic, 0 while starting or draining.',
    registers: [registry],
  });
  const redisUp = new client.Gauge({
    name: `${prefix}redis_connected`,
    help: '1 while the Redis connection is ready; 0 means degraded (uncached) operation.',
    registers: [registry],
  });
  const redisErrors = new client.Counter({
    name: `${prefix}redis_errors_total`,
    help: 'Redis commands that failed or timed out, by operation.',
    labelNames: ['operation'] as const,
    registers: [registry],
  });

  return {
    registry,
    LATENCY_BUCKETS,
    httpRequests,
    httpDuration,
    openConnections,
    refusedConnections,
    up,
    redisUp,
    redisErrors,
  };
}

export type BaseMetrics = ReturnType<typeof createBaseMetrics>;
export { client, LATENCY_BUCKETS };
