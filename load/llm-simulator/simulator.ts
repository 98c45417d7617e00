/**
 * LLM PROVIDER SIMULATOR: an OpenAI-compatible chat-completions server for tests, load scenarios and
 * benchmarks, standing in for the LLM providers on the internet that cannot exist here. It answers
 * deterministically (an echo of the last user message) and can be told to be slow, to fail, to rate
 * limit or to hang, by options, by env (main.ts) or at runtime through `POST /admin/behaviour`.
 *
 *   POST /v1/chat/completions  the provider API (non-streaming)
 *   GET  /v1/models            the models it serves
 *   GET  /admin/behaviour      current behaviour;  POST /admin/behaviour  merge a partial behaviour
 *   GET  /admin/requests       recorded requests;  POST /admin/reset      clear records and the script
 */
import http from 'node:http';
import type { Socket } from 'node:net';

export interface Latency {
  distribution: 'fixed' | 'uniform' | 'normal';
  /** fixed: the delay; uniform: the lower bound; normal: the clamp's lower bound. */
  min_ms: number;
  /** uniform: the upper bound; normal: the clamp's upper bound. */
  max_ms: number;
  /** normal only. */
  mean_ms?: number;
  stddev_ms?: number;
}

/** One scripted answer, used before any random behaviour: `status` 200 answers normally. */
export interface ScriptedAnswer {
  status?: number;
  retry_after?: string;
  hang?: boolean;
  delay_ms?: number;
}

export interface Behaviour {
  latency: Latency;
  /** Probability of a 500 or 503 answer (`error_status`). */
  error_rate: number;
  error_status: 500 | 503;
  /** Probability of a 429 answer carrying `Retry-After: retry_after` (omitted when empty). */
  rate_limit_rate: number;
  retry_after: string;
  /** Probability that a request is never answered; the socket is destroyed after `max_hang_ms`. */
  hang_rate: number;
  max_hang_ms: number;
  /** When set, requests must carry `Authorization: Bearer <api_key>` (else 401). */
  api_key?: string;
  /** Models served (404 model_not_found for others); empty serves any model. */
  models: string[];
  /** Per-model overrides of the above. */
  per_model: Record<string, Partial<Omit<Behaviour, 'per_model' | 'script'>>>;
  /** Answers consumed one per request, in order, before random behaviour applies. */
  script: ScriptedAnswer[];
}

export interface RecordedRequest {
  /** Date.now() when the request arrived. */
  at: number;
  model: string | undefined;
  authorization: string | undefined;
  correlation_id: string | undefined;
  status: number | 'hang';
}

export const defaultBehaviour = (): Behaviour => ({
  latency: { distribution: 'fixed', min_ms: 0, max_ms: 0 },
  error_rate: 0,
  error_status: 500,
  rate_limit_rate: 0,
  retry_after: '1',
  hang_rate: 0,
  max_hang_ms: 30000,
  models: [],
  per_model: {},
  script: [],
});

const MAX_RECORDS = 10000;
const MAX_BODY_BYTES = 8 * 1048576;

function sampleLatency(l: Latency): number {
  if (l.distribution === 'fixed') return l.min_ms;
  if (l.distribution === 'uniform') return l.min_ms + Math.random() * Math.max(0, l.max_ms - l.min_ms);
  // Box-Muller, clamped to [min, max].
  const u = 1 - Math.random();
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * Math.random());
  const v = (l.mean_ms ?? (l.min_ms + l.max_ms) / 2) + z * (l.stddev_ms ?? 0);
  return Math.min(l.max_ms, Math.max(l.min_ms, v));
}

const tokens = (s: string) => s.split(/\s+/).filter(Boolean).length;

interface ChatMessage {
  role?: unknown;
  content?: unknown;
}

export async function startLlmSimulator(
  opts: { port?: number; behaviour?: Partial<Behaviour>; name?: string } = {},
) {
  let behaviour: Behaviour = { ...defaultBehaviour(), ...opts.behaviour };
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let served = 0;
  const name = opts.name ?? 'llm-simulator';

  const record = (r: RecordedRequest) => {
    if (requests.length >= MAX_RECORDS) requests.shift();
    requests.push(r);
  };
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
    return t;
  };
  const send = (
    res: http.ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) => {
    if (res.destroyed) return;
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  };
  const error = (res: http.ServerResponse, status: number, message: string, type: string, headers = {}) =>
    send(res, status, { error: { message, type, code: type } }, headers);

  const readBody = (req: http.IncomingMessage) =>
    new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY_BYTES) {
          reject(new Error('too large'));
          req.destroy();
        } else chunks.push(c);
      });
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });

  const completion = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const arrived = Date.now();
    const rec: RecordedRequest = {
      at: arrived,
      model: undefined,
      authorization: req.headers.authorization,
      correlation_id: req.headers['x-correlation-id'] as string | undefined,
      status: 200,
    };
    record(rec);
    let body: { model?: unknown; messages?: unknown; stream?: unknown };
    try {
      body = JSON.parse(await readBody(req)) as typeof body;
    } catch {
      rec.status = 400;
      return error(res, 400, 'the body is not JSON', 'invalid_request_error');
    }
    const model = typeof body?.model === 'string' ? body.model : undefined;
    rec.model = model;
    const b: Behaviour = { ...behaviour, ...(model ? behaviour.per_model[model] : undefined) };
    if (b.api_key !== undefined && req.headers.authorization !== `Bearer ${b.api_key}`) {
      rec.status = 401;
      return error(res, 401, 'invalid api key', 'invalid_api_key');
    }
    if (!model || !Array.isArray(body.messages) || body.messages.length === 0) {
      rec.status = 400;
      return error(res, 400, 'model and messages are required', 'invalid_request_error');
    }
    if (body.stream === true) {
      rec.status = 400;
      return error(res, 400, 'this simulator does not stream', 'invalid_request_error');
    }
    if (b.models.length > 0 && !b.models.includes(model)) {
      rec.status = 404;
      return error(res, 404, `model ${model} does not exist`, 'model_not_found');
    }
    const scripted = behaviour.script.shift();
    const delay = scripted?.delay_ms ?? sampleLatency(b.latency);
    const hang = scripted ? scripted.hang === true : Math.random() < b.hang_rate;
    if (hang) {
      rec.status = 'hang';
      const t = later(b.max_hang_ms, () => req.socket.destroy());
      // The client gave up first: nothing left to hold.
      res.once('close', () => {
        clearTimeout(t);
        timers.delete(t);
      });
      return;
    }
    let status = scripted?.status ?? 200;
    let retryAfter = scripted?.retry_after;
    if (!scripted) {
      const roll = Math.random();
      if (roll < b.rate_limit_rate) {
        status = 429;
        retryAfter = b.retry_after;
      } else if (roll < b.rate_limit_rate + b.error_rate) status = b.error_status;
    }
    rec.status = status;
    const answer = () => {
      if (status === 429) {
        return error(
          res,
          429,
          'rate limited',
          'rate_limit_exceeded',
          retryAfter ? { 'retry-after': retryAfter } : {},
        );
      }
      if (status !== 200) return error(res, status, `simulated ${status}`, 'server_error');
      const messages = body.messages as ChatMessage[];
      const lastUser = [...messages].reverse().find((m) => m?.role === 'user');
      const content = `echo: ${typeof lastUser?.content === 'string' ? lastUser.content : ''}`;
      const prompt = messages.reduce(
        (n, m) => n + (typeof m?.content === 'string' ? tokens(m.content) : 0),
        0,
      );
      const completionTokens = tokens(content);
      served += 1;
      send(res, 200, {
        id: `chatcmpl-sim-${served}`,
        object: 'chat.completion',
        created: Math.floor(arrived / 1000),
        model,
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
        usage: {
          prompt_tokens: prompt,
          completion_tokens: completionTokens,
          total_tokens: prompt + completionTokens,
        },
      });
    };
    if (delay > 0) later(delay, answer);
    else answer();
  };

  const admin = async (req: http.IncomingMessage, res: http.ServerResponse, path: string) => {
    if (path === '/admin/behaviour' && req.method === 'GET') return send(res, 200, behaviour);
    if (path === '/admin/behaviour' && req.method === 'POST') {
      try {
        const patch = JSON.parse(await readBody(req)) as Partial<Behaviour>;
        if (!patch || typeof patch !== 'object' || Array.isArray(patch)) throw new Error('not an object');
        behaviour = { ...behaviour, ...patch };
        return send(res, 200, behaviour);
      } catch {
        return error(res, 400, 'expected a JSON object', 'invalid_request_error');
      }
    }
    if (path === '/admin/requests' && req.method === 'GET') return send(res, 200, { requests });
    if (path === '/admin/reset' && req.method === 'POST') {
      requests.length = 0;
      behaviour.script = [];
      return send(res, 200, { ok: true });
    }
    return error(res, 404, 'no such admin resource', 'not_found');
  };

  const server = http.createServer({ keepAliveTimeout: 65000 }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const route = (): Promise<void> | void => {
      if (path === '/v1/chat/completions' && req.method === 'POST') return completion(req, res);
      if (path === '/v1/models' && req.method === 'GET') {
        return send(res, 200, {
          object: 'list',
          data: behaviour.models.map((id) => ({ id, object: 'model', owned_by: name })),
        });
      }
      if (path.startsWith('/admin/')) return admin(req, res, path);
      return error(res, 404, 'not found', 'not_found');
    };
    void Promise.resolve(route()).catch(() => res.destroy());
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;

  return {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    /** The base URL a provider of type `openai` is configured with. */
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    get behaviour() {
      return behaviour;
    },
    setBehaviour(patch: Partial<Behaviour>) {
      behaviour = { ...behaviour, ...patch };
    },
    reset() {
      requests.length = 0;
      behaviour.script = [];
    },
    /** Stops at once: hanging requests are cut, idle keep-alive connections closed. */
    async stop() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

export type LlmSimulator = Awaited<ReturnType<typeof startLlmSimulator>>;
