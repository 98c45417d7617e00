import type { AlertsConfig } from '../config.ts';
import { createContext, type Mode, type RuleGroup } from '../lib.ts';
import { agentAlerts } from './agents.ts';
import { eventLoopAlerts } from './event-loop.ts';
import { loadBalancerAlerts } from './load-balancer.ts';
import { orchestratorAlerts } from './orchestrator.ts';
import { redisAlerts } from './redis.ts';
import { resourceAlerts } from './resources.ts';
import { recordingRules, sloAlerts } from './slo.ts';
import { targetAlerts } from './targets.ts';

/** Every rule group, in file order. */
export function buildGroups(config: AlertsConfig, mode: Mode): RuleGroup[] {
  const ctx = createContext(config, mode);
  return [
    { name: 'phoenix-orch.recording', rules: recordingRules(ctx) },
    { name: 'phoenix-orch.targets', rules: targetAlerts(ctx) },
    { name: 'phoenix-orch.resources', rules: [...resourceAlerts(ctx), ...eventLoopAlerts(ctx)] },
    { name: 'phoenix-orch.orchestrator', rules: orchestratorAlerts(ctx) },
    { name: 'phoenix-orch.agents', rules: agentAlerts(ctx) },
    { name: 'phoenix-orch.redis', rules: redisAlerts(ctx) },
    { name: 'phoenix-orch.load-balancer', rules: loadBalancerAlerts(ctx) },
    { name: 'phoenix-orch.slo', rules: sloAlerts(ctx) },
  ];
}
