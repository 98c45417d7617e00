import { z } from 'zod';
import { AGENT_POOLS } from '../../platform/pools.ts';
import { ACTION_NAME } from '../kit/agent-contract.ts';
import { badRequest } from '../kit/problem.ts';
import { SESSION_ID } from './sessions.ts';

/** Request bodies of the orchestrator API. The OpenAPI document is generated from these. */
export const taskRequestSchema = z
  .strictObject({
    agent: z.enum(AGENT_POOLS).describe('The agent pool that does the work.'),
    action: z.string().regex(ACTION_NAME).describe('An action the pool lists at its `GET /v1/actions`.'),
    input: z
      .record(z.string(), z.unknown())
      .describe('The action input; the agent validates it against its schema.'),
    session_id: z
      .string()
      .regex(SESSION_ID)
      .optional()
      .describe('A session whose history the task reads and extends.'),
    session_version: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('Optimistic concurrency: run only if the session is still at this version (else 409).'),
    mode: z
      .enum(['sync', 'async'])
      .default('sync')
      .describe('`async` answers 202 at once with a status URL.'),
    cache: z
      .enum(['use', 'bypass', 'refresh'])
      .default('use')
      .describe(
        '`use` answers from the cache when it can; `refresh` recomputes and stores; `bypass` neither reads nor writes.',
      ),
  })
  .refine((t) => t.session_version === undefined || t.session_id !== undefined, {
    message: 'session_version needs session_id',
    path: ['session_version'],
  });

export type TaskRequest = z.infer<typeof taskRequestSchema>;

export const sessionCreateSchema = z.strictObject({
  data: z.record(z.string(), z.unknown()).default({}).describe('Free-form session data.'),
});

export const sessionPatchSchema = z.strictObject({
  data: z
    .record(z.string(), z.unknown())
    .describe('Keys to set in the session data (shallow merge; null removes a key).'),
});

/** Parses `body` with `schema` or throws a 400 problem naming each bad field. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const errors = result.error.issues.map((issue) => ({
    field:
      issue.code === 'unrecognized_keys'
        ? [...issue.path, ...issue.keys].map(String).join('.')
        : issue.path.map(String).join('.') || '(body)',
    message: issue.message,
  }));
  throw badRequest(
    `the request body is invalid: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`,
    errors,
  );
}

/** Response bodies, documented in the OpenAPI document and checked against real responses by the tests. */
export const problemSchema = z
  .looseObject({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    correlation_id: z.string().optional(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
    current_version: z
      .number()
      .int()
      .optional()
      .describe('On session conflicts: the version the session is at.'),
    pool: z.string().optional().describe('On agent failures: the pool concerned.'),
  })
  .describe('RFC 9457 problem details; extension members may follow.');

const sessionRef = z.object({ id: z.string(), version: z.number().int() });

export const taskResultSchema = z.object({
  agent: z.enum(AGENT_POOLS),
  action: z.string(),
  output: z.unknown(),
  session: sessionRef.optional(),
});

export const taskAcceptedSchema = z.object({
  id: z.string(),
  status: z.literal('queued'),
  status_url: z.string(),
});

export const taskStatusSchema = z.object({
  id: z.string(),
  status: z.enum(['queued', 'running', 'succeeded', 'failed']),
  agent: z.string(),
  action: z.string(),
  created_at: z.string(),
  started_at: z.string().optional(),
  finished_at: z.string().optional(),
  attempts: z.number().int(),
  correlation_id: z.string(),
  result: z.object({ output: z.unknown(), cache: z.string(), session: sessionRef.optional() }).optional(),
  error: problemSchema.optional(),
});

export const sessionSchema = z.object({
  id: z.string(),
  version: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
  expires_at: z.string(),
  data: z.record(z.string(), z.unknown()),
  turns: z.array(
    z.object({
      at: z.string(),
      agent: z.string(),
      action: z.string(),
      input: z.unknown(),
      output: z.unknown(),
      correlation_id: z.string(),
    }),
  ),
});

export const healthSchema = z.object({
  service: z.string(),
  instance: z.string(),
  status: z.enum(['starting', 'ok', 'degraded', 'unavailable', 'draining']),
  ready: z.boolean(),
  checks: z.record(
    z.string(),
    z.object({ ok: z.boolean(), required: z.boolean(), detail: z.unknown().optional() }),
  ),
});
