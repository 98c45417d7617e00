/** The ports the containers listen on (the local stack maps its own, see stack/layout.ts). */
export const PORTS = {
  orchestrator: 8080,
  agent: 9000,
  redis: 6379,
  sentinel: 26379,
  loadBalancerHttps: 8443,
  loadBalancerStats: 8404,
} as const;
