/** Pieces the benchmarks measure with: CPU time from /proc, medians, and their environment knobs. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime+stime of a process, and of its children it has already reaped (cutime+cstime), in ticks. */
export function processTicks(pid: number): { own: number; reaped: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  return { own: f[11]! + f[12]!, reaped: f[13]! + f[14]! };
}

/** Busy (non-idle, non-iowait) ticks of the whole machine, summed over every CPU. */
export function machineBusyTicks(): number {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return total - f[3]! - f[4]!;
}

export const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** A benchmark knob from the environment: a positive integer, or `def` when unset. */
export function envInt(name: string, def: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  if (!/^\d+$/.test(raw) || Number(raw) < 1)
    throw new Error(`${name} must be a positive integer (got ${raw})`);
  return Number(raw);
}
