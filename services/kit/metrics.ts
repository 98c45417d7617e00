import { performance } from 'node:perf_hooks';
import client, { Registry } from 'prom-client';
import { BASE_METRICS, LATENCY_BUCKETS, type MetricFact } from '../../platform/metrics.ts';
import { buildInfo } from './build-info.ts';
import type { BaseConfig } from './config.ts';

type LabelsOf<F> = F extends { labels: readonly (infer L)[] } ? (L extends string ? L : never) : never;
type MetricOf<F extends MetricFact> = F['type'] extends 'counter'
  ? client.Counter<LabelsOf<F>>
  : F['type'] extends 'gauge'
    ? client.Gauge<LabelsOf<F>>
    : client.Histogram<LabelsOf<F>>;

/** The prom-client metrics of a group of platform/metrics.ts definitions, by the same keys. */
export type Metrics<G extends Record<string, MetricFact>> = { [K in keyof G]: MetricOf<G[K]> };

/** For some metrics of a group: what to do just before each scrape reads them. */
export type Collectors<G extends Record<string, MetricFact>> = {
  [K in keyof G]?: (metric: MetricOf<G[K]>) => void;
};

function create(fact: MetricFact, registry: Registry, prefix: string, collect?: (metric: never) => void) {
  const common = {
    name: `${prefix}${fact.name}`,
    help: fact.help,
    labelNames: fact.labels,
    registers: [registry],
    ...(collect
      ? {
          collect(this: unknown) {
            collect(this as never);
          },
        }
      : {}),
  };
  if (fact.type === 'counter') return new client.Counter(common);
  if (fact.type === 'gauge') return new client.Gauge(common);
  return new client.Histogram({ ...common, buckets: [...(fact.buckets ?? LATENCY_BUCKETS)] });
}

/** Registers every metric of a group of definitions (platform/metrics.ts) on `registry`, names after `prefix`. */
export function registerMetrics<G extends Record<string, MetricFact>>(
  group: G,
  registry: Registry,
  prefix = '',
  collectors: Collectors<G> = {},
): Metrics<G> {
  return Object.fromEntries(
    Object.entries(group).map(([key, fact]) => [
      key,
      create(fact, registry, prefix, collectors[key] as ((metric: never) => void) | undefined),
    ]),
  ) as Metrics<G>;
}

/** Adds the event loop's busy time since the last scrape, so the counter's rate is its utilisation. */
function eventLoopActivity(): (counter: client.Counter) => void {
  let last = performance.eventLoopUtilization();
  return (counter) => {
    const now = performance.eventLoopUtilization();
    counter.inc(Math.max(0, now.active - last.active) / 1000);
    last = now;
  };
}

/**
 * The metrics every service exports, named `<prefix>*`: process metrics (prom-client's, event-loop lag
 * among them), event-loop utilisation, HTTP requests, connections, build info, and the resource limits
 * that "above 80% of the limit" alerts divide by.
 */
export function createBaseMetrics(prefix: string, config: BaseConfig, labels: Record<string, string> = {}) {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  client.collectDefaultMetrics({ register: registry, prefix });
  const m = registerMetrics(BASE_METRICS, registry, prefix, { eventLoopActive: eventLoopActivity() });
  m.buildInfo.set(buildInfo(config), 1);
  m.maxConnections.set(config.MAX_CONNECTIONS);
  if (config.CPU_LIMIT !== undefined) m.cpuLimit.set(config.CPU_LIMIT);
  if (config.MEMORY_LIMIT !== undefined) m.memoryLimit.set(config.MEMORY_LIMIT);
  return {
    registry,
    httpRequests: m.httpRequests,
    httpDuration: m.httpDuration,
    openConnections: m.openConnections,
    refusedConnections: m.refusedConnections,
    up: m.ready,
    redisUp: m.redisConnected,
    redisErrors: m.redisErrors,
  };
}

export type BaseMetrics = ReturnType<typeof createBaseMetrics>;
export { client, LATENCY_BUCKETS };
