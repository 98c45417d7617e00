import { METRIC_PREFIX } from '../../platform/metrics.ts';
import { redisKeys } from '../../platform/redis-keys.ts';
import { closeRedis, createRedis, waitReady } from '../kit/redis.ts';
import { Service } from '../kit/service.ts';
import { syncAnswerJson } from './answer-json.ts';
import { parseBody, sessionCreateSchema, sessionPatchSchema, taskRequestSchema } from './api-schemas.ts';
import { requireApiKey } from './auth.ts';
import { TaskCache } from './cache.ts';
import { CacheKeys } from './cache-key.ts';
import type { OrchestratorConfig } from './config.ts';
import { createOrchestratorMetrics } from './metrics.ts';
import { openApiDocument } from './openapi.ts';
import { AgentPools } from './pools.ts';
import { PushedVersions } from './pushed-versions.ts';
import { SessionStore } from './sessions.ts';
import { TaskQueue } from './task-queue.ts';
import { TaskRunner } from './task-runner.ts';

const REDIS_STARTUP_WAIT_MS = 3000;

/**
 * One master orchestrator instance. Stateless: everything shared (cache, sessions, breaker state,
 * agent health, async tasks) lives in Redis, so any instance can answer any request.
 */
export function createOrchestrator(config: OrchestratorConfig) {
  const service = new Service({ name: 'orchestrator', metricPrefix: METRIC_PREFIX.orchestrator, config });
  const { app, log } = service;
  const metrics = createOrchestratorMetrics(service.metrics);
  const keys = redisKeys(config.REDIS_KEY_PREFIX);
  const name = `orchestrator:${config.INSTANCE_ID}`;
  const redis = createRedis(config, 'command', log, name);
  const subscriber = createRedis(config, 'subscriber', log, name);
  const writer = createRedis(config, 'no-resend', log, name);
  const blocking = createRedis(config, 'blocking', log, name);

  const pools = new AgentPools({ config, redis, subscriber, keys, metrics, log });
  const cache = new TaskCache({ redis, subscriber, keys, config, metrics, log });
  const sessions = new SessionStore({ redis, keys, config, metrics });
  const versions = new PushedVersions({ redis, subscriber, keys, config, metrics, log });
  const cacheKeys = new CacheKeys(config.CACHE_KEY_MEMO_MAX_BYTES);
  const runner = new TaskRunner({ pools, cache, sessions, versions, keys: cacheKeys, metrics });
  const queue = new TaskQueue({ redis, writer, blocking, keys, config, metrics, log, runner });

  service.watchRedis(redis, () => ({ mode: config.REDIS_SENTINELS ? 'sentinel' : 'single' }));
  service.health.register('agent_pools', false, () => {
    const view = pools.view();
    return { ok: Object.values(view).every((p) => !p.configured || p.up), detail: view };
  });

  // Public: the API description.
  const openapi = JSON.stringify(openApiDocument());
  service.route('get', '/openapi.json', (_req, res) => {
    res.type('application/json').send(openapi);
  });

  app.use(
    '/v1',
    requireApiKey(config.API_KEYS, () => metrics.authFailures.inc()),
  );

  service.route('post', '/v1/tasks', service.jsonBody(), async (req, res) => {
    const task = parseBody(taskRequestSchema, req.body);
    if (task.mode === 'async') {
      const record = await queue.submit(task, req.correlationId);
      const statusUrl = `/v1/tasks/${record.id}`;
      res
        .status(202)
        .location(statusUrl)
        .json({ id: record.id, status: record.status, status_url: statusUrl });
      return;
    }
    const outcome = await runner.execute(task, req.correlationId);
    res.setHeader('X-Cache', outcome.cache);
    if (outcome.ageSeconds !== undefined) res.setHeader('Age', String(outcome.ageSeconds));
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(syncAnswerJson(task, outcome));
  });

  service.route('get', '/v1/tasks/:id', async (req, res) => {
    res.json(await queue.get(String(req.params.id)));
  });

  service.route('post', '/v1/sessions', service.jsonBody({ optional: true }), async (req, res) => {
    const { data } = parseBody(sessionCreateSchema, req.body ?? {});
    const session = await sessions.create(data);
    res
      .status(201)
      .location(`/v1/sessions/${session.id}`)
      .setHeader('ETag', `"${session.version}"`)
      .json(session);
  });

  service.route('get', '/v1/sessions/:id', async (req, res) => {
    const session = await sessions.get(String(req.params.id));
    res.setHeader('ETag', `"${session.version}"`);
    res.json(session);
  });

  service.route('patch', '/v1/sessions/:id', service.jsonBody(), async (req, res) => {
    const { data } = parseBody(sessionPatchSchema, req.body);
    const updated = await sessions.mergeData(String(req.params.id), data, req.headers['if-match']);
    res.setHeader('ETag', `"${updated.version}"`);
    res.json(updated);
  });

  service.route('delete', '/v1/sessions/:id', async (req, res) => {
    await sessions.delete(String(req.params.id));
    res.status(204).end();
  });

  service.onScrape(() => queue.reportQueues());
  service.onScrape(async () => {
    metrics.cacheMemoryBytes.set({ tier: 'answers' }, cache.memoryBytes);
    metrics.cacheMemoryBytes.set({ tier: 'key_memo' }, cacheKeys.memoBytes);
  });
  service.finish();

  service.onShutdown('stop async workers', () => queue.stop());
  service.onShutdown('stop pool refresh', () => pools.stop());
  service.onShutdown('stop following versions', () => versions.stop());
  service.onShutdown('close redis', async () => {
    await Promise.all([redis, subscriber, writer, blocking].map(closeRedis));
  });

  return {
    service,
    app,
    metrics,
    pools,
    queue,
    redis,
    /** Connects to Redis (waiting briefly; it keeps trying in the background), starts the loops, listens. */
    async start(port = config.PORT, host = config.HOST) {
      await waitReady(redis, REDIS_STARTUP_WAIT_MS);
      await cache.start();
      await versions.start();
      await pools.start();
      queue.start();
      const server = await service.listen(port, host);
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      log.info({ port: bound, redis: redis.status }, 'orchestrator listening');
      return { server, port: bound };
    },
    /** The SIGTERM sequence without exiting (tests call this; `main.ts` wires it to signals). */
    stop: () => service.shutdown(),
  };
}

export type Orchestrator = ReturnType<typeof createOrchestrator>;
