import { LLM_ROUTER_METRICS } from '../../platform/metrics.ts';
import { registerMetrics, type client } from '../kit/metrics.ts';

export type RouterMetrics = ReturnType<typeof createRouterMetrics>;

/** The router's own metrics (`agent_llm_*`), on the agent service's registry. */
export function createRouterMetrics(registry: client.Registry) {
  return registerMetrics(LLM_ROUTER_METRICS, registry);
}
