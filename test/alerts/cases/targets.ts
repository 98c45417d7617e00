import type { AlertsConfig } from '../../../alerts/config.ts';
import { parseDuration } from '../../../alerts/duration.ts';
import type { Case, CaseFile } from '../types.ts';

/** The same five cases for every scrape job's target-down alert. */
export function targetCases(config: AlertsConfig): CaseFile {
  const cases: Case[] = [];
  for (const t of config.targets) {
    const minutes = parseDuration(t.for) / 60;
    const instance = `${t.job}-1:9000`;
    const up = `up{job="${t.job}", instance="${instance}"}`;
    const other = `up{job="${t.job}", instance="${t.job}-2:9000"}`;
    const downFromMinute1 = `1 0x${minutes + 5}`;
    const noTarget = `Prometheus discovers no target of job ${t.job}.`;
    const scrapeFailed = `Target ${instance} of job ${t.job} is down: ${
      t.exporterUpMetric
        ? `Prometheus cannot scrape its exporter, or the exporter cannot reach the server (${t.exporterUpMetric} = 0)`
        : 'Prometheus cannot scrape it'
    }.`;
    cases.push(
      {
        name: `one of two targets down for ${t.for}`,
        alert: t.alert,
        series: { [up]: downFromMinute1, [other]: `1x${minutes + 6}` },
        at: `${minutes + 1}m`,
        fires: [{ labels: { job: t.job, instance }, description: scrapeFailed }],
      },
      {
        name: `down for less than ${t.for}`,
        alert: t.alert,
        series: { [up]: downFromMinute1 },
        at: `${minutes}m`,
        fires: [],
      },
      {
        name: 'every target up',
        alert: t.alert,
        series: { [up]: `1x${minutes + 6}`, [other]: `1x${minutes + 6}` },
        at: `${minutes + 1}m`,
        fires: [],
      },
      {
        name: 'no target discovered',
        alert: t.alert,
        series: { 'up{job="some-other-job", instance="x:1"}': `1x${minutes + 6}` },
        at: `${minutes + 1}m`,
        // absent() knows the namespace it looks in, not a cluster.
        fires: [{ labels: { job: t.job, cluster: null }, description: noTarget }],
      },
      {
        name: 'targets only in another namespace',
        alert: t.alert,
        series: { [`up{job="${t.job}", instance="${instance}", namespace="other"}`]: `1x${minutes + 6}` },
        at: `${minutes + 1}m`,
        fires: [{ labels: { job: t.job, cluster: null }, description: noTarget }],
      },
      {
        name: 'down in another namespace only',
        alert: t.alert,
        series: {
          [up]: `1x${minutes + 6}`,
          [`up{job="${t.job}", instance="${instance}", namespace="other"}`]: downFromMinute1,
        },
        at: `${minutes + 1}m`,
        fires: [{ labels: { job: t.job, instance, namespace: 'other' }, description: scrapeFailed }],
      },
    );
    if (t.exporterUpMetric) {
      cases.push({
        name: `exporter up but ${t.exporterUpMetric} 0`,
        alert: t.alert,
        series: {
          [up]: `1x${minutes + 6}`,
          [`${t.exporterUpMetric}{job="${t.job}", instance="${instance}"}`]: downFromMinute1,
        },
        at: `${minutes + 1}m`,
        fires: [{ labels: { job: t.job, instance }, description: scrapeFailed }],
      });
    }
  }
  return { name: 'targets', mode: 'normal', interval: '1m', cases };
}
