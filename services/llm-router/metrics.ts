import { client, LATENCY_BUCKETS } from '../kit/metrics.ts';

export type RouterMetrics = ReturnType<typeof createRouterMetrics>;

/** The router's own metrics (`agent_llm_*`), on the agent service's registry. */
export function createRouterMetrics(registry: client.Registry) {
  const registers = [registry];
  return {
    requests: new client.Counter({
      name: 'agent_llm_provider_requests_total',
      help: 'Provider calls by provider, model and outcome (success, rate_limited, server_error, timeout, connection_error, auth_error, rejected, aborted, circuit_open).',
      labelNames: ['provider', 'model', 'outcome'] as const,
      registers,
    }),
    duration: new client.Histogram({
      name: 'agent_llm_provider_request_duration_seconds',
      help: 'Provider call latency by provider, model and outcome.',
      labelNames: ['provider', 'model', 'outcome'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    tokensIn: new client.Counter({
      name: 'agent_llm_prompt_tokens_total',
      help: 'Prompt tokens the providers reported, by provider and model.',
      labelNames: ['provider', 'model'] as const,
      registers,
    }),
    tokensOut: new client.Counter({
      name: 'agent_llm_completion_tokens_total',
      help: 'Completion tokens the providers reported, by provider and model.',
      labelNames: ['provider', 'model'] as const,
      registers,
    }),
    retries: new client.Counter({
      name: 'agent_llm_retries_total',
      help: 'Calls repeated to a provider already tried for the same request, by provider and reason.',
      labelNames: ['provider', 'reason'] as const,
      registers,
    }),
    fallbacks: new client.Counter({
      name: 'agent_llm_fallbacks_total',
      help: 'Requests moved from one provider to another after a failure, by the provider left and the one taken.',
      labelNames: ['from', 'to'] as const,
      registers,
    }),
    breakerState: new client.Gauge({
      name: 'agent_llm_provider_breaker_state',
      help: 'Provider circuit breaker state: 1 for the current state, 0 for the others.',
      labelNames: ['provider', 'state'] as const,
      registers,
    }),
    chats: new client.Counter({
      name: 'agent_llm_chat_requests_total',
      help: 'Chat requests by model and final outcome (success, client_error, exhausted).',
      labelNames: ['model', 'outcome'] as const,
      registers,
    }),
  };
}
