/** A few Prometheus HTTP API calls (instant and range queries) for the checks and the report. */
import { JOBS } from '../../platform/workloads.ts';

export interface Sample {
  metric: Record<string, string>;
  value: number;
}

export interface RangeSeries {
  metric: Record<string, string>;
  /** [seconds since the epoch, value] */
  values: Array<[number, number]>;
}

export class Prometheus {
  readonly url: string;

  constructor(url: string) {
    this.url = url;
  }

  private async get<T>(path: string, params: Record<string, string>): Promise<T> {
    const res = await fetch(`${this.url}${path}?${new URLSearchParams(params).toString()}`, {
      signal: AbortSignal.timeout(10000),
    });
    const body = (await res.json()) as { status: string; error?: string; data: T };
    if (body.status !== 'success') throw new Error(`Prometheus ${path}: ${body.error ?? res.status}`);
    return body.data;
  }

  /** The query's value at `timeMs` (default now). */
  async instant(query: string, timeMs?: number): Promise<Sample[]> {
    const data = await this.get<{
      result: Array<{ metric: Record<string, string>; value: [number, string] }>;
    }>('/api/v1/query', { query, ...(timeMs ? { time: String(timeMs / 1000) } : {}) });
    return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  async range(query: string, startMs: number, endMs: number, stepS = 5): Promise<RangeSeries[]> {
    const data = await this.get<{
      result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }>;
    }>('/api/v1/query_range', {
      query,
      start: String(startMs / 1000),
      end: String(endMs / 1000),
      step: String(stepS),
    });
    return data.result.map((r) => ({ metric: r.metric, values: r.values.map(([t, v]) => [t, Number(v)]) }));
  }

  /** Waits until Prometheus has scraped past `timeMs` (its scrape interval is 5 s locally). */
  async waitScrapedAfter(timeMs: number, timeoutMs = 20000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const r = await this.instant(`max(timestamp(up{job="${JOBS.orchestrator}"}))`).catch(() => []);
      if ((r[0]?.value ?? 0) * 1000 > timeMs) return;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/** A range selector covering [start, end] in whole seconds, e.g. `[47s]`. */
export const rangeOf = (startMs: number, endMs: number) =>
  `[${Math.max(1, Math.ceil((endMs - startMs) / 1000))}s]`;
