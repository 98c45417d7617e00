/**
 * The Artillery processor of every scenario (loaded through `load/processor.js`: Artillery 2.0.34
 * bundles a `.ts` processor into CommonJS, which cannot load in this `"type": "module"` package, so a
 * one-line ES module re-exports this file and Node 24 strips its types).
 *
 * What it does for every request:
 *   - gives each virtual user a correlation id of its own (`X-Correlation-ID`), so the load balancer
 *     keeps it on one orchestrator, and fills task bodies from a mix (load/lib/tasks.ts);
 *   - counts `X-Cache` HIT/MISS/BYPASS (`phoenix.cache.hit`, ...), the serving instance
 *     (`phoenix.served_by.orchestrator-2`), failed requests (`phoenix.failed.all`, split into
 *     `phoenix.failed.idempotent` / `.non_idempotent`), a correlation id answered by a second instance
 *     (`phoenix.sticky.moved`) and a session whose version did not follow on (`phoenix.session.broken`);
 *     these are Artillery counters, so `ensure` can test them and publish-metrics pushes them;
 *   - when `PHOENIX_LOAD_RUN_DIR` is set (the driver sets it), appends one JSON line per request to
 *     `requests-<pid>-<thread>.jsonl` there: time, latency, method, name, status or error, X-Cache,
 *     X-Served-By, correlation id, task key, problem type; and one `ack` line per acknowledged session
 *     write (the ledger the Redis failover scenario checks afterwards).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { threadId } from 'node:worker_threads';
import { taskFor, taskKey, uniqueTask, zipfMix, type Task, type ZipfMix } from './tasks.ts';

type Done = (err?: Error) => void;
type Headers = Record<string, string | string[] | undefined>;

export interface VuContext {
  vars: Record<string, unknown>;
}
export interface Events {
  emit(type: string, name: string, value?: number): unknown;
}
export interface RequestParams {
  url: string;
  method?: string;
  name?: string;
  json?: unknown;
  headers?: Record<string, string>;
  phx?: { t0: number; key?: string; ack?: { marker: string }; retry?: boolean };
  [k: string]: unknown;
}
export interface ResponseLike {
  statusCode: number;
  headers: Headers;
  body?: unknown;
  timings?: { phases?: { total?: number; firstByte?: number } };
}

/** One line of the request log. */
export interface RequestRecord {
  /** Start, ms since the epoch. */
  t: number;
  /** Duration, ms (to the end of the response, or to the error). */
  d: number;
  m: string;
  /** Request name (`task`, `session.patch`, ...). */
  n: string;
  /** HTTP status, 0 for a transport error. */
  s: number;
  /** Transport error code. */
  e?: string;
  c?: string;
  by?: string;
  id?: string;
  /** Task pool and key (tasks only). */
  p?: string;
  k?: string;
  /** Problem document type (errors). */
  pt?: string;
  /** 1: answered 503 with Retry-After inside a retry loop; the client waited and sent it again. */
  r?: 1;
}
/** One acknowledged session write. */
export interface AckRecord {
  ack: { sid: string; v: number; m: string };
  t: number;
}

export const COUNTERS = [
  'phoenix.cache.hit',
  'phoenix.cache.miss',
  'phoenix.cache.bypass',
  'phoenix.failed.all',
  'phoenix.failed.idempotent',
  'phoenix.failed.non_idempotent',
  'phoenix.sticky.moved',
  'phoenix.session.broken',
  'phoenix.session.acks',
  'phoenix.retried',
  // The expect plugin counts failed expectations only once one fails; defined here so that `ensure`
  // can test it (an undefined metric fails every condition naming it). No name here is a prefix of
  // another: `ensure` substitutes metric names into its expressions as plain substrings.
  'plugins.expect.failed',
] as const;

/** Attempts of one request inside a `whileTrue: retryPending` loop (the first included). */
export const MAX_ATTEMPTS = 3;
/** Longest Retry-After honoured, seconds. */
const MAX_RETRY_AFTER_S = 5;

const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);
export const isIdempotent = (method: string) => IDEMPOTENT.has(method.toUpperCase());

const RUN_ID = process.env.PHOENIX_RUN_ID || randomBytes(4).toString('hex');
let zipf: ZipfMix | undefined;
let seq = 0;
let zerosEmitted = false;
let fd: number | undefined;

function log(line: RequestRecord | AckRecord): void {
  const dir = process.env.PHOENIX_LOAD_RUN_DIR;
  if (!dir) return;
  if (fd === undefined) {
    mkdirSync(dir, { recursive: true });
    fd = openSync(path.join(dir, `requests-${process.pid}-${threadId}.jsonl`), 'a');
    process.once('exit', () => closeSync(fd!));
  }
  writeSync(fd, JSON.stringify(line) + '\n');
}

const header = (h: Headers, name: string) => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

function parseBody(res: ResponseLike): Record<string, unknown> | undefined {
  if (typeof res.body === 'object' && res.body !== null) return res.body as Record<string, unknown>;
  if (typeof res.body !== 'string' || res.body === '') return undefined;
  try {
    const v: unknown = JSON.parse(res.body);
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** beforeScenario: a correlation id for this virtual user; zeroed counters so `ensure` can name them. */
export function startUser(context: VuContext, events: Events, done: Done): void {
  if (!zerosEmitted) {
    zerosEmitted = true;
    for (const c of COUNTERS) events.emit('counter', c, 0);
  }
  context.vars['cid'] = `load-${RUN_ID}-${randomBytes(6).toString('hex')}`;
  context.vars['runId'] = RUN_ID;
  done();
}

/** Scenario-level beforeRequest: the correlation id header and the start time. */
export function stamp(req: RequestParams, context: VuContext, _events: Events, done: Done): void {
  req.headers = { ...req.headers, 'x-correlation-id': String(context.vars['cid']) };
  req.phx = { ...req.phx, t0: Date.now() };
  done();
}

/** beforeRequest of `POST /v1/tasks`: a body from the mix named by the `mix` variable. */
export function taskBody(req: RequestParams, context: VuContext, _events: Events, done: Done): void {
  const mix = String(context.vars['mix'] ?? 'mixed');
  if (mix === 'zipf') zipf ??= zipfMix(RUN_ID);
  const task: Task = taskFor(mix, Math.random, { runId: RUN_ID, zipf, seq: seq++ });
  const cache = context.vars['cacheMode'];
  const body: Record<string, unknown> = { ...task };
  if (typeof cache === 'string' && cache !== 'use') body['cache'] = cache;
  if (context.vars['withSession'] && typeof context.vars['sid'] === 'string') {
    body['session_id'] = context.vars['sid'];
    body['session_version'] = context.vars['sver'];
  }
  req.json = body;
  req.phx = { ...req.phx, t0: req.phx?.t0 ?? Date.now(), key: taskKey(task) };
  done();
}

/** beforeRequest of an asynchronous `POST /v1/tasks` (answered 202, then polled with GET). */
export function asyncTaskBody(req: RequestParams, context: VuContext, events: Events, done: Done): void {
  taskBody(req, context, events, () => {
    req.json = { ...(req.json as Record<string, unknown>), mode: 'async' };
    done();
  });
}

const stableOf = (z: ZipfMix) => z.ranked.filter((t) => !JSON.stringify(t.input).includes(RUN_ID));

/** Loops the cache scenario's warm-up runs side by side. */
export const WARM_LOOPS = 4;

/**
 * Function step of the cache scenario's `before` hook: `warmCount`, the length of each of its
 * WARM_LOOPS parallel loops, so that together they ask every stable input once.
 */
export function prepareWarmUp(context: VuContext, _events: Events, done: Done): void {
  zipf ??= zipfMix(RUN_ID);
  context.vars['warmCount'] = Math.ceil(stableOf(zipf).length / WARM_LOOPS);
  context.vars['warmIndex'] = 0;
  done();
}

/**
 * beforeRequest of the warm-up loops: the next stable input of the Zipf catalogue (the loops share
 * the counter); once every one was asked, the slots left over ask one-off inputs.
 */
export function warmBody(req: RequestParams, context: VuContext, _events: Events, done: Done): void {
  zipf ??= zipfMix(RUN_ID);
  const stable = stableOf(zipf);
  const i = Number(context.vars['warmIndex'] ?? 0);
  context.vars['warmIndex'] = i + 1;
  const task = stable[i] ?? uniqueTask(`${RUN_ID}-warm-${i}`);
  // `refresh`: computed and stored again now, so an answer cached by an earlier run cannot expire
  // during this one (Obsidian answers live five minutes).
  req.json = { ...task, cache: 'refresh' };
  req.phx = { t0: req.phx?.t0 ?? Date.now(), key: taskKey(task) };
  done();
}

/** Function step: a new input that the next `burstBody` requests (sent in parallel) all ask for. */
export function prepareBurst(context: VuContext, _events: Events, done: Done): void {
  context.vars['burst'] = uniqueTask(`${RUN_ID}-burst-${randomBytes(4).toString('hex')}`);
  done();
}

/** beforeRequest of a burst request: the burst's input, under a correlation id of its own (so the load
 *  balancer spreads the burst over the orchestrators). */
export function burstBody(req: RequestParams, context: VuContext, _events: Events, done: Done): void {
  const task = context.vars['burst'] as Task;
  req.json = { ...task };
  req.headers = { ...req.headers, 'x-correlation-id': `load-${RUN_ID}-${randomBytes(6).toString('hex')}` };
  req.phx = { ...req.phx, t0: req.phx?.t0 ?? Date.now(), key: taskKey(task) };
  done();
}

/** beforeRequest of a session write: a marker this user has never written, remembered for the ledger. */
export function sessionWrite(req: RequestParams, context: VuContext, _events: Events, done: Done): void {
  const n = Number(context.vars['writes'] ?? 0) + 1;
  context.vars['writes'] = n;
  const marker = `${String(context.vars['cid'])}.${n}`;
  req.json = { data: { owner: context.vars['cid'], marker, n } };
  req.phx = { ...req.phx, t0: req.phx?.t0 ?? Date.now(), ack: { marker } };
  done();
}

function record(
  req: RequestParams,
  context: VuContext,
  events: Events,
  status: number,
  res?: ResponseLike,
  err?: Error,
): void {
  const method = (req.method ?? 'GET').toUpperCase();
  const t0 = req.phx?.t0 ?? Date.now();
  const name = req.name ?? method;
  const line: RequestRecord = { t: t0, d: Date.now() - t0, m: method, n: name, s: status };
  let failed = status === 0 || status >= 500;
  const retryAfter = res ? Number(header(res.headers, 'retry-after')) : NaN;
  const attempt = Number(context.vars['attempt'] ?? 1);
  if (status === 503 && req.phx?.retry === true && Number.isFinite(retryAfter) && attempt < MAX_ATTEMPTS) {
    // A client that honours Retry-After sends it again (the flow's `whileTrue: retryPending` loop).
    context.vars['retryAfter'] = Math.min(MAX_RETRY_AFTER_S, Math.max(0, retryAfter));
    line.r = 1;
    failed = false;
    events.emit('counter', 'phoenix.retried', 1);
  }
  if (failed) {
    events.emit('counter', 'phoenix.failed.all', 1);
    events.emit('counter', `phoenix.failed.${isIdempotent(method) ? 'idempotent' : 'non_idempotent'}`, 1);
  }
  if (err) line.e = (err as NodeJS.ErrnoException).code ?? err.name ?? err.message;
  if (req.phx?.key) {
    line.k = req.phx.key;
    line.p = req.phx.key.slice(0, req.phx.key.indexOf('.'));
  }
  const cid = String(context.vars['cid'] ?? '');
  if (cid) line.id = cid;
  if (res) {
    const cache = header(res.headers, 'x-cache');
    const by = header(res.headers, 'x-served-by');
    if (cache) {
      line.c = cache;
      events.emit('counter', `phoenix.cache.${cache.toLowerCase()}`, 1);
    }
    if (by) {
      line.by = by;
      events.emit('counter', `phoenix.served_by.${by}`, 1);
      const first = context.vars['servedBy'];
      if (first === undefined) context.vars['servedBy'] = by;
      else if (first !== by) {
        // The correlation id moved: allowed only when its instance failed (the driver checks when).
        events.emit('counter', 'phoenix.sticky.moved', 1);
        context.vars['servedBy'] = by;
      }
    }
    const body =
      status >= 200 && status < 300 && !req.phx?.ack && !name.startsWith('session')
        ? undefined
        : parseBody(res);
    if (status >= 400 && typeof body?.['type'] === 'string') line.pt = body['type'];
    // A write that failed or met a stale version may or may not have been applied: the next read
    // tells the version again.
    if (req.phx?.ack && (status === 412 || status >= 500) && !line.r) context.vars['resync'] = true;
    if (name.startsWith('session') && status >= 200 && status < 300 && body)
      sessionAnswer(req, context, events, body);
  }
  log(line);
}

/** Follows a session's version and writes the ledger line of an acknowledged write. */
function sessionAnswer(
  req: RequestParams,
  context: VuContext,
  events: Events,
  body: Record<string, unknown>,
): void {
  const id = body['id'];
  const version = Number(body['version']);
  if (typeof id !== 'string' || !Number.isInteger(version)) return;
  const known = context.vars['sver'];
  const write = req.phx?.ack !== undefined;
  const resync = context.vars['resync'] === true;
  delete context.vars['resync'];
  if (context.vars['sid'] === id && typeof known === 'number' && !resync) {
    // A write moves the version on by exactly one; a read sees the version last written.
    const expected = write ? known + 1 : known;
    if (version !== expected) events.emit('counter', 'phoenix.session.broken', 1);
  }
  context.vars['sid'] = id;
  context.vars['sver'] = version;
  if (write) {
    events.emit('counter', 'phoenix.session.acks', 1);
    log({ ack: { sid: id, v: version, m: req.phx!.ack!.marker }, t: Date.now() });
  }
}

/** Scenario-level afterResponse. */
export function observe(
  req: RequestParams,
  res: ResponseLike,
  context: VuContext,
  events: Events,
  done: Done,
): void {
  record(req, context, events, res.statusCode, res);
  // A task with a session moves the session's version on by one.
  if (req.name === 'task' && res.statusCode === 200 && context.vars['withSession']) {
    const session = parseBody(res)?.['session'] as { version?: number } | undefined;
    if (typeof session?.version === 'number') {
      const known = context.vars['sver'];
      if (typeof known === 'number' && session.version !== known + 1)
        events.emit('counter', 'phoenix.session.broken', 1);
      context.vars['sver'] = session.version;
    }
  }
  done();
}

/**
 * `whileTrue` of a retry loop around one request (`loop: [request]`, `whileTrue: retryPending`): after
 * a 503 with Retry-After it waits that long and says "again", at most MAX_ATTEMPTS times in all.
 */
export function retryPending(context: VuContext, next: (again: boolean) => void): void {
  const wait = context.vars['retryAfter'];
  delete context.vars['retryAfter'];
  if (typeof wait === 'number') {
    context.vars['attempt'] = Number(context.vars['attempt'] ?? 1) + 1;
    setTimeout(() => next(true), wait * 1000);
    return;
  }
  context.vars['attempt'] = 1;
  next(false);
}

/** beforeRequest of a request inside a retry loop: a 503 with Retry-After is retried (see retryPending). */
export function retryable(req: RequestParams, _context: VuContext, _events: Events, done: Done): void {
  req.phx = { ...req.phx, t0: req.phx?.t0 ?? Date.now(), retry: true };
  done();
}

/** Scenario-level onError: a transport error (reset, timeout, refused). */
export function observeError(
  err: Error,
  req: RequestParams,
  context: VuContext,
  events: Events,
  done: Done,
): void {
  record(req, context, events, 0, undefined, err);
  done();
}
