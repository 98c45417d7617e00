import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { alertPanels, dashboards } from '../../platform/dashboards.ts';
import { config } from '../../alerts/config.ts';
import { normalAlerts, ROOT } from './helpers.ts';

const SECTIONS = ['## Meaning', '## Impact', '## Diagnosis', '## Mitigation', '## Escalation'];
const alerts = normalAlerts();
const runbookFiles = readdirSync(join(ROOT, 'runbooks')).filter(
  (f) => f.endsWith('.md') && f !== 'README.md',
);

test.each(alerts.map((a) => a.alert))('%s has a runbook with every section', (name) => {
  const path = join(ROOT, 'runbooks', `${name}.md`);
  expect(existsSync(path)).toBe(true);
  const text = readFileSync(path, 'utf8');
  expect(text.split('\n')[0]).toBe(`# ${name}`);
  const positions = SECTIONS.map((s) => text.split('\n').indexOf(s));
  expect(positions.filter((p) => p < 0)).toEqual([]);
  expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  // Diagnosis covers both worlds and the logs.
  const diagnosis = text.slice(text.indexOf('## Diagnosis'), text.indexOf('## Mitigation'));
  expect(diagnosis).toContain('```promql');
  expect(diagnosis).toContain('kubectl -n phoenix-orch');
  expect(diagnosis).toContain('npm run stack --');
});

test('every runbook belongs to an alert', () => {
  const names = new Set(alerts.map((a) => a.alert));
  expect(runbookFiles.filter((f) => !names.has(f.replace(/\.md$/, '')))).toEqual([]);
});

test('the runbook index lists every runbook', () => {
  const index = readFileSync(join(ROOT, 'runbooks/README.md'), 'utf8');
  for (const file of runbookFiles) expect(index).toContain(`(${file})`);
});

test.each(alerts.map((a) => [a.alert, a] as const))(
  '%s links to its runbook and a catalog panel',
  (name, a) => {
    const prefix = `${config.runbookBaseUrl}/`;
    expect(a.annotations.runbook_url.startsWith(prefix)).toBe(true);
    expect(existsSync(join(ROOT, a.annotations.runbook_url.slice(prefix.length)))).toBe(true);

    const match = /\/d\/([^?]+)\?viewPanel=(\d+)$/.exec(a.annotations.dashboard_url);
    expect(match).not.toBeNull();
    const [, uid, panel] = match!;
    const key = (Object.keys(dashboards) as Array<keyof typeof dashboards>).find(
      (k) => dashboards[k].uid === uid,
    );
    expect(key).toBeDefined();
    const panels = (alertPanels as Record<string, Record<string, number>>)[key!] ?? {};
    expect(Object.values(panels)).toContain(Number(panel));
  },
);
