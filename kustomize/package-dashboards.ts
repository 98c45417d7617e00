/**
 * Kustomize cannot glob, so the dashboards that `npm run dashboards:generate` writes to
 * kustomize/generated/dashboards (one `<uid>.json` each) are listed by name in two files this script
 * writes from that folder:
 *   - kustomize/generated/dashboards/kustomization.yaml: one ConfigMap per dashboard (small enough for
 *     a client-side `kubectl apply`), labelled so both monitoring components find them;
 *   - kustomize/components/monitoring-standalone/grafana/dashboard-volume.yaml: the standalone
 *     Grafana's projected volume of those ConfigMaps.
 * `node kustomize/package-dashboards.ts --write|--check` (npm run kustomize:dashboards / the tests).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { stringify } from 'yaml';
import { DASHBOARD_FOLDER } from '../platform/dashboards.ts';
import { FILES, fromRoot } from '../platform/files.ts';

const KUSTOMIZE = path.dirname(fileURLToPath(import.meta.url));
export const DASHBOARDS_DIR = fromRoot(FILES.dashboards);
const KUSTOMIZATION = path.join(DASHBOARDS_DIR, 'kustomization.yaml');
const VOLUME_PATCH = path.join(
  KUSTOMIZE,
  'components',
  'monitoring-standalone',
  'grafana',
  'dashboard-volume.yaml',
);

/** The label both monitoring components select dashboard ConfigMaps by. */
export const DASHBOARD_COMPONENT_LABEL = { 'app.kubernetes.io/component': 'grafana-dashboard' };
/** Every dashboard ConfigMap's labels: the selector label and the bundle's name. */
const DASHBOARD_LABELS = { 'app.kubernetes.io/name': 'phoenix-orch', ...DASHBOARD_COMPONENT_LABEL };

/**
 * The folder Grafana's dashboard sidecar (kiwigrid/k8s-sidecar, as kube-prometheus-stack runs it) files
 * them in: `grafana_folder` where the chart sets `sidecar.dashboards.folderAnnotation: grafana_folder`
 * (the usual value), `k8s-sidecar-target-directory` where it sets none (the sidecar's own default). A
 * folder in Grafana needs `sidecar.dashboards.provider.foldersFromFilesStructure: true` as well.
 */
export const DASHBOARD_ANNOTATIONS = {
  grafana_folder: DASHBOARD_FOLDER,
  'k8s-sidecar-target-directory': DASHBOARD_FOLDER,
};

/** The dashboard files, sorted: every `*.json` in the generated folder. */
export function dashboardFiles(dir = DASHBOARDS_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
}

/** ConfigMap name of a dashboard file: `grafana-dashboard-<uid>`, as a DNS-1123 name. */
export function configMapName(file: string): string {
  const uid = file
    .replace(/\.json$/, '')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  const name = `grafana-dashboard-${uid}`.slice(0, 63).replace(/-+$/, '');
  return name;
}

async function yamlFile(file: string, header: string[], value: unknown): Promise<string> {
  const text = `${header.map((l) => `# ${l}`).join('\n')}\n${stringify(value, { lineWidth: 0 })}`;
  const options = (await prettier.resolveConfig(file)) ?? {};
  return prettier.format(text, { ...options, parser: 'yaml', filepath: file });
}

const HEADER = 'Written by `npm run kustomize:dashboards` (kustomize/package-dashboards.ts). Do not edit.';

export async function renderPackaging(dir = DASHBOARDS_DIR): Promise<Map<string, string>> {
  const files = dashboardFiles(dir);
  const names = new Map<string, string>();
  for (const f of files) {
    const name = configMapName(f);
    const clash = [...names.entries()].find(([, n]) => n === name);
    if (clash) throw new Error(`dashboards ${clash[0]} and ${f} map to the same ConfigMap name ${name}`);
    names.set(f, name);
  }
  const kustomization = await yamlFile(
    KUSTOMIZATION,
    [
      HEADER,
      'One ConfigMap per dashboard that `npm run dashboards:generate` writes here. No hash suffix: Grafana',
      "sidecars and the standalone Grafana's projected volume follow them by name.",
    ],
    {
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      generatorOptions: {
        disableNameSuffixHash: true,
        labels: DASHBOARD_LABELS,
        annotations: DASHBOARD_ANNOTATIONS,
      },
      configMapGenerator: files.map((f) => ({ name: names.get(f), files: [f] })),
    },
  );
  const volume = await yamlFile(
    VOLUME_PATCH,
    [HEADER, "The standalone Grafana's dashboards: every dashboard ConfigMap in one folder."],
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'grafana' },
      spec: {
        template: {
          spec: {
            volumes: [
              {
                name: 'dashboards',
                projected: { sources: files.map((f) => ({ configMap: { name: names.get(f) } })) },
              },
            ],
          },
        },
      },
    },
  );
  return new Map([
    [KUSTOMIZATION, kustomization],
    [VOLUME_PATCH, volume],
  ]);
}

async function main(): Promise<void> {
  const mode = process.argv[2];
  if (mode !== '--write' && mode !== '--check') {
    console.error('usage: node kustomize/package-dashboards.ts --write|--check');
    process.exit(2);
  }
  const stale: string[] = [];
  for (const [file, text] of await renderPackaging()) {
    let current = '';
    try {
      current = readFileSync(file, 'utf8');
    } catch {
      /* missing counts as stale */
    }
    if (current === text) continue;
    if (mode === '--write') writeFileSync(file, text);
    stale.push(path.relative(process.cwd(), file));
  }
  if (mode === '--check' && stale.length > 0) {
    console.error(`stale files (run npm run kustomize:dashboards): ${stale.join(', ')}`);
    process.exit(1);
  }
  if (mode === '--write') console.log(stale.length ? `wrote ${stale.join(', ')}` : 'up to date');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
