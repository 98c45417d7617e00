/**
 * Every build renders with `kubectl kustomize`, and every rendered object validates against the
 * Kubernetes OpenAPI schema of its apiVersion and kind (CRDs included) and has no unknown field.
 */
import { BUILD_NAMES, KubectlMissingError, build, kustomize, type K8sObject } from './render.ts';
import { createUnknownFieldChecker, modelClass, schemaProblems } from './schemas.ts';

let unknownFields: ReturnType<typeof createUnknownFieldChecker>;
beforeAll(() => {
  // One TypeScript program for every kind of every build.
  unknownFields = createUnknownFieldChecker(BUILD_NAMES.flatMap((name) => build(name)));
});

test('kubectl is required: its absence fails with a message saying so', () => {
  expect(() => kustomize('kustomize/overlays/dev', 'kubectl-not-installed-here')).toThrow(
    KubectlMissingError,
  );
  expect(() => kustomize('kustomize/overlays/dev', 'kubectl-not-installed-here')).toThrow(/install kubectl/);
});

describe.each(BUILD_NAMES)('build %s', (name) => {
  let objects: K8sObject[];
  beforeAll(() => {
    objects = build(name);
  });

  test('renders, every object named once', () => {
    expect(objects.length).toBeGreaterThan(30);
    const ids = objects.map(
      (o) => `${o.apiVersion} ${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`,
    );
    expect(new Set(ids).size).toBe(ids.length);
  });

  test('every object validates against the schema of its apiVersion and kind', async () => {
    const problems: string[] = [];
    for (const o of objects) {
      for (const p of await schemaProblems(o)) problems.push(`${o.kind}/${o.metadata.name}: ${p}`);
    }
    expect(problems).toEqual([]);
  });

  test('no object has a field its schema does not declare', () => {
    expect(objects.flatMap(unknownFields)).toEqual([]);
  });
});

describe('the schema check itself', () => {
  test('catches a wrong type and an unknown field, and knows no unknown kind', async () => {
    const bad = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'x' },
      spec: {
        selector: {},
        template: {
          spec: {
            containers: [
              { name: 'a', image: 'b', readinesProbe: {}, resources: { limits: { cpu: 'lots' } } },
            ],
          },
        },
      },
    };
    expect((await schemaProblems(bad)).join()).toMatch(/cpu/);
    expect(createUnknownFieldChecker([bad])(bad)).toEqual([
      'Deployment/x.spec.template.spec.containers[0].readinesProbe: unknown field',
    ]);
    await expect(modelClass({ apiVersion: 'example.com/v1', kind: 'Widget' })).rejects.toThrow(
      /no schema library/,
    );
  });

  test('the CRDs are checked by their own schemas', async () => {
    const podMonitor = {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PodMonitor',
      metadata: { name: 'x' },
      spec: { selector: {}, podMetricsEndpoints: [{ port: 'http', relabelings: [{ action: 'bogus' }] }] },
    };
    expect((await schemaProblems(podMonitor)).join()).toMatch(/action/);
    const misspelt = { ...podMonitor, spec: { selector: {}, podMetricsEndpoints: [{ prot: 'http' }] } };
    expect(createUnknownFieldChecker([misspelt])(misspelt)).toEqual([
      'PodMonitor/x.spec.podMetricsEndpoints[0].prot: unknown field',
    ]);
    const certificate = {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: 'x' },
      spec: { secretName: 's', issuerRef: { name: 'i' }, dnsNames: ['a'], privateKey: { algorithm: 'DSA' } },
    };
    expect((await schemaProblems(certificate)).join()).toMatch(/algorithm/);
  });
});
