import { OBSIDIAN_AGENT_METRICS } from '../../platform/metrics.ts';
import { registerMetrics, type client, type Metrics } from '../kit/metrics.ts';

/** The Obsidian pool's own metrics (`agent_obsidian_*`), on the agent service's registry. */
export const createObsidianMetrics = (registry: client.Registry) =>
  registerMetrics(OBSIDIAN_AGENT_METRICS, registry);

export type ObsidianMetrics = Metrics<typeof OBSIDIAN_AGENT_METRICS>;
