/**
 * The scenario checks Artillery's `ensure` cannot express: they need the time of a fault, a phase's
 * own window, each request's instance and correlation id, the ledger of acknowledged session writes,
 * what the monitor saw, or the services' own metrics in Prometheus. A scenario names the checks it
 * runs, with their thresholds, under `config.phoenix.checks` (see load/README.md for the list).
 */
import { cacheChecks } from './checks/cache.ts';
import type { CheckContext, CheckFn, Params } from './checks/context.ts';
import { faultChecks } from './checks/faults.ts';
import { prometheusChecks } from './checks/prometheus.ts';
import { requestsChecks } from './checks/requests.ts';
import { sessionsChecks } from './checks/sessions.ts';
import type { CheckResult } from './results.ts';

export type { CheckContext } from './checks/context.ts';

export const CHECKS: Record<string, CheckFn> = {
  ...requestsChecks,
  ...sessionsChecks,
  ...cacheChecks,
  ...faultChecks,
  ...prometheusChecks,
};

/** The checks that read the services' own metrics from Prometheus. */
export const PROMETHEUS_CHECKS = new Set(Object.keys(prometheusChecks));

export async function runChecks(ctx: CheckContext, checks: Record<string, Params>): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  for (const [key, params] of Object.entries(checks)) {
    // `name#2` runs the check `name` a second time with other parameters.
    const name = key.replace(/#.*$/, '');
    const fn = CHECKS[name];
    if (!fn) {
      out.push({
        name: key,
        ok: false,
        summary: `unknown check ${name}; known: ${Object.keys(CHECKS).join(', ')}`,
      });
      continue;
    }
    try {
      out.push(await fn(ctx, params ?? {}));
    } catch (err) {
      out.push({ name: key, ok: false, summary: `could not be evaluated: ${(err as Error).message}` });
    }
  }
  return out;
}
