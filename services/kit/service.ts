import express, { type ErrorRequestHandler, type Express, type Request, type RequestHandler } from 'express';
import http from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import closeWithGrace from 'close-with-grace';
import type { BaseConfig } from './config.ts';
import { CORRELATION_HEADER, correlationIdFrom, withCorrelationId } from './context.ts';
import { Health } from './health.ts';
import { createAccessLogger, createLogger, type Logger } from './logger.ts';
import { createBaseMetrics, type BaseMetrics } from './metrics.ts';
import { Problem, notFound, rawProblemResponse, sendProblem } from './problem.ts';
import { jsonBody } from './body.ts';
import type { Redis } from './redis.ts';

declare module 'express-serve-static-core' {
  interface Request {
    correlationId: string;
  }
}

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface ServiceOptions {
  /** Service name in logs (`orchestrator`, `git-agent`, ...). */
  name: string;
  /** Prefix of every metric the service exports (`orchestrator_`, `agent_`). */
  metricPrefix: string;
  config: BaseConfig;
  /** Constant labels on every metric (an agent's `pool`). */
  metricLabels?: Record<string, string>;
}

/**
 * Everything a phoenix-orch HTTP service shares: Express 5 with correlation ids, JSON logs, metrics,
 * problem details, health endpoints, a connection cap and graceful shutdown. A service adds its routes
 * with `route()` and its shutdown steps with `onShutdown()`, then calls `finish()` and `listen()`.
 */
export class Service {
  readonly app: Express;
  readonly log: Logger;
  private readonly accessLog: Logger;
  readonly metrics: BaseMetrics;
  readonly health = new Health();
  readonly config: BaseConfig;
  readonly name: string;
  private readonly routes = new Map<string, Set<string>>();
  private readonly shutdownSteps: Array<{ name: string; run: () => Promise<void> | void }> = [];
  private readonly drainListeners: Array<() => unknown> = [];
  private readonly scrapeHooks: Array<() => Promise<void>> = [];
  private templates: Array<{ path: string; re: RegExp }> = [];
  private server: http.Server | undefined;
  private shuttingDown: Promise<void> | undefined;

  constructor(opts: ServiceOptions) {
    const { config } = opts;
    this.config = config;
    this.name = opts.name;
    const logOpts = { service: opts.name, instance: config.INSTANCE_ID, level: config.LOG_LEVEL };
    this.log = createLogger(logOpts);
    this.accessLog = createAccessLogger(logOpts);
    this.metrics = createBaseMetrics(opts.metricPrefix, config, opts.metricLabels);

    const app = express();
    this.app = app;
    app.disable('x-powered-by');
    app.set('etag', false);
    app.set('query parser', 'simple');
    app.set('trust proxy', false);

    app.use(this.observe());

    const healthHandler: RequestHandler = (_req, res) => {
      const report = this.health.report();
      res.status(report.ready ? 200 : 503).json({
        service: this.name,
        instance: config.INSTANCE_ID,
        ...report,
      });
    };
    this.route('get', '/health', healthHandler);
    this.route('get', '/health/ready', healthHandler);
    this.route('get', '/health/live', (_req, res) => {
      res.json({ status: 'alive', service: this.name, instance: config.INSTANCE_ID });
    });
    this.route('get', '/metrics', async (_req, res) => {
      await this.refreshScrapeHooks();
      res.type(this.metrics.registry.contentType).send(await this.metrics.registry.metrics());
    });
  }

  /** JSON body middleware with this service's limits; `optional` lets a request without a body through. */
  jsonBody(opts: { optional?: boolean } = {}): RequestHandler {
    return jsonBody({ limit: this.config.BODY_LIMIT_BYTES, maxDepth: this.config.MAX_JSON_DEPTH, ...opts });
  }

  /** Registers a route; its path template becomes the `route` metric label, and other methods get 405. */
  route(method: Method, path: string, ...handlers: RequestHandler[]): void {
    const methods = this.routes.get(path) ?? new Set<string>();
    methods.add(method.toUpperCase());
    if (method === 'get') methods.add('HEAD');
    this.routes.set(path, methods);
    this.app[method](path, ...handlers);
  }

  /** Called as soon as draining starts (before the drain delay), e.g. to tell peers this instance is leaving. */
  onDraining(fn: () => unknown): void {
    this.drainListeners.push(fn);
  }

  /** Runs before each scrape to refresh gauges read from elsewhere (Redis); bounded so a scrape never hangs. */
  onScrape(fn: () => Promise<void>): void {
    this.scrapeHooks.push(fn);
  }

  private async refreshScrapeHooks(): Promise<void> {
    if (this.scrapeHooks.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(this.scrapeHooks.map((fn) => fn())),
      new Promise((resolve) => (timer = setTimeout(resolve, SCRAPE_HOOK_BOUND_MS))),
    ]);
    clearTimeout(timer);
  }

  onShutdown(name: string, run: () => Promise<void> | void): void {
    this.shutdownSteps.push({ name, run });
  }

  /**
   * Watches the service's command connection to Redis: the `redis` health check (not needed for
   * readiness: without Redis a service works degraded) and the `<prefix>redis_connected` gauge.
   */
  watchRedis(redis: Redis, detail: () => Record<string, unknown> = () => ({})): void {
    const connected = this.metrics.redisUp;
    connected.set(redis.status === 'ready' ? 1 : 0);
    redis.on('ready', () => connected.set(1));
    redis.on('close', () => connected.set(0));
    this.health.register('redis', false, () => ({
      ok: redis.status === 'ready',
      detail: { status: redis.status, ...detail() },
    }));
  }

  /** The route template a request matched, or would have matched had auth or validation not stopped it. */
  private routeOf(req: Request): string {
    if (req.route?.path) return req.baseUrl + String(req.route.path);
    return this.templates.find((k) => k.re.test(req.path))?.path ?? 'unmatched';
  }

  /** Adds the 404/405 fallback and the problem-details error handler; call after the last route. */
  finish(): this {
    this.templates = [...this.routes.keys()].map((path) => ({ path, re: templateRegExp(path) }));
    this.app.use((req, res, next) => {
      const match = this.templates.find((k) => k.re.test(req.path));
      if (match) {
        const allow = [...this.routes.get(match.path)!].join(', ');
        res.setHeader('Allow', allow);
        next(new Problem(405, 'method-not-allowed', `${req.method} is not allowed here; allowed: ${allow}`));
        return;
      }
      next(notFound('no such resource'));
    });
    const onError: ErrorRequestHandler = (err, req, res, _next) => {
      sendProblem(res, toProblem(err, this.log), req.correlationId);
    };
    this.app.use(onError);
    return this;
  }

  /** Starts listening. Connections past MAX_CONNECTIONS get a 503 problem and are closed. */
  async listen(port: number, host = this.config.HOST): Promise<http.Server> {
    // Node would answer a missing Host itself, outside our problem format; the kit checks it instead.
    const server = http.createServer(
      { keepAliveTimeout: this.config.KEEP_ALIVE_TIMEOUT_MS, requireHostHeader: false },
      this.app,
    );
    server.headersTimeout = Math.max(this.config.KEEP_ALIVE_TIMEOUT_MS + 1000, 60000);
    server.requestTimeout = 120000;
    const limit = this.config.MAX_CONNECTIONS;
    const { openConnections, refusedConnections } = this.metrics;
    let open = 0;
    server.on('connection', (socket: Socket) => {
      if (open >= limit) {
        refusedConnections.inc();
        socket.end(
          rawProblemResponse(
            503,
            'too-many-connections',
            `this instance holds its limit of ${limit} connections`,
          ),
        );
        socket.destroySoon();
        return;
      }
      open += 1;
      openConnections.set(open);
      socket.once('close', () => {
        open -= 1;
        openConnections.set(open);
      });
    });
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      if (!socket.writable) return socket.destroy();
      const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
      socket.end(
        tooLarge
          ? rawProblemResponse(431, 'headers-too-large', 'request headers are too large')
          : rawProblemResponse(400, 'malformed-request', 'the request is not valid HTTP/1.1'),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.health.markStarted();
    this.metrics.up.set(1);
    return server;
  }

  /**
   * The graceful shutdown sequence: readiness false at once, keep serving for the drain delay, stop
   * accepting, let in-flight requests finish, run the shutdown steps (stop workers, close Redis).
   * The caller bounds the whole of it.
   */
  shutdown(reason = 'shutdown'): Promise<void> {
    this.shuttingDown ??= (async () => {
      const { SHUTDOWN_DRAIN_DELAY_MS } = this.config;
      this.health.startDraining();
      this.metrics.up.set(0);
      this.log.info({ reason, drain_delay_ms: SHUTDOWN_DRAIN_DELAY_MS }, 'draining');
      for (const fn of this.drainListeners) {
        try {
          await fn();
        } catch (err) {
          this.log.warn({ err }, 'drain listener failed');
        }
      }
      await sleep(SHUTDOWN_DRAIN_DELAY_MS);
      const server = this.server;
      if (server) {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        this.log.info('stopped accepting connections; finishing in-flight requests');
        await closed;
      }
      for (const step of this.shutdownSteps) {
        try {
          await step.run();
        } catch (err) {
          this.log.warn({ err, step: step.name }, 'shutdown step failed');
        }
      }
      this.log.info('shutdown complete');
    })();
    return this.shuttingDown;
  }

  /** SIGTERM/SIGINT run `shutdown()`; a second signal or the bound exceeded exits 1 at once. */
  installSignalHandlers(): void {
    const bound = this.config.SHUTDOWN_DRAIN_DELAY_MS + this.config.SHUTDOWN_TIMEOUT_MS;
    closeWithGrace(
      {
        delay: bound,
        logger: { error: (msg: unknown) => this.log.error({ msg: String(msg) }, 'forced exit') },
        onSecondSignal: (signal) => this.log.error({ signal }, 'second signal: exiting now'),
        onTimeout: (ms) => {
          this.log.error({ bound_ms: ms }, 'shutdown bound exceeded: exiting now');
          this.server?.closeAllConnections();
        },
      },
      async ({ signal, err }) => {
        if (err) this.log.fatal({ err }, 'fatal error; shutting down');
        await this.shutdown(signal ?? (err ? 'error' : 'exit'));
      },
    );
  }

  /**
   * The one middleware in front of every route: correlation id (taken or made, echoed, and bound to
   * everything done for the request), `X-Served-By`, draining, and on completion the request metrics and
   * the access log line.
   */
  private observe(): RequestHandler {
    const instance = this.config.INSTANCE_ID;
    const { httpRequests, httpDuration } = this.metrics;
    const access = this.accessLog;
    return (req, res, next) => {
      const start = process.hrtime.bigint();
      const id = correlationIdFrom(req.headers[CORRELATION_HEADER]);
      req.correlationId = id;
      res.setHeader('X-Correlation-ID', id);
      res.setHeader('X-Served-By', instance);
      if (this.health.draining) res.setHeader('Connection', 'close');
      res.once('close', () => {
        const seconds = Number(process.hrtime.bigint() - start) / 1e9;
        const status = res.statusCode;
        const labels = {
          route: this.routeOf(req),
          method: METHODS.has(req.method) ? req.method : 'OTHER',
          status: String(status),
        };
        httpRequests.inc(labels);
        httpDuration.observe(labels, seconds);
        if (labels.route === '/metrics' || labels.route.startsWith('/health')) return;
        // 5xx is an error of ours, except 503/504 (a dependency is down or slow): warn; 4xx is the caller's.
        const level = status >= 500 ? (status === 503 || status === 504 ? 'warn' : 'error') : 'info';
        access[level](
          // Flat fields of primitive values: pino writes those without a generic JSON serializer.
          {
            correlation_id: id,
            method: req.method,
            url: req.originalUrl.length > 512 ? req.originalUrl.slice(0, 512) : req.originalUrl,
            status,
            duration_ms: Math.round(seconds * 1e4) / 10,
            aborted: res.writableFinished ? undefined : true,
          },
          status >= 400 ? 'request failed' : 'request completed',
        );
      });
      if (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1 && !req.headers.host) {
        // RFC 9112 3.2: an HTTP/1.1 request without Host is malformed; answer it and close, as Node would.
        res.setHeader('Connection', 'close');
        sendProblem(
          res,
          new Problem(400, 'malformed-request', 'an HTTP/1.1 request needs a Host header'),
          id,
        );
        return;
      }
      withCorrelationId(id, next);
    };
  }
}

const SCRAPE_HOOK_BOUND_MS = 1000;
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

function templateRegExp(path: string): RegExp {
  const escaped = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z_]+/g, '[^/]+');
  return new RegExp(`^${escaped}/?$`);
}

/** Maps anything thrown in a handler to a problem; body-parser's own errors keep their 4xx meaning. */
function toProblem(err: unknown, log: Logger): Problem {
  if (err instanceof Problem) return err;
  const e = err as { status?: number; type?: string; message?: string };
  if (e && typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    if (e.type === 'entity.too.large')
      return new Problem(413, 'payload-too-large', 'the request body is too large');
    if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported')
      return new Problem(415, 'unsupported-media-type', 'unsupported content encoding');
    if (e.type === 'request.aborted') return new Problem(400, 'malformed-request', 'the request was aborted');
    return new Problem(e.status, 'bad-request', 'the request could not be read');
  }
  log.error({ err }, 'unhandled error');
  return new Problem(
    500,
    'internal-error',
    'an unexpected error occurred; the correlation id locates it in the logs',
  );
}
