import { setTimeout as sleep } from 'node:timers/promises';
import type { BreakerState } from '../../platform/metrics.ts';
import { breakerSettings, breakerState, createBreaker, type Breaker } from '../kit/breaker.ts';
import type { Logger } from '../kit/logger.ts';
import { Problem } from '../kit/problem.ts';
import type { LlmRouterConfig } from './config.ts';
import type { RouterMetrics } from './metrics.ts';
import { ProviderClient, ProviderError, type Completion, type FailureKind } from './provider-client.ts';

export interface Attempt {
  provider: string;
  /** The provider's HTTP status, or what happened instead. */
  status: number | 'timeout' | 'connection_error' | 'circuit_open';
  duration_ms: number;
}

interface Route {
  name: string;
  weight: number;
  client: ProviderClient;
  breaker: Breaker<Completion>;
}

/**
 * Routes one chat request: a weighted random choice among the providers of the model whose breaker is
 * not open, then the others in configured order as fallbacks; retries 429, 5xx, timeouts and connection
 * errors with full-jitter exponential backoff and `Retry-After`, bounded by LLM_MAX_ATTEMPTS and
 * LLM_REQUEST_DEADLINE_MS.
 */
export class LlmRouter {
  private readonly routes: Route[];
  private readonly byModel = new Map<string, Route[]>();
  private readonly config: LlmRouterConfig;
  private readonly metrics: RouterMetrics;
  private readonly log: Logger;

  constructor(config: LlmRouterConfig, metrics: RouterMetrics, log: Logger) {
    this.config = config;
    this.metrics = metrics;
    this.log = log;
    this.routes = config.providers.map((p) => {
      const route: Route = {
        name: p.name,
        weight: p.weight,
        client: new ProviderClient(p, config.LLM_MAX_SOCKETS),
        breaker: this.createBreaker(p.name),
      };
      for (const m of p.models) this.byModel.set(m, [...(this.byModel.get(m) ?? []), route]);
      return route;
    });
  }

  models(): Array<{ id: string; providers: string[] }> {
    return [...this.byModel.entries()].map(([id, rs]) => ({ id, providers: rs.map((r) => r.name) }));
  }

  serves(model: string): boolean {
    return this.byModel.has(model);
  }

  health(): Record<string, { breaker: BreakerState; weight: number }> {
    return Object.fromEntries(
      this.routes.map((r) => [r.name, { breaker: breakerState(r.breaker), weight: r.weight }]),
    );
  }

  close(): void {
    for (const r of this.routes) {
      r.breaker.shutdown();
      r.client.close();
    }
  }

  /** The providers to try, in order: one weighted choice among the healthy, then the rest as configured. */
  order(model: string): Route[] {
    const all = this.byModel.get(model) ?? [];
    const healthy = all.filter((r) => !r.breaker.opened);
    const total = healthy.reduce((s, r) => s + r.weight, 0);
    let pick = Math.random() * total;
    const first = healthy.find((r) => (pick -= r.weight) < 0) ?? healthy[0];
    return first ? [first, ...all.filter((r) => r !== first)] : all;
  }

  async chat(
    model: string,
    request: Record<string, unknown>,
    ctx: { correlationId: string; signal: AbortSignal },
  ): Promise<Completion & { provider: string }> {
    const { LLM_MAX_ATTEMPTS, LLM_REQUEST_DEADLINE_MS, LLM_RETRY_AFTER_MAX_MS } = this.config;
    const started = Date.now();
    const deadline = started + LLM_REQUEST_DEADLINE_MS;
    const body = JSON.stringify(request);
    const order = this.order(model);
    const attempts: Attempt[] = [];
    /** Per provider for this request: calls made, and the earliest time the next may start. */
    const tried = new Map<Route, { calls: number; notBefore: number; last?: FailureKind }>();
    const excluded = new Set<Route>();
    let previous: Route | undefined;
    let index = 0;
    let calls = 0;
    let lastRejection: ProviderError | undefined;

    while (calls < LLM_MAX_ATTEMPTS && !ctx.signal.aborted) {
      const candidates = order.filter((r) => !excluded.has(r));
      if (candidates.length === 0) break;
      const route = candidates[index % candidates.length]!;
      index += 1;
      if (route.breaker.opened) {
        // Skipped at once: recorded, never called, not counted as an attempt.
        excluded.add(route);
        this.observe(route, model, 'circuit_open', 0);
        attempts.push({ provider: route.name, status: 'circuit_open', duration_ms: 0 });
        continue;
      }
      const state = tried.get(route) ?? { calls: 0, notBefore: 0 };
      let wait = Math.max(0, state.notBefore - Date.now());
      if (state.calls > 0) {
        const cap = Math.min(
          this.config.LLM_BACKOFF_MAX_MS,
          this.config.LLM_BACKOFF_BASE_MS * 2 ** (state.calls - 1),
        );
        wait = Math.max(wait, Math.random() * cap);
      }
      if (Date.now() + wait >= deadline - 1) {
        // This provider cannot be called again in time; another may still be.
        excluded.add(route);
        continue;
      }
      if (wait > 0) {
        try {
          await sleep(wait, undefined, { signal: ctx.signal });
        } catch {
          break;
        }
      }
      if (previous && previous !== route) this.metrics.fallbacks.inc({ from: previous.name, to: route.name });
      if (state.calls > 0)
        this.metrics.retries.inc({
          provider: route.name,
          reason: state.last ?? 'failure',
        });
      previous = route;
      calls += 1;
      state.calls += 1;
      tried.set(route, state);

      const t0 = Date.now();
      const timeoutMs = Math.max(1, Math.min(route.client.provider.timeout_ms, deadline - t0));
      try {
        const completion = await route.breaker.fire(() =>
          route.client.complete(body, { timeoutMs, correlationId: ctx.correlationId, signal: ctx.signal }),
        );
        const ms = Date.now() - t0;
        this.observe(route, model, 'success', ms);
        this.countTokens(route, model, completion);
        this.metrics.chats.inc({ model, outcome: 'success' });
        if (attempts.length > 0)
          this.log.info({ model, provider: route.name, attempts }, 'chat answered after failures');
        return { ...completion, provider: route.name };
      } catch (err) {
        const ms = Date.now() - t0;
        if ((err as { code?: string }).code === 'EOPENBREAKER') {
          // Half-open with its one trial call already in flight: treat as open for this request.
          calls -= 1;
          excluded.add(route);
          this.observe(route, model, 'circuit_open', 0);
          attempts.push({ provider: route.name, status: 'circuit_open', duration_ms: 0 });
          continue;
        }
        const e = err instanceof ProviderError ? err : new ProviderError('server_error', String(err));
        this.observe(route, model, e.kind, ms);
        attempts.push({
          provider: route.name,
          status: e.status ?? (e.kind === 'timeout' ? 'timeout' : 'connection_error'),
          duration_ms: ms,
        });
        state.last = e.kind;
        if (e.kind === 'aborted') break;
        if (e.kind === 'rejected') {
          this.metrics.chats.inc({ model, outcome: 'client_error' });
          throw rejection(route.name, e, attempts);
        }
        if (e.kind === 'auth_error') {
          // The router's key for this provider is wrong: an operator problem, so try the others.
          this.log.error(
            { provider: route.name, status: e.status },
            'provider refused the router\u2019s API key',
          );
          excluded.add(route);
          lastRejection = e;
          continue;
        }
        if (e.retryAfterMs !== undefined) {
          if (e.retryAfterMs > LLM_RETRY_AFTER_MAX_MS) excluded.add(route);
          state.notBefore = Date.now() + e.retryAfterMs;
        }
        this.log.warn(
          { provider: route.name, model, kind: e.kind, status: e.status, duration_ms: ms },
          'provider call failed',
        );
      }
    }
    this.metrics.chats.inc({ model, outcome: 'exhausted' });
    throw exhausted(
      model,
      attempts,
      lastRejection,
      Date.now() - started,
      this.config.LLM_BREAKER_RESET_TIMEOUT_MS,
    );
  }

  private observe(
    route: Route,
    model: string,
    outcome: FailureKind | 'success' | 'circuit_open',
    ms: number,
  ) {
    const labels = { provider: route.name, model, outcome };
    this.metrics.requests.inc(labels);
    if (outcome !== 'circuit_open') this.metrics.duration.observe(labels, ms / 1000);
  }

  private countTokens(route: Route, model: string, c: Completion) {
    const labels = { provider: route.name, model };
    const p = Number(c.usage?.prompt_tokens);
    const o = Number(c.usage?.completion_tokens);
    if (Number.isFinite(p) && p > 0) this.metrics.tokensIn.inc(labels, p);
    if (Number.isFinite(o) && o > 0) this.metrics.tokensOut.inc(labels, o);
  }

  private createBreaker(name: string): Breaker<Completion> {
    return createBreaker({
      name,
      settings: breakerSettings(this.config, 'LLM_'),
      // The request's fault, the router's key, or the caller leaving: none says the provider is down.
      isCallerError: (err) =>
        err instanceof ProviderError &&
        (err.kind === 'rejected' || err.kind === 'auth_error' || err.kind === 'aborted'),
      gauge: this.metrics.breakerState,
      labels: { provider: name },
      onTransition: (state) => this.log.warn({ provider: name, state }, `provider circuit breaker ${state}`),
    });
  }
}

function rejection(provider: string, e: ProviderError, attempts: Attempt[]): Problem {
  const status =
    e.status === 404 || e.status === 409 || e.status === 413 || e.status === 422 ? e.status : 400;
  return new Problem(
    status,
    'provider-rejected-request',
    `provider ${provider} rejected the request: ${e.message}`,
    {
      extensions: { attempts },
    },
  );
}

function exhausted(
  model: string,
  attempts: Attempt[],
  auth: ProviderError | undefined,
  elapsedMs: number,
  resetMs: number,
): Problem {
  const unavailable =
    attempts.length > 0 &&
    attempts.every((a) => a.status === 'circuit_open' || a.status === 429 || a.status === 503);
  const detail =
    `no provider answered for model ${model} after ${attempts.length} attempt(s) in ${elapsedMs} ms` +
    (auth ? ' (a provider refused the router\u2019s API key: check its configuration)' : '');
  return unavailable
    ? new Problem(503, 'llm-providers-unavailable', detail, {
        extensions: { attempts },
        headers: { 'Retry-After': String(Math.max(1, Math.ceil(resetMs / 1000))) },
      })
    : new Problem(502, 'llm-providers-failed', detail, { extensions: { attempts } });
}
