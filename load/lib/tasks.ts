/**
 * The task payloads the load scenarios send: what clients of phoenix-orch ask for, spread over the
 * three agent pools and their actions, with the inputs a person would use (the `phoenix-orch`
 * repository's real files, the sample vault's notes, chat prompts to the simulated models).
 *
 * Mixes:
 *   mixed     the everyday mix: mostly repeated questions (cache hits), some chats that are not
 *             deterministic (temperature > 0, never cached) and reach the LLM providers
 *   zipf      the cache scenario's mix: Zipf-distributed over a catalogue of stable inputs (warmed
 *             before the run) and inputs new to this run, plus a share of inputs never seen before
 *   git, obsidian, llm   one pool only (with `cache: bypass` when asked, so every request reaches it)
 *   llm-live  chats that are not deterministic, so every one reaches a provider
 *   session   a conversation recorded in a session: chats and notes (a task with a session is keyed by
 *             the session's version, so each one is computed)
 */
import type { AgentPool } from '../../platform/pools.ts';

export type Pool = AgentPool;

export interface Task {
  agent: Pool;
  action: string;
  input: Record<string, unknown>;
  cache?: 'use' | 'bypass' | 'refresh';
}

export const REPO = 'phoenix-orch';
const FILES = [
  'README.md',
  'package.json',
  'services/orchestrator/app.ts',
  'services/orchestrator/cache.ts',
  'services/kit/service.ts',
  'stack/cli.ts',
];
const NOTES = ['On-call.md', 'runbooks/Redis failover.md', 'daily/2026-11-27.md'];
const MODELS = ['sim-small', 'sim-large'];
const QUESTIONS = [
  'What does the orchestrator do on a cache miss?',
  'Summarise the Redis failover runbook in three lines.',
  'Which agent pool answers git questions?',
  'Explain single flight across orchestrator instances.',
  'When does a circuit breaker open?',
  'What is the on-call rotation for this week?',
];

const chat = (content: string, model: string, temperature: number): Task => ({
  agent: 'llm',
  action: 'chat',
  input: {
    model,
    temperature,
    messages: [
      { role: 'system', content: 'You answer questions about the phoenix-orch platform.' },
      { role: 'user', content },
    ],
  },
});

/** The fixed catalogue: inputs whose answers never change while the stack runs (cacheable). */
export function stableTasks(): Task[] {
  const git: Task[] = [
    { agent: 'git', action: 'log', input: { repo: REPO, limit: 5 } },
    { agent: 'git', action: 'log', input: { repo: REPO, limit: 20 } },
    { agent: 'git', action: 'log', input: { repo: REPO, limit: 10, path: 'services' } },
    { agent: 'git', action: 'show', input: { repo: REPO } },
    { agent: 'git', action: 'diff', input: { repo: REPO, from: 'HEAD~1', to: 'HEAD', max_bytes: 65536 } },
    { agent: 'git', action: 'tree', input: { repo: REPO, path: 'services', recursive: false } },
    { agent: 'git', action: 'grep', input: { repo: REPO, pattern: 'Sentinel', path: 'services', limit: 20 } },
    { agent: 'git', action: 'blame', input: { repo: REPO, path: 'README.md', start_line: 1, end_line: 20 } },
    ...FILES.map((path): Task => ({ agent: 'git', action: 'read', input: { repo: REPO, path } })),
  ];
  const obsidian: Task[] = [
    ...NOTES.map((path): Task => ({ agent: 'obsidian', action: 'read', input: { path } })),
    { agent: 'obsidian', action: 'backlinks', input: { path: 'On-call.md' } },
    { agent: 'obsidian', action: 'list', input: { path: '' } },
    { agent: 'obsidian', action: 'list', input: { path: 'runbooks' } },
    { agent: 'obsidian', action: 'search', input: { query: 'redis failover' } },
    { agent: 'obsidian', action: 'search', input: { query: 'on-call', tags: ['oncall'] } },
  ];
  const llm: Task[] = QUESTIONS.flatMap((q) => MODELS.map((m) => chat(q, m, 0)));
  return [...git, ...obsidian, ...llm];
}

const STABLE = stableTasks();
const BY_POOL: Record<Pool, Task[]> = {
  git: STABLE.filter((t) => t.agent === 'git'),
  obsidian: STABLE.filter((t) => t.agent === 'obsidian'),
  llm: STABLE.filter((t) => t.agent === 'llm'),
};
/** Not cacheable at all (answered `X-Cache: BYPASS`). */
const MODELS_TASK: Task = { agent: 'llm', action: 'models', input: {} };

/** Inputs of this run only (the run id is in them): the first request for each is a cache miss. */
export function coldTask(runId: string, i: number): Task {
  if (i % 3 === 2) {
    return { agent: 'obsidian', action: 'search', input: { query: `incident ${runId} ${i}` } };
  }
  return chat(`Incident ${runId}-${i}: what should the on-call engineer check first?`, MODELS[i % 2]!, 0);
}

/** An input nobody asked before and nobody will ask again. */
export function uniqueTask(nonce: string): Task {
  return chat(`One-off question ${nonce}: is the platform healthy?`, 'sim-small', 0);
}

export type Rng = () => number;

const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;

/** Cumulative Zipf weights (exponent s) over ranks 1..n. */
export function zipfTable(n: number, s: number): number[] {
  const w = Array.from({ length: n }, (_, i) => 1 / Math.pow(i + 1, s));
  const total = w.reduce((a, b) => a + b, 0);
  let acc = 0;
  return w.map((x) => (acc += x / total));
}

/** A rank (0-based) drawn from a cumulative table. */
export function zipfRank(rng: Rng, table: readonly number[]): number {
  const u = rng();
  let lo = 0;
  let hi = table.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (table[mid]! < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface ZipfMix {
  /** The catalogue ranked by popularity: stable inputs interleaved with this run's cold inputs. */
  ranked: Task[];
  table: number[];
  /** Share of requests that are a never-seen input. */
  newShare: number;
}

export const ZIPF_EXPONENT = 1.1;
export const ZIPF_COLD_KEYS = 60;
export const ZIPF_NEW_SHARE = 0.05;

export function zipfMix(runId: string): ZipfMix {
  const stable = STABLE;
  const ranked: Task[] = [];
  // Every third rank is an input of this run, so cold inputs are spread over popular and rare ranks.
  let s = 0;
  let c = 0;
  while (s < stable.length || c < ZIPF_COLD_KEYS) {
    if ((ranked.length % 3 === 2 && c < ZIPF_COLD_KEYS) || s >= stable.length) {
      ranked.push(coldTask(runId, c++));
    } else ranked.push(stable[s++]!);
  }
  return { ranked, table: zipfTable(ranked.length, ZIPF_EXPONENT), newShare: ZIPF_NEW_SHARE };
}

/** One task of a mix. */
export function taskFor(mix: string, rng: Rng, opts: { runId: string; zipf?: ZipfMix; seq: number }): Task {
  const live = () => chat(`${pick(rng, QUESTIONS)} (${opts.seq})`, pick(rng, MODELS), 0.7);
  switch (mix) {
    case 'zipf': {
      const z = opts.zipf ?? zipfMix(opts.runId);
      if (rng() < z.newShare) return uniqueTask(`${opts.runId}-${opts.seq}-${Math.floor(rng() * 1e9)}`);
      return z.ranked[zipfRank(rng, z.table)]!;
    }
    case 'git':
    case 'obsidian':
    case 'llm':
      return pick(rng, BY_POOL[mix]);
    case 'llm-live':
      return live();
    case 'session': {
      // A conversation: chats (recorded as the session's turns) and the notes they refer to.
      const r = rng();
      if (r < 0.7) return pick(rng, BY_POOL.llm);
      return pick(rng, BY_POOL.obsidian);
    }
    case 'mixed': {
      const r = rng();
      if (r < 0.45) return pick(rng, BY_POOL.git);
      if (r < 0.75) return pick(rng, BY_POOL.obsidian);
      if (r < 0.88) return pick(rng, BY_POOL.llm);
      if (r < 0.9) return MODELS_TASK;
      return live();
    }
    default:
      throw new Error(`unknown task mix ${mix}`);
  }
}

/** The cache key a request is about, as far as the client can tell: pool, action and input. */
export const taskKey = (t: Task) => `${t.agent}.${t.action}:${JSON.stringify(t.input)}`;
