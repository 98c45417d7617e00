import { z } from 'zod';

/** One entry of LLM_PROVIDERS. `type: openai` covers every OpenAI-compatible server. */
export const providerSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'expected 1-32 characters of [a-z0-9_-]'),
  type: z.literal('openai'),
  base_url: z.url({ protocol: /^https?$/ }),
  /** Name of the env var holding the API key (the key itself never appears in LLM_PROVIDERS). */
  api_key_env: z.string().regex(/^[A-Z_][A-Z0-9_]{0,127}$/, 'expected an env var name'),
  models: z.array(z.string().min(1).max(128)).min(1).max(256),
  weight: z.number().positive().max(1e6).default(1),
  timeout_ms: z.number().int().min(10).max(600000).default(6000),
});

export type ProviderConfig = z.infer<typeof providerSchema> & { apiKey: string };

export const providersSchema = z
  .array(providerSchema)
  .min(1)
  .max(32)
  .refine((ps) => new Set(ps.map((p) => p.name)).size === ps.length, 'provider names must be unique');

/**
 * Parses LLM_PROVIDERS (JSON) and reads each provider's key from the env var it names. Returns the
 * problems (never a key) instead of throwing, so the caller can report them with the rest of the config.
 */
export function parseProviders(
  raw: string,
  env: NodeJS.ProcessEnv,
): { providers: ProviderConfig[]; problems: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { providers: [], problems: ['LLM_PROVIDERS: not valid JSON'] };
  }
  const parsed = providersSchema.safeParse(json);
  if (!parsed.success) {
    return {
      providers: [],
      problems: parsed.error.issues.map((i) => `LLM_PROVIDERS[${i.path.join('.')}]: ${i.message}`),
    };
  }
  const problems: string[] = [];
  const providers = parsed.data.map((p) => {
    const apiKey = env[p.api_key_env] ?? '';
    if (!apiKey) problems.push(`${p.api_key_env}: unset (API key of provider ${p.name})`);
    return { ...p, base_url: p.base_url.replace(/\/+$/, ''), apiKey };
  });
  return { providers, problems };
}
