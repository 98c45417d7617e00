import type { Mode } from '../../alerts/lib.ts';

/**
 * One firing alert a case expects: the labels that locate it and its expanded description. The
 * installation's labels (INSTALLATION in render.ts) are expected too unless a case names them itself;
 * `null` expects a label to be absent (an `absent()` branch cannot know the cluster).
 */
export type Expected = { labels: Record<string, string | null>; description: string };

/**
 * One promtool test: input series (selector -> promtool values notation, one sample per interval;
 * `_` is no sample, `stale` a staleness marker), the alert, when to evaluate, and what must fire
 * then (`fires: []` asserts that the alert does not fire). Every series carries the installation's
 * `cluster` and `namespace` (render.ts adds those the selector does not name).
 */
export type Case = {
  name: string;
  alert: string;
  interval?: string;
  series: Record<string, string>;
  at: string;
  fires: Expected[];
};

export type CaseFile = { name: string; mode: Mode; interval: string; cases: Case[] };
