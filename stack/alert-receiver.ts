/**
 * The local stack's Alertmanager receiver: records every webhook notification (firing and resolved)
 * as one JSON line, so that tests and people can see exactly what would have paged someone.
 * POST /alerts (Alertmanager webhook), GET /notifications, GET /health. Env: PORT, RECEIVER_FILE.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const port = Number(process.env['PORT'] ?? 0);
const file = process.env['RECEIVER_FILE'] ?? path.resolve('notifications.jsonl');
const MAX_BODY = 1 << 20;
mkdirSync(path.dirname(file), { recursive: true });

const log = (msg: string, extra: Record<string, unknown> = {}) =>
  process.stdout.write(JSON.stringify({ time: new Date().toISOString(), msg, ...extra }) + '\n');

function send(res: http.ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type });
  res.end(JSON.stringify(body));
}

const problem = (res: http.ServerResponse, status: number, title: string) =>
  send(res, status, { type: 'about:blank', title, status }, 'application/problem+json');

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://receiver');
  if (url.pathname === '/health' && req.method === 'GET') return send(res, 200, { status: 'ok' });
  if (url.pathname === '/notifications' && req.method === 'GET') {
    const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
    return send(res, 200, { notifications: lines.map((l) => JSON.parse(l) as unknown) });
  }
  if (url.pathname !== '/alerts') return problem(res, 404, 'Not Found');
  if (req.method !== 'POST') return problem(res, 405, 'Method Not Allowed');
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size > MAX_BODY) {
      problem(res, 413, 'Content Too Large');
      req.destroy();
    } else chunks.push(c);
  });
  req.on('end', () => {
    let body: { status?: string; alerts?: Array<{ labels?: Record<string, string>; status?: string }> };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
    } catch {
      return problem(res, 400, 'Body is not JSON');
    }
    appendFileSync(file, JSON.stringify({ receivedAt: new Date().toISOString(), ...body }) + '\n');
    log('notification', {
      status: body.status,
      alerts: (body.alerts ?? []).map((a) => `${a.labels?.['alertname'] ?? '?'}:${a.status ?? '?'}`),
    });
    send(res, 200, { recorded: true });
  });
});

server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  log('alert receiver listening', {
    port: typeof address === 'object' && address ? address.port : port,
    file,
  });
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
