import { z } from 'zod';
import { LATENCY_BUCKETS } from '../platform/metrics.ts';
import { JOBS, NAMESPACE } from '../platform/workloads.ts';
import { isDuration } from './duration.ts';

/**
 * The one place for every alerting knob (kubernetes-mixin style): job selectors, thresholds, range
 * windows, `for` durations, severities, SLO objectives, the labels the kube-prometheus-stack Prometheus
 * selects PrometheusRules by, and the runbook base URL. The rule modules in `rules/` read only this.
 *
 * Durations are Prometheus durations. In drill mode (`drill`) every `for`, every range window and every
 * threshold that is a duration (`*Age`) is divided by `drill.factor`, but never below the floors.
 */

const duration = z.string().refine(isDuration, 'expected a Prometheus duration such as 5m or 1h30m');
const severity = z.enum(['critical', 'warning', 'info']);
const ratio = z.number().gt(0).lt(1);
const alertName = z.string().regex(/^[A-Z][A-Za-z0-9]+$/, 'alert names are CamelCase');

const configSchema = z.object({
  /**
   * Namespace of the PrometheusRule (and of everything else in Kubernetes). The `absent()` branches look
   * for the targets of this namespace: an installation elsewhere generates its rules with its own.
   */
  namespace: z.string().min(1),
  /**
   * The label that names a cluster where several share one Prometheus, Thanos or Mimir ruler. Every
   * alert and recording rule keeps it and `namespace` through its aggregations and joins, so
   * Alertmanager can route and inhibit per installation; where series have no such label it is empty
   * and changes nothing.
   */
  clusterLabel: z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/),
  /** metadata.name of the PrometheusRule. */
  prometheusRuleName: z.string().min(1),
  /** Labels the Prometheus of kube-prometheus-stack selects PrometheusRules on (its `ruleSelector`). */
  ruleSelectorLabels: z.record(z.string(), z.string()),
  /** `runbook_url` is `<runbookBaseUrl>/runbooks/<AlertName>.md`. */
  runbookBaseUrl: z.string().url(),
  /** Prometheus `job` label of each scraped component (the same on the local stack and in Kubernetes). */
  jobs: z.object({
    orchestrator: z.string(),
    gitAgent: z.string(),
    llmRouter: z.string(),
    obsidianAgent: z.string(),
    redis: z.string(),
    redisSentinel: z.string(),
    haproxy: z.string(),
    pushgateway: z.string(),
  }),
  /** HAProxy backend (proxy label) that holds the orchestrators. */
  haproxyBackend: z.string(),
  /** Routes the SLIs and the error rate leave out: probes and scrapes, not client traffic. */
  nonClientRoutes: z.string(),
  /** Drill mode: windows and `for` divided by `factor`, floored for a 5 s scrape interval. */
  drill: z.object({ factor: z.number().int().min(2), minRange: duration, minFor: duration }),

  /** One alert per scrape job: every target of the job down (or not discovered) for `for`. */
  targets: z.array(
    z.object({
      alert: alertName,
      job: z.string(),
      component: z.string(),
      severity,
      for: duration,
      /** An exporter's own "the thing I export is reachable" gauge, counted as down when 0. */
      exporterUpMetric: z.string().optional(),
    }),
  ),
  resources: z.object({
    /** Fraction of the CPU / memory limit above which an instance alerts (the seed's 6.3: 80%). */
    threshold: ratio,
    cpuRateWindow: duration,
    for: duration,
    severity,
  }),
  /**
   * A Node.js process runs its JavaScript on one event loop: it saturates near one core, long before a
   * 2-core CPU limit. Utilisation is the share of time the loop is busy (performance.eventLoopUtilization).
   */
  eventLoop: z.object({ utilisation: ratio, window: duration, for: duration, severity }),
  errorRate: z.object({ threshold: ratio, window: duration, for: duration, severity }),
  cacheHitRatio: z.object({ threshold: ratio, window: duration, for: duration, severity }),
  agentHealth: z.object({ for: duration, severity }),
  circuitBreaker: z.object({
    /** Window of max_over_time that bridges the breaker's open -> half_open -> open cycles. */
    window: duration,
    for: duration,
    severity,
  }),
  queueBacklog: z.object({
    derivWindow: duration,
    /** The oldest unfinished task must also be older than this (a duration threshold, drill-scaled). */
    minOldestAge: duration,
    for: duration,
    severity,
  }),
  orchestratorRedis: z.object({ for: duration, severity }),
  redisReplicationLag: z.object({ thresholdSeconds: z.number().positive(), for: duration, severity }),
  redisReplicaLink: z.object({ for: duration, severity }),
  redisPrimary: z.object({ for: duration, severity }),
  redisFailover: z.object({ window: duration, severity }),
  loadBalancer: z.object({ for: duration, severity }),
  slo: z.object({
    /**
     * The period the objectives hold over (dashboards' budget and SLI panels). Computed from the rates
     * the recording rules keep (`sum_over_time` over the period), so Prometheus must retain them for at
     * least this long: kube-prometheus-stack keeps 10 days unless `prometheusSpec.retention` says more.
     */
    period: duration,
    availability: z.object({ objective: ratio }),
    latency: z.object({
      objective: ratio,
      /** A bucket boundary of orchestrator_http_request_duration_seconds. */
      thresholdSeconds: z
        .number()
        .refine(
          (s) => LATENCY_BUCKETS.includes(s),
          'must be one of the latency buckets (platform/metrics.ts)',
        ),
    }),
    /** Multi-window, multi-burn-rate alerts (Google SRE workbook, chapter 5). */
    burnRates: z.object({
      fast: z.object({
        severity,
        for: duration,
        windows: z.array(z.object({ long: duration, short: duration, factor: z.number().positive() })),
      }),
      slow: z.object({
        severity,
        for: duration,
        windows: z.array(z.object({ long: duration, short: duration, factor: z.number().positive() })),
      }),
    }),
  }),
});

export type AlertsConfig = z.infer<typeof configSchema>;
export type Severity = z.infer<typeof severity>;

const jobs = JOBS;

export const config: AlertsConfig = configSchema.parse({
  namespace: NAMESPACE,
  clusterLabel: 'cluster',
  prometheusRuleName: 'phoenix-orch',
  ruleSelectorLabels: { release: 'kube-prometheus-stack' },
  runbookBaseUrl: 'https://github.com/phoenix-orch/phoenix-orch/blob/main',
  jobs,
  haproxyBackend: 'orchestrators',
  nonClientRoutes: '/metrics|/health(/.*)?',
  drill: { factor: 30, minRange: '20s', minFor: '10s' },

  targets: [
    {
      alert: 'OrchestratorTargetDown',
      job: jobs.orchestrator,
      component: 'orchestrator',
      severity: 'warning',
      for: '2m',
    },
    { alert: 'GitAgentTargetDown', job: jobs.gitAgent, component: 'agents', severity: 'warning', for: '2m' },
    {
      alert: 'LlmRouterTargetDown',
      job: jobs.llmRouter,
      component: 'agents',
      severity: 'warning',
      for: '2m',
    },
    {
      alert: 'ObsidianAgentTargetDown',
      job: jobs.obsidianAgent,
      component: 'agents',
      severity: 'warning',
      for: '2m',
    },
    {
      alert: 'RedisTargetDown',
      job: jobs.redis,
      component: 'redis',
      severity: 'warning',
      for: '2m',
      exporterUpMetric: 'redis_up',
    },
    {
      alert: 'RedisSentinelTargetDown',
      job: jobs.redisSentinel,
      component: 'redis',
      severity: 'warning',
      for: '2m',
      exporterUpMetric: 'redis_up',
    },
    // The load balancer is the only way in: when it cannot be scraped nothing else shows the outage.
    {
      alert: 'LoadBalancerTargetDown',
      job: jobs.haproxy,
      component: 'load-balancer',
      severity: 'critical',
      for: '2m',
    },
    {
      alert: 'PushgatewayTargetDown',
      job: jobs.pushgateway,
      component: 'monitoring',
      severity: 'warning',
      for: '5m',
    },
  ],
  resources: { threshold: 0.8, cpuRateWindow: '5m', for: '5m', severity: 'warning' },
  eventLoop: { utilisation: 0.9, window: '5m', for: '5m', severity: 'warning' },
  errorRate: { threshold: 0.01, window: '5m', for: '5m', severity: 'critical' },
  cacheHitRatio: { threshold: 0.5, window: '5m', for: '15m', severity: 'warning' },
  agentHealth: { for: '10m', severity: 'warning' },
  circuitBreaker: { window: '1m', for: '2m', severity: 'warning' },
  queueBacklog: { derivWindow: '10m', minOldestAge: '2m', for: '10m', severity: 'warning' },
  orchestratorRedis: { for: '2m', severity: 'warning' },
  redisReplicationLag: { thresholdSeconds: 10, for: '2m', severity: 'warning' },
  redisReplicaLink: { for: '2m', severity: 'warning' },
  redisPrimary: { for: '1m', severity: 'critical' },
  redisFailover: { window: '15m', severity: 'info' },
  loadBalancer: { for: '1m', severity: 'critical' },
  slo: {
    period: '30d',
    availability: { objective: 0.999 },
    latency: { objective: 0.99, thresholdSeconds: 2.5 },
    burnRates: {
      fast: {
        severity: 'critical',
        for: '2m',
        windows: [
          { long: '1h', short: '5m', factor: 14.4 },
          { long: '6h', short: '30m', factor: 6 },
        ],
      },
      slow: {
        severity: 'warning',
        for: '1h',
        windows: [
          { long: '1d', short: '2h', factor: 3 },
          { long: '3d', short: '6h', factor: 1 },
        ],
      },
    },
  },
});
