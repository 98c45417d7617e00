import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { buildAll } from '../../dashboards/all.ts';
import { queriesOf } from '../../dashboards/queries.ts';

const run = promisify(execFile);
const PROMTOOL = process.env['PROMTOOL'] ?? 'promtool';

/**
 * Every expression of every panel, variables substituted, goes through the real Prometheus parser:
 * one recording rule per query, named after its dashboard, panel and refId, in one rule file checked by
 * `promtool check rules`.
 */
test('every panel query is valid PromQL according to promtool', async () => {
  const queries = queriesOf(buildAll().map((b) => b.dashboard));
  expect(queries.length).toBeGreaterThan(100);
  const rules = queries.map((q) => ({
    record: `${q.dashboard}_${q.panelId}_${q.refId}`.replace(/[^a-zA-Z0-9_]/g, '_'),
    expr: q.expr,
  }));
  const dir = mkdtempSync(join(tmpdir(), 'dashboards-promql-'));
  const file = join(dir, 'queries.rules.yaml');
  writeFileSync(file, stringify({ groups: [{ name: 'dashboard-queries', rules }] }));
  try {
    await run(PROMTOOL, ['check', 'rules', file]);
  } catch (err) {
    const e = err as { code?: string; stdout?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') {
      throw new Error(`${PROMTOOL} not found: install Prometheus's promtool or set PROMTOOL`, { cause: err });
    }
    throw new Error(`promtool rejected dashboard queries:\n${e.stdout ?? ''}${e.stderr ?? e.message}`, {
      cause: err,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
