/**
 * The one place for dashboard identities: each dashboard's uid and title, and the ids of the panels
 * that alerts link to (an alert's `dashboard_url` opens its panel with `viewPanel`). The dashboard
 * builders give these panels exactly these ids; other panels take ids that are not listed here.
 */

/** The Grafana folder the dashboards are filed in (the sidecar's folder annotation, the standalone provider). */
export const DASHBOARD_FOLDER = 'phoenix-orch';

/** Where Grafana is reached; alert links are built on it. Overridable for a cluster's Grafana. */
export const GRAFANA_URL = process.env['GRAFANA_URL'] ?? 'http://grafana.phoenix-orch.svc:3000';

export const dashboards = {
  overview: { uid: 'phoenix-overview', title: 'phoenix-orch / Platform overview' },
  orchestrator: { uid: 'phoenix-orchestrator', title: 'phoenix-orch / Orchestrator' },
  agents: { uid: 'phoenix-agents', title: 'phoenix-orch / Agents' },
  redis: { uid: 'phoenix-redis', title: 'phoenix-orch / Redis' },
  loadBalancer: { uid: 'phoenix-load-balancer', title: 'phoenix-orch / Load balancer' },
  loadTests: { uid: 'phoenix-load-tests', title: 'phoenix-orch / Load tests' },
  slo: { uid: 'phoenix-slo', title: 'phoenix-orch / SLOs' },
} as const;

export type DashboardKey = keyof typeof dashboards;

/** Panels that alerts link to, by dashboard, with their fixed panel ids. */
export const alertPanels = {
  overview: {
    targetsUp: 101,
    errorRate: 102,
    cacheHitRatio: 103,
    agentPoolHealth: 104,
    orchestratorCpuOfLimit: 105,
    orchestratorMemoryOfLimit: 106,
    queueLength: 107,
    orchestratorEventLoop: 108,
  },
  orchestrator: {
    breakerState: 201,
    redisErrors: 202,
    queueOldestAge: 203,
  },
  agents: {
    agentCpuOfLimit: 301,
    agentMemoryOfLimit: 302,
    poolHealthyInstances: 303,
    agentEventLoop: 304,
  },
  redis: {
    replicationLag: 401,
    primaryUp: 402,
    failovers: 403,
  },
  loadBalancer: {
    backendServersUp: 501,
  },
  slo: {
    availabilityBurnRate: 701,
    latencyBurnRate: 702,
  },
} as const satisfies { [K in DashboardKey]?: Record<string, number> };

type PanelRef = {
  [D in keyof typeof alertPanels]: { dashboard: D; panel: keyof (typeof alertPanels)[D] };
}[keyof typeof alertPanels];

/** The Grafana URL that opens one alert panel on its own. */
export function panelUrl(ref: PanelRef): string {
  const board = dashboards[ref.dashboard];
  const id = (alertPanels[ref.dashboard] as Record<string, number>)[ref.panel as string];
  return `${GRAFANA_URL}/d/${board.uid}?viewPanel=${id}`;
}
