/**
 * How the orchestrator names an agent pool's failures: each way a pool can fail (down, behind a
 * proxy with no instance, slow, garbled, rejecting the input) becomes its own problem type, because
 * the runbooks and the breaker tell them apart. Real HTTP servers on loopback play the pool.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AgentClient, AgentFailure, AgentInputError } from '../../services/orchestrator/agent-client.ts';
import type { Problem } from '../../services/kit/problem.ts';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;
let handler: Handler = (_req, res) => res.end('{}');
let server: http.Server;
let url: string;

beforeAll(async () => {
  server = http.createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const run = async (base = url, timeoutMs = 2000): Promise<Problem> => {
  try {
    await new AgentClient('git', base, timeoutMs).run('log', { input: {} } as never, 'cid-1');
  } catch (err) {
    return err as Problem;
  }
  throw new Error('the call succeeded');
};
const answer =
  (status: number, body: string, headers: Record<string, string> = {}): Handler =>
  (_req, res) => {
    res.writeHead(status, headers);
    res.end(body);
  };

test('a pool nobody listens on is agent-unavailable (503)', async () => {
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const p = await run(`http://127.0.0.1:${port}`);
  expect(p).toBeInstanceOf(AgentFailure);
  expect([p.status, p.slug, p.extensions['pool']]).toEqual([503, 'agent-unavailable', 'git']);
});

test.each([
  [503, 503, 'agent-unavailable'],
  [502, 503, 'agent-unavailable'],
  [504, 504, 'agent-timeout'],
])('a proxy error page (HTTP %i, HTML) in front of the pool is %i %s', async (upstream, status, slug) => {
  handler = answer(upstream, '<html><body><h1>No server is available</h1></body></html>', {
    'content-type': 'text/html',
  });
  const p = await run();
  expect(p).toBeInstanceOf(AgentFailure);
  expect([p.status, p.slug]).toEqual([status, slug]);
});

test('a 200 that is not JSON is agent-bad-response (502)', async () => {
  handler = answer(200, 'not json at all');
  const p = await run();
  expect([p.status, p.slug]).toEqual([502, 'agent-bad-response']);
});

test('an agent that does not answer in time is agent-timeout (504)', async () => {
  handler = (_req, res) => setTimeout(() => res.end('{}'), 1000).unref();
  const p = await run(url, 200);
  expect([p.status, p.slug]).toEqual([504, 'agent-timeout']);
});

test('an overloaded agent (JSON 503 with Retry-After) passes its Retry-After on', async () => {
  handler = answer(503, JSON.stringify({ detail: 'queue full' }), {
    'content-type': 'application/problem+json',
    'retry-after': '3',
  });
  const p = await run();
  expect([p.status, p.slug, p.headers['Retry-After']]).toEqual([503, 'agent-error', '3']);
  expect(p.message).toContain('queue full');
});

test('an input the agent rejects (422) is the caller\u2019s error, not a pool failure', async () => {
  handler = answer(
    422,
    JSON.stringify({
      type: 'urn:phoenix-orch:problem:validation-error',
      detail: 'limit must be at most 100',
      errors: [{ field: 'limit', message: 'too large' }],
    }),
    { 'content-type': 'application/problem+json' },
  );
  const p = await run();
  expect(p).toBeInstanceOf(AgentInputError);
  expect(p).not.toBeInstanceOf(AgentFailure);
  expect([p.status, p.slug]).toEqual([422, 'validation-error']);
  expect(p.extensions['errors']).toEqual([{ field: 'limit', message: 'too large' }]);
});
