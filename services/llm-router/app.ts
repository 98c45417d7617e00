import { POOLS } from '../../platform/pools.ts';
import { createAgentService } from '../kit/agent-service.ts';
import { llmActions } from './actions.ts';
import type { LlmRouterConfig } from './config.ts';
import { createRouterMetrics } from './metrics.ts';
import { LlmRouter } from './router.ts';

/** The LLM router pool (`agent: "llm"`): the agent kit with the `chat` and `models` actions. */
export function createLlmRouter(config: LlmRouterConfig) {
  const agent = createAgentService({
    pool: 'llm',
    serviceName: POOLS.llm.service,
    config,
    build: ({ registry, log }) => {
      const router = new LlmRouter(config, createRouterMetrics(registry), log);
      return {
        router,
        actions: llmActions(config.providers, router, {
          ttlSeconds: config.LLM_CACHE_TTL_SECONDS,
          staleIfErrorSeconds: config.LLM_STALE_IF_ERROR_SECONDS,
        }),
        healthDetail: () => ({ providers: router.health() }),
      };
    },
  });
  const { router } = agent.parts;
  agent.service.onShutdown('close provider connections', () => router.close());
  return Object.assign(agent, { router });
}

export type LlmRouterService = ReturnType<typeof createLlmRouter>;
