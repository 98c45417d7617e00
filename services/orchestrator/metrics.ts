import { ORCHESTRATOR_METRICS } from '../../platform/metrics.ts';
import { registerMetrics, type BaseMetrics } from '../kit/metrics.ts';

/** Orchestrator-specific metrics (platform/metrics.ts), registered beside the kit's base metrics. */
export function createOrchestratorMetrics(base: BaseMetrics) {
  return { ...base, ...registerMetrics(ORCHESTRATOR_METRICS, base.registry) };
}

export type OrchestratorMetrics = ReturnType<typeof createOrchestratorMetrics>;
