/**
 * The report of one run: `report.md` (requests, error rate per phase, latency percentiles, cache hit
 * ratio, faults with their kubectl equivalents, what the monitor saw after each fault, what `ensure`
 * and the scenario checks decided) and two PNG charts (latency percentiles; requests and errors per
 * second), built from Artillery's JSON report, the request log, the fault log and the monitor.
 * Without a request log (a bare `artillery run --output` report) the charts use Artillery's 10-second
 * periods.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { svgChart, toPng, type Band, type Marker, type Series } from './charts.ts';
import {
  between,
  buckets,
  fmtMs,
  fmtPct,
  phaseWindows,
  stats,
  type ArtilleryPeriod,
  type CheckResult,
  type RunData,
} from './results.ts';

export interface ReportInput {
  data: RunData;
  checks: CheckResult[];
  /** Lines about the run itself (restore problems, aborted runs); default: the run's own. */
  notes?: string[];
}

export interface Report {
  markdown: string;
  ok: boolean;
  files: string[];
}

const sum = (o: Record<string, number> | undefined, f: (k: string) => boolean) =>
  Object.entries(o ?? {}).reduce((s, [k, v]) => (f(k) ? s + v : s), 0);
const artilleryErrors = (p: ArtilleryPeriod) =>
  sum(p.counters, (k) => /^http\.codes\.5\d\d$/.test(k) || k.startsWith('errors.'));
const rel = (origin: number, ms: number) => `${((ms - origin) / 1000).toFixed(1)}`;
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function table(head: string[], rows: string[][]): string {
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

interface Timeline {
  origin: number;
  /** x in seconds. */
  rps: Array<[number, number]>;
  eps: Array<[number, number]>;
  p50: Array<[number, number | null]>;
  p95: Array<[number, number | null]>;
  p99: Array<[number, number | null]>;
  bucketS: number;
  source: string;
}

function timeline(data: RunData): Timeline {
  const { meta } = data;
  const origin = meta.phases[0]?.start ?? meta.started;
  if (data.requests.length > 0) {
    const end = Math.max(meta.ended, ...data.requests.slice(-50).map((r) => r.t + 1));
    const bucketS = Math.max(1, Math.ceil((end - origin) / 1000 / 300));
    const bs = buckets(data.requests, origin, end, bucketS * 1000);
    const x = (t: number) => (t - origin) / 1000;
    return {
      origin,
      bucketS,
      source: `the request log, ${bucketS}-second buckets`,
      rps: bs.map((b) => [x(b.t), b.requests / bucketS]),
      eps: bs.map((b) => [x(b.t), b.failed / bucketS]),
      p50: bs.map((b) => [x(b.t), b.p50 ?? null]),
      p95: bs.map((b) => [x(b.t), b.p95 ?? null]),
      p99: bs.map((b) => [x(b.t), b.p99 ?? null]),
    };
  }
  const periods = [...(data.artillery?.intermediate ?? [])].sort(
    (a, b) => Number(a.period) - Number(b.period),
  );
  const o = periods.length ? Math.min(origin, Number(periods[0]!.period)) : origin;
  const x = (p: ArtilleryPeriod) => (Number(p.period) - o) / 1000;
  const width = (p: ArtilleryPeriod) =>
    Math.max(1, ((p.lastMetricAt ?? 0) - (p.firstMetricAt ?? 0)) / 1000 || 10);
  const rt = (p: ArtilleryPeriod) => p.summaries?.['http.response_time'];
  return {
    origin: o,
    bucketS: 10,
    source: "Artillery's 10-second periods",
    rps: periods.map((p) => [x(p), (p.counters?.['http.requests'] ?? 0) / width(p)]),
    eps: periods.map((p) => [x(p), artilleryErrors(p) / width(p)]),
    p50: periods.map((p) => [x(p), rt(p)?.p50 ?? rt(p)?.median ?? null]),
    p95: periods.map((p) => [x(p), rt(p)?.p95 ?? null]),
    p99: periods.map((p) => [x(p), rt(p)?.p99 ?? null]),
  };
}

function charts(data: RunData, tl: Timeline, dir: string): string[] {
  const markers: Marker[] = data.faults
    .filter((f) => f.at !== undefined)
    .map((f) => ({
      x: (Date.parse(f.time) - tl.origin) / 1000,
      label: `${f.verb} ${f.target}`.slice(0, 40),
    }));
  const bands: Band[] = phaseWindows(data.meta).map((p) => ({
    from: Math.max(0, (p.start - tl.origin) / 1000),
    to: (p.end - tl.origin) / 1000,
    label: p.name,
  }));
  const latency: Series[] = [
    { name: 'p50', color: '#2e86de', points: tl.p50 },
    { name: 'p95', color: '#e67e22', points: tl.p95 },
    { name: 'p99', color: '#8e44ad', points: tl.p99 },
  ];
  const rate: Series[] = [
    { name: 'requests/s', color: '#2e86de', points: tl.rps },
    { name: 'failed/s', color: '#c0392b', points: tl.eps },
  ];
  const files: Array<[string, string]> = [
    [
      'latency.png',
      svgChart({
        title: `${data.meta.scenario}: latency percentiles (ms, log scale)`,
        yLabel: 'ms',
        series: latency,
        markers,
        bands,
        logY: true,
      }),
    ],
    [
      'throughput.png',
      svgChart({
        title: `${data.meta.scenario}: requests and failed requests per second`,
        yLabel: 'per second',
        series: rate,
        markers,
        bands,
      }),
    ],
  ];
  for (const [name, svg] of files) writeFileSync(path.join(dir, name), toPng(svg));
  return files.map(([name]) => name);
}

/** What the monitor saw after each fault, relative to it. */
function afterFaults(data: RunData): string[] {
  const scheduled = data.faults.filter((f) => f.at !== undefined);
  const lines: string[] = [];
  scheduled.forEach((f, i) => {
    const from = Date.parse(f.time);
    const to = i + 1 < scheduled.length ? Date.parse(scheduled[i + 1]!.time) : data.meta.ended;
    const targets = f.target.split(', ');
    const seen = data.transitions
      .filter((x) => x.t >= from && x.t < to && x.from !== undefined)
      .filter(
        (x) =>
          targets.some((n) => x.subject.includes(n)) ||
          x.subject.startsWith('breaker:') ||
          x.subject.startsWith('redis:') ||
          (f.verb === 'restart' && x.subject.startsWith('lb:')),
      )
      .slice(0, 14)
      .map((x) => `+${((x.t - from) / 1000).toFixed(1)} s ${x.subject}: ${x.from} → ${x.to}`);
    lines.push(
      `- **${f.verb} ${f.target}** at ${rel(data.meta.phases[0]?.start ?? data.meta.started, from)} s` +
        ` (the verb took ${((Date.parse(f.done) - Date.parse(f.asked ?? f.time)) / 1000).toFixed(1)} s)` +
        (seen.length ? `:\n${seen.map((s) => `  - ${s}`).join('\n')}` : ': no change seen by the monitor'),
    );
  });
  return lines;
}

export function buildReport(input: ReportInput, dir: string): Report {
  const { data, checks } = input;
  const { meta } = data;
  const notes = input.notes ?? meta.notes ?? [];
  const agg = data.artillery?.aggregate;
  const c = agg?.counters ?? {};
  const rt = agg?.summaries?.['http.response_time'];
  const ensureOk = meta.ensure.every((e) => e.ok);
  const checksOk = checks.every((x) => x.ok);
  // Artillery exits 1 when an ensure check failed and 21 when an expectation failed (the expect
  // plugin); both are judged above by the checks themselves. Any other code is a crash or a kill.
  const code = meta.artilleryExitCode;
  const exitOk = code === 0 || code === 21 || (code === 1 && !ensureOk);
  const ok = ensureOk && checksOk && exitOk && notes.length === 0;
  const tl = timeline(data);
  const files = charts(data, tl, dir);
  const origin = tl.origin;

  const hits = c['phoenix.cache.hit'] ?? 0;
  const misses = c['phoenix.cache.miss'] ?? 0;
  const bypass = c['phoenix.cache.bypass'] ?? 0;
  const failedN = data.requests.length ? stats(data.requests).failed : agg ? artilleryErrors(agg) : 0;
  const total = data.requests.length || c['http.requests'] || 0;
  const servedBy = Object.entries(c)
    .filter(([k]) => k.startsWith('phoenix.served_by.'))
    .map(([k, v]) => `${k.slice('phoenix.served_by.'.length)} ${v}`)
    .join(', ');

  const md: string[] = [];
  md.push(`# ${meta.scenario} (${meta.form} form): ${ok ? 'PASSED' : 'FAILED'}`);
  md.push('');
  md.push(meta.description);
  md.push('');
  md.push(
    `Run \`${meta.runId}\` on ${new Date(meta.started).toISOString()}, ${Math.round((meta.ended - meta.started) / 1000)} s, ` +
      `against the ${meta.target.kind === 'local' ? 'local stack' : 'cluster'} at ${meta.target.url}` +
      (meta.artilleryVersion ? ` with Artillery ${meta.artilleryVersion}` : '') +
      `; Artillery exited ${meta.artilleryExitCode}.`,
  );
  if (!ok) {
    const broken = [
      ...meta.ensure.filter((e) => !e.ok).map((e) => `ensure: ${e.check}`),
      ...checks.filter((x) => !x.ok).map((x) => `${x.name}: ${x.summary}`),
      ...(exitOk ? [] : [`Artillery exited ${meta.artilleryExitCode}`]),
      ...notes,
    ];
    md.push('');
    md.push('**Broken promises:**');
    md.push('');
    for (const b of broken) md.push(`- ${b}`);
  }
  md.push('');
  md.push('## Summary');
  md.push('');
  md.push(
    table(
      [
        'requests',
        'failed (5xx or no answer)',
        'error rate',
        'p50',
        'p95',
        'p99',
        'cache hit ratio',
        'served by',
      ],
      [
        [
          String(total),
          String(failedN),
          fmtPct(total ? failedN / total : 0),
          fmtMs(rt?.p50 ?? rt?.median),
          fmtMs(rt?.p95),
          fmtMs(rt?.p99),
          hits + misses
            ? `${fmtPct(hits / (hits + misses), 1)} (${hits} HIT, ${misses} MISS, ${bypass} BYPASS)`
            : '-',
          servedBy || '-',
        ],
      ],
    ),
  );
  md.push('');
  md.push(
    'Latencies are Artillery\u2019s time to first byte over the whole run; per phase they are the request log\u2019s time to the end of the response.',
  );

  md.push('');
  md.push('## Phases');
  md.push('');
  const phaseRows = phaseWindows(meta).map((p) => {
    const s = stats(between(data.requests, p.start, p.end));
    const dur = (p.end - p.start) / 1000;
    return [
      p.name,
      rel(origin, p.start),
      `${dur.toFixed(0)} s`,
      String(s.requests),
      (s.requests / Math.max(1, dur)).toFixed(1),
      String(s.failed),
      fmtPct(s.errorRate),
      fmtMs(s.p50),
      fmtMs(s.p95),
      fmtMs(s.p99),
    ];
  });
  md.push(
    data.requests.length
      ? table(
          [
            'phase',
            'starts at (s)',
            'length',
            'requests',
            'req/s',
            'failed',
            'error rate',
            'p50',
            'p95',
            'p99',
          ],
          phaseRows,
        )
      : 'No request log: see Artillery\u2019s periods in the charts.',
  );

  if (data.faults.length) {
    md.push('');
    md.push('## Faults');
    md.push('');
    md.push(
      table(
        ['at (s)', 'took', 'fault', 'target', 'result', 'kubectl equivalent'],
        data.faults.map((f) => [
          f.at === undefined
            ? `${rel(origin, Date.parse(f.time))} (restore)`
            : rel(origin, Date.parse(f.time)),
          `${((Date.parse(f.done) - Date.parse(f.asked ?? f.time)) / 1000).toFixed(1)} s`,
          f.verb,
          f.target,
          `${f.ok ? 'ok' : 'FAILED'}${f.detail ? `: ${f.detail}` : ''}`.slice(0, 160),
          f.kubectl ? `\`${f.kubectl}\`` : '',
        ]),
      ),
    );
    const seen = afterFaults(data);
    if (seen.length) {
      md.push('');
      md.push('### Detection and recovery (what the monitor saw, four times a second)');
      md.push('');
      md.push(...seen);
    }
  }

  md.push('');
  md.push('## Checks');
  md.push('');
  md.push('Artillery `ensure`:');
  md.push('');
  md.push(
    meta.ensure.length
      ? table(
          ['check', 'result'],
          meta.ensure.map((e) => [`\`${e.check}\``, e.ok ? 'ok' : '**FAILED**']),
        )
      : '(no verdict reported by Artillery)',
  );
  md.push('');
  md.push('Scenario checks (the driver):');
  md.push('');
  md.push(
    table(
      ['check', 'result', 'measured'],
      checks.map((x) => [
        x.name,
        x.ok ? 'ok' : '**FAILED**',
        [x.summary, ...(x.ok ? [] : (x.details ?? []))].join('; '),
      ]),
    ),
  );

  md.push('');
  md.push('## Charts');
  md.push('');
  md.push(`From ${tl.source}; dashed red lines are the faults, shaded bands the phases.`);
  md.push('');
  for (const f of files) md.push(`![${f.replace('.png', '')}](${f})`, '');

  md.push('## Artillery counters');
  md.push('');
  md.push(
    table(
      ['counter', 'value'],
      Object.entries(c)
        .filter(
          ([k]) => !k.startsWith('plugins.metrics-by-endpoint') && !k.startsWith('vusers.created_by_name'),
        )
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, String(v)]),
    ),
  );
  md.push('');
  const markdown = md.join('\n');
  writeFileSync(path.join(dir, 'report.md'), markdown);
  return { markdown, ok, files: ['report.md', ...files] };
}
