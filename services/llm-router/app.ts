import { createAgentService } from '../kit/agent-service.ts';
import { llmActions } from './actions.ts';
import type { LlmRouterConfig } from './config.ts';
import { createRouterMetrics } from './metrics.ts';
import { LlmRouter } from './router.ts';

/** The LLM router pool (`agent: "llm"`): the agent kit with the `chat` and `models` actions. */
export function createLlmRouter(config: LlmRouterConfig) {
  // The router needs the service's registry and logger, and the service needs the actions first.
  const built: { router?: LlmRouter } = {};
  const agent = createAgentService({
    pool: 'llm',
    serviceName: 'llm-router',
    config,
    actions: llmActions(config.providers, () => built.router!, {
      ttlSeconds: config.LLM_CACHE_TTL_SECONDS,
      staleIfErrorSeconds: config.LLM_STALE_IF_ERROR_SECONDS,
    }),
    healthDetail: () => ({ providers: built.router?.health() ?? {} }),
  });
  const router = new LlmRouter(
    config,
    createRouterMetrics(agent.service.metrics.registry),
    agent.service.log,
  );
  built.router = router;
  agent.service.onShutdown('close provider connections', () => router.close());
  return Object.assign(agent, { router });
}

export type LlmRouterService = ReturnType<typeof createLlmRouter>;
