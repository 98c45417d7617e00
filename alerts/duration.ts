/** Prometheus durations ("90s", "1h30m", "3d") as whole seconds, and back. */

const UNITS: ReadonlyArray<readonly [string, number]> = [
  ['w', 7 * 86400],
  ['d', 86400],
  ['h', 3600],
  ['m', 60],
  ['s', 1],
];

const DURATION = /^(?:\d+[wdhms])+$/;

export function isDuration(text: string): boolean {
  return DURATION.test(text) && parseDuration(text) > 0;
}

/** Whole seconds in a Prometheus duration made of w, d, h, m and s parts (no milliseconds). */
export function parseDuration(text: string): number {
  if (!DURATION.test(text)) throw new Error(`not a duration: ${JSON.stringify(text)}`);
  let seconds = 0;
  for (const [, value, unit] of text.matchAll(/(\d+)([wdhms])/g)) {
    seconds += Number(value) * (UNITS.find(([u]) => u === unit)?.[1] ?? 0);
  }
  return seconds;
}

/** The shortest Prometheus duration for whole seconds, largest unit first (weeks are not used). */
export function formatDuration(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds < 0) throw new Error(`not whole seconds: ${seconds}`);
  if (seconds === 0) return '0s';
  let rest = seconds;
  let out = '';
  for (const [unit, size] of UNITS) {
    if (unit === 'w') continue;
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}
