import http from 'node:http';
import https from 'node:https';
import { CORRELATION_HEADER } from '../kit/context.ts';
import type { ProviderConfig } from './providers.ts';

const MAX_RESPONSE_BYTES = 8 * 1048576;

export type FailureKind =
  | 'rate_limited' // 429
  | 'server_error' // 5xx, 408, or an unreadable answer
  | 'timeout'
  | 'connection_error'
  | 'auth_error' // 401/403: the router's key is wrong
  | 'rejected' // any other 4xx: the request is at fault
  | 'aborted'; // the caller went away

/** A provider call that did not produce a completion. Carries no key and no provider body beyond a message. */
export class ProviderError extends Error {
  readonly kind: FailureKind;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  constructor(kind: FailureKind, message: string, status?: number, retryAfterMs?: number) {
    super(message);
    this.name = 'ProviderError';
    this.kind = kind;
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }
  get retryable(): boolean {
    return this.kind !== 'rejected' && this.kind !== 'auth_error' && this.kind !== 'aborted';
  }
}

export interface Completion {
  model?: unknown;
  choices: unknown[];
  usage?: { prompt_tokens?: unknown; completion_tokens?: unknown };
  [k: string]: unknown;
}

/** `Retry-After` as milliseconds from now: delta-seconds or an HTTP date; undefined when absent or invalid. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** An OpenAI-compatible provider: POST {base_url}/chat/completions with the key as a Bearer token. */
export class ProviderClient {
  readonly provider: ProviderConfig;
  /** Request options built once: parsing the URL per call is measurable at thousands of calls a second. */
  private readonly target: { protocol: string; hostname: string; port: string; path: string };
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;

  constructor(provider: ProviderConfig, maxSockets: number) {
    this.provider = provider;
    const url = new URL(`${provider.base_url}/chat/completions`);
    this.target = {
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port,
      path: url.pathname + url.search,
    };
    const secure = url.protocol === 'https:';
    this.transport = secure ? https : http;
    this.agent = new (secure ? https.Agent : http.Agent)({ keepAlive: true, maxSockets, scheduling: 'lifo' });
  }

  close(): void {
    this.agent.destroy();
  }

  /** One call, bounded by `timeoutMs`; rejects with a ProviderError. */
  complete(
    body: string,
    opts: { timeoutMs: number; correlationId: string; signal: AbortSignal },
  ): Promise<Completion> {
    const { provider } = this;
    return new Promise<Completion>((resolve, reject) => {
      let settled = false;
      const finish = (err: ProviderError | undefined, value?: Completion) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        opts.signal.removeEventListener('abort', onAbort);
        if (err) {
          req.destroy();
          reject(err);
        } else resolve(value!);
      };
      const onAbort = () => finish(new ProviderError('aborted', 'the caller went away'));
      const req = this.transport.request(
        {
          ...this.target,
          method: 'POST',
          agent: this.agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            accept: 'application/json',
            authorization: `Bearer ${provider.apiKey}`,
            [CORRELATION_HEADER]: opts.correlationId,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_RESPONSE_BYTES)
              finish(new ProviderError('server_error', 'the answer is too large'));
            else chunks.push(c);
          });
          res.on('error', () => finish(new ProviderError('connection_error', 'the answer was cut off')));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString('utf8');
            if (status >= 200 && status < 300) {
              let parsed: Completion;
              try {
                parsed = JSON.parse(text) as Completion;
              } catch {
                return finish(new ProviderError('server_error', 'the answer is not JSON', status));
              }
              if (!parsed || !Array.isArray(parsed.choices) || parsed.choices.length === 0)
                return finish(new ProviderError('server_error', 'the answer has no choices', status));
              return finish(undefined, parsed);
            }
            finish(classify(status, text, res.headers['retry-after']));
          });
        },
      );
      const timer = setTimeout(
        () => finish(new ProviderError('timeout', `no answer within ${opts.timeoutMs} ms`)),
        opts.timeoutMs,
      );
      if (opts.signal.aborted) return onAbort();
      opts.signal.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err: NodeJS.ErrnoException) =>
        finish(new ProviderError('connection_error', `connection failed (${err.code ?? 'error'})`)),
      );
      req.end(body);
    });
  }
}

function classify(status: number, text: string, retryAfter: string | undefined): ProviderError {
  let message = `HTTP ${status}`;
  try {
    const e = (JSON.parse(text) as { error?: { message?: unknown } }).error;
    if (typeof e?.message === 'string') message = `HTTP ${status}: ${e.message.slice(0, 300)}`;
  } catch {
    // a non-JSON error body: the status says enough
  }
  if (status === 429) return new ProviderError('rate_limited', message, status, parseRetryAfter(retryAfter));
  if (status === 401 || status === 403) return new ProviderError('auth_error', `HTTP ${status}`, status);
  if (status >= 500 || status === 408)
    return new ProviderError('server_error', message, status, parseRetryAfter(retryAfter));
  if (status >= 400) return new ProviderError('rejected', message, status);
  return new ProviderError('server_error', `unexpected HTTP ${status}`, status);
}
