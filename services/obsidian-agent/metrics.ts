import { client } from '../kit/metrics.ts';

/**
 * The Obsidian pool's own metrics. They exist before the agent service (its actions use them), so they
 * are registered on the agent's registry, which adds the `pool` label, with `registerOn`.
 */
export function createObsidianMetrics() {
  const registers: InstanceType<typeof client.Registry>[] = [];
  const metrics = {
    notes: new client.Gauge({
      name: 'agent_obsidian_notes',
      help: 'Notes in the vault at the last scan.',
      registers,
    }),
    indexRebuilds: new client.Counter({
      name: 'agent_obsidian_index_rebuilds_total',
      help: 'Times the search index was brought up to date with the vault, by kind (full, incremental).',
      labelNames: ['kind'] as const,
      registers,
    }),
    notesIndexed: new client.Counter({
      name: 'agent_obsidian_notes_indexed_total',
      help: 'Notes read and parsed into the search index (a full build counts every note).',
      registers,
    }),
    scanDuration: new client.Histogram({
      name: 'agent_obsidian_vault_scan_duration_seconds',
      help: 'Time to list and stat every note of the vault.',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    writes: new client.Counter({
      name: 'agent_obsidian_writes_total',
      help: 'Notes written, by action (write, append) and whether the note was created.',
      labelNames: ['action', 'created'] as const,
      registers,
    }),
    writeConflicts: new client.Counter({
      name: 'agent_obsidian_write_conflicts_total',
      help: 'Writes refused with 409 because the note was not at the expected version.',
      registers,
    }),
    pathEscapes: new client.Counter({
      name: 'agent_obsidian_path_escapes_total',
      help: 'Requests refused because a path resolved outside the vault through a symbolic link.',
      registers,
    }),
  };
  return {
    ...metrics,
    registerOn(registry: InstanceType<typeof client.Registry>) {
      for (const metric of Object.values(metrics)) registry.registerMetric(metric);
    },
  };
}

export type ObsidianMetrics = ReturnType<typeof createObsidianMetrics>;
