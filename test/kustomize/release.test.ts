/**
 * What makes an installation: the recommended labels on every object (components/release), selectors
 * that never move, and the overlay's settings (settings.yaml) as the one place for every value that
 * differs between installations, each reaching every place it is used.
 */
import {
  BUILDS,
  BUILD_NAMES,
  build,
  find,
  ofKind,
  overlaySettings,
  renderVariant,
  workloads,
  type BuildSpec,
  type K8sObject,
} from './render.ts';

const RECOMMENDED = ['name', 'instance', 'version', 'component', 'part-of', 'managed-by'].map(
  (k) => `app.kubernetes.io/${k}`,
);
const VERSION_LABEL = 'app.kubernetes.io/version';
/** A valid label value: at most 63 characters, alphanumeric at both ends. */
const LABEL_VALUE = /^(?=.{1,63}$)[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

const id = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;

function missing(labels: Record<string, string> | undefined, wanted: string[]): string[] {
  return wanted.filter((k) => !LABEL_VALUE.test(labels?.[k] ?? ''));
}

/** Every label selector in an object, as `path: keys`. */
function selectors(o: K8sObject): Array<{ at: string; keys: string[] }> {
  const out: Array<{ at: string; keys: string[] }> = [];
  const walk = (v: unknown, at: string) => {
    if (Array.isArray(v)) return v.forEach((x, i) => walk(x, `${at}[${i}]`));
    if (v === null || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v)) {
      if (['selector', 'podSelector', 'labelSelector', 'namespaceSelector'].includes(k) && x) {
        const s = x as {
          matchLabels?: Record<string, string>;
          matchExpressions?: Array<{ key: string }>;
        };
        // A Service's selector is a plain map; the others are matchLabels and matchExpressions.
        const plain = o.kind === 'Service' && k === 'selector';
        const keys = plain
          ? Object.keys(s)
          : [...Object.keys(s.matchLabels ?? {}), ...(s.matchExpressions ?? []).map((e) => e.key)];
        out.push({ at: `${id(o)} ${at}.${k}`, keys });
      }
      walk(x, `${at}.${k}`);
    }
  };
  walk(o.spec, 'spec');
  return out;
}

describe.each(BUILD_NAMES)('build %s: the recommended labels', (name) => {
  let objects: K8sObject[];
  beforeAll(() => {
    objects = build(name);
  });

  test('every object carries all six, with valid values', () => {
    const problems = objects
      .map((o) => ({ o, lacking: missing(o.metadata.labels, RECOMMENDED) }))
      .filter((x) => x.lacking.length > 0)
      .map((x) => `${id(x.o)}: ${x.lacking.join(', ')}`);
    expect(problems).toEqual([]);
  });

  test('every pod template carries them too, and the claim templates all but the version', () => {
    const problems: string[] = [];
    for (const w of workloads(objects)) {
      for (const k of missing(w.labels, RECOMMENDED)) problems.push(`${w.kind}/${w.name} pods: ${k}`);
      if (w.kind === 'CronJob') {
        for (const k of missing(w.object.spec.jobTemplate.metadata?.labels, RECOMMENDED))
          problems.push(`${w.kind}/${w.name} jobs: ${k}`);
      }
      for (const t of (w.object.spec.volumeClaimTemplates ?? []) as K8sObject[]) {
        const labels = t.metadata.labels ?? {};
        for (const k of missing(
          labels,
          RECOMMENDED.filter((x) => x !== VERSION_LABEL),
        ))
          problems.push(`${w.kind}/${w.name} claim ${t.metadata.name}: ${k}`);
        // A StatefulSet's claim templates cannot change once created: a version there would block
        // every upgrade.
        if (VERSION_LABEL in labels)
          problems.push(`${w.kind}/${w.name} claim ${t.metadata.name}: has the version`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('the version label is the release the overlay sets, on every object', () => {
    const version = overlaySettings(BUILDS[name].overlay).VERSION!.split('@')[0];
    const other = objects.filter((o) => o.metadata.labels?.[VERSION_LABEL] !== version).map(id);
    expect(other).toEqual([]);
  });

  test('no selector names the version: a new release never orphans pods or blocks an apply', () => {
    const problems = objects
      .flatMap(selectors)
      .filter((s) => s.keys.includes(VERSION_LABEL))
      .map((s) => s.at);
    expect(problems).toEqual([]);
    // Sanity of the walk itself: it finds the selectors there are.
    expect(objects.flatMap(selectors).length).toBeGreaterThan(20);
  });

  test("the seed's scrape job keeps its pod label: app: master-orchestrator", () => {
    const w = workloads(objects).find((x) => x.name === 'master-orchestrator')!;
    expect(w.labels.app).toBe('master-orchestrator');
    expect(w.object.spec.selector).toEqual({ matchLabels: { app: 'master-orchestrator' } });
  });
});

/** The label keys each object selects by, for comparing builds (where they sit may differ: dev's
 * orchestrators prefer rather than require anti-affinity). */
const selectorMap = (objects: K8sObject[]) =>
  Object.fromEntries(
    objects.map((o) => [id(o), [...new Set(selectors(o).map((s) => s.keys.sort().join(',')))].sort()]),
  );

test('selectors are the same in every build and do not move with a new release or image', () => {
  const prod = selectorMap(build('production'));
  const moved = selectorMap(
    renderVariant({
      ...BUILDS.production,
      settings: { VERSION: '9.8.7', IMAGE_REPOSITORY: 'registry.example.org:5000/other/phoenix-orch' },
    }),
  );
  expect(moved).toEqual(prod);
  for (const name of BUILD_NAMES) {
    const other = selectorMap(build(name));
    const shared = Object.keys(other).filter((k) => k in prod);
    expect(shared.length).toBeGreaterThan(30);
    for (const k of shared) expect({ [k]: other[k] }).toEqual({ [k]: prod[k] });
  }
});

/** Every scalar in the objects, keyed by object and path. */
function leaves(objects: K8sObject[]): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (v: unknown, at: string) => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${at}/${i}`));
    else if (v !== null && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) walk(x, `${at}/${k}`);
    else out.set(at, String(v));
  };
  for (const o of objects) walk(o, id(o));
  return out;
}

/** The setting's value as a whole token (not part of a longer name or number). */
const token = (value: string) =>
  new RegExp(
    `(?<![A-Za-z0-9.-])${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![A-Za-z0-9-]|\\.[A-Za-z0-9])`,
    'g',
  );

describe('production settings: the one place for what differs between installations', () => {
  const settings = overlaySettings(BUILDS.production.overlay);
  // The production overlay with every component that reads a setting.
  const everything: BuildSpec = { ...BUILDS.production, components: ['ingress-nginx', 'gateway-api'] };
  const before = leaves(renderVariant(everything));
  /** A different value that fits where the setting goes. */
  const CHANGED: Record<string, string> = {
    IMAGE_REPOSITORY: 'registry.example.org:5000/team/phoenix-orch',
    VERSION: '7.6.5',
    HOST: 'api.changed.example.org',
    CERT_ISSUER_KIND: 'Issuer',
    CERT_ISSUER_NAME: 'changed-issuer',
    RWX_STORAGE_CLASS: 'changed-rwx-class',
    MONITORING_RELEASE: 'changed-release',
    GATEWAY_CLASS: 'changed-gateway-class',
    GATEWAY_NAMESPACE: 'changed-gateway-namespace',
    GRAFANA_URL: 'https://grafana.changed.example.org/observability',
    RUNBOOK_BASE_URL: 'https://wiki.changed.example.org/ops/phoenix',
  };

  /**
   * Where a setting's value appears but cannot follow it: the dashboards' own runbook links sit inside
   * each dashboard's JSON, one string that kustomize cannot rewrite in part (kustomize/README.md).
   */
  const UNREACHED: Record<string, RegExp> = { RUNBOOK_BASE_URL: /^ConfigMap\/grafana-dashboard-/ };

  test('every setting is documented here, and the ones a deployment needs are all settings', () => {
    expect(Object.keys(settings).sort()).toEqual(Object.keys(CHANGED).sort());
  });

  test.each(Object.keys(CHANGED))(
    '%s: used, and changing it changes every place it is used, nothing else',
    (key) => {
      const value = settings[key]!;
      const uses = [...before]
        .filter(([k, v]) => token(value).test(v) && !UNREACHED[key]?.test(k))
        .map(([k]) => k);
      expect(uses.length).toBeGreaterThan(0);
      const after = leaves(renderVariant({ ...everything, settings: { [key]: CHANGED[key]! } }));
      expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
      const changed = [...before].filter(([k, v]) => after.get(k) !== v).map(([k]) => k);
      expect(changed.sort()).toEqual(uses.sort());
      for (const k of uses) {
        expect({ [k]: after.get(k) }).toEqual({ [k]: before.get(k)!.replace(token(value), CHANGED[key]!) });
      }
    },
  );

  test('the image, the certificate and the shared volumes come from the settings', () => {
    const prod = build('production');
    const image = `${settings.IMAGE_REPOSITORY}:${settings.VERSION}`;
    for (const w of workloads(prod).filter((x) => x.pod.containers[0].args?.[0]?.startsWith('dist/')))
      expect(w.pod.containers[0].image).toBe(image);
    const cert = find(prod, 'Certificate', 'phoenix-lb-tls').spec;
    expect(cert.dnsNames).toEqual([settings.HOST]);
    expect(cert.issuerRef).toMatchObject({
      kind: settings.CERT_ISSUER_KIND,
      name: settings.CERT_ISSUER_NAME,
    });
    for (const claim of ['git-repos', 'obsidian-vault']) {
      expect(find(prod, 'PersistentVolumeClaim', claim).spec).toMatchObject({
        accessModes: ['ReadWriteMany'],
        storageClassName: settings.RWX_STORAGE_CLASS,
      });
    }
  });

  test("every alert's links follow GRAFANA_URL and RUNBOOK_BASE_URL and keep their own paths", () => {
    type Links = { dashboard_url: string; runbook_url: string };
    const links = (objects: K8sObject[]) =>
      ofKind(objects, 'PrometheusRule')
        .flatMap((r) => r.spec.groups as Array<{ rules: Array<{ alert?: string; annotations?: Links }> }>)
        .flatMap((g) => g.rules)
        .flatMap((r) => (r.alert ? [{ alert: r.alert, ...r.annotations! }] : []));
    const generated = links(build('production'));
    const changed = links(
      renderVariant({
        ...BUILDS.production,
        settings: { GRAFANA_URL: CHANGED.GRAFANA_URL!, RUNBOOK_BASE_URL: CHANGED.RUNBOOK_BASE_URL! },
      }),
    );
    expect(generated.length).toBeGreaterThan(20);
    expect(changed.map((l) => l.alert)).toEqual(generated.map((l) => l.alert));
    generated.forEach((g, i) => {
      // The generated URL has exactly one of each delimiter the replacements split on.
      expect(g.dashboard_url.split('/d/')).toHaveLength(2);
      expect(g.runbook_url.split('/runbooks/')).toHaveLength(2);
      expect(g.dashboard_url.startsWith(`${settings.GRAFANA_URL}/d/`)).toBe(true);
      expect(changed[i]).toEqual({
        ...g,
        dashboard_url: `${CHANGED.GRAFANA_URL}/d/${g.dashboard_url.split('/d/')[1]}`,
        runbook_url: `${CHANGED.RUNBOOK_BASE_URL}/runbooks/${g.alert}.md`,
      });
    });
  });

  test('an image reference with a registry port and a digest stays whole; the version label drops the digest', () => {
    const digest = `sha256:${'ab'.repeat(32)}`;
    const objects = renderVariant({
      ...BUILDS.production,
      settings: { IMAGE_REPOSITORY: 'registry.internal:5000/phoenix-orch', VERSION: `1.2.3@${digest}` },
    });
    const w = workloads(objects).find((x) => x.name === 'master-orchestrator')!;
    expect(w.pod.containers[0].image).toBe(`registry.internal:5000/phoenix-orch:1.2.3@${digest}`);
    expect(w.labels[VERSION_LABEL]).toBe('1.2.3');
    expect(w.object.metadata.labels[VERSION_LABEL]).toBe('1.2.3');
  });
});
