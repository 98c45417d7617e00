/** Limits and timings more than one part of the project must agree on. */

/** Concurrent connections one orchestrator accepts (the seed's 2.2); HAProxy queues the rest. */
export const MAX_CONNECTIONS = 1000;

/**
 * Agent heartbeats: each instance writes one every `intervalMs`, valid for `ttlMs`; an orchestrator
 * counts an instance whose last heartbeat is older than `ttlMs` as gone.
 */
export const HEARTBEAT = { intervalMs: 2000, ttlMs: 6000 } as const;

/** The seed's per-instance resources (4.1, 4.2, 4.3), as Kubernetes quantities. */
export const RESOURCES = {
  orchestrator: { requests: { cpu: '1', memory: '2Gi' }, limits: { cpu: '2', memory: '4Gi' } },
  agent: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '1', memory: '2Gi' } },
  redis: { requests: { cpu: '2', memory: '4Gi' }, limits: { cpu: '4', memory: '8Gi' } },
} as const;

/** A CPU quantity (`2`, `500m`) in cores. */
export function cpuCores(quantity: string): number {
  return quantity.endsWith('m') ? Number(quantity.slice(0, -1)) / 1000 : Number(quantity);
}

const BINARY_UNITS: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };

/** A memory quantity (`2Gi`, `64Mi`, plain bytes) in bytes. */
export function memoryBytes(quantity: string): number {
  const unit = BINARY_UNITS[quantity.slice(-2)];
  return unit ? Number(quantity.slice(0, -2)) * unit : Number(quantity);
}
