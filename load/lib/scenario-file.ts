/**
 * A scenario file (load/scenarios/<name>.yml) as the driver reads it: Artillery's own script, plus
 * what the driver needs under `phoenix` (Artillery ignores unknown keys):
 *
 *   config.phoenix.checks                    the driver's checks and their thresholds (load/lib/checks.ts)
 *   config.environments.<form>.phases        the phases of the form (`ci` short, `full` long)
 *   config.environments.<form>.phoenix       per-form `faults` (and check overrides)
 *
 * A fault step is `{ at: <seconds after the first phase starts>, <verb>: <argument> }`; see FaultStep.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

export const SCENARIO_DIR = path.resolve(import.meta.dirname, '..', 'scenarios');

export interface Phase {
  name?: string;
  duration?: number | string;
  pause?: number | string;
  arrivalRate?: number;
  rampTo?: number;
  arrivalCount?: number;
}

/**
 * One fault at a fixed time. NAME is a process name from `npm run stack -- status` (`orchestrator-2`),
 * `redis-primary` (the primary at that moment), or `role:<role>` (every process of that role, e.g.
 * `role:obsidian-agent`, an agent pool).
 */
export type FaultStep = { at: number } & (
  | { kill: string; signal?: string }
  /** NAME, or `killed`: every process this run killed and has not restarted yet. */
  | { restart: string }
  | { pause: string }
  | { resume: string }
  | { drain: string }
  | { undrain: string }
  /** SIGTERM each orchestrator in turn, waiting for it to exit, restarting it and waiting until it is back in rotation. */
  | { 'rolling-restart': 'orchestrators' }
  | { failover: true }
  /** Merge a behaviour into LLM simulators (`llm-simulator-1` or `all`): latency, error_rate, ... */
  | { simulator: string; behaviour: Record<string, unknown> }
  /** Put simulators back to the behaviour they had before the run. */
  | { 'simulator-restore': string }
);

export type Checks = Record<string, Record<string, unknown>>;

export interface ScenarioFile {
  name: string;
  file: string;
  description: string;
  forms: string[];
  phases(form: string): Phase[];
  faults(form: string): FaultStep[];
  checks(form: string): Checks;
  /** Seconds of load the form's phases add up to. */
  duration(form: string): number;
  /** What `ensure` is told to check (for the report). */
  ensure: { thresholds: Array<Record<string, number>>; conditions: Array<{ expression: string }> };
}

/** Artillery durations: a number of seconds or a string like "30s", "2m", "1h". */
export function seconds(v: number | string | undefined): number {
  if (v === undefined) return 0;
  if (typeof v === 'number') return v;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h)?$/.exec(v.trim());
  if (!m) throw new Error(`not a duration: ${v}`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return unit === 'ms' ? n / 1000 : unit.startsWith('m') ? n * 60 : unit === 'h' ? n * 3600 : n;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function merge(a: Obj, b: Obj): Obj {
  const out: Obj = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = isObj(v) && isObj(out[k]) ? merge(out[k] as Obj, v) : v;
  return out;
}

/** The comment block at the top of the file, without the `#`. */
function headerComment(text: string): string {
  const lines: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('#')) break;
    lines.push(line.replace(/^#\s?/, ''));
  }
  return lines.join(' ').replace(/\s+/g, ' ').trim();
}

export function scenarioNames(): string[] {
  return readdirSync(SCENARIO_DIR)
    .filter((f) => f.endsWith('.yml'))
    .map((f) => f.slice(0, -4))
    .sort();
}

export function loadScenario(name: string): ScenarioFile {
  if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`not a scenario name: ${name}`);
  const file = path.join(SCENARIO_DIR, `${name}.yml`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`no scenario ${name}; known: ${scenarioNames().join(', ')}`);
  }
  const doc = parse(text) as { config?: Obj };
  const config = doc.config ?? {};
  const envs = (isObj(config['environments']) ? config['environments'] : {}) as Record<string, Obj>;
  const base = (isObj(config['phoenix']) ? config['phoenix'] : {}) as Obj;
  const env = (form: string): Obj => {
    const e = envs[form];
    if (!e) throw new Error(`${name} has no form ${form}; it has ${Object.keys(envs).join(', ')}`);
    return e;
  };
  const phoenix = (form: string) => merge(base, (env(form)['phoenix'] as Obj | undefined) ?? {});
  const ensure = (config['ensure'] ?? {}) as ScenarioFile['ensure'];
  const phases = (form: string) => (env(form)['phases'] as Phase[] | undefined) ?? [];
  return {
    name,
    file,
    description: headerComment(text),
    forms: Object.keys(envs),
    phases,
    faults: (form) =>
      [...((phoenix(form)['faults'] as FaultStep[] | undefined) ?? [])].sort((a, b) => a.at - b.at),
    checks: (form) => (phoenix(form)['checks'] as Checks | undefined) ?? {},
    duration: (form) => phases(form).reduce((s, p) => s + seconds(p.duration ?? p.pause), 0),
    ensure: { thresholds: ensure.thresholds ?? [], conditions: ensure.conditions ?? [] },
  };
}

/** The verb of a fault step. */
export function faultVerb(step: FaultStep): string {
  return Object.keys(step).find((k) => k !== 'at' && k !== 'signal' && k !== 'behaviour')!;
}
