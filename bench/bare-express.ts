/**
 * The baseline of `bench/orchestrator-hit.ts`: a bare Express 5 server with one POST route that reads
 * the JSON request body and answers with a fixed JSON document (the body the orchestrator returns for
 * a cache HIT). No auth, logging, metrics, validation or Redis: the throughput gap between this and
 * the orchestrator is what those cost.
 *
 * Env: PORT, HOST (default 127.0.0.1), BODY_FILE (the JSON to answer with), ROUTE (default /v1/tasks).
 */
import express from 'express';
import { readFileSync } from 'node:fs';

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';
const route = process.env.ROUTE ?? '/v1/tasks';
const bodyFile = process.env.BODY_FILE;
if (!bodyFile) {
  process.stderr.write('bare-express: BODY_FILE is required\n');
  process.exit(2);
}
// Parsed once and sent with res.json(), as the orchestrator sends an object with res.json().
const answer = JSON.parse(readFileSync(bodyFile, 'utf8')) as unknown;

const app = express();
// The orchestrator turns these two off as well; leaving them on would make the baseline do extra work
// (an ETag hash per response) and flatter the ratio.
app.disable('x-powered-by');
app.set('etag', false);

app.post(route, express.json(), (_req, res) => {
  res.json(answer);
});

const server = app.listen(port, host, (err?: Error) => {
  if (err) {
    process.stderr.write(`bare-express: ${err.message}\n`);
    process.exit(1);
  }
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  process.stdout.write(`bare-express listening on http://${host}:${bound}${route}\n`);
});
server.keepAliveTimeout = 65000;

const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
