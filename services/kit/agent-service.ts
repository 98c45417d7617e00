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
import { VersionPublisher } from './version-publisher.ts';
import { joinVersion, planVersion, type CacheCondition, type VersionPart } from './versions.ts';

export const agentConfigSchema = baseConfigSchema.extend({
  PORT: int(PORTS.agent, 0, 65535).describe('Agent HTTP port.'),
  AGENT_ADVERTISE_URL: z
    .string()
    .optional()
    .describe('URL this instance reports in its heartbeat (informational).'),
  ...heartbeatSettings,
  VERSIONS_TICK_MS: int(250, 50, 10000).describe(
    'How often an agent tells orchestrators its published versions are current; keep it well below their `VERSIONS_MAX_SILENCE_MS`.',
  ),
  VERSIONS_MAX_ENTRIES: int(100000, 0, 10000000).describe(
    'Most sources (refs, notes, folders) one agent publishes versions for; the rest are resolved on request.',
  ),
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
  /** The version as a rule over published sources (ActionDescriptor.version_from); replaces `resolve`. */
  version_from?: VersionPart[];
  cacheable_when?: CacheCondition;
  stale_if_error_seconds?: number;
  /** The action changes published sources: its answer waits until the change is published, and says where. */
  changes_sources?: boolean;
  run: (input: z.infer<S>, ctx: ActionContext) => Promise<unknown>;
}

export const defineAction = <S extends z.ZodType>(action: AgentAction<S>): AgentAction =>
  action as unknown as AgentAction;

/** An agent's moving state, for actions with `version_from`: the live value of one source, and its publisher. */
export interface AgentSources {
  /** The current version of source `kind(args)`; a problem (404, ...) when it names nothing. */
  lookup: (
    kind: string,
    args: string[],
    ctx: { field: string | undefined; signal: AbortSignal },
  ) => Promise<string>;
  /** Starts keeping the publisher's state current; returns how to stop. */
  publish?: (publisher: VersionPublisher) => () => Promise<void> | void;
  /** Hands the publisher the state as it is now (after a change this instance made). */
  refresh?: () => Promise<void>;
}

/** How long a changing action waits for its change to be published before answering without a mark. */
const SETTLE_MS = 1000;

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
  /** The moving state that actions with `version_from` depend on, and its publisher. */
  sources?: AgentSources;
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
      if (action.version_from && !parts.sources)
        throw new Error(`${action.name}: version_from needs sources`);
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
    ...(a.resolve || a.version_from ? { resolve: true } : {}),
    ...(a.version_from ? { version_from: a.version_from } : {}),
    ...(a.cacheable_when ? { cacheable_when: a.cacheable_when } : {}),
    ...(a.stale_if_error_seconds ? { stale_if_error_seconds: a.stale_if_error_seconds } : {}),
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
    return {
      input: input.data,
      raw: envelope.data.input,
      session: envelope.data.session,
      version: envelope.data.version,
    };
  };
  /**
   * The version the answer depends on now: the action's rule evaluated on the raw input (as the
   * orchestrator evaluates it) against the live sources, or its own resolve step.
   */
  const versionOf = async (
    action: AgentAction,
    parsed: { input: unknown; raw: unknown },
    ctx: ActionContext,
  ): Promise<string | undefined> => {
    if (action.version_from) {
      const plan = planVersion(action.version_from, parsed.raw);
      if (!plan) throw badRequest('the input does not name the state its version depends on');
      const values = await Promise.all(
        plan.map((part) =>
          'literal' in part
            ? part.literal
            : parts.sources!.lookup(part.kind, part.args, { field: part.field, signal: ctx.signal }),
        ),
      );
      return joinVersion(values);
    }
    return action.resolve ? action.resolve(parsed.input, ctx) : undefined;
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
      const parsed = (() => {
        try {
          return parseInput(action, req.body);
        } catch (err) {
          outcome = 'invalid_input';
          throw err;
        }
      })();
      const ctx = context(req, res, parsed.session);
      const output = await action.run(parsed.input, ctx);
      // Re-resolve after the work so the caller can tell whether the state moved meanwhile.
      const after = parsed.version !== undefined ? await versionOf(action, parsed, ctx) : undefined;
      const versions = action.changes_sources ? await settled() : undefined;
      outcome = 'success';
      res.json({
        output,
        ...(after !== undefined ? { version: after } : {}),
        ...(versions ? { versions } : {}),
      });
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
    if (!action.resolve && !action.version_from)
      throw notFound(`action "${action.name}" has no resolve step`);
    res.json({ version: await versionOf(action, parseInput(action, req.body), context(req, res)) });
  });
  service.finish();

  let heartbeat: ReturnType<typeof startHeartbeat> | undefined;
  let stopPublishing: (() => Promise<void> | void) | undefined;
  let publisher: VersionPublisher | undefined;
  /** The mark of the published state once this instance's change is in it (undefined: not known in time). */
  const settled = async () => {
    if (!publisher) return undefined;
    await parts.sources?.refresh?.();
    return publisher.settled(SETTLE_MS);
  };
  service.onShutdown('leave the pool', async () => {
    await stopPublishing?.();
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
        if (parts.sources?.publish) {
          publisher = new VersionPublisher({
            redis,
            keys: redisKeys(config.REDIS_KEY_PREFIX),
            pool,
            instance: config.INSTANCE_ID,
            tickMs: config.VERSIONS_TICK_MS,
            maxEntries: config.VERSIONS_MAX_ENTRIES,
            log: service.log,
            registry: service.metrics.registry,
          });
          const stopSource = parts.sources.publish(publisher);
          publisher.start();
          stopPublishing = async () => {
            publisher?.stop();
            await stopSource();
          };
        }
      }
      service.log.info({ port: bound, pool }, 'agent listening');
      return { server, port: bound };
    },
    stop: () => service.shutdown(),
  };
}
