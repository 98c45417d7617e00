/**
 * The report builder, the checks and the processor, without a stack: the report of a stored run of
 * failover-orchestrator-kill (Artillery's JSON report trimmed to what the report reads, the fault log
 * and the monitor's transitions; no request log, so the charts come from Artillery's periods), and
 * checks and processor hooks fed with requests made up here.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { niceTicks, svgChart } from '../../load/lib/charts.ts';
import { CHECKS, runChecks, type CheckContext } from '../../load/lib/checks.ts';
import { kubectlEquivalent } from '../../load/lib/faults.ts';
import {
  observe,
  observeError,
  retryPending,
  retryable,
  sessionWrite,
  stamp,
  startUser,
  type RequestParams,
  type RequestRecord,
  type VuContext,
} from '../../load/lib/processor.ts';
import { buildReport } from '../../load/lib/report.ts';
import { ensureLine, phaseEvent, readRun, type RunData, type RunMeta } from '../../load/lib/results.ts';
import { loadScenario, scenarioNames, seconds } from '../../load/lib/scenario-file.ts';
import { assertAllowed, isLoopbackHost } from '../../load/lib/target.ts';
import { taskFor, zipfMix, zipfRank, zipfTable } from '../../load/lib/tasks.ts';

const FIXTURE = path.join(import.meta.dirname, 'fixtures', 'failover-run');
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47]);
const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'phoenix-report-'));

describe('report of a stored Artillery run', () => {
  const dir = tmp();
  cpSync(FIXTURE, dir, { recursive: true });
  const data = readRun(dir);
  const agg = data.artillery!.aggregate;

  test('summary, phases, faults with kubectl equivalents, detection, ensure verdicts and charts', () => {
    const report = buildReport(
      {
        data,
        checks: [{ name: 'no failed GET requests', ok: true, summary: '0 failed of 810 GET requests' }],
      },
      dir,
    );
    expect(report.ok).toBe(true);
    const md = report.markdown;
    expect(md).toContain('# failover-orchestrator-kill (ci form): PASSED');
    expect(md).toContain(`| ${agg.counters!['http.requests']} | 0 | 0.00% |`);
    const rt = agg.summaries!['http.response_time']!;
    expect(md).toContain(`${Math.round(rt.p95!)} ms`);
    const hit = agg.counters!['phoenix.cache.hit']!;
    const miss = agg.counters!['phoenix.cache.miss']!;
    expect(md).toContain(`${((hit / (hit + miss)) * 100).toFixed(1)}% (${hit} HIT, ${miss} MISS`);
    expect(md).toMatch(
      /\| kill \| orchestrator-2 \| ok: SIGKILL \| `kubectl -n phoenix-orch delete pod .* --force` \|/,
    );
    expect(md).toContain('lb:orchestrator-2: up → down');
    expect(md).toContain('| `phoenix.failed.idempotent == 0` | ok |');
    expect(md).toContain("From Artillery's 10-second periods");
    expect(md).toContain('![latency](latency.png)');
    for (const f of ['latency.png', 'throughput.png']) {
      expect(readFileSync(path.join(dir, f)).subarray(0, 4)).toEqual(PNG);
    }
  });

  test('a broken promise fails the report and is listed first', () => {
    const report = buildReport(
      {
        data: {
          ...data,
          meta: { ...data.meta, ensure: [...data.meta.ensure, { check: 'vusers.failed == 0', ok: false }] },
        },
        checks: [{ name: 'writes succeed again within 10.0 s', ok: false, summary: 'never' }],
      },
      tmp(),
    );
    expect(report.ok).toBe(false);
    expect(report.markdown).toContain('FAILED');
    expect(report.markdown).toContain('- ensure: vusers.failed == 0');
    expect(report.markdown).toContain('- writes succeed again within 10.0 s: never');
  });

  test('an Artillery crash (exit code other than 0, 1 or 21) fails the report', () => {
    const meta: RunMeta = { ...data.meta, artilleryExitCode: 134 };
    const report = buildReport({ data: { ...data, meta }, checks: [] }, tmp());
    expect(report.ok).toBe(false);
    expect(report.markdown).toContain('Artillery exited 134');
  });
});

/** A run made up of requests: phases `before` [0, 10 s) and `failover` [10, 20 s), a kill at 12 s. */
function madeUp(requests: RequestRecord[], extra: Partial<RunData> = {}): RunData {
  const t0 = 1_800_000_000_000;
  const meta: RunMeta = {
    scenario: 'made-up',
    description: 'made up',
    form: 'ci',
    runId: 'r',
    target: { kind: 'local', url: 'https://localhost:1' },
    started: t0 - 5000,
    ended: t0 + 20000,
    artilleryExitCode: 0,
    phases: [
      { name: 'before', index: 0, start: t0 },
      { name: 'failover', index: 1, start: t0 + 10000 },
    ],
    ensure: [],
    notes: [],
  };
  return {
    meta,
    requests: requests.map((r) => ({ ...r, t: t0 + r.t })),
    acks: [],
    faults: [
      {
        time: new Date(t0 + 12000).toISOString(),
        done: new Date(t0 + 12300).toISOString(),
        at: 12,
        verb: 'kill',
        target: 'orchestrator-2',
        ok: true,
      },
    ],
    transitions: [],
    ...extra,
  };
}

const req = (t: number, over: Partial<RequestRecord> = {}): RequestRecord => ({
  t,
  d: 10,
  m: 'GET',
  n: 'session.get',
  s: 200,
  ...over,
});

describe('checks', () => {
  test('hit ratio against the ideal of the requests sent, and duplicate computation', async () => {
    const rs = [
      req(1000, { n: 'task', m: 'POST', k: 'llm.chat:a', p: 'llm', c: 'MISS' }),
      req(11000, { n: 'task', m: 'POST', k: 'llm.chat:a', p: 'llm', c: 'HIT' }),
      req(11100, { n: 'task', m: 'POST', k: 'llm.chat:b', p: 'llm', c: 'MISS' }),
      req(11200, { n: 'task', m: 'POST', k: 'llm.chat:b', p: 'llm', c: 'HIT' }),
      req(11300, { n: 'task', m: 'POST', k: 'llm.chat:a', p: 'llm', c: 'MISS' }),
    ];
    const ctx: CheckContext = { data: madeUp(rs) };
    const ratio = await CHECKS['hit_ratio']!(ctx, { phase: 'failover', tolerance: 0.03 });
    // Ideal: a, b(first), b, a = 3 of 4 asked before; measured 2 of 4.
    expect(ratio.summary).toBe('measured 50.0% (2 HIT, 2 MISS), ideal 75.0%');
    expect(ratio.ok).toBe(false);
    const dup = await CHECKS['single_computation']!(ctx, {});
    expect(dup.ok).toBe(false);
    expect(dup.summary).toBe('2 inputs computed, 1 of them more than once');
  });

  test('idempotent failures, error rate per phase, stickiness excused only after a stop', async () => {
    const rs = [
      req(1000, { id: 'a', by: 'orchestrator-2' }),
      req(12500, { id: 'a', by: 'orchestrator-1' }), // moved after orchestrator-2 was killed: excused
      req(2000, { id: 'b', by: 'orchestrator-1' }),
      req(3000, { id: 'b', by: 'orchestrator-3' }), // moved without a fault
      req(12600, { m: 'POST', n: 'task', s: 502 }),
      req(12700, { m: 'PATCH', n: 'session.patch', s: 503, r: 1 }), // retried after Retry-After
    ].sort((x, y) => x.t - y.t);
    const ctx: CheckContext = { data: madeUp(rs) };
    const results = await runChecks(ctx, {
      no_failed: { methods: ['GET'] },
      'no_failed#all': {},
      error_rate: { phase: 'failover', max: 0.01 },
      sticky: { allow_failover: true },
      nonsense: {},
    });
    expect(results.map((r) => [r.ok, r.summary])).toEqual([
      [true, '0 failed of 4 GET requests'],
      [false, '1 failed of 6 all requests'],
      [false, '1 of 3 failed (33.33%); 1 answers were 503 with Retry-After, retried by the client'],
      [false, '2 correlation ids, 1 moved without a fault'],
      [false, expect.stringContaining('unknown check nonsense')],
    ]);
  });

  test('writes recover: time from the fault to the first write after the last failed one', async () => {
    const w = (t: number, s: number) => req(t, { m: 'PATCH', n: 'session.patch', s });
    const ctx: CheckContext = { data: madeUp([w(11000, 200), w(12100, 503), w(13000, 503), w(15000, 200)]) };
    const r = await CHECKS['writes_recover']!(ctx, { max_ms: 5000 });
    expect(r.ok).toBe(true);
    expect(r.summary).toBe(
      '2 write attempts failed (0 of them retried); writes succeed again 3.0 s after the kill',
    );
    expect((await CHECKS['writes_recover']!(ctx, { max_ms: 2000 })).ok).toBe(false);
  });

  test('the ledger finds a lost acknowledged write', async () => {
    const data = madeUp([]);
    data.acks = [
      { ack: { sid: 's1', v: 1, m: 'm1' }, t: 1 },
      { ack: { sid: 's1', v: 2, m: 'm2' }, t: 2 },
      { ack: { sid: 's2', v: 3, m: 'x3' }, t: 3 },
    ];
    const store: Record<string, unknown> = {
      s1: { version: 2, data: { marker: 'm2' } },
      s2: { version: 2, data: {} },
    };
    const r = await CHECKS['ledger']!(
      {
        data,
        getSession: async (id) => ({ status: 200, body: JSON.stringify(store[id]) }),
      },
      {},
    );
    expect(r.ok).toBe(false);
    expect(r.summary).toBe('3 acknowledged writes to 2 sessions read back; 1 lost');
    expect(r.details).toEqual(['s2: version 2 < acknowledged 3']);
  });
});

describe('processor', () => {
  const events = () => {
    const counters = new Map<string, number>();
    return {
      counters,
      emit: (type: string, name: string, value = 1) => {
        if (type === 'counter') counters.set(name, (counters.get(name) ?? 0) + value);
      },
    };
  };
  const done = () => undefined;

  test('counts X-Cache and the serving instance, notices a correlation id that moved', () => {
    const ev = events();
    const ctx: VuContext = { vars: {} };
    startUser(ctx, ev, done);
    expect(ev.counters.get('phoenix.failed.all')).toBe(0);
    expect(String(ctx.vars['cid'])).toMatch(/^load-/);
    const r: RequestParams = { url: '/v1/tasks', method: 'POST', name: 'task' };
    stamp(r, ctx, ev, done);
    expect(r.headers!['x-correlation-id']).toBe(ctx.vars['cid']);
    observe(
      r,
      { statusCode: 200, headers: { 'x-cache': 'HIT', 'x-served-by': 'orchestrator-1' } },
      ctx,
      ev,
      done,
    );
    observe(
      r,
      { statusCode: 200, headers: { 'x-cache': 'MISS', 'x-served-by': 'orchestrator-2' } },
      ctx,
      ev,
      done,
    );
    observeError(new Error('socket hang up'), { ...r, method: 'GET' }, ctx, ev, done);
    expect(Object.fromEntries(ev.counters)).toMatchObject({
      'phoenix.cache.hit': 1,
      'phoenix.cache.miss': 1,
      'phoenix.served_by.orchestrator-1': 1,
      'phoenix.served_by.orchestrator-2': 1,
      'phoenix.sticky.moved': 1,
      'phoenix.failed.all': 1,
      'phoenix.failed.idempotent': 1,
    });
  });

  test('a 503 with Retry-After inside a retry loop is retried, not counted as failed', async () => {
    const ev = events();
    const ctx: VuContext = { vars: {} };
    startUser(ctx, ev, done);
    const r: RequestParams = { url: '/v1/sessions/x', method: 'PATCH', name: 'session.patch' };
    retryable(r, ctx, ev, done);
    sessionWrite(r, ctx, ev, done);
    expect(r.json).toMatchObject({ data: { marker: `${String(ctx.vars['cid'])}.1` } });
    observe(r, { statusCode: 503, headers: { 'retry-after': '0' } }, ctx, ev, done);
    expect(ev.counters.get('phoenix.retried')).toBe(1);
    // (zeroed counters are emitted once per worker: here by the test before)
    expect(ev.counters.get('phoenix.failed.all') ?? 0).toBe(0);
    expect(await new Promise((resolve) => retryPending(ctx, resolve))).toBe(true);
    expect(await new Promise((resolve) => retryPending(ctx, resolve))).toBe(false);
  });
});

describe('parsing, targets, scenarios, mixes, charts', () => {
  test("Artillery's console lines", () => {
    expect(phaseEvent('Phase started: failover (index: 1, duration: 14s) 16:22:49(+0000)')).toEqual({
      kind: 'started',
      name: 'failover',
      index: 1,
    });
    expect(ensureLine('\u001b[32mok\u001b[39m: http.response_time.p95 < 1500')).toEqual({
      check: 'http.response_time.p95 < 1500',
      ok: true,
    });
    expect(ensureLine('fail: vusers.failed == 0 (optional)')).toEqual({
      check: 'vusers.failed == 0',
      ok: false,
    });
    expect(seconds('2m')).toBe(120);
  });

  test('only loopback targets unless the cluster flag is given', () => {
    for (const h of ['localhost', '127.0.0.1', '127.8.9.10', '[::1]']) expect(isLoopbackHost(h)).toBe(true);
    for (const h of ['10.0.0.1', '192.168.1.2', 'example.com', '128.0.0.1'])
      expect(isLoopbackHost(h)).toBe(false);
    expect(() => assertAllowed('https://10.1.2.3:443', 'the target', false)).toThrow(/not on loopback/);
    expect(() => assertAllowed('https://10.1.2.3:443', 'the target', true)).not.toThrow();
  });

  test('every scenario has a ci and a full form, phases, checks, and faults named by known verbs', () => {
    const names = scenarioNames();
    expect(names).toEqual(
      expect.arrayContaining([
        'cache',
        'sticky-sessions',
        'failover-orchestrator-kill',
        'rolling-restart',
        'failover-redis-primary',
        'agent-pool-loss',
        'llm-provider-degraded',
        'spike',
        'soak',
      ]),
    );
    for (const name of names) {
      const s = loadScenario(name);
      expect(s.forms.sort()).toEqual(['ci', 'full']);
      expect(s.duration('ci')).toBeLessThanOrEqual(60);
      expect(Object.keys(s.checks('ci')).length).toBeGreaterThan(0);
      for (const c of Object.keys(s.checks('full'))) expect(CHECKS[c.replace(/#.*$/, '')]).toBeDefined();
      for (const f of [...s.faults('ci'), ...s.faults('full')]) expect(kubectlEquivalent(f)).not.toBe('');
      expect(s.ensure.thresholds.length + s.ensure.conditions.length).toBeGreaterThan(0);
    }
  });

  test('Zipf mix: popular ranks first, inputs of the run carry its id', () => {
    const table = zipfTable(10, 1.1);
    expect(table.at(-1)).toBeCloseTo(1);
    expect(zipfRank(() => 0, table)).toBe(0);
    expect(zipfRank(() => 0.999999, table)).toBe(9);
    const mix = zipfMix('run42');
    expect(mix.ranked.filter((t) => JSON.stringify(t.input).includes('run42')).length).toBe(60);
    expect(taskFor('git', () => 0, { runId: 'x', seq: 0 }).agent).toBe('git');
    expect(() => taskFor('nope', Math.random, { runId: 'x', seq: 0 })).toThrow(/unknown task mix/);
  });

  test('charts: round ticks, fault markers and phase bands in the SVG', () => {
    expect(niceTicks(37)).toEqual([0, 10, 20, 30, 40]);
    const svg = svgChart({
      title: 't',
      yLabel: 'ms',
      series: [
        {
          name: 'p95',
          color: '#000',
          points: [
            [0, 5],
            [1, null],
            [2, 50],
          ],
        },
      ],
      markers: [{ x: 1.5, label: 'kill orchestrator-2' }],
      bands: [{ from: 0, to: 2, label: 'failover' }],
      logY: true,
    });
    expect(svg).toContain('kill orchestrator-2');
    expect(svg).toContain('>failover<');
    expect(existsSync(FIXTURE)).toBe(true);
  });
});
