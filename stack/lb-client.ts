/**
 * An HTTPS client for the local stack's load balancer that trusts the stack's self-signed
 * certificate (never turns verification off). Used by the demo, the tests and the load drivers.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';

export interface LbResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: () => unknown;
}

type Options = { body?: unknown; headers?: Record<string, string>; auth?: boolean; timeoutMs?: number };

export function lbClient(s: { lb: string; lb_ca_cert: string; api_key: string | null }) {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 64, ca: readFileSync(s.lb_ca_cert) });
  const base = new URL(s.lb);
  const attempt = (method: string, pathname: string, opts: Options, retried: boolean): Promise<LbResponse> =>
    new Promise((resolve, reject) => {
      const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
      const req = https.request(
        {
          host: base.hostname,
          port: base.port,
          method,
          path: pathname,
          agent,
          timeout: opts.timeoutMs ?? 15000,
          headers: {
            ...(opts.auth === false || s.api_key === null ? {} : { authorization: `Bearer ${s.api_key}` }),
            ...(payload ? { 'content-type': 'application/json' } : {}),
            ...opts.headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const body = Buffer.concat(chunks).toString('utf8');
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body,
              json: () => JSON.parse(body),
            });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${pathname} timed out`)));
      req.on('error', (err: NodeJS.ErrnoException) => {
        // A keep-alive connection the server closed while idle (a reload, a drain) fails the next
        // request before it was read; Node's documented remedy is to send it again on a new socket.
        if (!retried && req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
          attempt(method, pathname, opts, true).then(resolve, reject);
        } else reject(err);
      });
      req.end(payload);
    });
  const request = (method: string, pathname: string, opts: Options = {}) =>
    attempt(method, pathname, opts, false);
  return { request, close: () => agent.destroy() };
}

export type LbClient = ReturnType<typeof lbClient>;
