/**
 * What every service exports about its own process through the kit: event-loop utilisation and lag
 * (a Node process saturates its one event loop long before its CPU limit) and which build runs.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { baseConfigSchema, loadConfig } from '../../services/kit/config.ts';
import { packageVersion } from '../../services/kit/build-info.ts';
import { Service } from '../../services/kit/service.ts';
import { METRIC_PREFIX } from '../../platform/metrics.ts';
import { parseMetrics, sample } from '../support/metrics.ts';

const config = (env: Record<string, string> = {}) =>
  loadConfig(baseConfigSchema, { LOG_LEVEL: 'silent', ...env });

/** Keeps the event loop busy for `ms` without yielding. */
function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy
  }
}

describe.each(Object.values(METRIC_PREFIX))('a service exporting %s*', (prefix) => {
  const service = new Service({
    name: 'probe',
    metricPrefix: prefix,
    config: config({ GIT_COMMIT: 'abc1234' }),
  });
  const scrape = async () => parseMetrics(await service.metrics.registry.metrics());
  const active = (m: Map<string, number>) => sample(m, `${prefix}event_loop_active_seconds_total`)!;

  test('event-loop utilisation: a blocked loop counts its busy time, an idle one next to none', async () => {
    const start = active(await scrape());
    block(400);
    const afterBusy = active(await scrape());
    expect(afterBusy - start).toBeGreaterThanOrEqual(0.35);
    expect(afterBusy - start).toBeLessThan(1.5);
    await sleep(400);
    const afterIdle = active(await scrape());
    expect(afterIdle - afterBusy).toBeLessThan(0.2);
  });

  test('event-loop lag: the loop blocked for 300 ms shows as a delay of about that much', async () => {
    await scrape(); // the lag gauges cover the time since the previous scrape
    await sleep(50); // let the delay monitor's timer tick, then hold the loop past several ticks
    block(300);
    await sleep(50);
    const m = await scrape();
    expect(sample(m, `${prefix}nodejs_eventloop_lag_max_seconds`)).toBeGreaterThanOrEqual(0.25);
    expect(sample(m, `${prefix}nodejs_eventloop_lag_p99_seconds`)).toBeGreaterThan(0);
  });

  test('build info names the package version, the commit and the Node.js version', async () => {
    const m = await scrape();
    const labels = { version: packageVersion(), commit: 'abc1234', node_version: process.versions.node };
    expect(sample(m, `${prefix}build_info`, labels)).toBe(1);
  });
});

test('the package version is the one package.json declares', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  expect(packageVersion()).toBe(pkg.version);
  expect(packageVersion('/')).toBe('unknown');
});

test('the commit defaults to "unknown" and a malformed one is refused at start', () => {
  expect(config().GIT_COMMIT).toBe('unknown');
  expect(config({ GIT_COMMIT: '' }).GIT_COMMIT).toBe('unknown');
  expect(() => config({ GIT_COMMIT: 'abc 123; rm -rf /' })).toThrow(/GIT_COMMIT/);
  expect(() => config({ GIT_COMMIT: 'a'.repeat(65) })).toThrow(/GIT_COMMIT/);
});
