import { z } from 'zod';
import { agentConfigSchema } from '../kit/agent-service.ts';
import { breakerConfig } from '../kit/breaker.ts';
import { ConfigError, int, loadConfig } from '../kit/config.ts';
import { parseProviders, type ProviderConfig } from './providers.ts';

export const llmRouterConfigSchema = agentConfigSchema.extend({
  LLM_PROVIDERS: z
    .string()
    .min(2)
    .describe(
      'JSON list of providers: `[{"name","type":"openai","base_url","api_key_env","models":[...],"weight"?,"timeout_ms"?}]` (weight default 1; timeout_ms of one call, default 6000, capped by the deadline). `api_key_env` names the env var (from a Secret) holding that provider\u2019s key. Required.',
    ),
  LLM_MAX_ATTEMPTS: int(4, 1, 20).describe(
    'Provider calls one chat request may make, retries and fallbacks included.',
  ),
  LLM_REQUEST_DEADLINE_MS: int(9000, 100, 600000).describe(
    'Total time one chat request may spend across all attempts and backoff; never exceeded. Keep it below the orchestrator\u2019s `AGENT_TIMEOUT_MS` (raise both for long generations).',
  ),
  LLM_BACKOFF_BASE_MS: int(100, 1, 60000).describe(
    'First retry backoff of a provider already tried; doubles per retry, full jitter.',
  ),
  LLM_BACKOFF_MAX_MS: int(5000, 1, 600000).describe('Largest backoff between retries.'),
  LLM_RETRY_AFTER_MAX_MS: int(10000, 0, 600000).describe(
    'Cap on a provider\u2019s `Retry-After`; a longer wait skips that provider for the request.',
  ),
  ...breakerConfig('LLM_', 'each provider'),
  LLM_CACHE_TTL_SECONDS: int(3600, 1, 30 * 86400).describe(
    'TTL of cached deterministic chat answers (`cache: true`, or `temperature: 0`).',
  ),
  LLM_STALE_IF_ERROR_SECONDS: int(3600, 0, 30 * 86400).describe(
    'How old a cached deterministic chat answer may be and still be served (`X-Cache: STALE`) while the router pool is unreachable or failing; 0: never.',
  ),
  LLM_MAX_SOCKETS: int(256, 1, 100000).describe('Keep-alive connections per provider host.'),
});

export type LlmRouterConfig = z.infer<typeof llmRouterConfigSchema> & { providers: ProviderConfig[] };

export function loadLlmRouterConfig(env: NodeJS.ProcessEnv = process.env): LlmRouterConfig {
  const config = loadConfig(llmRouterConfigSchema, env);
  const { providers, problems } = parseProviders(config.LLM_PROVIDERS, env);
  if (problems.length > 0) throw new ConfigError(problems);
  return { ...config, providers };
}
