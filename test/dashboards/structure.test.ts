import type { Dashboard, Panel, RowPanel } from '@grafana/grafana-foundation-sdk/dashboard';
import { config as alertsConfig } from '../../alerts/config.ts';
import { buildAll } from '../../dashboards/all.ts';
import { alertPanels, dashboards, type DashboardKey } from '../../platform/dashboards.ts';
import { staleFiles } from '../../dashboards/generate.ts';
import {
  allPanelQueries,
  FAULT_ONLY_PANELS,
  generatedDashboards,
  panelsOf,
} from '../../dashboards/queries.ts';
import { alertRules, panelOfUrl } from '../../dashboards/rules.ts';

const built = buildAll();
const catalogIds = new Set(
  Object.values(alertPanels).flatMap((p) => Object.values(p as Record<string, number>)),
);

function allPanels(d: Dashboard): (Panel | RowPanel)[] {
  const out: (Panel | RowPanel)[] = [];
  for (const p of d.panels ?? []) {
    out.push(p);
    if (p.type === 'row') out.push(...((p as RowPanel).panels ?? []));
  }
  return out;
}

function panelById(key: DashboardKey, id: number): Panel | undefined {
  const board = built.find((b) => b.key === key)!.dashboard;
  return panelsOf(board).find((p) => p.id === id);
}

describe('generated files', () => {
  test('kustomize/generated/dashboards/*.json are what the sources generate', async () => {
    const stale = await staleFiles();
    if (stale.length > 0) {
      throw new Error(
        `stale generated dashboards (run \`npm run dashboards:generate\`):\n  ${stale.join('\n  ')}`,
      );
    }
  });
});

describe.each(built.map((b) => [b.key, b.dashboard] as const))('dashboard %s', (key, board) => {
  test('uid and title come from the catalog; tagged, linked to the others by tag', () => {
    expect(board.uid).toBe(dashboards[key].uid);
    expect(board.title).toBe(dashboards[key].title);
    expect(board.tags).toContain('phoenix-orch');
    expect(board.links).toEqual([
      expect.objectContaining({ type: 'dashboards', tags: ['phoenix-orch'], asDropdown: true }),
    ]);
  });

  test('only alert panels take catalog ids (unique ids: lint.test.ts)', () => {
    const ids = allPanels(board).map((p) => p.id);
    const mine = new Set(Object.values((alertPanels as Record<string, Record<string, number>>)[key] ?? {}));
    for (const id of ids as number[]) if (!mine.has(id)) expect(catalogIds.has(id)).toBe(false);
  });
});

test('dashboard uids are unique', () => {
  const uids = built.map((b) => b.dashboard.uid);
  expect(new Set(uids).size).toBe(uids.length);
});

test('every alert panel of the catalog exists on its dashboard with its fixed id', () => {
  for (const [key, panels] of Object.entries(alertPanels) as [DashboardKey, Record<string, number>][]) {
    for (const [name, id] of Object.entries(panels)) {
      const panel = panelById(key, id);
      expect([key, name, panel?.id]).toEqual([key, name, id]);
    }
  }
});

test('alert panels draw the alert thresholds', () => {
  const steps = (key: DashboardKey, id: number) =>
    (panelById(key, id)?.fieldConfig?.defaults?.thresholds?.steps ?? []).map((s) => s.value);
  const { resources, errorRate, cacheHitRatio, redisReplicationLag } = alertsConfig;
  expect(steps('overview', alertPanels.overview.errorRate)).toContain(errorRate.threshold);
  expect(steps('overview', alertPanels.overview.cacheHitRatio)).toContain(cacheHitRatio.threshold);
  expect(steps('overview', alertPanels.overview.orchestratorCpuOfLimit)).toContain(resources.threshold);
  expect(steps('overview', alertPanels.overview.orchestratorMemoryOfLimit)).toContain(resources.threshold);
  expect(steps('agents', alertPanels.agents.agentCpuOfLimit)).toContain(resources.threshold);
  expect(steps('agents', alertPanels.agents.agentMemoryOfLimit)).toContain(resources.threshold);
  const { eventLoop } = alertsConfig;
  expect(steps('overview', alertPanels.overview.orchestratorEventLoop)).toContain(eventLoop.utilisation);
  expect(steps('agents', alertPanels.agents.agentEventLoop)).toContain(eventLoop.utilisation);
  expect(steps('redis', alertPanels.redis.replicationLag)).toContain(redisReplicationLag.thresholdSeconds);
  for (const w of alertsConfig.slo.burnRates.fast.windows) {
    expect(steps('slo', alertPanels.slo.availabilityBurnRate)).toContain(w.factor);
    expect(steps('slo', alertPanels.slo.latencyBurnRate)).toContain(w.factor);
  }
});

describe('runbook links', () => {
  const rules = alertRules();

  test('every alert that opens a panel finds it, with a link to the alert runbook', () => {
    for (const rule of rules) {
      const url = rule.annotations.dashboard_url;
      const runbook = rule.annotations.runbook_url;
      expect([rule.alert, runbook]).toEqual([
        rule.alert,
        expect.stringMatching(`/runbooks/${rule.alert}\\.md$`),
      ]);
      if (!url) continue;
      const target = panelOfUrl(url);
      expect([rule.alert, target]).toEqual([rule.alert, expect.anything()]);
      const board = built.find((b) => b.dashboard.uid === target!.uid);
      expect([rule.alert, board?.dashboard.uid]).toEqual([rule.alert, target!.uid]);
      const panel = panelsOf(board!.dashboard).find((p) => p.id === target!.panelId);
      expect([rule.alert, panel?.id]).toEqual([rule.alert, target!.panelId]);
      const links = (panel!.links ?? []).map((l) => [l.title, l.url]);
      expect([rule.alert, links]).toEqual([
        rule.alert,
        expect.arrayContaining([[`Runbook: ${rule.alert}`, runbook]]),
      ]);
    }
  });
});

describe('queries for the live check', () => {
  const queries = allPanelQueries();

  test('cover every generated dashboard and panel query, with every variable substituted', () => {
    const generated = generatedDashboards();
    expect(generated.map((d) => d.uid).sort()).toEqual(
      Object.values(dashboards)
        .map((d) => d.uid)
        .sort(),
    );
    const expected = generated.flatMap((d) => panelsOf(d).flatMap((p) => p.targets ?? [])).length;
    expect(queries).toHaveLength(expected);
    for (const q of queries) {
      expect(q.expr).not.toContain('$');
      expect(q).toEqual(
        expect.objectContaining({
          dashboard: expect.any(String),
          panelId: expect.any(Number),
          title: expect.any(String),
          refId: expect.stringMatching(/^[A-Z]$/),
        }),
      );
    }
  });

  test('every FAULT_ONLY_PANELS entry names an existing panel (and queries), with a reason', () => {
    for (const f of FAULT_ONLY_PANELS) {
      const matching = queries.filter((q) => q.dashboard === f.dashboard && q.title === f.title);
      expect([f.title, matching.length > 0]).toEqual([f.title, true]);
      for (const refId of f.refIds ?? []) {
        expect([f.title, refId, matching.some((q) => q.refId === refId)]).toEqual([f.title, refId, true]);
      }
      expect(f.reason.length).toBeGreaterThan(10);
    }
  });
});
