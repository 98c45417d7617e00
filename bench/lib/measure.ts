/** Pieces both benchmarks measure with: CPU time from /proc, medians, and wrk's request script. */
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

/** Writes a wrk Lua script that POSTs `body` as JSON with a bearer token; returns its path. */
export function writeWrkPostScript(file: string, body: string, bearer: string): string {
  let level = '=';
  while (body.includes(`]${level}]`)) level += '=';
  fs.writeFileSync(
    file,
    [
      'wrk.method = "POST"',
      'wrk.headers["Content-Type"] = "application/json"',
      `wrk.headers["Authorization"] = "Bearer ${bearer}"`,
      `wrk.body = [${level}[${body}]${level}]`,
      '',
    ].join('\n'),
  );
  return file;
}
