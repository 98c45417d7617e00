import { z } from 'zod';
import {
  healthSchema,
  problemSchema,
  sessionCreateSchema,
  sessionPatchSchema,
  sessionSchema,
  taskAcceptedSchema,
  taskRequestSchema,
  taskResultSchema,
  taskStatusSchema,
} from './api-schemas.ts';

const schema = (s: z.ZodType, io: 'input' | 'output' = 'output') => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
};
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string) => ({ 'application/json': { schema: ref(name) } });
const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: ref('Problem') } },
});

const correlationHeader = {
  name: 'X-Correlation-ID',
  in: 'header',
  required: false,
  description:
    'Request id (1-64 of [A-Za-z0-9._-]); another value is replaced by a new UUID. Echoed on every response.',
  schema: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' },
};
const idParam = (description: string) => ({
  name: 'id',
  in: 'path',
  required: true,
  description,
  schema: { type: 'string' },
});
const responseHeaders = {
  'X-Correlation-ID': { schema: { type: 'string' }, description: 'The request\u2019s correlation id.' },
  'X-Served-By': { schema: { type: 'string' }, description: 'The orchestrator instance that answered.' },
};
const common = {
  '401': problem('Missing or invalid API key.'),
  '415': problem('The body is not JSON.'),
  '503': problem(
    'A dependency is unavailable (Redis for sessions and async tasks; an agent pool that is unreachable or whose breaker is open, with no stored answer young enough to serve STALE).',
  ),
};

/** The OpenAPI 3.1 description served at /openapi.json; request and response schemas come from api-schemas.ts. */
export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'phoenix-orch master orchestrator',
      version: '1',
      description:
        'Takes tasks for the git, llm and obsidian agent pools, answers from the Redis cache when it can, otherwise dispatches to the pool and caches the answer. Errors are RFC 9457 problem documents.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API key from API_KEYS.' },
      },
      schemas: {
        Problem: schema(problemSchema),
        // zod's refine() does not reach JSON Schema; state the same rule here.
        TaskRequest: {
          ...schema(taskRequestSchema, 'input'),
          dependentRequired: { session_version: ['session_id'] },
        },
        TaskResult: schema(taskResultSchema),
        TaskAccepted: schema(taskAcceptedSchema),
        TaskStatus: schema(taskStatusSchema),
        SessionCreate: schema(sessionCreateSchema, 'input'),
        SessionPatch: schema(sessionPatchSchema, 'input'),
        Session: schema(sessionSchema),
        Health: schema(healthSchema),
      },
    },
    paths: {
      '/v1/tasks': {
        post: {
          operationId: 'createTask',
          summary: 'Run a task on an agent pool (sync) or queue it (async).',
          parameters: [correlationHeader],
          requestBody: { required: true, content: json('TaskRequest') },
          responses: {
            '200': {
              description: 'The agent\u2019s output.',
              headers: {
                ...responseHeaders,
                'X-Cache': {
                  schema: { type: 'string', enum: ['HIT', 'MISS', 'STALE', 'BYPASS'] },
                  description:
                    'Where the answer came from. HIT: the cache, for the current version of the state it depends on. MISS: the agent, and stored. STALE: the agent pool is unreachable, failing or its breaker open, and this stored answer is younger than the action\u2019s `stale_if_error_seconds` (see `Age`); it may not reflect the latest state. BYPASS: not cached, because `cache` was `bypass`, Redis is unavailable, or the action (or this input, such as an LLM chat that is not at temperature 0) is not cacheable.',
                },
                Age: {
                  required: false,
                  schema: { type: 'string', pattern: '^[0-9]+$' },
                  description: 'With `X-Cache: STALE` only: seconds since the answer was stored (RFC 9111).',
                },
              },
              content: json('TaskResult'),
            },
            '202': {
              description: 'Queued; poll status_url.',
              headers: { ...responseHeaders, Location: { schema: { type: 'string' } } },
              content: json('TaskAccepted'),
            },
            '400': problem('Invalid body, unknown action, or input the agent rejected.'),
            '404': problem('The named session does not exist.'),
            '409': problem('The session changed (session_version is stale).'),
            '413': problem('Body too large.'),
            '502': problem('The agent failed.'),
            '504': problem('The agent did not answer in time.'),
            ...common,
          },
        },
      },
      '/v1/tasks/{id}': {
        get: {
          operationId: 'getTask',
          summary: 'Status and result of an async task.',
          parameters: [idParam('Task id.'), correlationHeader],
          responses: {
            '200': { description: 'The task.', headers: responseHeaders, content: json('TaskStatus') },
            '404': problem('No such task (or it expired).'),
            '401': common['401'],
            '503': common['503'],
          },
        },
      },
      '/v1/sessions': {
        post: {
          operationId: 'createSession',
          summary: 'Create a session.',
          parameters: [correlationHeader],
          requestBody: { required: false, content: json('SessionCreate') },
          responses: {
            '201': {
              description: 'Created.',
              headers: { ...responseHeaders, ETag: { schema: { type: 'string' } } },
              content: json('Session'),
            },
            '400': problem('Invalid body.'),
            ...common,
          },
        },
      },
      '/v1/sessions/{id}': {
        get: {
          operationId: 'getSession',
          summary: 'Read a session.',
          parameters: [idParam('Session id.'), correlationHeader],
          responses: {
            '200': {
              description: 'The session; ETag is its version.',
              headers: responseHeaders,
              content: json('Session'),
            },
            '404': problem('No such session.'),
            '401': common['401'],
            '503': common['503'],
          },
        },
        patch: {
          operationId: 'patchSession',
          summary: 'Merge keys into the session data; If-Match makes it conditional on the version.',
          parameters: [
            idParam('Session id.'),
            correlationHeader,
            {
              name: 'If-Match',
              in: 'header',
              required: false,
              schema: { type: 'string' },
              description: 'Expected version, e.g. "3".',
            },
          ],
          requestBody: { required: true, content: json('SessionPatch') },
          responses: {
            '200': {
              description: 'The updated session.',
              headers: responseHeaders,
              content: json('Session'),
            },
            '400': problem('Invalid body or If-Match.'),
            '404': problem('No such session.'),
            '409': problem('Too many concurrent writers; retry.'),
            '412': problem('If-Match does not match the current version.'),
            ...common,
          },
        },
        delete: {
          operationId: 'deleteSession',
          summary: 'Delete a session.',
          parameters: [idParam('Session id.'), correlationHeader],
          responses: {
            '204': { description: 'Deleted.', headers: responseHeaders },
            '404': problem('No such session.'),
            '401': common['401'],
            '503': common['503'],
          },
        },
      },
      '/health': {
        get: {
          operationId: 'health',
          summary:
            'Readiness with detail: 200 while serving (status ok or degraded), 503 while starting, draining or unavailable.',
          security: [],
          responses: {
            '200': { description: 'Serving.', content: json('Health') },
            '503': { description: 'Not serving.', content: json('Health') },
          },
        },
      },
      '/health/ready': {
        get: {
          operationId: 'ready',
          summary: 'Same as /health.',
          security: [],
          responses: {
            '200': { description: 'Serving.', content: json('Health') },
            '503': { description: 'Not serving.', content: json('Health') },
          },
        },
      },
      '/health/live': {
        get: {
          operationId: 'live',
          summary: 'Liveness: 200 while the process runs.',
          security: [],
          responses: {
            '200': {
              description: 'Alive.',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    required: ['status', 'service', 'instance'],
                    properties: {
                      status: { const: 'alive' },
                      service: { type: 'string' },
                      instance: { type: 'string' },
                    },
                  },
                },
              },
            },
          },
        },
      },
      '/metrics': {
        get: {
          operationId: 'metrics',
          summary: 'Prometheus metrics, all named orchestrator_*.',
          security: [],
          responses: {
            '200': {
              description: 'Prometheus text format.',
              content: { 'text/plain': { schema: { type: 'string' } } },
            },
          },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'openapi',
          summary: 'This document.',
          security: [],
          responses: {
            '200': {
              description: 'OpenAPI 3.1.',
              content: { 'application/json': { schema: { type: 'object', required: ['openapi', 'paths'] } } },
            },
          },
        },
      },
    },
  };
}
