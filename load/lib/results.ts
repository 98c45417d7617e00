/**
 * What a run left behind, read back: Artillery's JSON report, the processor's request log and session
 * ledger, the phases (from Artillery's console), the fault log and the monitor's transitions; and the
 * small statistics the checks and the report share.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { FaultRecord } from './faults.ts';
import type { Transition } from './monitor.ts';
import type { AckRecord, RequestRecord } from './processor.ts';

export interface Summary {
  min?: number;
  max?: number;
  mean?: number;
  median?: number;
  p50?: number;
  p75?: number;
  p90?: number;
  p95?: number;
  p99?: number;
  p999?: number;
  count?: number;
}

/** One period (or the aggregate) of `artillery run --output`. */
export interface ArtilleryPeriod {
  counters?: Record<string, number>;
  rates?: Record<string, number>;
  summaries?: Record<string, Summary>;
  firstMetricAt?: number;
  lastMetricAt?: number;
  period?: number | string;
}

export interface ArtilleryReport {
  aggregate: ArtilleryPeriod;
  intermediate: ArtilleryPeriod[];
}

export interface PhaseTime {
  name: string;
  index: number;
  /** ms since the epoch. */
  start: number;
  end?: number;
}

export interface EnsureResult {
  check: string;
  ok: boolean;
}

export interface RunMeta {
  scenario: string;
  description: string;
  form: string;
  runId: string;
  target: { kind: 'local' | 'cluster'; url: string };
  started: number;
  ended: number;
  artilleryExitCode: number | null;
  artilleryVersion?: string;
  phases: PhaseTime[];
  ensure: EnsureResult[];
  /** Problems of the run itself (a fault that could not be injected, a stack not restored). */
  notes: string[];
}

export interface CheckResult {
  name: string;
  ok: boolean;
  /** One line: what was measured against what was promised. */
  summary: string;
  details?: string[];
}

export interface RunData {
  meta: RunMeta;
  artillery?: ArtilleryReport;
  requests: RequestRecord[];
  acks: AckRecord[];
  faults: FaultRecord[];
  transitions: Transition[];
}

function readJsonl<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as T];
      } catch {
        return []; // a line cut short by a killed process
      }
    });
}

/** Reads the request logs of every worker; requests sorted by start time. */
export function readRequestLog(dir: string): { requests: RequestRecord[]; acks: AckRecord[] } {
  const requests: RequestRecord[] = [];
  const acks: AckRecord[] = [];
  if (!existsSync(dir)) return { requests, acks };
  for (const f of readdirSync(dir).filter((x) => /^requests-.*\.jsonl$/.test(x))) {
    for (const line of readJsonl<RequestRecord | AckRecord>(path.join(dir, f))) {
      if ('ack' in line) acks.push(line);
      else requests.push(line);
    }
  }
  requests.sort((a, b) => a.t - b.t);
  acks.sort((a, b) => a.t - b.t);
  return { requests, acks };
}

export function readRun(dir: string): RunData {
  const meta = JSON.parse(readFileSync(path.join(dir, 'run.json'), 'utf8')) as RunMeta;
  const artilleryFile = path.join(dir, 'artillery.json');
  return {
    meta,
    artillery: existsSync(artilleryFile)
      ? (JSON.parse(readFileSync(artilleryFile, 'utf8')) as ArtilleryReport)
      : undefined,
    ...readRequestLog(dir),
    faults: readJsonl<FaultRecord>(path.join(dir, 'faults.jsonl')),
    transitions: readJsonl<Transition>(path.join(dir, 'monitor.jsonl')),
  };
}

/** "Phase started: steady (index: 1, duration: 15s) 16:22:49(+0000)" and "Phase completed: ...". */
export function phaseEvent(
  line: string,
): { kind: 'started' | 'completed'; name: string; index: number } | undefined {
  const m = /Phase (started|completed): (.*?) \(index: (\d+)/.exec(line);
  if (!m) return undefined;
  return { kind: m[1] as 'started' | 'completed', name: m[2]!, index: Number(m[3]) };
}

/** The `ensure` plugin's verdict lines after "Checks:": "ok: <expression>" or "fail: <expression>". */
export function ensureLine(line: string): EnsureResult | undefined {
  // eslint-disable-next-line no-control-regex
  const plain = line.replace(/\u001b\[[0-9;]*m/g, '').trim();
  const m = /^(ok|fail): (.+?)( \(optional\))?$/.exec(plain);
  return m ? { check: m[2]!, ok: m[1] === 'ok' } : undefined;
}

/** A request the client finally saw fail: 5xx or no answer, and not retried after Retry-After. */
export const failed = (r: RequestRecord) => (r.s === 0 || r.s >= 500) && r.r !== 1;

export function percentile(values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export const between = (rs: RequestRecord[], from: number, to: number) =>
  rs.filter((r) => r.t >= from && r.t < to);

export interface WindowStats {
  requests: number;
  failed: number;
  errorRate: number;
  p50?: number;
  p95?: number;
  p99?: number;
}

export function stats(rs: RequestRecord[]): WindowStats {
  const bad = rs.filter(failed).length;
  const d = rs.map((r) => r.d);
  return {
    requests: rs.length,
    failed: bad,
    errorRate: rs.length ? bad / rs.length : 0,
    p50: percentile(d, 50),
    p95: percentile(d, 95),
    p99: percentile(d, 99),
  };
}

/** Phase boundaries: each phase ends where the next starts (the last at the run's end). */
export function phaseWindows(meta: RunMeta): Array<PhaseTime & { end: number }> {
  return meta.phases.map((p, i) => ({ ...p, end: p.end ?? meta.phases[i + 1]?.start ?? meta.ended }));
}

export function phaseWindow(meta: RunMeta, name: string): { start: number; end: number } {
  const w = phaseWindows(meta).find((p) => p.name === name);
  if (!w) throw new Error(`no phase named ${name} (phases: ${meta.phases.map((p) => p.name).join(', ')})`);
  return w;
}

export interface Bucket {
  t: number;
  requests: number;
  failed: number;
  p50?: number;
  p95?: number;
  p99?: number;
}

/** Requests grouped by start time into buckets of `ms`, from `from` to `to`. */
export function buckets(rs: RequestRecord[], from: number, to: number, ms: number): Bucket[] {
  const n = Math.max(1, Math.ceil((to - from) / ms));
  const groups: RequestRecord[][] = Array.from({ length: n }, () => []);
  for (const r of rs) {
    const i = Math.floor((r.t - from) / ms);
    if (i >= 0 && i < n) groups[i]!.push(r);
  }
  return groups.map((g, i) => {
    const s = stats(g);
    return { t: from + i * ms, requests: g.length, failed: s.failed, p50: s.p50, p95: s.p95, p99: s.p99 };
  });
}

export const fmtMs = (v: number | undefined) =>
  v === undefined ? '-' : v >= 10000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`;
export const fmtPct = (v: number | undefined, digits = 2) =>
  v === undefined || Number.isNaN(v) ? '-' : `${(v * 100).toFixed(digits)}%`;
