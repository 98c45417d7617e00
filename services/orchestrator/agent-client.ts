import { CORRELATION_HEADER } from '../kit/context.ts';
import { Problem } from '../kit/problem.ts';
import type { AgentPool } from '../../platform/pools.ts';
import type {
  ActionDescriptor,
  ActionRequest,
  ActionResponse,
  ResolveResponse,
} from '../kit/agent-contract.ts';

/** The agent rejected the input (a 4xx): the caller's fault, so it never counts against the breaker. */
export class AgentInputError extends Problem {}

/** The agent failed, timed out or could not be reached: counts against the pool's breaker. */
export class AgentFailure extends Problem {}

const MAX_RESPONSE_BYTES = 16 * 1048576;

/** HTTP client for one agent pool's service address, speaking the agent contract. */
export class AgentClient {
  readonly pool: AgentPool;
  private readonly baseUrl: string;
  private readonly timeoutMs: number;

  constructor(pool: AgentPool, baseUrl: string, timeoutMs: number) {
    this.pool = pool;
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.timeoutMs = timeoutMs;
  }

  async actions(correlationId: string): Promise<ActionDescriptor[]> {
    const body = (await this.request('GET', '/v1/actions', undefined, correlationId)) as {
      actions?: unknown;
    };
    if (!Array.isArray(body.actions)) throw this.failure(502, 'agent-bad-response', 'no actions list');
    return body.actions as ActionDescriptor[];
  }

  async run(action: string, req: ActionRequest, correlationId: string): Promise<ActionResponse> {
    const body = (await this.request('POST', `/v1/actions/${action}`, req, correlationId)) as ActionResponse;
    if (!body || typeof body !== 'object' || !('output' in body)) {
      throw this.failure(502, 'agent-bad-response', 'the answer has no output');
    }
    return body;
  }

  async resolve(action: string, input: unknown, correlationId: string): Promise<string> {
    const body = (await this.request(
      'POST',
      `/v1/actions/${action}/resolve`,
      { input },
      correlationId,
    )) as ResolveResponse;
    if (typeof body?.version !== 'string')
      throw this.failure(502, 'agent-bad-response', 'no version in resolve');
    return body.version;
  }

  private async request(
    method: string,
    path: string,
    body: unknown,
    correlationId: string,
  ): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(this.baseUrl + path, {
        method,
        headers: {
          [CORRELATION_HEADER]: correlationId,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const e = err as Error;
      if (e.name === 'TimeoutError') {
        throw this.failure(504, 'agent-timeout', `no answer within ${this.timeoutMs} ms`);
      }
      throw this.failure(503, 'agent-unavailable', 'the agent pool could not be reached');
    }
    let text: string;
    try {
      const length = Number(res.headers.get('content-length') ?? 0);
      if (length > MAX_RESPONSE_BYTES) throw new Error('too large');
      text = await res.text();
    } catch {
      throw this.failure(502, 'agent-bad-response', 'the answer could not be read');
    }
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      // A proxy in front of the pool (a Service mesh, the local stack's services-proxy) answers for
      // it with its own error page when no instance is up or none answered in time.
      if (res.status === 502 || res.status === 503) {
        throw this.failure(503, 'agent-unavailable', `no instance of the pool answered (HTTP ${res.status})`);
      }
      if (res.status === 504)
        throw this.failure(504, 'agent-timeout', 'the proxy in front of the pool timed out');
      throw this.failure(502, 'agent-bad-response', `the answer is not JSON (HTTP ${res.status})`);
    }
    if (res.ok) return parsed;
    const agentProblem = (parsed && typeof parsed === 'object' ? parsed : {}) as Record<string, unknown>;
    const detail =
      typeof agentProblem.detail === 'string' ? agentProblem.detail.slice(0, 1000) : `HTTP ${res.status}`;
    if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
      const slug =
        typeof agentProblem.type === 'string' ? agentProblem.type.split(':').pop()! : 'agent-rejected-input';
      throw new AgentInputError(res.status, slug, `${this.pool} agent: ${detail}`, {
        extensions: {
          pool: this.pool,
          ...(Array.isArray(agentProblem.errors) ? { errors: agentProblem.errors } : {}),
        },
      });
    }
    const retryAfter = res.headers.get('retry-after');
    throw this.failure(
      res.status === 503 || res.status === 429 ? 503 : 502,
      'agent-error',
      `${this.pool} agent: ${detail}`,
      retryAfter,
    );
  }

  private failure(status: number, slug: string, detail: string, retryAfter?: string | null): AgentFailure {
    return new AgentFailure(status, slug, detail, {
      extensions: { pool: this.pool },
      ...(retryAfter && /^\d{1,4}$/.test(retryAfter) ? { headers: { 'Retry-After': retryAfter } } : {}),
    });
  }
}
