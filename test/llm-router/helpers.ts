import { createLlmRouter } from '../../services/llm-router/app.ts';
import { loadLlmRouterConfig } from '../../services/llm-router/config.ts';
import type { LlmSimulator } from '../../load/llm-simulator/simulator.ts';

export interface SimProvider {
  name: string;
  sim: LlmSimulator;
  models?: string[];
  weight?: number;
  timeout_ms?: number;
  key?: string;
}

export const providerKey = (name: string) => `sk-secret-${name}-0123456789abcdef`;

/** LLM_PROVIDERS JSON and the key variables for providers pointing at simulators. */
export function providersEnv(providers: SimProvider[]): Record<string, string> {
  const env: Record<string, string> = {
    LLM_PROVIDERS: JSON.stringify(
      providers.map((p) => ({
        name: p.name,
        type: 'openai',
        base_url: p.sim.baseUrl,
        api_key_env: `KEY_${p.name.toUpperCase()}`,
        models: p.models ?? ['sim-model'],
        weight: p.weight ?? 1,
        timeout_ms: p.timeout_ms ?? 2000,
      })),
    ),
  };
  for (const p of providers) env[`KEY_${p.name.toUpperCase()}`] = p.key ?? providerKey(p.name);
  return env;
}

/** An in-process LLM router on a free loopback port. */
export async function startRouter(providers: SimProvider[], env: Record<string, string> = {}) {
  const config = loadLlmRouterConfig({
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    SHUTDOWN_DRAIN_DELAY_MS: '0',
    LLM_BACKOFF_BASE_MS: '10',
    LLM_BACKOFF_MAX_MS: '50',
    ...providersEnv(providers),
    ...env,
  });
  const router = createLlmRouter(config);
  const { port } = await router.start(0, '127.0.0.1');
  const url = `http://127.0.0.1:${port}`;
  return Object.assign(router, { url, port });
}

export type RouterInstance = Awaited<ReturnType<typeof startRouter>>;

export async function post(url: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  // Tests read into answers freely; a wrong shape fails the assertion that reads it.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: res.status, headers: res.headers, text, body: JSON.parse(text) as Record<string, any> };
}

export const chat = (url: string, input: Record<string, unknown>, headers: Record<string, string> = {}) =>
  post(url, '/v1/actions/chat', { input }, headers);

export const hello = (content = 'hello there', extra: Record<string, unknown> = {}) => ({
  model: 'sim-model',
  messages: [{ role: 'user', content }],
  ...extra,
});
