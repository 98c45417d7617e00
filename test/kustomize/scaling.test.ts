/**
 * Autoscaling and probes in a real cluster: an HPA owns its workload's count (a manifest that also
 * sets replicas resets it on every client-side apply and conflicts with the HPA on a server-side one),
 * and a liveness probe never depends on anything outside the process (a failing dependency must take a
 * pod out of traffic, not restart it).
 */
import { BUILD_NAMES, build, ofKind, workloads, type K8sObject } from './render.ts';

describe.each(BUILD_NAMES)('build %s', (name) => {
  let objects: K8sObject[];
  beforeAll(() => {
    objects = build(name);
  });

  test('no workload that an HPA scales sets replicas', () => {
    const hpas = ofKind(objects, 'HorizontalPodAutoscaler');
    expect(hpas.length).toBeGreaterThanOrEqual(4);
    const problems = hpas
      .map((h) => h.spec.scaleTargetRef)
      .map((t: { kind: string; name: string }) =>
        objects.find((o) => o.kind === t.kind && o.metadata.name === t.name),
      )
      .filter((o) => o && o.spec.replicas !== undefined)
      .map((o) => `${o!.kind}/${o!.metadata.name}: replicas ${o!.spec.replicas}`);
    expect(problems).toEqual([]);
  });

  test('the services: liveness and startup on /health/live, readiness on /health/ready', () => {
    const probes = workloads(objects).flatMap((w) =>
      w.pod.containers
        .filter((c) => /phoenix-orch/.test(c.image))
        .map((c) => ({
          container: `${w.name}/${c.name}`,
          liveness: c.livenessProbe?.httpGet?.path,
          startup: c.startupProbe?.httpGet?.path,
          readiness: c.readinessProbe?.httpGet?.path,
        })),
    );
    expect(probes.length).toBe(4);
    for (const p of probes) {
      expect(p).toEqual({
        container: p.container,
        liveness: '/health/live',
        startup: '/health/live',
        readiness: '/health/ready',
      });
    }
  });

  test('no liveness or startup probe anywhere points at a readiness endpoint', () => {
    const problems = workloads(objects).flatMap((w) =>
      w.pod.containers.flatMap((c) =>
        ['livenessProbe', 'startupProbe']
          .map((k) => [k, c[k]?.httpGet?.path] as const)
          .filter(([, p]) => typeof p === 'string' && (p === '/health' || /ready/.test(p)))
          .filter(() => /phoenix-orch/.test(c.image))
          .map(([k, p]) => `${w.name}/${c.name} ${k}: ${p}`),
      ),
    );
    expect(problems).toEqual([]);
  });
});
