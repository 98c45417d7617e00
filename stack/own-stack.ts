/**
 * Stacks of their own, for the system tests and the benchmarks that start one. Each user has a port
 * base, 100 apart (a stack spans base..base+83), so no two of them ever share a port, and a fixed
 * folder, so a run that was killed leaves its processes where the next run's `up` finds and stops them
 * (the stack records this process as its owner). `PHOENIX_PORT_BASE_<USER>` moves one user's base,
 * e.g. PHOENIX_PORT_BASE_STACK_TEST=30400.
 */
import os from 'node:os';
import path from 'node:path';

export const PORT_BASES = {
  'stack-test': 27400,
  'stack-leftovers': 27500,
  'load-scenarios': 27600,
  'dashboards-live': 27700,
  'bench-end-to-end': 27800,
  'alerts-drill': 29000,
  /** Configuration only: nothing listens. */
  'stack-config': 31000,
} as const;

export type StackUser = keyof typeof PORT_BASES;

export const portBaseVariable = (user: StackUser) =>
  `PHOENIX_PORT_BASE_${user.toUpperCase().replace(/-/g, '_')}`;

export function portBase(user: StackUser, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[portBaseVariable(user)];
  return raw ? Number(raw) : PORT_BASES[user];
}

/** The stack CLI's environment for `user`'s stack: its port base, its folder, this process as owner. */
export function ownStackEnv(user: StackUser, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return {
    PHOENIX_PORT_BASE: String(portBase(user, env)),
    PHOENIX_STACK_DIR: path.join(os.tmpdir(), `phoenix-stack-${user}`),
    PHOENIX_STACK_OWNER: String(process.pid),
  };
}
