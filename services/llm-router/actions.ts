import { z } from 'zod';
import { defineAction } from '../kit/agent-service.ts';
import type { CacheCondition } from '../kit/versions.ts';
import type { ProviderConfig } from './providers.ts';
import type { LlmRouter } from './router.ts';

const MAX_CONTENT_CHARS = 100_000;
const MAX_MESSAGES = 256;
const MAX_TOTAL_CHARS = 400_000;

const message = z.strictObject({
  role: z.enum(['system', 'developer', 'user', 'assistant']),
  content: z.string().max(MAX_CONTENT_CHARS),
  name: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .optional(),
});

/**
 * The OpenAI chat-completions request. Top-level fields are an allowlist: the ones below, and nothing
 * else (a provider-specific field would otherwise make two routes give different answers, or leak into
 * the cache key unnoticed). `cache` is the router's own field and is not sent to providers.
 */
export function chatInputSchema(models: [string, ...string[]]) {
  return z
    .strictObject({
      model: z.enum(models).describe('A model some configured provider serves (see the `models` action).'),
      messages: z.array(message).min(1).max(MAX_MESSAGES),
      temperature: z.number().min(0).max(2).optional(),
      top_p: z.number().min(0).max(1).optional(),
      max_tokens: z.number().int().min(1).max(1_000_000).optional(),
      stop: z
        .union([z.string().min(1).max(256), z.array(z.string().min(1).max(256)).min(1).max(4)])
        .optional(),
      seed: z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER).optional(),
      presence_penalty: z.number().min(-2).max(2).optional(),
      frequency_penalty: z.number().min(-2).max(2).optional(),
      n: z.literal(1).optional().describe('Only one choice is supported.'),
      user: z.string().max(256).optional(),
      stream: z.literal(false).optional().describe('Streaming is not supported; false or absent.'),
      cache: z
        .boolean()
        .optional()
        .describe(
          'Whether the answer may be cached: true asserts the request is deterministic, false forbids caching; absent means cacheable only at temperature 0.',
        ),
    })
    .refine((r) => r.messages.reduce((n, m) => n + m.content.length, 0) <= MAX_TOTAL_CHARS, {
      message: `the messages hold more than ${MAX_TOTAL_CHARS} characters in all`,
      path: ['messages'],
    });
}

export type ChatInput = z.infer<ReturnType<typeof chatInputSchema>>;

/**
 * Which chats may be cached, as the catalogue advertises it to orchestrators: `cache: true` (the caller
 * asserts the request is deterministic), or no `cache` field and temperature 0.
 */
export const CHAT_CACHEABLE_WHEN: CacheCondition = [
  { cache: true },
  { cache: { absent: true }, temperature: 0 },
];

export function llmActions(
  providers: ProviderConfig[],
  router: LlmRouter,
  cache: { ttlSeconds: number; staleIfErrorSeconds: number },
) {
  const models = [...new Set(providers.flatMap((p) => p.models))];
  const chatInput = chatInputSchema(models as [string, ...string[]]);
  return [
    defineAction({
      name: 'chat',
      description:
        'An OpenAI chat completion routed to a provider of the model, with retries, fallbacks and a breaker per provider. Session history is not read: send the whole conversation in `messages`.',
      input: chatInput,
      // Caching: the orchestrator keys a cached answer on the whole input (every sampling parameter
      // included), and caches only the chats the declared rule calls deterministic, deciding it from
      // the rule itself, without asking the router.
      cacheable: true,
      cacheable_when: CHAT_CACHEABLE_WHEN,
      ttl_seconds: cache.ttlSeconds,
      stale_if_error_seconds: cache.staleIfErrorSeconds,
      run: async (input, ctx) => {
        const { cache: _cache, stream: _stream, ...request } = input;
        return router.chat(input.model, request, ctx);
      },
    }),
    defineAction({
      name: 'models',
      description: 'The models this router serves and the providers of each.',
      input: z.strictObject({}),
      cacheable: false,
      ttl_seconds: 0,
      run: async () => ({
        object: 'list',
        data: router.models().map((m) => ({ id: m.id, object: 'model', providers: m.providers })),
      }),
    }),
  ];
}
