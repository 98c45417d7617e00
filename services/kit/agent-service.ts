import type { Request, Response } from 'express';
import { z } from 'zod';
import type { AgentPool } from '../../platform/pools.ts';
import { PORTS } from '../../platform/ports.ts';
import { AGENT_METRICS, METRIC_PREFIX } from '../../platform/metrics.ts';
import { ACTION_NAME, type ActionDescriptor } from './agent-contract.ts';
import { baseConfigSchema, int } from './config.ts';
import { redisKeys } from '../../platform/redis-keys.ts';
import { heartbeatSettings, startHeartbeat } from './heartbeat.ts';
import type { Logger } from './logger.ts';
import { registerMetrics, type client } from './metrics.ts';
import { Problem, badRequest, notFound } from './problem.ts';
import { closeRedis, createRedis, type Redis } from './redis.ts';
import { Service } from './service.ts';

export const agentConfigSchema = baseConfigSchema.extend({
  PORT: int(PORTS.agent, 0, 65535).describe('Agent HTTP port.'),
  AGENT_ADVERTISE_URL: z
    .string()
    .optional()
    .describe('URL this instance reports in its heartbeat (informational).'),
  ...heartbeatSettings,
});
export type AgentConfig = z.infer<typeof agentConfigSchema>;

export interface ActionContext {
  correlationId: string;
  session?: { id: string; turns: unknown[] };
  signal: AbortSignal;
}

/** One action an agent offers: its input schema, cache policy and implementation. */
export interface AgentAction<S extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  input: S;
  cacheable: boolean;
  ttl_seconds: number;
  /** Current version of the state the answer depends on (see ActionDescriptor.resolve). */
  resolve?: (input: z.infer<S>, ctx: ActionContext) => Promise<string>;
  run: (input: z.infer<S>, ctx: ActionContext) => Promise<unknown>;
}

export const defineAction = <S extends z.ZodType>(action: AgentAction<S>): AgentAction =>
  action as unknown as AgentAction;

const actionRequestSchema = z.strictObject({
  input: z.unknown(),
  session: z.strictObject({ id: z.string().max(64), turns: z.array(z.unknown()) }).optional(),
  version: z.string().max(1024).optional(),
});

/** What an agent's actions are built from: the service's registry (labelled with the pool), logger and Redis. */
export interface AgentDeps {
  registry: client.Registry;
  log: Logger;
  /** The command connection, when Redis is configured. */
  redis: Redis | undefined;
}

/** What an agent is made of besides the kit: its actions, and what it adds to its heartbeat. */
export interface AgentParts {
  actions: AgentAction[];
  /** Extra health detail reported in the heartbeat. */
  healthDetail?: () => Record<string, unknown>;
}

/**
 * An agent pool instance: the service kit plus the agent contract (GET /v1/actions,
 * POST /v1/actions/{name}, POST /v1/actions/{name}/resolve), input validation before any work,
 * `agent_*` metrics labelled with the pool, and a heartbeat to Redis. `build` makes the agent's parts
 * from the service's registry, logger and Redis; whatever else it returns is handed back as `parts`.
 */
export function createAgentService<P extends AgentParts>(opts: {
  pool: AgentPool;
  serviceName: string;
  config: AgentConfig;
  build: (deps: AgentDeps) => P;
}) {
  const { config, pool } = opts;
  const service = new Service({
    name: opts.serviceName,
    metricPrefix: METRIC_PREFIX.agent,
    config,
    metricLabels: { pool },
  });
  const registry = service.metrics.registry;
  const { actions: actionCalls, actionDuration } = registerMetrics(AGENT_METRICS, registry);
  const redis =
    config.REDIS_URL || config.REDIS_SENTINELS
      ? createRedis(config, 'command', service.log, `${pool}:${config.INSTANCE_ID}`)
      : undefined;
  if (redis) service.watchRedis(redis);
  let parts: P;
  const actions = new Map<string, AgentAction>();
  try {
    parts = opts.build({ registry, log: service.log, redis });
    for (const action of parts.actions) {
      if (!ACTION_NAME.test(action.name)) throw new Error(`bad action name ${action.name}`);
      actions.set(action.name, action);
    }
  } catch (err) {
    if (redis) void closeRedis(redis);
    throw err;
  }
  const catalogue: ActionDescriptor[] = parts.actions.map((a) => ({
    name: a.name,
    description: a.description,
    input_schema: z.toJSONSchema(a.input, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>,
    cacheable: a.cacheable,
    ttl_seconds: a.ttl_seconds,
    ...(a.resolve ? { resolve: true } : {}),
  }));
  const catalogueBody = JSON.stringify({ pool, actions: catalogue });

  const lookup = (req: Request): AgentAction => {
    const action = actions.get(String(req.params.name));
    if (!action) throw notFound(`no action named "${String(req.params.name).slice(0, 64)}"`);
    return action;
  };
  const parseInput = (action: AgentAction, body: unknown) => {
    const envelope = actionRequestSchema.safeParse(body);
    if (!envelope.success) throw badRequest('the body must be {"input": ..., "session"?: {...}}');
    const input = action.input.safeParse(envelope.data.input);
    if (!input.success) {
      const errors = input.error.issues.map((i) => ({
        field: ['input', ...i.path.map(String), ...(i.code === 'unrecognized_keys' ? i.keys : [])].join('.'),
        message: i.message,
      }));
      throw badRequest(`invalid input: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`, errors);
    }
    return { input: input.data, session: envelope.data.session, version: envelope.data.version };
  };
  const context = (
    req: Request,
    res: Response,
    session?: { id: string; turns: unknown[] },
  ): ActionContext => {
    const controller = new AbortController();
    // The caller hung up (for example its timeout fired) before we answered: stop the work.
    res.once('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    return { correlationId: req.correlationId, signal: controller.signal, ...(session ? { session } : {}) };
  };

  service.route('get', '/v1/actions', (_req, res) => {
    res.type('application/json').send(catalogueBody);
  });
  service.route('post', '/v1/actions/:name', service.jsonBody(), async (req, res) => {
    const action = lookup(req);
    const start = process.hrtime.bigint();
    let outcome = 'error';
    try {
      const { input, session, version } = (() => {
        try {
          return parseInput(action, req.body);
        } catch (err) {
          outcome = 'invalid_input';
          throw err;
        }
      })();
      const ctx = context(req, res, session);
      const output = await action.run(input, ctx);
      // Re-resolve after the work so the caller can tell whether the state moved meanwhile.
      const after = version !== undefined && action.resolve ? await action.resolve(input, ctx) : undefined;
      outcome = 'success';
      res.json(after === undefined ? { output } : { output, version: after });
    } catch (err) {
      if (outcome !== 'invalid_input')
        outcome = err instanceof Problem && err.status < 500 ? 'client_error' : 'error';
      throw err;
    } finally {
      actionCalls.inc({ action: action.name, outcome });
      actionDuration.observe({ action: action.name, outcome }, Number(process.hrtime.bigint() - start) / 1e9);
    }
  });
  service.route('post', '/v1/actions/:name/resolve', service.jsonBody(), async (req, res) => {
    const action = lookup(req);
    if (!action.resolve) throw notFound(`action "${action.name}" has no resolve step`);
    const { input } = parseInput(action, req.body);
    res.json({ version: await action.resolve(input, context(req, res)) });
  });
  service.finish();

  let heartbeat: ReturnType<typeof startHeartbeat> | undefined;
  service.onShutdown('leave the pool', async () => {
    await heartbeat?.stop();
  });
  service.onShutdown('close redis', async () => {
    if (redis) await closeRedis(redis);
  });

  return {
    service,
    app: service.app,
    parts,
    async start(port = config.PORT, host = config.HOST) {
      const server = await service.listen(port, host);
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      if (redis) {
        heartbeat = startHeartbeat({
          redis,
          keys: redisKeys(config.REDIS_KEY_PREFIX),
          pool,
          instance: config.INSTANCE_ID,
          intervalMs: config.HEARTBEAT_INTERVAL_MS,
          ttlMs: config.HEARTBEAT_TTL_MS,
          log: service.log,
          report: () => ({
            status: service.health.draining ? 'draining' : 'ok',
            url: config.AGENT_ADVERTISE_URL ?? `http://${host}:${bound}`,
            ...(parts.healthDetail ? { detail: parts.healthDetail() } : {}),
          }),
        });
        // Report "draining" at once, so orchestrators count this instance out before it stops.
        service.onDraining(() => heartbeat?.beat());
      }
      service.log.info({ port: bound, pool }, 'agent listening');
      return { server, port: bound };
    },
    stop: () => service.shutdown(),
  };
}
